"""Remember a successful build in the build state: outputs, what each read, and the facts.

Written in one transaction after the output was committed, so a failed or interrupted
build leaves the state of the last good build, which still matches the output on disk.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping

from sonicgen.build.plan import UNKNOWN, Plan, Resolve
from sonicgen.build.state import as_json, decode_deps, encode_deps
from sonicgen.db.connect import retry_busy, write_transaction


def _doc_of(key: str) -> str | None:
    return key[2:].split(":", 1)[0] if key.startswith("d:") else None


def _select_ids(conn: sqlite3.Connection, keys: list[str]) -> dict[str, int]:
    return dict(conn.execute("SELECT key, id FROM facts WHERE key IN (SELECT value FROM json_each(?))", (as_json(keys),)))


def _fact_ids(conn: sqlite3.Connection, keys: set[str], resolve: Resolve, *, empty: bool) -> dict[str, int]:
    """Row ids of ``keys``, inserting the facts not stored yet (with ids chosen here) and their current values."""
    ids = {} if empty else _select_ids(conn, list(keys))
    new = sorted(key for key in keys if key not in ids)
    (last,) = conn.execute("SELECT coalesce(max(id), 0) FROM facts").fetchone()
    ids.update(zip(new, range(last + 1, last + 1 + len(new)), strict=True))
    rows = ((ids[key], key, UNKNOWN if (value := resolve(key)) is None else value, _doc_of(key)) for key in new)
    conn.executemany("INSERT INTO facts (id, key, value, doc) VALUES (?, ?, ?, ?)", rows)
    return ids


def _read_by(conn: sqlite3.Connection, paths: Iterable[str]) -> set[int]:
    """The facts the recorded ``paths`` read."""
    read: set[int] = set()
    for (deps,) in conn.execute("SELECT deps FROM outputs WHERE path IN (SELECT value FROM json_each(?))", (as_json(paths),)):
        read.update(decode_deps(deps))
    return read


def _prune_facts(conn: sqlite3.Connection, candidates: set[int]) -> None:
    """Forget the ``candidates`` no output reads any more (they would be compared on every build for nothing)."""
    for (deps,) in conn.execute("SELECT deps FROM outputs"):
        candidates.difference_update(decode_deps(deps))
    conn.executemany("DELETE FROM facts WHERE id = ?", [(fid,) for fid in candidates])


def record_build(
    conn: sqlite3.Connection,
    plan: Plan,
    rendered: Mapping[str, tuple[str | None, Iterable[str]]],
    planned: Iterable[str],
    resolve: Resolve,
    meta: Mapping[str, str],
) -> None:
    """Store what this build rendered (path -> definition and keys read) and the facts it saw.

    ``planned`` are all outputs the build planned, kept or rendered; recorded outputs not
    among them no longer exist and are forgotten.  ``meta`` holds what the next build compares
    before anything else (settings, the input signature, see :mod:`sonicgen.build.signature`).
    """

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
                "INSERT INTO docs (id, version) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version",
                plan.versions.items(),
            )
            conn.executemany("DELETE FROM docs WHERE id = ?", [(doc,) for doc in plan.removed_docs])
            keep = set(planned)
            gone = [path for (path,) in conn.execute("SELECT path FROM outputs").fetchall() if path not in keep]
            # Facts only the re-rendered or removed outputs read before may be read by nobody now.
            before = set() if plan.fresh else _read_by(conn, [*rendered, *gone])
            facts = _fact_ids(conn, {key for _, keys in rendered.values() for key in keys}, resolve, empty=plan.fresh)
            conn.executemany(
                """INSERT INTO outputs (path, definition, deps) VALUES (?, ?, ?)
                   ON CONFLICT (path) DO UPDATE SET definition = excluded.definition, deps = excluded.deps""",
                ((path, definition or UNKNOWN, encode_deps({facts[key] for key in keys})) for path, (definition, keys) in rendered.items()),
            )
            conn.executemany("DELETE FROM outputs WHERE path = ?", [(path,) for path in gone])
            if orphans := before.difference(facts.values()):
                _prune_facts(conn, orphans)

    retry_busy(write)
