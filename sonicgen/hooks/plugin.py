"""What a plugin is: metadata, a config schema, and a ``setup`` that registers its handlers.

A plugin module defines ``plugin = Plugin(...)``.  ``setup`` runs once per site with a
:class:`PluginContext` holding that site's validated config for the plugin, so handlers
close over per-site state instead of module globals.  Everything a plugin contributes
(hook handlers, template helpers, CLI commands, API routes) is registered through the
context, so it is validated at registration and listed by ``sonicgen plugins``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import msgspec
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from sonicgen.config import Config
from sonicgen.errors import HookRegistrationError, SonicgenError
from sonicgen.hooks.registry import HookRegistry

C = TypeVar("C")

PLUGIN_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
RESERVED_SETTINGS = ("enabled", "from")


class Cancel(SonicgenError):
    """Raised by a ``content:save`` or ``content:delete`` handler to refuse the write; the message reaches the user."""


class ConfigError(SonicgenError):
    """Raised by ``setup`` when a setting is valid by type but wrong for this site; reported at its site.yaml line."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


@dataclass
class Extensions:
    """What plugins contribute beside hook handlers, with the plugin that owns each piece."""

    filters: dict[str, Callable[..., Any]] = field(default_factory=dict)
    tests: dict[str, Callable[..., Any]] = field(default_factory=dict)
    globals: dict[str, Any] = field(default_factory=dict)
    owners: dict[tuple[str, str], str] = field(default_factory=dict)
    commands: dict[str, list[Any]] = field(default_factory=dict)  # click commands, which only the CLI needs to know
    routes: dict[str, list[Any]] = field(default_factory=dict)
    middleware: dict[str, list[Any]] = field(default_factory=dict)


@dataclass
class PluginContext(Generic[C]):
    """Handed to ``Plugin.setup``: the plugin's config and the ways to extend the site."""

    name: str
    config: C
    site: Config
    registry: HookRegistry
    extensions: Extensions

    def hook(self, hook: str, handler: Callable[..., Any], *, priority: int = 10) -> None:
        """Call ``handler`` at ``hook`` (lower priorities run first; see the hook reference)."""
        self.registry.register(hook, handler, plugin=self.name, priority=priority)

    def _add(self, kind: str, table: dict[str, Any], name: str, value: Any) -> None:
        owner = self.extensions.owners.get((kind, name))
        if owner is not None and owner != self.name:
            raise HookRegistrationError(f"plugin {self.name!r}: template {kind} {name!r} is already provided by plugin {owner!r}")
        if kind != "global" and not callable(value):
            raise HookRegistrationError(f"plugin {self.name!r}: template {kind} {name!r} must be callable")
        self.extensions.owners[(kind, name)] = self.name
        table[name] = value

    def filter(self, name: str, fn: Callable[..., Any]) -> None:
        """A Jinja2 filter: ``{{ value|name }}``."""
        self._add("filter", self.extensions.filters, name, fn)

    def test(self, name: str, fn: Callable[..., Any]) -> None:
        """A Jinja2 test: ``{% if value is name %}``."""
        self._add("test", self.extensions.tests, name, fn)

    def global_(self, name: str, value: Any) -> None:
        """A Jinja2 global variable or function."""
        self._add("global", self.extensions.globals, name, value)

    def command(self, command: Any) -> None:
        """A click command, run as ``sonicgen <plugin> <command>`` (checked by its shape here: only the
        command line imports click)."""
        if not isinstance(getattr(command, "name", None), str) or not command.name or not callable(getattr(command, "main", None)):
            raise HookRegistrationError(f"plugin {self.name!r}: commands must be named click commands (use @click.command())")
        self.extensions.commands.setdefault(self.name, []).append(command)

    def route(self, handler: Any) -> None:
        """A Litestar route handler (or Router/Controller), mounted under ``/plugins/<plugin>/`` by the API."""
        if not callable(handler) and not hasattr(handler, "route_handlers"):
            raise HookRegistrationError(f"plugin {self.name!r}: a route must be a Litestar route handler, controller or router")
        self.extensions.routes.setdefault(self.name, []).append(handler)

    def middleware(self, middleware: Any) -> None:
        """A Litestar middleware (callable or ``DefineMiddleware``) for the whole API, in plugin order."""
        if not callable(middleware) and not hasattr(middleware, "middleware"):
            raise HookRegistrationError(f"plugin {self.name!r}: middleware must be a Litestar middleware or DefineMiddleware")
        self.extensions.middleware.setdefault(self.name, []).append(middleware)


@dataclass(frozen=True)
class Plugin:
    """A plugin's identity, needs and entry point.

    ``requires`` is the range of sonicgen versions it works with (``">=0.1,<1"``);
    ``depends`` maps other plugins' names to version ranges (``""`` accepts any), and those
    plugins are set up first.  ``config`` is a msgspec Struct validated from
    ``plugins.<name>`` in site.yaml.
    """

    name: str
    setup: Callable[[PluginContext[Any]], None]
    version: str = "0.0.0"
    description: str = ""
    config: type[msgspec.Struct] | None = None
    requires: str = ""
    depends: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        """What is wrong with this declaration (checked before anything runs)."""
        out = []
        if not isinstance(self.name, str) or not PLUGIN_NAME.fullmatch(self.name):
            out.append(f"plugin name {self.name!r} must be lowercase letters, digits, '-' or '_'")
        if not callable(self.setup):
            out.append("setup must be a function taking the PluginContext")
        try:
            Version(self.version)
        except (InvalidVersion, TypeError):
            out.append(f"version {self.version!r} is not a version number such as 1.2.0")
        for label, spec in (("requires", self.requires), *((f"depends[{k!r}]", v) for k, v in dict(self.depends).items())):
            try:
                SpecifierSet(spec)
            except (InvalidSpecifier, TypeError):
                out.append(f"{label} {spec!r} is not a version range such as '>=1.0,<2'")
        if self.config is not None:
            if not (isinstance(self.config, type) and issubclass(self.config, msgspec.Struct)):
                out.append("config must be a msgspec.Struct class")
            else:
                clash = sorted(set(RESERVED_SETTINGS) & {f.encode_name for f in msgspec.structs.fields(self.config)})
                if clash:
                    out.append(f"config keys {clash} are reserved by sonicgen in plugins.<name>")
        return out
