"""The Store contract: what the build and the write API need from wherever content lives.

Two implementations (``files`` and ``sqlite``) behave identically; one shared test suite
(``tests/test_store_contract.py``) runs against both and is the executable form of this
contract.  Entries go in and come out as :class:`~sonicgen.content.models.Entry`, validated
against their collection's schema.
"""

from __future__ import annotations

import base64
import builtins
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sonicgen.config import CollectionConfig, Config
from sonicgen.content.models import Entry
from sonicgen.errors import Problems, SonicgenError

RACY_NS = 2_000_000_000
"""A file modified this close to when it was last read may have changed again within the same
timestamp tick, with the same size, invisibly to stat: its stat is not trusted, its content is."""


class StoreError(SonicgenError):
    """Content cannot be read or written; the message names the file or table and what to do."""


class NotFound(StoreError):
    """No entry with that collection and slug."""


class Conflict(StoreError):
    """The entry changed since the version the writer read (optimistic concurrency), or it
    already exists when the writer meant to create it."""

    def __init__(self, message: str, current: str | None) -> None:
        super().__init__(message)
        self.current = current


class _Any:
    """``expected=ANY``: write whatever the current version is."""

    def __repr__(self) -> str:
        return "ANY"


ANY: Any = _Any()
"""Pass as ``expected`` to skip the version check."""


@dataclass(frozen=True, slots=True)
class Stored:
    """An entry with its version (an opaque string: a content hash for files, a counter for SQLite)."""

    entry: Entry
    version: str


@dataclass(frozen=True, slots=True)
class Change:
    """One write seen by the change feed; ``seq`` grows with every change the store records."""

    seq: int
    collection: str
    slug: str
    op: Literal["save", "delete"]
    version: str | None  # None after a delete


@dataclass(frozen=True, slots=True)
class Listing:
    """One page of a listing; pass ``cursor`` back to get the next page (None: this was the last)."""

    items: list[Stored]
    cursor: str | None
    total: int


@dataclass(frozen=True, slots=True)
class Query:
    """What to list: equality filters on fields (a list field matches when it contains the value),
    a sort like ``"-date,title"`` (default: the collection's sort, then slug), a page size, and
    the cursor of the previous page."""

    filters: Mapping[str, Any] | None = None
    sort: str | None = None
    limit: int = 50
    cursor: str | None = None


class SourceMemory(Protocol):
    """Where a build keeps what a store read, for the store of the next build (the build state):
    a store that reads many files can then skip those that did not change.

    ``reading`` names how the records were made (the store's format and the settings that turn
    a file into an entry): records kept with another ``reading`` are not recalled.
    """

    def recalled_sources(self, collection: str, reading: str) -> Iterable[bytes]:
        """What the last build kept for ``collection`` (records only the store that kept them reads)."""
        ...

    def keep_sources(self, collection: str, reading: str, fresh: Iterable[tuple[str, bytes]], gone: builtins.list[str]) -> None:
        """Keep ``fresh`` records (by path) and forget the ``gone`` paths."""
        ...


class Parallel(Protocol):
    """Worker processes a store may read many files in (a :class:`~sonicgen.parallel.WorkerPool`); each
    worker's context has the site's configuration as ``config``."""

    @property
    def size(self) -> int: ...

    def map(self, task: Callable[[Any, Any], Any], items: Sequence[Any]) -> Iterator[tuple[int, Any]]: ...


class Store(Protocol):
    """Where the entries of some collections live."""

    def entries(self, collection: str, problems: Problems, memory: SourceMemory | None = None) -> Iterator[Entry]:
        """Every entry of ``collection`` for a build; invalid ones are reported to ``problems`` and
        skipped.  ``memory`` is optional: a store that can use it reads only what changed since."""
        ...

    def list(self, collection: str, query: Query = Query(), problems: Problems | None = None) -> Listing:
        """One page of valid entries matching ``query``, in a stable order; what is wrong with the
        entries left out because they cannot be read goes to ``problems`` (all of them, on every page)."""
        ...

    def get(self, collection: str, slug: str) -> Stored:
        """The entry, or raise NotFound."""
        ...

    def save(self, entry: Entry, *, expected: str | None = ANY) -> Stored:
        """Create or update ``entry``; ``expected`` is the version the writer read (None: it must
        not exist yet). Raise Conflict when it does not match, StoreError when the entry is invalid."""
        ...

    def delete(self, collection: str, slug: str, *, expected: str | None = ANY) -> None:
        """Remove the entry (NotFound if absent; Conflict if ``expected`` does not match)."""
        ...

    def changes(self, since: int = 0) -> builtins.list[Change]:
        """Changes with ``seq > since``, oldest first: writes through the store and, for files,
        edits made outside it (found by scanning)."""
        ...

    def close(self) -> None: ...


def collection_config(config: Config, collection: str) -> CollectionConfig:
    """The collection's settings, or a StoreError listing the collections there are."""
    spec = config.site.collections.get(collection)
    if spec is None:
        known = ", ".join(config.site.collections) or "none"
        raise StoreError(f"{config.source}: no collection named {collection!r} (collections: {known})")
    return spec


def encode_cursor(position: Mapping[str, Any]) -> str:
    """An opaque, URL-safe cursor for the position after the last item of a page."""
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":"), default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise StoreError(f"invalid cursor {cursor!r}; pass back the cursor of the previous page unchanged") from None
    if not isinstance(value, dict):
        raise StoreError(f"invalid cursor {cursor!r}; pass back the cursor of the previous page unchanged")
    return value
