"""Where content lives: one Store contract, a files store and a SQLite store."""

from __future__ import annotations

from sonicgen.config import Config
from sonicgen.content.models import Entry
from sonicgen.errors import Problems
from sonicgen.store.base import ANY, Change, Conflict, Listing, NotFound, Query, Store, Stored, StoreError, collection_config
from sonicgen.store.files import FilesStore
from sonicgen.store.sqlite import SqliteStore


def open_store(config: Config, collection: str) -> Store:
    """The store that holds ``collection`` (its ``source:`` in site.yaml)."""
    if collection_config(config, collection).source == "sqlite":
        return SqliteStore(config)
    return FilesStore(config)


def read_entries(config: Config, problems: Problems) -> list[Entry]:
    """Every entry of every collection, each read from its own store: what a build starts from.

    Invalid entries are reported to ``problems`` and left out, so every file and row is checked in one run.
    """
    stores: dict[str, Store] = {}
    try:
        out: list[Entry] = []
        for name, spec in config.site.collections.items():
            if spec.source not in stores:
                stores[spec.source] = open_store(config, name)
            out.extend(stores[spec.source].entries(name, problems))
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
    "Store",
    "StoreError",
    "Stored",
    "collection_config",
    "open_store",
    "read_entries",
]
