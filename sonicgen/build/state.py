"""The build state database, ``.sonicgen/state.db``: what one build leaves for the next.

It is a cache, never a source of truth (deleting ``.sonicgen/`` only costs time), so it is
opened with ``synchronous=NORMAL`` and migrated like every database sonicgen owns.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sonicgen.config import Config
from sonicgen.db.connect import open_db
from sonicgen.db.migrations import Migration, migrate

STATE_DIR = ".sonicgen"
STATE_DB = "state.db"

MIGRATIONS = (
    Migration(
        "0001_render_cache",
        "rendered Markdown by content and renderer fingerprint, with the last build that used it",
        (
            """CREATE TABLE render_cache (
                key TEXT PRIMARY KEY,
                value BLOB NOT NULL,
                used INTEGER NOT NULL
            )""",
            "CREATE INDEX render_cache_used ON render_cache (used)",
        ),
    ),
)


def state_path(config: Config) -> Path:
    return config.root / STATE_DIR / STATE_DB


def open_state(config: Config) -> sqlite3.Connection:
    """The site's build state, created and migrated on first use."""
    path = state_path(config)
    label = path.relative_to(config.root).as_posix()
    conn = open_db(path, synchronous="NORMAL", label=label, verify=False)
    migrate(conn, MIGRATIONS, label)
    return conn
