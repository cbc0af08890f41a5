"""Where content lives: one Store contract over both backends, flat files and SQLite.

The build reads through :func:`read_entries` and the Store protocol alone; the write API and
the ``content`` commands use the same stores.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sonicgen.config import Config
from sonicgen.content.models import Entry
from sonicgen.errors import Problems
from sonicgen.sources.base import (
    ANY,
    RACY_NS,
    Change,
    Conflict,
    Listing,
    NotFound,
    Parallel,
    Query,
    SourceMemory,
    Store,
    Stored,
    StoreError,
    collection_config,
)
from sonicgen.sources.files.reader import load_data, read_entry
from sonicgen.sources.files.store import FilesStore
from sonicgen.sources.sqlite.store import SqliteStore


def open_store(config: Config, collection: str, parallel: Callable[[], Parallel | None] | None = None) -> Store:
    """The store that holds ``collection`` (its ``source:`` in site.yaml); a files store reads many new
    files in the workers ``parallel`` starts (it is called only then)."""
    if collection_config(config, collection).source == "sqlite":
        return SqliteStore(config)
    return FilesStore(config, parallel)


def entry_at(config: Config, collection: str, path: Path, problems: Problems) -> Entry | None:
    """The entry of ``collection`` (a files collection) that the file at ``path`` holds now; None after
    reporting what is wrong with it.  For a build that reads again only the files that changed."""
    return read_entry(config, collection, collection_config(config, collection), path, problems)


def read_entries(
    config: Config, problems: Problems, memory: SourceMemory | None = None, parallel: Callable[[], Parallel | None] | None = None
) -> list[Entry]:
    """Every entry of every collection, each read from its own store: what a build starts from.

    Invalid entries are reported to ``problems`` and left out, so every file and row is checked in one run.
    ``memory`` and ``parallel`` are for the stores that can use them (see :meth:`Store.entries`).
    """
    stores: dict[str, Store] = {}
    try:
        out: list[Entry] = []
        for name, spec in config.site.collections.items():
            if spec.source not in stores:
                stores[spec.source] = open_store(config, name, parallel)
            out.extend(stores[spec.source].entries(name, problems, memory))
        return out
    finally:
        for store in stores.values():
            store.close()


__all__ = [
    "ANY",
    "RACY_NS",
    "Change",
    "Conflict",
    "Listing",
    "NotFound",
    "Parallel",
    "Query",
    "SourceMemory",
    "Store",
    "StoreError",
    "Stored",
    "collection_config",
    "entry_at",
    "load_data",
    "open_store",
    "read_entries",
]
