"""Remember a successful build in the build state: outputs, what each read, and the facts.

Written in one transaction after the output was committed, so a failed or interrupted
build leaves the state of the last good build, which still matches the output on disk.
"""

from __future__ import annotations

import sqlite3
from array import array
from collections.abc import Iterable, Mapping, Sequence

from sonicgen.build.plan import UNKNOWN, Plan, Resolve
from sonicgen.build.state import as_json, decode_deps, encode_deps
from sonicgen.db.connect import retry_busy, write_transaction

_CHUNK = 50_000
"""Keys looked up in the facts table per query."""


class Reads:
    """What the outputs of one build read: each distinct key once, numbered, and each output's
    keys as an array of those numbers.

    At 100,000 pages the outputs read millions of keys, mostly the same 1.5 million: an array
    holds a key in 4 bytes where a tuple takes 8, and recording numbers the facts from here
    instead of gathering every key into sets and dicts of its own.
    """

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}  # key -> number, in the order first read
        self.by_path: dict[str, array[int]] = {}

    def add(self, path: str, keys: Sequence[str]) -> None:
        numbers = self.numbers
        for key in set(keys).difference(numbers):
            numbers[key] = len(numbers)
        self.by_path[path] = array("I", map(numbers.__getitem__, keys))


def _doc_of(key: str) -> str | None:
    return key[2:].split(":", 1)[0] if key.startswith("d:") else None


def _fact_ids(conn: sqlite3.Connection, numbers: Mapping[str, int], resolve: Resolve, *, empty: bool) -> array[int]:
    """The row id of each numbered key (indexed by its number), inserting the facts not stored yet
    with their current values; new facts get ids in the order of their keys, as the index on
    ``facts.key`` is cheapest to grow."""
    ids = array("q", bytes(8 * len(numbers)))  # 0: not stored yet (row ids start at 1)
    names = [] if empty else list(numbers)
    for start in range(0, len(names), _CHUNK):  # a template edit looks up a million keys: no dict of them all
        chunk = as_json(names[start : start + _CHUNK])
        for key, fact in conn.execute("SELECT key, id FROM facts WHERE key IN (SELECT value FROM json_each(?))", (chunk,)):
            ids[numbers[key]] = fact
    (last,) = conn.execute("SELECT coalesce(max(id), 0) FROM facts").fetchone()
    new = sorted(key for key, number in numbers.items() if not ids[number])
    for fact, key in enumerate(new, last + 1):
        ids[numbers[key]] = fact
    rows = ((ids[numbers[key]], key, UNKNOWN if (value := resolve(key)) is None else value, _doc_of(key)) for key in new)
    conn.executemany("INSERT INTO facts (id, key, value, doc) VALUES (?, ?, ?, ?)", rows)
    return ids


def _orphans(conn: sqlite3.Connection, paths: Iterable[str], ids: array[int]) -> set[int]:
    """Facts the recorded ``paths`` read before that no output of this build (``ids``) reads."""
    read_now = bytearray(max(ids, default=0) + 1)
    for fact in ids:
        read_now[fact] = 1
    orphans: set[int] = set()
    for (deps,) in conn.execute("SELECT deps FROM outputs WHERE path IN (SELECT value FROM json_each(?))", (as_json(paths),)):
        orphans.update(fact for fact in decode_deps(deps) if fact >= len(read_now) or not read_now[fact])
    return orphans


def _prune_facts(conn: sqlite3.Connection, candidates: set[int]) -> None:
    """Forget the ``candidates`` no output reads any more (they would be compared on every build for nothing)."""
    for (deps,) in conn.execute("SELECT deps FROM outputs"):
        candidates.difference_update(decode_deps(deps))
    conn.executemany("DELETE FROM facts WHERE id = ?", [(fid,) for fid in candidates])


def record_build(
    conn: sqlite3.Connection,
    plan: Plan,
    reads: Reads,
    definitions: Mapping[str, str | None],
    resolve: Resolve,
    meta: Mapping[str, str],
) -> None:
    """Store what this build rendered (``reads``: the keys each output read) and the facts it saw.

    ``definitions`` holds every output the build planned, kept or rendered, with its
    definition; recorded outputs not among them no longer exist and are forgotten.  ``meta``
    holds what the next build compares before anything else (settings, the input signature,
    see :mod:`sonicgen.build.signature`).
    """
    rendered = [path for path in reads.by_path if path in definitions]

    def write() -> None:
        with write_transaction(conn):
            if plan.fresh:
                for table in ("outputs", "facts", "docs"):
                    conn.execute(f"DELETE FROM {table}")
            conn.executemany(
                "INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value", meta.items()
            )
            conn.executemany("UPDATE facts SET value = ? WHERE key = ?", [(value, key) for key, value in plan.changed.items()])
            conn.executemany(
                "INSERT INTO docs (id, version, shape) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET version = excluded.version, shape = excluded.shape",
                ((doc, version, plan.shapes.get(doc, "")) for doc, version in plan.versions.items()),
            )
            conn.executemany("DELETE FROM docs WHERE id = ?", [(doc,) for doc in plan.removed_docs])
            gone = [path for (path,) in conn.execute("SELECT path FROM outputs").fetchall() if path not in definitions]
            ids = _fact_ids(conn, reads.numbers, resolve, empty=plan.fresh)
            # Facts only the re-rendered or removed outputs read before may be read by nobody now.
            orphans = set() if plan.fresh else _orphans(conn, [*rendered, *gone], ids)
            conn.executemany(
                """INSERT INTO outputs (path, definition, deps) VALUES (?, ?, ?)
                   ON CONFLICT (path) DO UPDATE SET definition = excluded.definition, deps = excluded.deps""",
                ((path, definitions[path] or UNKNOWN, encode_deps({ids[n] for n in reads.by_path[path]})) for path in rendered),
            )
            conn.executemany("DELETE FROM outputs WHERE path = ?", [(path,) for path in gone])
            if orphans:
                _prune_facts(conn, orphans)

    retry_busy(write)
