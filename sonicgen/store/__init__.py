"""Where content lives: one Store contract, a files store and a SQLite store."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from sonicgen.config import Config
from sonicgen.content.models import Entry
from sonicgen.errors import Problems
from sonicgen.store.base import ANY, Change, Conflict, Listing, NotFound, Query, Store, Stored, StoreError, collection_config
from sonicgen.store.files import FilesStore
from sonicgen.store.sqlite import SqliteStore


def open_store(config: Config, collection: str, jobs: int = 1) -> Store:
    """The store that holds ``collection`` (its ``source:`` in site.yaml); a files store reads
    many new files in ``jobs`` processes."""
    if collection_config(config, collection).source == "sqlite":
        return SqliteStore(config)
    return FilesStore(config, jobs)


class SourceMemory(Protocol):
    """Where a build keeps the content files it read, for the next build (the build state)."""

    def records(self, collection: str) -> Iterable[bytes]: ...

    def keep(self, collection: str, fresh: Iterable[tuple[str, bytes]], gone: list[str]) -> None: ...


def read_entries(config: Config, problems: Problems, memory: SourceMemory | None = None, jobs: int = 1) -> list[Entry]:
    """Every entry of every collection, each read from its own store: what a build starts from.

    Invalid entries are reported to ``problems`` and left out, so every file and row is checked in one run.
    With ``memory``, content files whose stat did not change since the last build are not read again;
    many files to read are read in ``jobs`` processes.
    """
    stores: dict[str, Store] = {}
    try:
        out: list[Entry] = []
        for name, spec in config.site.collections.items():
            if spec.source not in stores:
                stores[spec.source] = open_store(config, name, jobs)
            store = stores[spec.source]
            if memory is not None and isinstance(store, FilesStore):
                store.recall(name, memory.records(name))
            out.extend(store.entries(name, problems))
            if memory is not None and isinstance(store, FilesStore):
                memory.keep(name, *store.news(name))
        return out
    finally:
        for store in stores.values():
            store.close()


__all__ = [
    "ANY",
    "Change",
    "Conflict",
    "Listing",
    "NotFound",
    "Query",
    "SourceMemory",
    "Store",
    "StoreError",
    "Stored",
    "collection_config",
    "open_store",
    "read_entries",
]
