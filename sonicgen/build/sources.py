"""The build state's memory of content files: what the files store read, kept for the next build.

Records of a collection are only trusted while what turns a file into an entry is unchanged
(sonicgen's version, the time zone and the collection's section of site.yaml); otherwise they
are dropped and every file of the collection is read again.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Iterator

import msgspec

from sonicgen import __version__
from sonicgen.config import Config
from sonicgen.db.connect import retry_busy, write_transaction

_FORMAT = 2  # of the records (sonicgen.sources.files.remembered); 2: bodies are left in their files


class SourceMemory:
    """:class:`sonicgen.sources.SourceMemory` over the ``sources`` table of the build state."""

    def __init__(self, conn: sqlite3.Connection, config: Config) -> None:
        self.conn = conn
        self.config = config
        self.damage: str | None = None

    def _reading(self, collection: str) -> str:
        spec = msgspec.json.encode(self.config.site.collections[collection]).decode()
        return hashlib.sha256(f"{_FORMAT}\n{__version__}\n{self.config.site.timezone}\n{spec}".encode()).hexdigest()

    def recalled(self, collection: str) -> Iterator[bytes]:
        """The collection's records, streamed (a large site's would not fit in memory twice)."""
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE name = ?", (f"sources:{collection}",)).fetchone()
            if row is None or row[0] != self._reading(collection):
                return
            for (record,) in self.conn.execute("SELECT record FROM sources WHERE collection = ?", (collection,)):
                yield record
        except sqlite3.DatabaseError as exc:
            self.damage = str(exc)

    def keep(self, collection: str, fresh: Iterable[tuple[str, bytes]], gone: list[str]) -> None:
        if self.damage is not None:
            return
        reading = self._reading(collection)

        def write() -> None:
            with write_transaction(self.conn):
                row = self.conn.execute("SELECT value FROM meta WHERE name = ?", (f"sources:{collection}",)).fetchone()
                if row is None or row[0] != reading:
                    self.conn.execute("DELETE FROM sources WHERE collection = ?", (collection,))
                    self.conn.execute(
                        "INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                        (f"sources:{collection}", reading),
                    )
                self.conn.executemany(
                    "INSERT INTO sources (path, collection, record) VALUES (?, ?, ?) "
                    "ON CONFLICT (path) DO UPDATE SET collection = excluded.collection, record = excluded.record",
                    ((path, collection, record) for path, record in fresh),
                )
                self.conn.executemany("DELETE FROM sources WHERE path = ?", [(path,) for path in gone])

        try:
            retry_busy(write)
        except sqlite3.DatabaseError as exc:
            self.damage = str(exc)
