"""Client-side search: a compact JSON index of the published entries and a ``/search/`` page.

The page is rendered by the theme's ``search.html``; the default theme's script fetches the
index once and searches it in the browser, so the site stays static. The index reuses each
entry's rendered plain text (``doc.rendered``), which the entry page needs anyway: no
Markdown is parsed twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Annotated, Any

import msgspec

from sonicgen import ConfigError, Plugin, PluginContext
from sonicgen.content.graph import Doc, SiteGraph
from sonicgen.content.outputs import File, Page

INDEX_ROUTE = "/search-index.json"
PAGE_ROUTE = "/search/"
SOURCE = "search plugin"


class SearchConfig(msgspec.Struct, kw_only=True):
    # None: every collection shown in listings (``listed: true``); a list names them exactly.
    collections: Annotated[list[str], msgspec.Meta(min_length=1)] | None = None
    # Characters of body text per entry: the index size grows with it, matches beyond it are missed.
    max_text: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = 2000


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a word boundary when there is one."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    if not text[limit].isspace() and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip()


def entry(doc: Doc, max_text: int) -> dict[str, Any]:
    """One entry of the index: what the search page matches against and shows."""
    tags = doc.fields.get("tags")
    return {
        "title": doc.title,
        "url": doc.url,
        "collection": doc.collection,
        "date": doc.date.isoformat(timespec="seconds") if doc.date else None,
        "tags": [str(t) for t in tags] if isinstance(tags, list) else [],
        "summary": doc.description,
        "text": truncate(" ".join(doc.rendered.text.split()), max_text),  # code blocks keep newlines; the index needs none
    }


def setup(ctx: PluginContext[SearchConfig]) -> None:
    cfg = ctx.config
    known = ctx.site.site.collections
    unknown = ", ".join(repr(name) for name in cfg.collections or [] if name not in known)
    if unknown:
        raise ConfigError("collections", f"no collection named {unknown}; the site has {', '.join(known)}")

    def index(site: SiteGraph) -> bytes:
        names = cfg.collections or [name for name, c in site.collections.items() if c.config.listed]
        chosen = [site.collections[name] for name in names]
        body = {
            "collections": {c.name: c.title for c in chosen},
            "entries": [entry(doc, cfg.max_text) for c in chosen for doc in c.docs],
        }
        return msgspec.json.encode(body) + b"\n"

    def outputs(site: SiteGraph) -> Iterator[Page | File]:
        # Encoded when written, from each doc's cached render (shared with its page), not kept in memory.
        # Its key: what the index is made of besides what it reads of the site (nothing: the settings are the plugin's).
        yield File(INDEX_ROUTE, partial(index, site), SOURCE, "application/json", key="search index")
        yield Page(
            PAGE_ROUTE,
            ("search.html",),
            {"search_index": site.url(INDEX_ROUTE)},
            "search",
            "Search",
            SOURCE,
            description=f"Search {site.title}.",
            sitemap=False,  # no content of its own: results exist only in the browser
        )

    ctx.hook("site:outputs", outputs)


plugin = Plugin(
    name="search",
    version="1.0.0",
    description="Client-side search: /search-index.json and a /search/ page rendered by the theme's search.html.",
    config=SearchConfig,
    setup=setup,
)
