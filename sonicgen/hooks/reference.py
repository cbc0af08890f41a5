"""Text about hooks and plugins, generated from their declarations so it cannot drift.

The hook reference in the plugin guide (``content/docs/plugins.md``) and ``sonicgen plugins
hooks`` come from the catalogue's signatures and docstrings; ``sonicgen plugins info``
describes a plugin's settings from its msgspec schema.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import msgspec

from sonicgen.hooks.loader import LoadedPlugin, SitePlugins
from sonicgen.hooks.spec import CATALOGUE, HookSpec

MODES = {
    "pipe": "each handler may return a replacement value; None keeps it",
    "collect": "every handler's non-None result is gathered",
    "first": "the first non-None result wins; later handlers are not called",
    "notify": "handlers are told; results are ignored",
}


def hook_reference(catalogue: Mapping[str, HookSpec] = CATALOGUE) -> str:
    """Markdown: one section per hook, in the order they fire."""
    parts = []
    for spec in catalogue.values():
        kind = f"{spec.mode}, {'sync or async handlers' if spec.is_async else 'sync'}"
        parts.append(f"### `{spec.name}`\n\n*{kind}* — `{spec.signature}`\n\n{spec.doc}\n")
    return "\n".join(parts)


def _schema_lines(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Iterator[str]:
    required = set(schema.get("required", ()))
    for name, prop in schema.get("properties", {}).items():
        ref = prop.get("$ref", "")
        target = defs.get(ref.rsplit("/", 1)[-1], {}) if ref else prop
        kind = target.get("type") or " | ".join(str(o.get("type", o.get("$ref", "?"))) for o in target.get("anyOf", [])) or "any"
        if isinstance(kind, list):
            kind = " | ".join(kind)
        notes = []
        if name in required:
            notes.append("required")
        elif "default" in prop:
            notes.append(f"default {prop['default']!r}")
        for key, label in (("minimum", "≥"), ("maximum", "≤"), ("minLength", "min length "), ("maxLength", "max length ")):
            if key in target:
                notes.append(f"{label}{target[key]}")
        if "enum" in target:
            notes.append("one of " + ", ".join(map(repr, target["enum"])))
        description = prop.get("description") or target.get("description")
        yield f"  {name}: {kind}" + (f" ({', '.join(notes)})" if notes else "") + (f" — {description}" if description else "")


def config_schema(struct: type[msgspec.Struct] | None) -> list[str]:
    """One line per setting: name, type, default, constraints, description."""
    if struct is None:
        return ["  (no settings)"]
    schema = msgspec.json.schema(struct)
    defs = schema.get("$defs", {})
    root = defs.get(schema.get("$ref", "").rsplit("/", 1)[-1], schema)
    return list(_schema_lines(root, defs)) or ["  (no settings)"]


def registrations(site: SitePlugins, name: str) -> list[str]:
    """What plugin ``name`` registered: hooks with priorities, template helpers, commands, routes."""
    ext = site.extensions
    lines = []
    hooks = [f"{h.hook} ({h.priority})" for hook in site.registry.catalogue for h in site.registry.handlers(hook) if h.plugin == name]
    if hooks:
        lines.append("hooks: " + ", ".join(hooks))
    for kind in ("filter", "test", "global"):
        owned = sorted(n for (k, n), owner in ext.owners.items() if k == kind and owner == name)
        if owned:
            lines.append(f"template {kind}s: " + ", ".join(owned))
    if ext.commands.get(name):
        lines.append("commands: " + ", ".join(f"sonicgen {name} {c.name}" for c in ext.commands[name]))
    if ext.routes.get(name):
        lines.append(f"API routes: {len(ext.routes[name])} under /plugins/{name}/")
    if ext.middleware.get(name):
        lines.append(f"API middleware: {len(ext.middleware[name])}")
    return lines


def plugin_info(site: SitePlugins, item: LoadedPlugin) -> str:
    """``sonicgen plugins info NAME``: metadata, settings schema, registrations and docs."""
    p = item.plugin
    lines = [
        f"{p.name} {p.version}" + (f" — {p.description}" if p.description else ""),
        f"source: {item.kind}, {item.source}",
        f"enabled: {'yes' if item.enabled else 'no (disabled in site.yaml)'}",
    ]
    if p.requires:
        lines.append(f"requires sonicgen {p.requires}")
    if p.depends:
        lines.append("depends on: " + ", ".join(f"{n} {v}".strip() for n, v in p.depends.items()))
    lines.append(f"settings (plugins.{p.name} in site.yaml):")
    lines += config_schema(p.config)
    lines += registrations(site, p.name)
    if item.doc:
        lines += ["", item.doc]
    return "\n".join(lines)
