"""Rendered Markdown, cached by content: memory → build state → render.

A body's rendering depends only on its text and on how the renderer is set up (sonicgen,
markdown-it-py and Pygments versions, the site's Markdown options and base path, and the
plugins that change Markdown with their versions and settings).  The key hashes all of
that with the body, so a changed body or renderer misses and nothing stale is ever served.
Renderings that a build needing every body did not use are pruned after it succeeds (an
incremental build renders on demand and so cannot tell what is still used).

Each rendering's summary and last use live in a small row of their own, apart from the whole
rendering: listings, feeds and JSON listings show thousands of summaries, and every build marks
what it used, without reading or rewriting the pages that hold the HTML.

Highlighted code blocks are kept too, by language and content, with the blocks each rendering
holds: an edited body highlights only the blocks it did not have before (a process that
highlights a language for the first time compiles its lexer, which a one-post rebuild would
otherwise pay for a post whose code did not change).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from functools import cached_property
from importlib.metadata import version

import msgspec

from sonicgen.build.state import BuildState, as_json
from sonicgen.content.markup import MarkdownRenderer, highlight_code
from sonicgen.content.models import Entry
from sonicgen.content.rendered import Rendered
from sonicgen.version import __version__

MEMORY_ITEMS = 256
_BATCH = 500  # renderings written per transaction

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Rendered)


class RenderCache:
    """Three tiers for build work: an in-process LRU, the build state, then the renderer; the
    site graph's :class:`~sonicgen.content.rendered.Bodies`.

    Nothing holds a site's renderings: pages fetch each body when they need it (the LRU keeps
    the ones many pages show, such as a feed's), and a worker process uses a cache of its own
    over its own connection to the state.
    """

    def __init__(self, state: BuildState, markdown: MarkdownRenderer, fingerprint: str, *, epoch: int | None = None) -> None:
        self.state = state
        self.markdown = markdown
        self.fingerprint = fingerprint  # :func:`~sonicgen.build.settings.renderer_fingerprint`
        self.epoch = state.render_epoch() if epoch is None else epoch  # a worker process uses its parent's
        self.memory: OrderedDict[str, Rendered] = OrderedDict()
        self.served: set[str] = set()  # keys found in the cache this build (in this process)
        self.made: set[str] = set()  # keys rendered this build
        self.fetched = 0  # renderings and summaries read from the build state
        self._pending: list[tuple[str, Rendered, list[str]]] = []
        self._pending_code: list[tuple[str, str]] = []
        self._blocks_stored: bool | None = None  # asked on the first code block: a build with nothing to render never highlights

    def start_build(self) -> None:
        """Count afresh for another build of a resident process (the memory stays)."""
        self.epoch = self.state.render_epoch()
        self.served, self.made, self.fetched = set(), set(), 0

    @property
    def hits(self) -> int:
        return len(self.served - self.made)  # a body rendered this build and then fetched again is no hit

    @property
    def misses(self) -> int:
        return len(self.made)

    def key(self, entry: Entry) -> str:
        """The rendering's key: from the body's digest, so a body left on disk is not loaded to find it."""
        return hashlib.sha256(f"{self.fingerprint}\n{entry.body_digest()}".encode()).hexdigest()

    def rendered(self, entry: Entry) -> Rendered:
        """The entry's body, rendered: from memory, the state, or the renderer (and then stored)."""
        key = self.key(entry)
        found = self.memory.get(key)
        if found is None:
            value = self.state.rendering(key)
            if value is not None:
                self.fetched += 1
                try:
                    found = _decoder.decode(value)
                except msgspec.DecodeError as exc:
                    self.state.damaged(str(exc))
        if found is None:
            found = self.make(key, entry)
        else:
            self.served.add(key)
        self._remember(key, found)
        return found

    def summary(self, entry: Entry) -> str:
        """A body's summary without its whole rendering, which is all a listing or a feed entry shows."""
        key = self.key(entry)
        found = self.memory.get(key)
        if found is not None:
            return found.summary
        stored = self.state.summary(key)
        if stored is not None:
            self.fetched += 1
            self.served.add(key)
            return stored
        return self.rendered(entry).summary

    def make(self, key: str, entry: Entry) -> Rendered:
        """Render a body the cache lacks (its code blocks through :meth:`_highlight`) and store it
        (written in batches, from whichever process made it)."""
        blocks: list[str] = []

        def highlight(code: str, lang: str) -> str:
            return self._highlight(blocks, code, lang)

        rendered = self.markdown.render(entry.load_body(), highlight)
        self.made.add(key)
        self._pending.append((key, rendered, blocks))
        if len(self._pending) >= _BATCH:
            self.flush()
        return rendered

    @cached_property
    def _code_fingerprint(self) -> str:
        """What a highlighted block depends on besides its code and language (looked up once: it takes a millisecond)."""
        return f"sonicgen {__version__}\npygments {version('pygments')}"

    def _highlight(self, blocks: list[str], code: str, lang: str) -> str:
        """One code block of the body being made, from the build state if a rendering held it, else
        highlighted now; ``blocks`` collects the keys the rendering holds."""
        key = hashlib.sha256(f"{self._code_fingerprint}\n{lang}\n{code}".encode()).hexdigest()
        blocks.append(key)
        if self._blocks_stored is None:
            self._blocks_stored = self.state.holds_highlights()
        if self._blocks_stored:
            found = self.state.highlight(key)
            if found is not None:
                return found
        html = highlight_code(code, lang)
        self._pending_code.append((key, html))
        return html

    def missing(self, entries: Sequence[Entry]) -> list[Entry]:
        """The entries whose bodies are not in the cache (the others count as served and stay stored)."""
        keys = [self.key(entry) for entry in entries]
        found = {key for key in keys if key in self.memory}
        found |= self.state.stored_renderings([key for key in keys if key not in found])
        self.served |= found
        return [entry for entry, key in zip(entries, keys, strict=True) if key not in found]

    def flush(self) -> None:
        """Write the renderings made since the last flush."""
        rows, self._pending = self._pending, []
        code, self._pending_code = self._pending_code, []
        if rows:
            stored = [(key, r.summary, self.epoch, as_json(blocks), _encoder.encode(r)) for key, r, blocks in rows]
            self.state.store_renderings(stored, code)

    def finish(self) -> None:
        """Write what is pending and mark every body this build was served as used (in the build's process)."""
        self.flush()
        self.state.mark_used(self.served, self.epoch)

    def prune(self) -> None:
        """Forget renderings the build that just succeeded did not use; only after a build that needed every body."""
        self.state.prune_renderings(self.epoch)

    def _remember(self, key: str, rendered: Rendered) -> None:
        self.memory[key] = rendered
        self.memory.move_to_end(key)
        if len(self.memory) > MEMORY_ITEMS:
            self.memory.popitem(last=False)
