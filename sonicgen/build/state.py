"""The build state, ``.sonicgen/state.db``: what one build leaves for the next.

:class:`BuildState` holds the connection and every statement on it: the input files as the last
good build saw them, the content files it read (for the files store), each entry's version and
shape, the outputs with the facts each read, what the next build compares first (``meta``), and
the render cache (renderings, summaries, highlighted code blocks).

The state is a cache, never a source of truth: deleting ``.sonicgen/`` only costs time.  So it
is opened with ``synchronous=NORMAL``, and when it cannot be opened or read (damage, a full
disk) the build goes on without it: :attr:`BuildState.damage` says why, reads find nothing and
writes are skipped.  A state that is missing from the start (:meth:`BuildState.absent`) behaves
the same way.
"""

from __future__ import annotations

import sqlite3
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import msgspec

from sonicgen.build.reads import Reads
from sonicgen.content import deps
from sonicgen.db.connect import DatabaseError, is_locked, locked_message, open_db, retry_busy, write_transaction
from sonicgen.db.migrations import Migration, migrate

STATE_DIR = ".sonicgen"
STATE_DB = "state.db"

T = TypeVar("T")

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
    Migration(
        "0007_inputs",
        "the stat of every input file as the last good build saw it (the content hash it used for a file whose"
        " stat was too recent to trust), so a build knows which files changed; docs now lists every entry read",
        (
            "CREATE TABLE inputs (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime INTEGER NOT NULL, hash TEXT) WITHOUT ROWID",
            "DELETE FROM meta",  # the next build plans from scratch and records the new tables
        ),
    ),
)


Row = tuple[str, str]  # key, value
InputStat = tuple[int, int, str | None]  # size, mtime in ns, and the content hash a build used when the stat was too recent to trust
Resolve = Callable[[str], str | None]
"""The current fact of a key; None when it cannot be known."""

UNKNOWN = "?"
"""Stored for a fact or definition that cannot be known: it never equals a current one, so its readers always render."""


class Recorded(msgspec.Struct, frozen=True):
    """What the last good build left to compare first (its ``meta``): "" where it left nothing."""

    settings: str = ""  # fingerprint of everything that makes every output stale (build/settings.py)
    inputs: str = ""  # digest of every input file's stat
    racy: str = ""  # "1" when some input's stat was too recent to trust
    next_change: str = ""  # when the clock alone changes what is published (ISO 8601)
    manifest: str = ""  # the stat of the manifest it wrote
    outcome: str = ""  # its counts and warnings (JSON), for a build that finds nothing changed
    build: str = ""  # a new id per build: a resident build tells by it whether another process built since


@dataclass
class BuildRecord:
    """What a good build leaves for the next, written by :meth:`BuildState.record` in one transaction."""

    meta: dict[str, str]
    everything: bool  # every output rendered: forget all that was recorded before
    changed: Mapping[str, str]  # fact key -> its value now, for recorded facts that changed
    docs: Iterable[tuple[str, str, str]]  # (entry id, version, shape) of the entries new or changed, read once
    removed_docs: Sequence[str]
    inputs: Mapping[str, InputStat]  # input files new or changed
    removed_inputs: Sequence[str]
    reads: Reads  # the keys each rendered output read
    definitions: Mapping[str, str | None]  # every output the build planned -> its definition (None: unknowable)
    resolve: Resolve  # the current fact of a key read for the first time
    same_outputs: bool = False  # the outputs are those recorded (none is gone): no need to look for the gone ones


_deps_encoder = msgspec.msgpack.Encoder()
_deps_decoder = msgspec.msgpack.Decoder(list[int])
_CHUNK = 50_000  # keys looked up per query
FEW_FACTS = 64
"""Up to this many changed facts, SQLite looks for their encoded ids in every output's deps, and only
the outputs that may hold one are decoded (a one-post edit decodes a handful of outputs, not all of them)."""


