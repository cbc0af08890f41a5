"""The inputs of incremental planning that come from settings rather than content.

*Settings* are what every output may depend on without reading it through the site graph:
sonicgen itself, the plugins (their code, versions and settings), the build options and the
site.yaml sections that no recorded key covers.  When they change, every output renders.
A doc's *version* is its content hash with the settings its facts derive from (its
collection's section, the time zone, the Markdown renderer): an unchanged version means
unchanged ``d:`` facts, so a build never computes facts for docs nobody edited.  Its *shape*
is its entry but the body: a doc whose version changed and whose shape did not was edited in
its body alone.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable
from pathlib import Path

import msgspec

from sonicgen import __version__
from sonicgen.config import Config
from sonicgen.content.facts import digest, fingerprint
from sonicgen.content.graph import Doc
from sonicgen.content.models import Entry
from sonicgen.hooks.loader import SitePlugins

RECORDED_SECTIONS = ("title", "description", "language", "author", "menu", "params", "collections", "taxonomies", "markdown")
"""site.yaml sections whose readers are recorded (``s:``, ``cc:``, ``xc:`` keys, doc versions)."""


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


def doc_versions(docs: Iterable[Doc], renderer: str, config: Config) -> dict[str, str]:
    """Each doc's version: its content and the settings its facts derive from."""
    site = config.site
    zone = site.timezone
    epochs = {
        name: digest(f"{renderer}\n{zone}\n{msgspec.json.encode(collection).decode()}") for name, collection in site.collections.items()
    }
    return {doc.id: f"{doc._entry.content_hash}{epochs[doc.collection]}" for doc in docs}


SHAPE_FIELDS = tuple(f.name for f in dataclasses.fields(Entry) if f.name not in ("body", "content_hash"))


def doc_shape(entry: Entry) -> str:
    """Everything of ``entry`` but its body, as one fingerprint; "" when a value cannot be known.
    Fingerprints tell apart what ``==`` does not (a date's offset, 1 and 1.0, a list and a string)."""
    return fingerprint(tuple(getattr(entry, name) for name in SHAPE_FIELDS)) or ""
