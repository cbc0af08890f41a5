"""Moving a collection between the files store and the SQLite store, losslessly.

The target is the same site with the collection's ``source`` switched, so both stores use
their normal code paths (validation, migrations, atomic writes) and nothing is special-cased.

Rows may be edited in the database between transfers (through the write API or by hand), so
content.db remembers, in ``_transfers``, what each row held when the last import or export wrote
or read it. Copying into the database overwrites (or, with ``mirror``, deletes) only rows that
still hold that; any other row it would change is a conflict, and nothing is written unless
``force``. A row whose content is already what the copy would write is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import msgspec

from sonicgen.config import Config
from sonicgen.content.models import Entry
from sonicgen.errors import BuildError, Problems
from sonicgen.sources import ANY, Store, StoreError, collection_config, open_store
from sonicgen.sources.sqlite.store import RowState, SqliteStore

Kind = Literal["files", "sqlite"]


@dataclass(frozen=True)
class Transfer:
    """What one transfer did: entries copied (new, updated, or already the same), and the target's
    entries with no counterpart in the source (``others``): removed with ``mirror``, else kept."""

    collection: str
    source: Kind
    target: Kind
    new: int
    updated: int
    unchanged: int
    others: int
    mirror: bool

    @property
    def copied(self) -> int:
        return self.new + self.updated + self.unchanged


def with_source(config: Config, collection: str, kind: Kind) -> Config:
    """``config`` with ``collection`` stored in ``kind``."""
    spec = collection_config(config, collection)
    collections = {**config.site.collections, collection: msgspec.structs.replace(spec, source=kind)}
    return replace(config, site=msgspec.structs.replace(config.site, collections=collections))


def transfer(config: Config, collection: str, source: Kind, target: Kind, *, force: bool = False, mirror: bool = False) -> Transfer:
    """Copy every entry of ``collection`` from ``source`` to ``target``; with ``mirror``, also remove the
    target's entries that the source does not have.

    Nothing is written unless every source entry is valid, so a transfer never half-copies
    a collection that has problems, nor while a database row it would overwrite or remove was
    edited since the last transfer (unless ``force``).
    """
    if source == target:
        raise StoreError(f"{collection}: source and target are both {source}; nothing to do")
    reader = open_store(with_source(config, collection, source), collection)
    writer = open_store(with_source(config, collection, target), collection)
    try:
        read = reader.row_states(collection) if isinstance(reader, SqliteStore) else {}
        problems = Problems()
        entries = list(reader.entries(collection, problems))
        _check_slugs(entries, problems)
        if problems.errors:
            raise BuildError(problems.items)
        if isinstance(writer, SqliteStore):
            done = _into_database(config, writer, collection, entries, force=force, mirror=mirror)
        else:
            done = _into_files(writer, collection, entries, mirror=mirror)
        if isinstance(reader, SqliteStore):  # the rows as they were read are now what the files hold
            reader.mark_transferred(collection, {e.slug: read[e.slug].digest for e in entries if e.slug in read})
    finally:
        reader.close()
        writer.close()
    new, updated, unchanged, others = done
    return Transfer(collection, source, target, new, updated, unchanged, others, mirror)


def _check_slugs(entries: list[Entry], problems: Problems) -> None:
    """Two source entries with one slug would overwrite each other in the target."""
    first: dict[str, str] = {}
    for entry in entries:
        where = first.setdefault(entry.slug, entry.source.path)
        if where != entry.source.path:
            problems.error(entry.source.path, f"has the slug {entry.slug!r} of {where} too; give one of them another slug", field="slug")


def _into_database(
    config: Config, writer: SqliteStore, collection: str, entries: list[Entry], *, force: bool, mirror: bool
) -> tuple[int, int, int, int]:
    rows = writer.row_states(collection)
    wanted = {entry.slug: writer.digest_of(entry) for entry in entries}
    others = [slug for slug in rows if slug not in wanted]
    if not force:
        _conflicts(config, collection, rows, wanted, others if mirror else [])
    new = updated = 0
    same: dict[str, str] = {}
    for entry in entries:
        row = rows.get(entry.slug)
        if row is not None and row.digest == wanted[entry.slug]:
            same[entry.slug] = row.digest
            continue
        expected = ANY if force else row.version if row is not None else None  # a row written meanwhile is a Conflict
        writer.save(entry, expected=expected, transferred=True)
        new, updated = (new + 1, updated) if row is None else (new, updated + 1)
    writer.mark_transferred(collection, same)
    if mirror:
        for slug in others:
            writer.delete(collection, slug, expected=ANY if force else rows[slug].version)
    return new, updated, len(same), len(others)


def _conflicts(config: Config, collection: str, rows: dict[str, RowState], wanted: dict[str, str], doomed: list[str]) -> None:
    """Raise a BuildError listing every row edited in the database that the copy would overwrite or delete."""
    keep = (
        f"sonicgen content import {collection} --from sqlite"
        if collection_config(config, collection).source == "files"
        else f"sonicgen content export {collection} --to files"
    )
    problems = Problems()
    for slug, row in rows.items():
        if not row.edited:
            continue
        if slug in wanted and wanted[slug] != row.digest:
            action = "the copy would overwrite it"
        elif slug in doomed:
            action = "--mirror would delete it"
        else:
            continue
        when = "changed in the database since the last import or export"
        if row.transferred is None:
            when = "written in the database, not by an import or export"
        problems.error(row.where, f"{when} (version {row.version}) and {action}; copy it to the files first ({keep}) or pass --force")
    if problems.errors:
        raise BuildError(problems.items)


def _into_files(writer: Store, collection: str, entries: list[Entry], *, mirror: bool) -> tuple[int, int, int, int]:
    existing = {entry.slug: entry.content_hash for entry in writer.entries(collection, Problems())}
    new = updated = unchanged = 0
    for entry in entries:
        before = existing.get(entry.slug)
        version = writer.save(entry, expected=ANY).version
        if before is None:
            new += 1
        elif before == version:
            unchanged += 1
        else:
            updated += 1
    copied = {entry.slug for entry in entries}
    others = [slug for slug in existing if slug not in copied]
    if mirror:
        for slug in others:
            writer.delete(collection, slug)
    return new, updated, unchanged, len(others)
