"""Remember a successful build in the build state: outputs, what each read, and the facts.

Written in one transaction after the output was committed, so a failed or interrupted
build leaves the state of the last good build, which still matches the output on disk.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping

from sonicgen.build.plan import UNKNOWN, Plan, Resolve
from sonicgen.db.connect import retry_busy, write_transaction

_BATCH = 500  # SQLite's default limit on host parameters is 999


def _doc_of(key: str) -> str | None:
    return key[2:].split(":", 1)[0] if key.startswith("d:") else None


def _select_ids(conn: sqlite3.Connection, keys: list[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for start in range(0, len(keys), _BATCH):
        batch = keys[start : start + _BATCH]
        ids.update(conn.execute(f"SELECT key, id FROM facts WHERE key IN ({','.join('?' * len(batch))})", batch).fetchall())
    return ids


def _fact_ids(conn: sqlite3.Connection, keys: set[str], resolve: Resolve) -> dict[str, int]:
    """Row ids of ``keys``, inserting the facts not stored yet with their current values."""
    ids = _select_ids(conn, list(keys))
    new = [key for key in keys if key not in ids]
    rows = ((key, UNKNOWN if (value := resolve(key)) is None else value, _doc_of(key)) for key in new)
    conn.executemany("INSERT INTO facts (key, value, doc) VALUES (?, ?, ?)", rows)
    return ids | _select_ids(conn, new)


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
                for table in ("deps", "outputs", "facts", "docs"):
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
            conn.executemany(
                "INSERT INTO outputs (path, definition) VALUES (?, ?) ON CONFLICT (path) DO UPDATE SET definition = excluded.definition",
                ((path, definition or UNKNOWN) for path, (definition, _) in rendered.items()),
            )
            outputs = dict(conn.execute("SELECT path, id FROM outputs").fetchall())
            if not plan.fresh:
                conn.executemany("DELETE FROM deps WHERE output = ?", ((outputs[path],) for path in rendered))
            facts = _fact_ids(conn, {key for _, keys in rendered.values() for key in keys}, resolve)
            conn.executemany(
                "INSERT INTO deps (output, fact) VALUES (?, ?)",
                ((outputs[path], facts[key]) for path, (_, keys) in rendered.items() for key in keys),
            )
            keep = set(planned)
            gone = [(oid,) for path, oid in outputs.items() if path not in keep]
            conn.executemany("DELETE FROM deps WHERE output = ?", gone)
            conn.executemany("DELETE FROM outputs WHERE id = ?", gone)
            if rendered or gone or plan.changed:
                conn.execute("DELETE FROM facts WHERE NOT EXISTS (SELECT 1 FROM deps WHERE deps.fact = facts.id)")

    retry_busy(write)
