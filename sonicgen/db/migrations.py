"""Versioned migrations for every database sonicgen owns.

A migration has an id that orders it (``0001_changes``), a description, and the SQL
statements it runs.  Applied migrations are recorded in ``_migrations`` with a checksum of
their SQL, so an applied migration that was later edited is caught instead of silently
diverging.  Each migration runs in its own ``BEGIN IMMEDIATE`` transaction: one that fails
half-way is rolled back and leaves the database exactly as it was.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sonicgen.db.connect import DatabaseError, write_transaction

LEDGER = """CREATE TABLE IF NOT EXISTS _migrations (
    id TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TEXT NOT NULL
)"""


@dataclass(frozen=True)
class Migration:
    id: str
    description: str
    statements: tuple[str, ...]

    @property
    def checksum(self) -> str:
        return hashlib.sha256("\n;\n".join(self.statements).encode()).hexdigest()


@dataclass(frozen=True)
class MigrationState:
    migration: Migration
    applied_at: str | None


def run_and_record(conn: sqlite3.Connection, migration: Migration) -> None:
    """Run ``migration``'s statements and record it, inside the caller's write transaction."""
    for statement in migration.statements:
        conn.execute(statement)
    conn.execute(
        "INSERT INTO _migrations (id, description, checksum, applied_at) VALUES (?, ?, ?, ?)",
        (migration.id, migration.description, migration.checksum, datetime.now(UTC).isoformat(timespec="seconds")),
    )


def _applied(conn: sqlite3.Connection) -> dict[str, sqlite3.Row]:
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'").fetchone()
    if not exists:
        return {}
    return {row["id"]: row for row in conn.execute("SELECT id, description, checksum, applied_at FROM _migrations")}


def status(conn: sqlite3.Connection, migrations: Sequence[Migration], label: str) -> list[MigrationState]:
    """Every known migration with when it was applied (None: pending); checks recorded checksums."""
    applied = _applied(conn)
    states = []
    for migration in migrations:
        row = applied.get(migration.id)
        if row is not None and row["checksum"] != migration.checksum:
            raise DatabaseError(
                f"{label}: migration {migration.id} ({migration.description}) was changed after it was applied; "
                "restore its original text and add a new migration for the change"
            )
        states.append(MigrationState(migration, row["applied_at"] if row is not None else None))
    return states


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration], label: str, *, dry_run: bool = False) -> list[Migration]:
    """Apply pending migrations in id order; return them (without applying, under ``dry_run``)."""
    pending = [s.migration for s in status(conn, sorted(migrations, key=lambda m: m.id), label) if s.applied_at is None]
    if dry_run:
        return pending
    for migration in pending:
        try:
            with write_transaction(conn):
                conn.execute(LEDGER)
                if conn.execute("SELECT 1 FROM _migrations WHERE id = ?", (migration.id,)).fetchone():
                    continue  # another process applied it while we waited for the lock
                run_and_record(conn, migration)
        except sqlite3.Error as exc:
            raise DatabaseError(
                f"{label}: migration {migration.id} ({migration.description}) failed and was rolled back, "
                f"leaving the database unchanged: {exc}"
            ) from None
    return pending
