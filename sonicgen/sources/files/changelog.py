"""The flat-file store's change feed: ``.sonicgen/changes.db``.

Files can change behind the store's back (an editor, ``git pull``), so besides the changes
the store records as it writes, it keeps a snapshot of every content file (size, mtime,
hash, the slug it held) and turns differences found by a scan into changes too.  Both kinds
share one ``seq`` so readers see a single feed, like the SQLite store's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sonicgen.db.connect import open_db, write_transaction
from sonicgen.db.migrations import Migration, migrate
from sonicgen.sources.base import Change

MIGRATIONS = (
    Migration(
        "0001_files_changes",
        "change feed and file snapshot of the flat-file store",
        (
            """CREATE TABLE changes (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                collection TEXT NOT NULL,
                slug TEXT NOT NULL,
                op TEXT NOT NULL CHECK (op IN ('save', 'delete')),
                version TEXT
            )""",
            "CREATE INDEX changes_by_entry ON changes (collection, slug, seq)",
            """CREATE TABLE snapshot (
                collection TEXT NOT NULL,
                path TEXT NOT NULL,
                slug TEXT NOT NULL,
                size INTEGER NOT NULL,
                mtime_ns INTEGER NOT NULL,
                hash TEXT NOT NULL,
                checked_ns INTEGER NOT NULL,
                PRIMARY KEY (collection, path)
            )""",
        ),
    ),
)

Op = Literal["save", "delete"]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A content file as last seen; ``checked_ns`` is when, to tell a trustworthy mtime from a racy one."""

    collection: str
    path: str
    slug: str
    size: int
    mtime_ns: int
    hash: str
    checked_ns: int


@dataclass(frozen=True, slots=True)
class Pending:
    """A change to record; ``only_if_new`` skips it when the entry's last recorded change says the same."""

    collection: str
    slug: str
    op: Op
    version: str | None
    only_if_new: bool = False


class ChangeLog:
    """The change table and the file snapshot, updated together in one transaction."""

    def __init__(self, path: Path, label: str) -> None:
        self.conn = open_db(path, synchronous="NORMAL", label=label)
        try:
            migrate(self.conn, MIGRATIONS, label)
        except BaseException:
            self.conn.close()
            raise

    def snapshots(self) -> dict[tuple[str, str], Snapshot]:
        rows = self.conn.execute("SELECT collection, path, slug, size, mtime_ns, hash, checked_ns FROM snapshot")
        return {(row["collection"], row["path"]): Snapshot(*row) for row in rows}

    def apply(self, changes: Iterable[Pending], upserts: Iterable[Snapshot] = (), removals: Iterable[tuple[str, str]] = ()) -> None:
        with write_transaction(self.conn):
            self.conn.executemany(
                "INSERT OR REPLACE INTO snapshot (collection, path, slug, size, mtime_ns, hash, checked_ns) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(s.collection, s.path, s.slug, s.size, s.mtime_ns, s.hash, s.checked_ns) for s in upserts],
            )
            self.conn.executemany("DELETE FROM snapshot WHERE collection = ? AND path = ?", list(removals))
            for change in changes:
                if change.only_if_new and self._last(change.collection, change.slug) == (change.op, change.version):
                    continue
                self.conn.execute(
                    "INSERT INTO changes (collection, slug, op, version) VALUES (?, ?, ?, ?)",
                    (change.collection, change.slug, change.op, change.version),
                )

    def _last(self, collection: str, slug: str) -> tuple[str, str | None] | None:
        row = self.conn.execute(
            "SELECT op, version FROM changes WHERE collection = ? AND slug = ? ORDER BY seq DESC LIMIT 1", (collection, slug)
        ).fetchone()
        return (row["op"], row["version"]) if row is not None else None

    def since(self, seq: int) -> list[Change]:
        rows = self.conn.execute("SELECT seq, collection, slug, op, version FROM changes WHERE seq > ? ORDER BY seq", (seq,))
        return [Change(row["seq"], row["collection"], row["slug"], row["op"], row["version"]) for row in rows]

    def close(self) -> None:
        self.conn.close()
