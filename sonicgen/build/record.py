"""Remember a successful build in the build state: outputs, what each read, and the facts.

Written in one transaction after the output was committed, so a failed or interrupted
build leaves the state of the last good build, which still matches the output on disk.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping

from sonicgen.build.plan import UNKNOWN, Plan, Resolve
from sonicgen.db.connect import retry_busy, write_transaction


def _doc_of(key: str) -> str | None:
    return key[2:].split(":", 1)[0] if key.startswith("d:") else None


class _FactIds:
    """Row ids of facts, inserting each new key once with its current value."""

    def __init__(self, conn: sqlite3.Connection, resolve: Resolve) -> None:
        self.conn = conn
        self.resolve = resolve
        self._ids: dict[str, int] | None = None

    def __call__(self, key: str) -> int:
        if self._ids is None:  # loaded on first use: a build that rendered nothing does not need them
            self._ids = dict(self.conn.execute("SELECT key, id FROM facts").fetchall())
        found = self._ids.get(key)
        if found is None:
            value = self.resolve(key)
            row = self.conn.execute(
                "INSERT INTO facts (key, value, doc) VALUES (?, ?, ?) RETURNING id",
                (key, UNKNOWN if value is None else value, _doc_of(key)),
            ).fetchone()
            found = self._ids[key] = int(row[0])
        return found


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
            fact_id = _FactIds(conn, resolve)
            for path, (definition, keys) in rendered.items():
                output = conn.execute(
                    """INSERT INTO outputs (path, definition) VALUES (?, ?)
                       ON CONFLICT (path) DO UPDATE SET definition = excluded.definition RETURNING id""",
                    (path, definition or UNKNOWN),
                ).fetchone()[0]
                conn.execute("DELETE FROM deps WHERE output = ?", (output,))
                conn.executemany("INSERT INTO deps (output, fact) VALUES (?, ?)", [(output, fact_id(key)) for key in keys])
            keep = set(planned)
            gone = [(oid,) for oid, path in conn.execute("SELECT id, path FROM outputs").fetchall() if path not in keep]
            conn.executemany("DELETE FROM deps WHERE output = ?", gone)
            conn.executemany("DELETE FROM outputs WHERE id = ?", gone)
            if rendered or gone or plan.changed:
                conn.execute("DELETE FROM facts WHERE NOT EXISTS (SELECT 1 FROM deps WHERE deps.fact = facts.id)")

    retry_busy(write)
