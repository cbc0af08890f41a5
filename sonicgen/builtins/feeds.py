"""Atom and RSS feeds for each collection with ``feed: true`` and a date field."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from feedgen.feed import FeedGenerator

from sonicgen.content.graph import Collection, Doc, SiteGraph
from sonicgen.content.outputs import File
from sonicgen.hooks.plugin import Plugin, PluginContext
from sonicgen.version import __version__

EMPTY_FEED_UPDATED = datetime(1970, 1, 1, tzinfo=UTC)
"""When a feed without entries was updated: feedgen would say the time it is made, and the same
sources must give the same bytes in every build (the incremental-build invariant)."""


class FeedsConfig(msgspec.Struct, kw_only=True):
    atom: bool = True
    rss: bool = True
    full_content: bool = True


@dataclass(frozen=True)
class FeedLink:
    """``site.feeds`` items, for ``<link rel="alternate">`` in templates."""

    title: str
    atom: str | None
    rss: str | None


def _base_route(collection: Collection) -> str:
    route = collection.route or f"/{collection.name}/"
    return route if route.endswith("/") else route.rsplit("/", 1)[0] + "/"


def _dated(collection: Collection) -> list[Doc]:
    docs = [d for d in collection.docs if d.date is not None]
    docs.sort(key=lambda d: (d.date, d.slug), reverse=True)
    return docs[: collection.config.feed_limit]


def _feeds_for(site: SiteGraph) -> list[Collection]:
    return [c for c in site.collections.values() if c.config.feed and c.config.date_field in c.config.fields]


def _generator(site: SiteGraph, collection: Collection, docs: list[Doc], self_route: str, full: bool) -> FeedGenerator:
    from feedgen.feed import FeedGenerator  # here: lxml is only worth loading when a feed is written

    fg = FeedGenerator()
    home = site.absolute(collection.route or "/")
    fg.id(home)
    fg.title(f"{site.title}: {collection.title}")
    fg.link(href=home, rel="alternate")
    fg.link(href=site.absolute(self_route), rel="self")
    fg.description(collection.description or site.description or collection.title)
    fg.language(site.language)
    fg.generator("sonicgen", __version__)
    if site.author.name:
        author = {"name": site.author.name}
        if site.author.email:
            author["email"] = site.author.email
        fg.author(author)
    updated = max((d.date for d in docs if d.date), default=EMPTY_FEED_UPDATED)
    fg.updated(updated)
    fg.lastBuildDate(updated)
    for doc in docs:
        fe = fg.add_entry(order="append")
        fe.id(doc.permalink)
        fe.guid(doc.permalink, permalink=True)
        fe.title(doc.title)
        fe.link(href=doc.permalink)
        changed = doc.fields.get("updated")
        fe.updated(changed if isinstance(changed, datetime) and changed.tzinfo else doc.date)
        fe.published(doc.date)
        if doc.description:
            fe.summary(doc.description)
        if full:
            fe.content(str(doc.html), type="html")
        for terms in doc.terms.values():
            for term in terms:
                fe.category(term=term.name, scheme=site.absolute(term.route))
    return fg


def _atom(site: SiteGraph, collection: Collection, docs: list[Doc], route: str, full: bool) -> bytes:
    data: bytes = _generator(site, collection, docs, route, full).atom_str(pretty=True)
    return data


def _rss(site: SiteGraph, collection: Collection, docs: list[Doc], route: str, full: bool) -> bytes:
    data: bytes = _generator(site, collection, docs, route, full).rss_str(pretty=True)
    return data


def setup(ctx: PluginContext[FeedsConfig]) -> None:
    cfg = ctx.config

    def collected(site: SiteGraph) -> None:
        for collection in _feeds_for(site):
            base = _base_route(collection)
            site.feeds.append(
                FeedLink(
                    f"{site.title}: {collection.title}",
                    site.url(base + "atom.xml") if cfg.atom else None,
                    site.url(base + "rss.xml") if cfg.rss else None,
                )
            )

    def outputs(site: SiteGraph) -> Iterator[File]:
        for collection in _feeds_for(site):
            base = _base_route(collection)
            docs = _dated(collection)
            source = f"feeds of collection {collection.name}"
            if cfg.atom:
                route = base + "atom.xml"
                made = partial(_atom, site, collection, docs, route, cfg.full_content)
                yield File(route, made, source, "application/atom+xml", key=(collection, docs))
            if cfg.rss:
                route = base + "rss.xml"
                made = partial(_rss, site, collection, docs, route, cfg.full_content)
                yield File(route, made, source, "application/rss+xml", key=(collection, docs))

    ctx.hook("site:collected", collected)
    ctx.hook("site:outputs", outputs)


plugin = Plugin(
    name="feeds",
    version="1.0.0",
    description="Atom and RSS feeds per collection (collections with feed: true and a date field).",
    config=FeedsConfig,
    setup=setup,
)
