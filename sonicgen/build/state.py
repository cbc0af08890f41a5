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
    Migration(
        "0002_dependencies",
        "outputs with the facts each one read while it was rendered, and the doc versions those facts came from",
        (
            "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
            """CREATE TABLE facts (
                id INTEGER PRIMARY KEY,
                key TEXT NOT NULL UNIQUE,
                value TEXT NOT NULL,
                doc TEXT
            )""",
            "CREATE INDEX facts_doc ON facts (doc)",
            "CREATE TABLE outputs (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, definition TEXT NOT NULL)",
            "CREATE TABLE deps (output INTEGER NOT NULL, fact INTEGER NOT NULL, PRIMARY KEY (output, fact)) WITHOUT ROWID",
            "CREATE INDEX deps_fact ON deps (fact)",
            "CREATE TABLE docs (id TEXT PRIMARY KEY, version TEXT NOT NULL) WITHOUT ROWID",
        ),
    ),
    Migration(
        "0003_sources",
        "content files as the last build read them (stat, version, parsed entry), so unchanged files are not read again",
        (
            "CREATE TABLE sources (path TEXT PRIMARY KEY, collection TEXT NOT NULL, record BLOB NOT NULL)",
            "CREATE INDEX sources_collection ON sources (collection)",
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
