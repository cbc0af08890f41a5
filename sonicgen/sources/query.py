"""Filtering, sorting and keyset paging of stored entries, shared by every store.

One implementation means the stores cannot disagree on order, on where missing values
sort, or on what a cursor means.  A cursor records the sort values and slug of the last
item served, so inserting or deleting entries between pages never repeats or skips one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from functools import cmp_to_key
from typing import Any

from sonicgen.config.schema import CollectionConfig
from sonicgen.sources.base import Listing, Query, Stored, StoreError, decode_cursor, encode_cursor

MAX_LIMIT = 1000


def _field(item: Stored, name: str) -> Any:
    entry = item.entry
    if name == "slug":
        return entry.slug
    if name == "path":
        return f"{entry.path}/{entry.slug}"
    return entry.fields.get(name, entry.extra.get(name))


def _comparable(value: Any) -> Any:
    """One total order per value: missing values last, dates as ISO text, lists by their text."""
    if value is None:
        return (1, "")
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, datetime):
        return (0, value.isoformat() if value.tzinfo else value.isoformat() + "~")
    if isinstance(value, date):
        return (0, value.isoformat())
    if isinstance(value, (int, float)):
        return (0, value)
    if isinstance(value, (list, tuple)):
        return (0, ",".join(map(str, value)))
    return (0, str(value).casefold())


def _keys(sort: str) -> list[tuple[str, bool]]:
    return [(k.strip().lstrip("-"), k.strip().startswith("-")) for k in sort.split(",") if k.strip()]


def _matches(item: Stored, filters: dict[str, Any]) -> bool:
    for name, wanted in filters.items():
        value = _field(item, name)
        if isinstance(value, list):
            if wanted not in value:
                return False
        elif value != wanted and str(value) != str(wanted):
            return False
    return True


def _compare(a: list[Any], b: list[Any], keys: list[tuple[str, bool]]) -> int:
    """Order of two positions: each key ascending or descending, missing values last, then slug."""
    for (_, descending), mine, theirs in zip([*keys, ("slug", False)], a, b, strict=True):
        if mine == theirs:
            continue
        if mine[0] != theirs[0]:
            return -1 if mine[0] < theirs[0] else 1
        try:
            order = -1 if mine[1] < theirs[1] else 1
        except TypeError:
            order = -1 if str(mine[1]) < str(theirs[1]) else 1
        return -order if descending else order
    return 0


def run_query(items: Iterable[Stored], collection: CollectionConfig, query: Query) -> Listing:
    """The page of ``items`` that ``query`` asks for."""
    if not 1 <= query.limit <= MAX_LIMIT:
        raise StoreError(f"limit must be between 1 and {MAX_LIMIT}, got {query.limit}")
    keys = _keys(query.sort or collection.sort or "")
    known = set(collection.fields) | {"slug", "path"}
    unknown = [name for name, _ in keys if name not in known] + [name for name in (query.filters or {}) if name not in known]
    if unknown:
        raise StoreError(f"unknown field {unknown[0]!r}; fields of this collection: {', '.join(sorted(known))}")

    def position(item: Stored) -> list[Any]:
        # JSON-shaped (lists, not tuples) so a position survives the trip through a cursor unchanged.
        return [list(_comparable(_field(item, name))) for name, _ in keys] + [[0, item.entry.slug]]

    filters = dict(query.filters or {})

    def order(a: tuple[list[Any], Stored], b: tuple[list[Any], Stored]) -> int:
        return _compare(a[0], b[0], keys)

    ranked = sorted(((position(i), i) for i in items if _matches(i, filters)), key=cmp_to_key(order))
    start = 0
    if query.cursor is not None:
        after = decode_cursor(query.cursor).get("after")
        if not isinstance(after, list) or len(after) != len(keys) + 1 or not all(isinstance(p, list) and len(p) == 2 for p in after):
            raise StoreError("this cursor belongs to another sort or query; start again without a cursor")
        # The first item after the cursor's position, even if the item it was taken from is gone.
        start = next((n for n, (pos, _) in enumerate(ranked) if _compare(pos, after, keys) > 0), len(ranked))
    page = ranked[start : start + query.limit]
    more = start + query.limit < len(ranked)
    cursor = encode_cursor({"after": page[-1][0]}) if page and more else None
    return Listing([item for _, item in page], cursor, len(ranked))
