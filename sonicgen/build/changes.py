"""What changed since the last good build, as a typed change set: the planner's input.

Files are compared by stat with what the last good build saw (a file whose stat was too recent
to trust then is compared by content); each changed file is typed by what it is to the site
(an entry's file, data, a template, site.yaml…).  Entries are compared by *version* (their
content and the settings their facts derive from) and, where the version changed, by *shape*
(everything but the body): an entry whose shape did not change was edited in its body alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sonicgen.build.settings import doc_shape
from sonicgen.build.signature import Signature, content_of
from sonicgen.build.state import InputStat
from sonicgen.config import Config
from sonicgen.content.models import Entry
from sonicgen.content.published import doc_id
from sonicgen.render.theme import theme_dir


class Input(StrEnum):
    """What a file is to the site."""

    ENTRY = "entry file"
    CONTENT = "other content file"  # a bundle's image, say
    DATA = "data file"
    STATIC = "static file"
    TEMPLATE = "template"
    THEME = "theme file"
    PLUGIN = "plugin"
    CONFIG = "site.yaml"
    DATABASE = "content database"


class What(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"  # a file
    BODY = "body"  # an entry, in its body alone
    FRONT_MATTER = "front matter"  # an entry, beyond its body


@dataclass(frozen=True, slots=True)
class FileChange:
    path: str
    input: Input
    what: What


@dataclass(frozen=True, slots=True)
class DocChange:
    doc: str  # ``collection/slug``
    what: What
    version: str  # "" when removed


@dataclass(frozen=True)
class ChangeSet:
    """What changed since the last good build.

    ``everything`` names why no smaller change set can be trusted (no build state, ``--clean``,
    the first build, settings that every output depends on).  ``files`` are the input files that
    changed; ``docs`` the entries, once they were read.  ``clock``: a scheduled entry came due or
    one expired.  ``output``: the output folder's manifest is not the one the last build wrote.
    ``watched``: plugins other than the built-in ones see the whole site at ``site:collected`` or
    ``outputs:complete``, so any edit may change what they made.
    """

    everything: str | None = None
    files: tuple[FileChange, ...] = ()
    docs: tuple[DocChange, ...] = ()
    clock: bool = False
    output: bool = False
    watched: bool = False

    @property
    def nothing(self) -> bool:
        return self.everything is None and not (self.files or self.docs or self.clock or self.output)

    @property
    def entries_only(self) -> bool:
        """Whether every changed file is an entry's file that was there before and still is."""
        return all(change.input is Input.ENTRY and change.what is What.CHANGED for change in self.files)


def classify(config: Config, path: str) -> Input:
    """What the input file at ``path`` (absolute) is to the site."""
    site = config.site
    if path == str(config.path):
        return Input.CONFIG
    if path in (str(config.dir(site.content_db)), str(config.dir(site.content_db + "-wal"))):
        return Input.DATABASE
    here = Path(path)
    for folder, kind in ((config.data_dir, Input.DATA), (config.dir(site.static_dir), Input.STATIC)):
        if here.is_relative_to(folder):
            return kind
    if here.is_relative_to(config.content_dir):
        return Input.ENTRY if here.suffix.lower() in (".md", ".markdown") else Input.CONTENT
    if here.is_relative_to(config.dir(site.templates_dir)):
        return Input.TEMPLATE
    if here.is_relative_to(config.dir(site.plugins_dir)):
        return Input.PLUGIN
    return Input.THEME if here.is_relative_to(theme_dir(config)) else Input.CONTENT


def file_changes(config: Config, before: Mapping[str, InputStat], now: Signature) -> tuple[FileChange, ...]:
    """The input files that appeared, went or changed since ``before``; a file whose stat could not be
    trusted then is compared by the content hash the last build used (read again now)."""
    changes = []
    for path, stat in now.files.items():
        old = before.get(path)
        if old is None:
            changes.append(FileChange(path, classify(config, path), What.ADDED))
        elif old[:2] != stat or (old[2] is not None and now.racy.get(path, content_of(path)) != old[2]):
            changes.append(FileChange(path, classify(config, path), What.CHANGED))
    changes += [FileChange(path, classify(config, path), What.REMOVED) for path in before.keys() - now.files.keys()]
    return tuple(sorted(changes, key=lambda change: change.path))


def input_stats(now: Signature) -> dict[str, InputStat]:
    """What to record of each input file: its stat, and for one too recent to trust, the content hash
    it had when the build began (one that could not be read is recorded as changed: mtime -1)."""
    stats: dict[str, InputStat] = {}
    for path, (size, mtime) in now.files.items():
        if path not in now.racy:
            stats[path] = (size, mtime, None)
        else:
            content = now.racy[path]
            stats[path] = (size, mtime, content) if content is not None else (size, -1, None)
    return stats


def doc_changes(
    before: Mapping[str, tuple[str, str]], entries: Iterable[Entry], versions: Mapping[str, str], *, complete: bool
) -> tuple[DocChange, ...]:
    """The entries added, removed or edited (in their body alone, or beyond it) since ``before``
    (entry id -> version and shape); with ``complete`` false, ``entries`` are only those read again."""
    changes = []
    seen = set()
    for entry in entries:
        doc = doc_id(entry.collection, entry.slug)
        seen.add(doc)
        version = versions[doc]
        old = before.get(doc)
        if old is None:
            changes.append(DocChange(doc, What.ADDED, version))
        elif old[0] != version:
            shape = doc_shape(entry)
            what = What.BODY if shape and shape == old[1] else What.FRONT_MATTER
            changes.append(DocChange(doc, what, version))
    if complete:
        changes += [DocChange(doc, What.REMOVED, "") for doc in before.keys() - seen]
    return tuple(sorted(changes, key=lambda change: change.doc))