def encode_deps(fact_ids: Iterable[int]) -> bytes:
    """The ``outputs.deps`` column: the fact ids one output read, sorted so equal sets store equal bytes."""
    return _deps_encoder.encode(sorted(fact_ids))


def decode_deps(blob: bytes) -> list[int]:
    return _deps_decoder.decode(blob)


def as_json(items: Iterable[str] | Iterable[int]) -> str:
    """A JSON array, for ``IN (SELECT value FROM json_each(?))``: one parameter however many items.

    Text, not bytes: newer SQLite reads a BLOB argument as its binary JSONB format.
    """
    return msgspec.json.encode(list(items)).decode()


def state_path(root: Path) -> Path:
    return root / STATE_DIR / STATE_DB


class BuildState:
    """One site's build state: the connection and every statement on it.

    Any database error is caught here and kept in :attr:`damage`; from then on reads find
    nothing and writes do nothing, so a build goes on (slower) and says why.
    """

    def __init__(self, path: Path, label: str, conn: sqlite3.Connection | None, damage: str | None = None, locked: bool = False) -> None:
        self.path = path
        self.label = label  # how messages name it (``.sonicgen/state.db``)
        self._conn = conn
        self.damage = damage
        self.locked = locked  # the damage is another process holding the database: waiting cures it

    @classmethod
    def open(cls, root: Path) -> BuildState:
        """The build state of the site at ``root``, created and migrated on first use; damaged, it is :meth:`absent`."""
        path = state_path(root)
        label = path.relative_to(root).as_posix()
        try:
            conn = open_db(path, synchronous="NORMAL", label=label, verify=False)
        except DatabaseError as exc:
            return cls.absent(path, label, str(exc), locked=exc.locked)
        except sqlite3.DatabaseError as exc:
            return cls.absent(path, label, str(exc))
        except OSError as exc:  # a folder in its place, or a file this user may not read
            return cls.absent(path, label, f"{label}: cannot be opened ({exc.strerror}); it must be a SQLite file you may read and write")
        try:
            migrate(conn, MIGRATIONS, label)
        except (DatabaseError, sqlite3.DatabaseError) as exc:
            conn.close()
            if isinstance(exc, sqlite3.Error) and is_locked(exc):
                return cls.absent(path, label, locked_message(label), locked=True)
            return cls.absent(path, label, str(exc))
        return cls(path, label, conn)

    @classmethod
    def absent(cls, path: Path, label: str, why: str, *, locked: bool = False) -> BuildState:
        """No build state: every read finds nothing and every write does nothing."""
        return cls(path, label, None, why, locked)

    def _failed(self, exc: sqlite3.DatabaseError) -> None:
        """Keep why a statement failed; from then on the state is not used."""
        if is_locked(exc):
            self.damage, self.locked = locked_message(self.label), True
        else:
            self.damage = f"{self.label}: {exc}"

    @property
    def usable(self) -> bool:
        return self.damage is None

    def damaged(self, why: str) -> None:
        """Note damage found in what the state returned: from now on it is not used."""
        if self.damage is None:
            self.damage = why

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # The one way in: every statement runs through these, which turn damage into ``self.damage``.

    def _read(self, query: Callable[[sqlite3.Connection], T], empty: T) -> T:
        if self._conn is None or self.damage is not None:
            return empty
        try:
            return query(self._conn)
        except sqlite3.DatabaseError as exc:
            self._failed(exc)
            return empty

    def _write(self, change: Callable[[sqlite3.Connection], object]) -> None:
        conn = self._conn
        if conn is None or self.damage is not None:
            return

        def transaction() -> None:
            with write_transaction(conn):
                change(conn)

        try:
            retry_busy(transaction)
        except sqlite3.DatabaseError as exc:
            self._failed(exc)

    # What the last good build left -------------------------------------------------------------

    def recorded(self) -> Recorded:
        def query(conn: sqlite3.Connection) -> Recorded:
            names = set(Recorded.__struct_fields__)
            return Recorded(**{name: value for name, value in conn.execute("SELECT name, value FROM meta") if name in names})

        return self._read(query, Recorded())

    def input_stats(self) -> dict[str, tuple[int, int, str | None]]:
        """Path -> (size, mtime, hash) of every input file the last good build saw."""
        return self._read(lambda conn: {p: (s, m, h) for p, s, m, h in conn.execute("SELECT path, size, mtime, hash FROM inputs")}, {})

    def keep_inputs(self, meta: Mapping[str, str], inputs: Mapping[str, InputStat]) -> None:
        """Record the input files' stat again after a build that found their contents unchanged."""

        def change(conn: sqlite3.Connection) -> None:
            _set_meta(conn, meta)
            conn.executemany(
                "INSERT INTO inputs (path, size, mtime, hash) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime, hash = excluded.hash",
                [(path, *stat) for path, stat in inputs.items()],
            )

        self._write(change)

    # Content files the files store read (the state is its SourceMemory) -----------------------

    def recalled_sources(self, collection: str, reading: str) -> Iterator[bytes]:
        """The records kept for ``collection`` while ``reading`` (how files turn into entries) is the
        one they were made with; streamed, as a large site's would not fit in memory twice."""
        if self._conn is None or self.damage is not None:
            return
        try:
            row = self._conn.execute("SELECT value FROM meta WHERE name = ?", (f"sources:{collection}",)).fetchone()
            if row is None or row[0] != reading:
                return
            for (record,) in self._conn.execute("SELECT record FROM sources WHERE collection = ?", (collection,)):
                yield record
        except sqlite3.DatabaseError as exc:
            self._failed(exc)

    def keep_sources(self, collection: str, reading: str, fresh: Iterable[tuple[str, bytes]], gone: list[str]) -> None:
        def change(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT value FROM meta WHERE name = ?", (f"sources:{collection}",)).fetchone()
            if row is None or row[0] != reading:
                conn.execute("DELETE FROM sources WHERE collection = ?", (collection,))
                _set_meta(conn, {f"sources:{collection}": reading})
            conn.executemany(
                "INSERT INTO sources (path, collection, record) VALUES (?, ?, ?) "
                "ON CONFLICT (path) DO UPDATE SET collection = excluded.collection, record = excluded.record",
                ((path, collection, record) for path, record in fresh),
            )
            conn.executemany("DELETE FROM sources WHERE path = ?", [(path,) for path in gone])

        self._write(change)

    # Entries, facts and outputs: what the planner compares -------------------------------------

    def docs(self) -> dict[str, tuple[str, str]]:
        """Entry id -> (version, shape) as the last good build read them."""
        return self._read(lambda conn: {d: (v, s) for d, v, s in conn.execute("SELECT id, version, shape FROM docs")}, {})

    def facts_of(self, doc: str | None) -> list[Row]:
        """The recorded facts of one doc's parts (None: of everything that is no doc's part)."""
        if doc is None:
            return self._read(lambda conn: conn.execute("SELECT key, value FROM facts WHERE doc IS NULL").fetchall(), [])
        return self._read(lambda conn: conn.execute("SELECT key, value FROM facts WHERE doc = ?", (doc,)).fetchall(), [])

    def definitions(self) -> dict[str, str]:
        """Output path -> the definition it was rendered with."""
        return self._read(lambda conn: dict(conn.execute("SELECT path, definition FROM outputs").fetchall()), {})

    def readers(self, keys: Iterable[str]) -> dict[str, list[str]]:
        """The outputs that read any of ``keys``: path -> the keys among them it read."""

        def query(conn: sqlite3.Connection) -> dict[str, list[str]]:
            ids = dict(conn.execute("SELECT id, key FROM facts WHERE key IN (SELECT value FROM json_each(?))", (as_json(keys),)))
            if not ids:
                return {}
            if len(ids) <= FEW_FACTS:  # a candidate may only look like one (bytes of another number): decoding tells
                where = " OR ".join(["instr(deps, ?) > 0"] * len(ids))
                rows = conn.execute(f"SELECT path, deps FROM outputs WHERE {where}", [_deps_encoder.encode(fact) for fact in ids])
            else:
                rows = conn.execute("SELECT path, deps FROM outputs")
            found: dict[str, list[str]] = {}
            for path, blob in rows:
                read = ids.keys() & decode_deps(blob)
                if read:
                    found[path] = sorted(ids[fact] for fact in read)
            return found

        return self._read(query, {})

    def inputs_of(self, path: str) -> list[str] | None:
        """The keys the output at ``path`` read when it was last rendered; None when it was not recorded."""

        def query(conn: sqlite3.Connection) -> list[str] | None:
            row = conn.execute("SELECT deps FROM outputs WHERE path = ?", (path,)).fetchone()
            if row is None:
                return None
            ids = as_json(decode_deps(row[0]))
            return [key for (key,) in conn.execute("SELECT key FROM facts WHERE id IN (SELECT value FROM json_each(?))", (ids,))]

        return self._read(query, None)

    def output_paths(self) -> list[str]:
        return self._read(lambda conn: [path for (path,) in conn.execute("SELECT path FROM outputs")], [])

    # Recording a good build -------------------------------------------------------------------

    def record(self, build: BuildRecord) -> None:
        """Remember a build that succeeded, in one transaction after its output was committed: a
        failed or interrupted build leaves the state of the last good build, which still matches
        the output on disk.  Rows are made as they are inserted: a first build of a large site
        records hundreds of thousands."""

        def change(conn: sqlite3.Connection) -> None:
            if build.everything:
                for table in ("outputs", "facts", "docs", "inputs"):
                    conn.execute(f"DELETE FROM {table}")
            _set_meta(conn, build.meta)
            conn.executemany(
                "INSERT INTO inputs (path, size, mtime, hash) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime, hash = excluded.hash",
                ((path, *stat) for path, stat in build.inputs.items()),
            )
            conn.executemany("DELETE FROM inputs WHERE path = ?", [(path,) for path in build.removed_inputs])
            conn.executemany("UPDATE facts SET value = ? WHERE key = ?", [(value, key) for key, value in build.changed.items()])
            conn.executemany(
                "INSERT INTO docs (id, version, shape) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET version = excluded.version, shape = excluded.shape",
                build.docs,
            )
            conn.executemany("DELETE FROM docs WHERE id = ?", [(doc,) for doc in build.removed_docs])
            definitions, reads = build.definitions, build.reads
            rendered = [path for path in reads.by_path if path in definitions]
            gone = [] if build.same_outputs else [path for (path,) in conn.execute("SELECT path FROM outputs") if path not in definitions]
            ids = _fact_ids(conn, reads.numbers, build.resolve, empty=build.everything)
            # Facts only the re-rendered or removed outputs read before may be read by nobody now.
            orphans = set() if build.everything else _orphans(conn, [*rendered, *gone], ids)
            conn.executemany(
                """INSERT INTO outputs (path, definition, deps) VALUES (?, ?, ?)
                   ON CONFLICT (path) DO UPDATE SET definition = excluded.definition, deps = excluded.deps""",
                ((path, definitions[path] or UNKNOWN, encode_deps({ids[n] for n in reads.by_path[path]})) for path in rendered),
            )
            conn.executemany("DELETE FROM outputs WHERE path = ?", [(path,) for path in gone])
            if orphans:
                _prune_facts(conn, orphans)

        self._write(change)

    # The render cache -------------------------------------------------------------------------

    def render_epoch(self) -> int:
        """A number for this build's uses of renderings, above every earlier build's."""
        return self._read(lambda conn: int(conn.execute("SELECT coalesce(max(used), 0) + 1 FROM render_cache").fetchone()[0]), 0)

    def rendering(self, key: str) -> bytes | None:
        found = self._read(lambda conn: _one(conn, "SELECT value FROM render_values WHERE key = ?", key), None)
        return found if isinstance(found, bytes) else None

    def summary(self, key: str) -> str | None:
        found = self._read(lambda conn: _one(conn, "SELECT summary FROM render_cache WHERE key = ?", key), None)
        return found if isinstance(found, str) else None

    def stored_renderings(self, keys: Sequence[str]) -> set[str]:
        """Those of ``keys`` the cache holds."""
        query = "SELECT key FROM render_cache WHERE key IN (SELECT value FROM json_each(?))"
        return self._read(lambda conn: {key for (key,) in conn.execute(query, (as_json(keys),))}, set())

    def holds_highlights(self) -> bool:
        return self._read(lambda conn: bool(conn.execute("SELECT EXISTS (SELECT 1 FROM highlights)").fetchone()[0]), False)

    def highlight(self, key: str) -> str | None:
        found = self._read(lambda conn: _one(conn, "SELECT html FROM highlights WHERE key = ?", key), None)
        return found if isinstance(found, str) else None

    def store_renderings(self, rows: Sequence[tuple[str, str, int, str, bytes]], code: Sequence[tuple[str, str]]) -> None:
        """``rows``: (key, summary, epoch, blocks as JSON, rendering); ``code``: (key, highlighted html)."""

        def change(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT INTO render_cache (key, summary, used, code) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET used = excluded.used, code = excluded.code",
                [row[:4] for row in rows],
            )
            conn.executemany("INSERT OR REPLACE INTO render_values (key, value) VALUES (?, ?)", [(row[0], row[4]) for row in rows])
            conn.executemany("INSERT OR IGNORE INTO highlights (key, html) VALUES (?, ?)", code)

        self._write(change)

    def mark_used(self, keys: Iterable[str], epoch: int) -> None:
        self._write(lambda conn: conn.executemany("UPDATE render_cache SET used = ? WHERE key = ?", [(epoch, key) for key in keys]))

    def prune_renderings(self, epoch: int) -> None:
        """Forget the renderings no build used since ``epoch``, and the code blocks only they held."""

        def change(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM render_values WHERE key IN (SELECT key FROM render_cache WHERE used < ?)", (epoch,))
            if conn.execute("DELETE FROM render_cache WHERE used < ?", (epoch,)).rowcount:
                # Blocks go only with a rendering that held them: the query walks every rendering's blocks.
                held = "SELECT block.value FROM render_cache, json_each(render_cache.code) AS block"
                conn.execute(f"DELETE FROM highlights WHERE key NOT IN ({held})")

        self._write(change)


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
    rows = ((ids[numbers[key]], key, UNKNOWN if (value := resolve(key)) is None else value, deps.doc_of(key)) for key in new)
    conn.executemany("INSERT INTO facts (id, key, value, doc) VALUES (?, ?, ?, ?)", rows)
    return ids


def _orphans(conn: sqlite3.Connection, paths: Iterable[str], ids: array[int]) -> set[int]:
    """Facts the recorded ``paths`` read before that no output of this build (``ids``) reads."""
    read_now = bytearray(max(ids, default=0) + 1)
    for fact in ids:
        read_now[fact] = 1
    orphans: set[int] = set()
    for (blob,) in conn.execute("SELECT deps FROM outputs WHERE path IN (SELECT value FROM json_each(?))", (as_json(paths),)):
        orphans.update(fact for fact in decode_deps(blob) if fact >= len(read_now) or not read_now[fact])
    return orphans


def _prune_facts(conn: sqlite3.Connection, candidates: set[int]) -> None:
    """Forget the ``candidates`` no output reads any more (they would be compared on every build for nothing)."""
    for (blob,) in conn.execute("SELECT deps FROM outputs"):
        candidates.difference_update(decode_deps(blob))
    conn.executemany("DELETE FROM facts WHERE id = ?", [(fid,) for fid in candidates])


def _one(conn: sqlite3.Connection, query: str, key: str) -> object:
    row = conn.execute(query, (key,)).fetchone()
    return None if row is None else row[0]


def _set_meta(conn: sqlite3.Connection, values: Mapping[str, str]) -> None:
    conn.executemany("INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value", values.items())
