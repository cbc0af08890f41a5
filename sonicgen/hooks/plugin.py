"""What a plugin is: metadata, a config schema, and a ``setup`` that registers its handlers.

A plugin module defines ``plugin = Plugin(...)``.  ``setup`` runs once per site with a
:class:`PluginContext` holding that site's validated config for the plugin, so handlers
close over per-site state instead of module globals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import msgspec

from sonicgen.config import Config
from sonicgen.hooks.registry import HookRegistry

C = TypeVar("C")


@dataclass
class TemplateExtensions:
    """Jinja2 filters, tests and globals contributed by plugins, applied when the env is made."""

    filters: dict[str, Callable[..., Any]] = field(default_factory=dict)
    tests: dict[str, Callable[..., Any]] = field(default_factory=dict)
    globals: dict[str, Any] = field(default_factory=dict)
    owners: dict[tuple[str, str], str] = field(default_factory=dict)


@dataclass
class PluginContext(Generic[C]):
    """Handed to ``Plugin.setup``: the plugin's config and the ways to extend the site."""

    name: str
    config: C
    site: Config
    registry: HookRegistry
    extensions: TemplateExtensions

    def hook(self, hook: str, handler: Callable[..., Any], *, priority: int = 10) -> None:
        self.registry.register(hook, handler, plugin=self.name, priority=priority)

    def _add(self, kind: str, table: dict[str, Any], name: str, value: Any) -> None:
        owner = self.extensions.owners.get((kind, name))
        if owner is not None and owner != self.name:
            from sonicgen.errors import HookRegistrationError

            raise HookRegistrationError(f"plugin {self.name!r}: template {kind} {name!r} is already provided by plugin {owner!r}")
        self.extensions.owners[(kind, name)] = self.name
        table[name] = value

    def filter(self, name: str, fn: Callable[..., Any]) -> None:
        self._add("filter", self.extensions.filters, name, fn)

    def test(self, name: str, fn: Callable[..., Any]) -> None:
        self._add("test", self.extensions.tests, name, fn)

    def global_(self, name: str, value: Any) -> None:
        self._add("global", self.extensions.globals, name, value)


@dataclass(frozen=True)
class Plugin:
    """A plugin's identity and entry point."""

    name: str
    setup: Callable[[PluginContext[Any]], None]
    version: str = "0.0.0"
    description: str = ""
    config: type[msgspec.Struct] | None = None
