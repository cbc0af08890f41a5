"""Rendered Markdown, cached by content: memory → build state → render.

A body's rendering depends only on its text and on how the renderer is set up (sonicgen,
markdown-it-py and Pygments versions, the site's Markdown options and base path, and the
plugins that change Markdown with their versions and settings).  The key hashes all of
that with the body, so a changed body or renderer misses and nothing stale is ever served.
Renderings that a build needing every body did not use are pruned after it succeeds (an
incremental build renders on demand and so cannot tell what is still used).

Each rendering's summary and last use live in a small row of their own (``render_cache``),
apart from the whole rendering (``render_values``): listings, feeds and JSON listings show
thousands of summaries, and every build marks what it used, without reading or rewriting
the pages that hold the HTML.

Highlighted code blocks are kept too (``highlights``), by language and content, with the
blocks each rendering holds: an edited body highlights only the blocks it did not have before.
A process that highlights a language for the first time compiles its lexer (30 ms for Python),
which a one-post rebuild otherwise pays for a post whose code did not change.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import cached_property
from importlib.metadata import version
from pathlib import Path
from typing import Any

import msgspec

from sonicgen import __version__
from sonicgen.build.state import as_json
from sonicgen.config import Config
from sonicgen.content.graph import Doc
from sonicgen.content.models import Entry
from sonicgen.content.rendered import Highlight, Rendered, code_blocks
from sonicgen.db.connect import open_db, retry_busy, write_transaction
from sonicgen.hooks.loader import SitePlugins

MEMORY_ITEMS = 1024
STATE_LABEL = ".sonicgen/state.db"
_BATCH = 500  # renderings written per transaction

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
    """Three tiers for build work: an in-process LRU, the state database, then the renderer.

    Nothing holds a site's renderings: pages fetch each body when they need it (the LRU keeps
    the ones many pages show, such as a feed's), and a forked worker opens its own connection
    to the database, reads from it and adds what it rendered.
    """

    def __init__(self, conn: sqlite3.Connection, fingerprint: str, path: Path) -> None:
        self.conn = conn
        self.fingerprint = fingerprint
        self.path = path
        self.build = int(conn.execute("SELECT coalesce(max(used), 0) + 1 FROM render_cache").fetchone()[0])
        self.memory: OrderedDict[str, Rendered] = OrderedDict()
        self.served: set[str] = set()  # keys found in the cache this build (in this process)
        self.made: set[str] = set()  # keys rendered this build
        self.damage: str | None = None  # set when the database fails: the build goes on without it
        self._pending: list[tuple[str, Rendered, list[str]]] = []
        self._pending_code: list[tuple[str, str]] = []
        self._connections = {os.getpid(): conn}

    @property
    def hits(self) -> int:
        return len(self.served - self.made)  # a body rendered this build and then fetched again is no hit

    @property
    def misses(self) -> int:
        return len(self.made)

    def _connection(self) -> sqlite3.Connection:
        """This process's connection: one inherited through fork must not be used."""
        pid = os.getpid()
        found = self._connections.get(pid)
        if found is None:
            found = self._connections[pid] = open_db(self.path, synchronous="NORMAL", label=STATE_LABEL, verify=False)
        return found

    def key(self, entry: Entry) -> str:
        """The rendering's key: from the body's digest, so a body left on disk is not loaded to find it."""
        return hashlib.sha256(f"{self.fingerprint}\n{entry.body_digest()}".encode()).hexdigest()

    def through(self, render: Callable[[str], Rendered]) -> Callable[[Entry], Rendered]:
        """``render`` behind the cache: what a doc uses to get its body's HTML."""

        def cached(entry: Entry) -> Rendered:
            if self.damage is not None:
                return render(entry.body)
            key = self.key(entry)
            found = self.memory.get(key)
            if found is None:
                value = self._stored("SELECT value FROM render_values WHERE key = ?", key)
                try:
                    found = _decoder.decode(value) if value is not None else None
                except msgspec.DecodeError as exc:
                    self.damage = str(exc)
            if found is not None:
                self.served.add(key)
                self._remember(key, found)
                return found
            rendered = self.make(key, render, entry.body)
            self._remember(key, rendered)
            return rendered

        return cached

    def summaries(self, rendered: Callable[[Entry], Rendered]) -> Callable[[Entry], str]:
        """A body's summary without its whole rendering, which is all a listing or a feed entry shows.

        ``rendered`` (from :meth:`through`) renders and keeps a body the cache does not have.
        """

        def summary(entry: Entry) -> str:
            if self.damage is None:
                key = self.key(entry)
                found = self.memory.get(key)
                if found is not None:
                    return found.summary
                stored = self._stored("SELECT summary FROM render_cache WHERE key = ?", key)
                if stored is not None:
                    self.served.add(key)
                    return str(stored)
            return rendered(entry).summary

        return summary

    def _stored(self, query: str, key: str) -> Any:
        """The value ``query`` selects for ``key``; None when there is none or the database fails
        (then noted in :attr:`damage`: the build goes on without the cache)."""
        try:
            row = self._connection().execute(query, (key,)).fetchone()
        except sqlite3.DatabaseError as exc:
            self.damage = str(exc)
            return None
        return None if row is None else row[0]

    def make(self, key: str, render: Callable[[str], Rendered], body: str) -> Rendered:
        """Render a body the cache lacks (its code blocks through :meth:`_highlight`) and store it
        (written in batches, from whichever process made it)."""
        blocks: list[str] = []
        token = code_blocks.set(lambda code, lang, highlight: self._highlight(blocks, code, lang, highlight))
        try:
            rendered = render(body)
        finally:
            code_blocks.reset(token)
        self.made.add(key)
        self._pending.append((key, rendered, blocks))
        if len(self._pending) >= _BATCH:
            self.flush()
        return rendered

    @cached_property
    def _code_fingerprint(self) -> str:
        return f"sonicgen {__version__}\npygments {version('pygments')}"

    @cached_property
    def _code_stored(self) -> bool:
        """Whether the state holds any block (a first build only adds them): asked on a process's first
        block, not by every build (one with nothing to render never highlights)."""
        try:
            return bool(self._connection().execute("SELECT EXISTS (SELECT 1 FROM highlights)").fetchone()[0])
        except sqlite3.DatabaseError as exc:
            self.damage = str(exc)
            return False

    def _highlight(self, blocks: list[str], code: str, lang: str, highlight: Highlight) -> str:
        """One code block of the body being made, from the build state if a rendering held it, else
        from ``highlight`` (Pygments); ``blocks`` collects the keys the rendering holds."""
        key = hashlib.sha256(f"{self._code_fingerprint}\n{lang}\n{code}".encode()).hexdigest()
        blocks.append(key)
        if self._code_stored and self.damage is None:
            found = self._stored("SELECT html FROM highlights WHERE key = ?", key)
            if isinstance(found, str):
                return found
        html = highlight(code, lang)
        self._pending_code.append((key, html))
        return html

    def missing(self, docs: Sequence[Doc]) -> list[Doc]:
        """The docs whose bodies are not in the cache (the others count as served and stay stored)."""
        keys = [self.key(doc._entry) for doc in docs]
        found: set[str] = {key for key in keys if key in self.memory}
        wanted = [key for key in keys if key not in found]
        try:
            query = "SELECT key FROM render_cache WHERE key IN (SELECT value FROM json_each(?))"
            found.update(key for (key,) in self.conn.execute(query, (as_json(wanted),)))
        except sqlite3.DatabaseError as exc:
            self.damage = str(exc)
            return list(docs)
        self.served |= found
        return [doc for doc, key in zip(docs, keys, strict=True) if key not in found]

    def flush(self) -> None:
        """Write the renderings made since the last flush."""
        rows, self._pending = self._pending, []
        code, self._pending_code = self._pending_code, []
        if not rows:
            return

        def write(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT INTO render_cache (key, summary, used, code) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET used = excluded.used, code = excluded.code",
                [(key, rendered.summary, self.build, as_json(blocks)) for key, rendered, blocks in rows],
            )
            values = [(key, _encoder.encode(rendered)) for key, rendered, _ in rows]
            conn.executemany("INSERT OR REPLACE INTO render_values (key, value) VALUES (?, ?)", values)
            conn.executemany("INSERT OR IGNORE INTO highlights (key, html) VALUES (?, ?)", code)

        self._write(write)

    def finish(self) -> None:
        """Write what is pending and mark every body this build was served as used (in the build's process)."""
        self.flush()
        served = [(self.build, key) for key in self.served]
        self._write(lambda conn: conn.executemany("UPDATE render_cache SET used = ? WHERE key = ?", served))

    def prune(self) -> None:
        """Forget renderings that the build that just succeeded did not use; only after a build that needed every body."""

        def delete(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM render_values WHERE key IN (SELECT key FROM render_cache WHERE used < ?)", (self.build,))
            if conn.execute("DELETE FROM render_cache WHERE used < ?", (self.build,)).rowcount:
                # Blocks go only with a rendering that held them (1.7 s at 100,000 posts: not after every full build).
                held = "SELECT block.value FROM render_cache, json_each(render_cache.code) AS block"
                conn.execute(f"DELETE FROM highlights WHERE key NOT IN ({held})")

        self._write(delete)

    def _write(self, write: Callable[[sqlite3.Connection], object]) -> None:
        if self.damage is not None:
            return
        conn = self._connection()

        def transaction() -> None:
            with write_transaction(conn):
                write(conn)

        try:
            retry_busy(transaction)
        except sqlite3.DatabaseError as exc:
            self.damage = str(exc)

    def _remember(self, key: str, rendered: Rendered) -> None:
        self.memory[key] = rendered
        self.memory.move_to_end(key)
        if len(self.memory) > MEMORY_ITEMS:
            self.memory.popitem(last=False)
