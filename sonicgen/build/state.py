"""The build state database, ``.sonicgen/state.db``: what one build leaves for the next.

It is a cache, never a source of truth (deleting ``.sonicgen/`` only costs time), so it is
opened with ``synchronous=NORMAL`` and migrated like every database sonicgen owns.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

import msgspec

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
            # deps: the ids of the facts the output read (msgpack array); one row per output keeps recording cheap
            "CREATE TABLE outputs (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, definition TEXT NOT NULL, deps BLOB NOT NULL)",
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
    Migration(
        "0004_render_summaries",
        "renderings split in two: key, summary and last use in a small table that listings read and every build"
        " updates; the whole rendering apart, so neither a listing nor marking it used touches its pages",
        (
            "DROP TABLE render_cache",  # a cache: the renderings are made again by the next build
            "CREATE TABLE render_cache (key TEXT PRIMARY KEY, summary TEXT NOT NULL, used INTEGER NOT NULL) WITHOUT ROWID",
            "CREATE INDEX render_cache_used ON render_cache (used)",
            "CREATE TABLE render_values (key TEXT PRIMARY KEY, value BLOB NOT NULL)",
        ),
    ),
    Migration(
        "0005_doc_shapes",
        "each doc's shape (its entry but the body) as the last build saw it, to tell an edit of bodies alone",
        ("ALTER TABLE docs ADD COLUMN shape TEXT NOT NULL DEFAULT ''",),
    ),
    Migration(
        "0006_highlights",
        "highlighted code blocks by language and content, and which of them each rendering holds, so an edited"
        " body highlights only the blocks it did not have before",
        (
            "ALTER TABLE render_cache ADD COLUMN code TEXT NOT NULL DEFAULT '[]'",
            "CREATE TABLE highlights (key TEXT PRIMARY KEY, html TEXT NOT NULL)",
        ),
    ),
)


_deps_encoder = msgspec.msgpack.Encoder()
_deps_decoder = msgspec.msgpack.Decoder(list[int])


def encode_deps(fact_ids: Iterable[int]) -> bytes:
    """The ``outputs.deps`` column: the fact ids one output read, sorted so equal sets store equal bytes."""
    return _deps_encoder.encode(sorted(fact_ids))


def decode_deps(blob: bytes) -> list[int]:
    return _deps_decoder.decode(blob)


def encode_fact(fact_id: int) -> bytes:
    """One fact id as ``outputs.deps`` holds it (msgpack's shortest form), to look for in the blobs."""
    return _deps_encoder.encode(fact_id)


def as_json(items: Iterable[str] | Iterable[int]) -> str:
    """A JSON array, for ``IN (SELECT value FROM json_each(?))``: one parameter however many items.

    Text, not bytes: newer SQLite reads a BLOB argument as its binary JSONB format.
    """
    return msgspec.json.encode(list(items)).decode()


def state_path(config: Config) -> Path:
    return config.root / STATE_DIR / STATE_DB


def open_state(config: Config) -> sqlite3.Connection:
    """The site's build state, created and migrated on first use."""
    path = state_path(config)
    label = path.relative_to(config.root).as_posix()
    conn = open_db(path, synchronous="NORMAL", label=label, verify=False)
    migrate(conn, MIGRATIONS, label)
    return conn
