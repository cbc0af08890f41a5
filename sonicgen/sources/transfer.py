"""Moving a collection between the files store and the SQLite store, losslessly.

The target is the same site with the collection's ``source`` switched, so both stores use
their normal code paths (validation, migrations, atomic writes) and nothing is special-cased.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import msgspec

from sonicgen.config import Config
from sonicgen.errors import BuildError, Problems
from sonicgen.sources import ANY, StoreError, collection_config, open_store

Kind = Literal["files", "sqlite"]


@dataclass(frozen=True)
class Transfer:
    collection: str
    source: Kind
    target: Kind
    copied: int


def with_source(config: Config, collection: str, kind: Kind) -> Config:
    """``config`` with ``collection`` stored in ``kind``."""
    spec = collection_config(config, collection)
    collections = {**config.site.collections, collection: msgspec.structs.replace(spec, source=kind)}
    return replace(config, site=msgspec.structs.replace(config.site, collections=collections))


def transfer(config: Config, collection: str, source: Kind, target: Kind) -> Transfer:
    """Copy every entry of ``collection`` from ``source`` to ``target`` (existing entries there are replaced).

    Nothing is written unless every source entry is valid, so a transfer never half-copies
    a collection that has problems.
    """
    if source == target:
        raise StoreError(f"{collection}: source and target are both {source}; nothing to do")
    reader = open_store(with_source(config, collection, source), collection)
    writer = open_store(with_source(config, collection, target), collection)
    try:
        problems = Problems()
        entries = list(reader.entries(collection, problems))
        if problems.errors:
            raise BuildError(problems.items)
        for entry in entries:
            writer.save(entry, expected=ANY)
    finally:
        reader.close()
        writer.close()
    return Transfer(collection, source, target, len(entries))
