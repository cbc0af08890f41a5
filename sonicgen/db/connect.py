"""Opening the SQLite databases sonicgen owns, the same careful way every time.

WAL so readers never block the writer, a busy timeout so concurrent writers wait instead of
failing with "database is locked", autocommit mode so every write transaction is an
explicit ``BEGIN IMMEDIATE`` (taking the write lock up front, so two writers never deadlock
upgrading read locks), and ``synchronous=FULL`` where the database is the source of truth.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, TypeVar

from sonicgen.errors import SonicgenError

T = TypeVar("T")
BUSY_TIMEOUT_MS = 10_000
SQLITE_MAGIC = b"SQLite format 3\x00"


class DatabaseError(SonicgenError):
    """A database sonicgen owns cannot be used; the message names the file and what to do.
    ``locked``: another process holds it, which waiting cures (unlike damage)."""

    def __init__(self, message: str, *, locked: bool = False) -> None:
        super().__init__(message)
        self.locked = locked


def is_locked(exc: sqlite3.Error) -> bool:
    """Whether SQLite failed because another connection holds the database (after the busy timeout)."""
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))


def locked_message(name: str) -> str:
    return f"{name}: the database is locked by another process; run the command again once that process has finished"


def open_db(
    path: Path, *, synchronous: Literal["FULL", "NORMAL"] = "FULL", label: str | None = None, verify: bool = True
) -> sqlite3.Connection:
    """Open (creating if absent) the database at ``path``; refuse files that are not SQLite or are damaged.

    ``verify`` reads every page (``quick_check``): right for a source of truth, too slow on every
    build for a large cache, whose users handle damage when they meet it instead.
    """
    name = label or str(path)
    if path.exists():
        with path.open("rb") as fh:
            header = fh.read(len(SQLITE_MAGIC))
        if header and header != SQLITE_MAGIC:
            raise DatabaseError(f"{name}: not a SQLite database; move it aside (nothing was changed) or point site.yaml at the right file")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    conn: sqlite3.Connection | None = None
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # Switching to WAL needs an exclusive lock and fails at once (no busy wait) while another
        # process opening the same new database does the same; retrying makes that race harmless.
        retry_busy(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("PRAGMA foreign_keys = ON")
        check = conn.execute("PRAGMA quick_check").fetchone()[0] if verify else "ok"
    except sqlite3.DatabaseError as exc:
        if conn is not None:
            conn.close()
        if is_locked(exc):
            raise DatabaseError(locked_message(name), locked=True) from None
        raise DatabaseError(
            f"{name}: cannot be read as a SQLite database ({exc}); restore it from a backup (nothing was changed)"
        ) from None
    if check != "ok":
        conn.close()
        raise DatabaseError(f"{name}: the database is damaged ({check}); restore it from a backup (nothing was changed)")
    return conn


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def retry_busy(action: Callable[[], T], *, attempts: int = 50) -> T:
    """Run ``action``, retrying when SQLite still reports the database busy after its timeout.

    The busy timeout covers waiting for the lock; this covers the rare SQLITE_BUSY that WAL
    returns without waiting (a reader racing a checkpoint), so users never see "locked".
    An attempt that waited out the whole busy timeout is not repeated: another process holds
    the lock, and the caller says so now rather than after ``attempts`` more timeouts.
    """
    for attempt in range(attempts):
        started = time.monotonic()
        try:
            return action()
        except sqlite3.OperationalError as exc:
            waited = time.monotonic() - started >= BUSY_TIMEOUT_MS / 1000
            if not is_locked(exc) or waited or attempt == attempts - 1:
                raise
            time.sleep(min(0.005 * 2**attempt, 0.25))
    raise AssertionError("unreachable")
