"""Rendered Markdown, cached by content: memory → build state → render.

A body's rendering depends only on its text and on how the renderer is set up (sonicgen,
markdown-it-py and Pygments versions, the site's Markdown options and base path, and the
plugins that change Markdown with their versions and settings).  The key hashes all of
that with the body, so a changed body or renderer misses and nothing stale is ever served.
Renderings that a build needing every body did not use are pruned after it succeeds (an
incremental build renders on demand and so cannot tell what is still used).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from importlib.metadata import version

import msgspec

from sonicgen import __version__
from sonicgen.config import Config
from sonicgen.content.graph import Doc
from sonicgen.content.markup import Rendered
from sonicgen.content.models import Entry
from sonicgen.db.connect import retry_busy, write_transaction
from sonicgen.hooks.loader import SitePlugins

MEMORY_ITEMS = 4096
_BATCH = 500  # SQLite's default limit on host parameters is 999

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Rendered)


def renderer_fingerprint(config: Config, plugins: SitePlugins) -> str:
    """Everything besides the body that a body's rendering depends on."""
    markdown_plugins = sorted(
        {h.plugin for hook in ("markdown:setup", "markdown:highlight") for h in plugins.registry.handlers(hook)},
    )
    loaded = {p.plugin.name: p for p in plugins.plugins}
    parts = [
        f"sonicgen {__version__}",
        *(f"{package} {version(package)}" for package in ("markdown-it-py", "mdit-py-plugins", "pygments")),
        msgspec.json.encode(config.site.markdown).decode(),
        config.site.base_url,
        *(
            f"plugin {name} {loaded[name].plugin.version} {msgspec.json.encode(config.site.plugins.get(name)).decode()}"
            for name in markdown_plugins
        ),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


class RenderCache:
    """Three tiers for build work: an in-process LRU, the state database, then the renderer."""

    def __init__(self, conn: sqlite3.Connection, fingerprint: str) -> None:
        self.conn = conn
        self.fingerprint = fingerprint
        self.build = int(conn.execute("SELECT coalesce(max(used), 0) + 1 FROM render_cache").fetchone()[0])
        self.memory: OrderedDict[str, Rendered] = OrderedDict()
        self.served: list[str] = []
        self.hits = 0
        self.misses = 0
        self.damage: str | None = None  # set when the database fails: the build goes on without it
        self.pending: list[tuple[str, Rendered]] = []  # rendered on demand, not yet stored
        self._pid = os.getpid()

    def through(self, render: Callable[[str], Rendered]) -> Callable[[Entry], Rendered]:
        """``render`` behind the cache, for bodies rendered on demand (a small incremental build).

        A forked worker has no connection of its own and renders without the cache.
        """

        def cached(entry: Entry) -> Rendered:
            if os.getpid() != self._pid or self.damage is not None:
                return render(entry.body)
            key = self.key(entry.body)
            found = self.memory.get(key)
            if found is None:
                try:
                    row = self.conn.execute("SELECT value FROM render_cache WHERE key = ?", (key,)).fetchone()
                    found = _decoder.decode(row["value"]) if row is not None else None
                except (sqlite3.DatabaseError, msgspec.DecodeError) as exc:
                    self.damage = str(exc)
            if found is not None:
                self.hits += 1
                self.served.append(key)
                self._remember([(key, found)])
                return found
            self.misses += 1
            rendered = render(entry.body)
            self.pending.append((key, rendered))
            return rendered

        return cached

    def key(self, body: str) -> str:
        return hashlib.sha256(f"{self.fingerprint}\n{body}".encode()).hexdigest()

    def fill(self, docs: Sequence[Doc]) -> list[Doc]:
        """Give ``docs`` their cached renderings; return the docs still to render."""
        keys = [self.key(doc._entry.body) for doc in docs]
        found: dict[str, Rendered] = {}
        for key in keys:
            if key in self.memory:
                found[key] = self.memory[key]
        wanted = [key for key in keys if key not in found]
        try:
            for start in range(0, len(wanted), _BATCH):
                batch = wanted[start : start + _BATCH]
                marks = ",".join("?" * len(batch))
                for row in self.conn.execute(f"SELECT key, value FROM render_cache WHERE key IN ({marks})", batch):
                    found[row["key"]] = _decoder.decode(row["value"])
        except (sqlite3.DatabaseError, msgspec.DecodeError) as exc:
            self.damage = str(exc)
            found = {key: found[key] for key in keys if key in self.memory}
        missing = []
        for doc, key in zip(docs, keys, strict=True):
            rendered = found.get(key)
            if rendered is None:
                missing.append(doc)
            else:
                doc.provide(rendered)
        self.served += found
        self.hits += len(docs) - len(missing)
        self._remember(found.items())
        return missing

    def store(self, rendered_docs: Iterable[Doc]) -> None:
        """Keep the renderings of ``rendered_docs`` (rendered elsewhere) and of bodies rendered on
        demand, and mark every body this build was served as used."""
        rendered = [(self.key(doc._entry.body), doc.rendered) for doc in rendered_docs]
        self.misses += len(rendered)
        rows = [*self.pending, *rendered]
        self.pending = []
        self._remember(rows)

        def write() -> None:
            with write_transaction(self.conn):
                self.conn.executemany(
                    "INSERT INTO render_cache (key, value, used) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET used = excluded.used",
                    [(key, _encoder.encode(rendered), self.build) for key, rendered in rows],
                )
                self.conn.executemany("UPDATE render_cache SET used = ? WHERE key = ?", [(self.build, key) for key in self.served])

        self._write(write)

    def prune(self) -> None:
        """Forget renderings that the build that just succeeded did not use; only after a build that filled every doc."""

        def write() -> None:
            with write_transaction(self.conn):
                self.conn.execute("DELETE FROM render_cache WHERE used < ?", (self.build,))

        self._write(write)

    def _write(self, write: Callable[[], None]) -> None:
        if self.damage is not None:
            return
        try:
            retry_busy(write)
        except sqlite3.DatabaseError as exc:
            self.damage = str(exc)

    def _remember(self, items: Iterable[tuple[str, Rendered]]) -> None:
        for key, rendered in items:
            self.memory[key] = rendered
            self.memory.move_to_end(key)
        while len(self.memory) > MEMORY_ITEMS:
            self.memory.popitem(last=False)
