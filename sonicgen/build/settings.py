"""The inputs of planning that come from settings rather than content.

*Settings* are what every output may depend on without reading it through the site graph:
sonicgen itself, the plugins (their code, versions and settings), the build options and the
site.yaml sections that no recorded key covers.  When they change, every output renders.
An entry's *version* is its content hash with the settings its facts derive from (its
collection's section, the time zone, the Markdown renderer): an unchanged version means
unchanged facts of that doc, so a build never computes facts for docs nobody edited.  Its
*shape* is everything but its body: an entry whose version changed and whose shape did not
was edited in its body alone.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import msgspec

from sonicgen.config import Config
from sonicgen.content.facts import digest
from sonicgen.content.models import Entry, SourceRef
from sonicgen.content.published import doc_id
from sonicgen.hooks.loader import SitePlugins
from sonicgen.version import __version__

RECORDED_SECTIONS = ("title", "description", "language", "author", "menu", "params", "collections", "taxonomies", "markdown")
"""site.yaml sections whose readers are recorded (setting, collection and taxonomy keys, entry versions)."""


def _file_digest(name: str | None) -> str:
    if name is None:
        return "-"
    try:
        return hashlib.sha256(Path(name).read_bytes()).hexdigest()
    except OSError:
        return "-"


def settings_fingerprint(config: Config, plugins: SitePlugins, options: object, out_dir: Path) -> str:
    """Everything that makes every output stale when it changes."""
    site = msgspec.to_builtins(config.site)
    unrecorded = {key: value for key, value in site.items() if key not in RECORDED_SECTIONS}
    parts = [
        f"sonicgen {__version__}",
        msgspec.json.encode(unrecorded).decode(),
        repr(options),
        str(out_dir),
        *(f"{p.plugin.name} {p.plugin.version} {p.enabled} {_file_digest(p.file)}" for p in plugins.plugins),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def versions(entries: Iterable[Entry], renderer: str, config: Config, published: Callable[[Entry], bool]) -> Iterator[tuple[str, str]]:
    """Each entry's id and version, in order: its content, the settings its facts derive from, and whether
    it is published now (a scheduled entry's version changes when it comes due).  One at a time: a
    build records those of 100,000 entries."""
    site = config.site
    zone = site.timezone
    epochs = {
        name: digest(f"{renderer}\n{zone}\n{msgspec.json.encode(collection).decode()}") for name, collection in site.collections.items()
    }
    return ((doc_id(e.collection, e.slug), f"{e.content_hash}{epochs[e.collection]}{'' if published(e) else '-'}") for e in entries)


SHAPE_FIELDS = tuple(f.name for f in dataclasses.fields(Entry) if f.name not in ("body", "content_hash"))


class _Unknowable(Exception):
    pass


def _tagged(value: Any) -> Any:
    """``value`` as msgpack can hold it, each kind apart: a date and its text, a time's offset, a list and a tuple."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is list or kind is tuple:
        return [kind.__name__, *map(_tagged, value)]
    if kind is dict:
        return {str(key): _tagged(item) for key, item in value.items()} if all(type(key) is str for key in value) else _unknowable()
    if kind in (datetime, date, time):
        return [kind.__name__, value.isoformat()]
    if kind is SourceRef:
        return ["source", value.path, value.line, _tagged(dict(value.field_lines))]
    return _unknowable()


def _unknowable() -> Any:
    raise _Unknowable


_PLAIN = frozenset({str, int, float, bool, type(None)})
_shape_encoder = msgspec.msgpack.Encoder()


def doc_shape(entry: Entry) -> str:
    """Everything of ``entry`` but its body, as one digest; "" when a value cannot be known.  It tells
    apart what ``==`` does not (a date's offset, 1 and 1.0, a list and a string)."""
    try:
        encoded = _shape_encoder.encode([_tagged(getattr(entry, name)) for name in SHAPE_FIELDS])
    except _Unknowable:
        return ""
    return hashlib.blake2b(encoded, digest_size=16).hexdigest()


def renderer_fingerprint(config: Config, plugins: SitePlugins) -> str:
    """Everything besides the body that a body's rendering depends on."""
    markdown_plugins = sorted(
        {h.plugin for hook in ("markdown:setup", "markdown:highlight") for h in plugins.registry.handlers(hook)},
    )
    loaded = {p.plugin.name: p for p in plugins.plugins}
    parts = [
        f"sonicgen {__version__}",
        *(f"{package} {version(package)}" for package in ("markdown-it-py", "mdit-py-plugins", "pygments")),
        msgspec.json.encode(config.site.markdown).decode(),
        config.site.base_url,
        *(
            f"plugin {name} {loaded[name].plugin.version} {msgspec.json.encode(config.site.plugins.get(name)).decode()}"
            for name in markdown_plugins
        ),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
