"""The static JSON API, shaped like SonicJS's REST answers: ``{"data": ..., "meta": ...}``.

``/api/index.json`` lists collections; ``/api/collections/<c>/index.json`` (and
``page/<n>.json``) pages through entries; ``/api/collections/<c>/<slug>.json`` is one
entry with rendered HTML; ``/api/taxonomies/<t>/<term>.json`` lists a term's entries.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

import msgspec

from sonicgen.content.graph import Doc, SiteGraph, Term
from sonicgen.content.outputs import File
from sonicgen.content.rendered import TocItem
from sonicgen.hooks.plugin import Plugin, PluginContext
from sonicgen.version import __version__

_encoder = msgspec.json.Encoder()


class JsonApiConfig(msgspec.Struct, kw_only=True):
    prefix: str = "/api/"
    page_size: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 50


def _json(value: Any) -> bytes:
    return _encoder.encode(value) + b"\n"


def _toc(items: list[TocItem]) -> list[dict[str, Any]]:
    return [{"id": i.id, "title": i.title, "level": i.level, "children": _toc(i.children)} for i in items]


@dataclass(frozen=True)
class Api:
    """Routes and documents of the JSON API for one site.

    Documents are made when written, by methods of this object, each file declaring what its
    document is made of (its ``key``), so an incremental build re-encodes only the documents whose
    definition or recorded inputs changed.
    """

    site: SiteGraph
    cfg: JsonApiConfig

    @property
    def prefix(self) -> str:
        return "/" + self.cfg.prefix.strip("/") + "/"

    def entry_route(self, doc: Doc) -> str:
        return f"{self.prefix}collections/{doc.collection}/{doc.slug}.json"

    def list_route(self, name: str, number: int) -> str:
        base = f"{self.prefix}collections/{name}/"
        return base + ("index.json" if number == 1 else f"page/{number}.json")

    def term_route(self, term: Term) -> str:
        return f"{self.prefix}taxonomies/{term.taxonomy}/{term.slug}.json"

    def summary(self, doc: Doc) -> dict[str, Any]:
        return {
            "id": f"{doc.collection}/{doc.slug}",
            "collection": doc.collection,
            "slug": doc.slug,
            "title": doc.title,
            "date": doc.date,
            "url": doc.permalink,
            "api_url": self.site.absolute(self.entry_route(doc)),
            "summary": doc.description,
        }

    def entry(self, doc: Doc) -> bytes:
        data = self.summary(doc) | {
            "fields": dict(doc.fields),
            "terms": {name: [t.name for t in terms] for name, terms in doc.terms.items()},
            "html": str(doc.html),
            "toc": _toc(doc.toc),
            "words": doc.words,
            "prev": self.site.absolute(self.entry_route(doc.prev)) if doc.prev and doc.prev.config.api else None,
            "next": self.site.absolute(self.entry_route(doc.next)) if doc.next and doc.next.config.api else None,
        }
        return _json({"data": data, "meta": {"generator": f"sonicgen {__version__}"}})

    def listing(self, name: str, docs: list[Doc], number: int, pages: int) -> bytes:
        size = self.cfg.page_size
        items = docs[(number - 1) * size : number * size]

        def link(n: int) -> str | None:
            return self.site.absolute(self.list_route(name, n)) if 1 <= n <= pages else None

        meta = {"total": len(docs), "count": len(items), "page": number, "pages": pages, "page_size": size}
        links = {"self": link(number), "first": link(1), "last": link(pages), "prev": link(number - 1), "next": link(number + 1)}
        return _json({"data": [self.summary(d) for d in items], "meta": meta, "links": links})

    def outputs(self) -> Iterator[File]:
        site = self.site
        collections = [c for c in site.collections.values() if c.config.api]
        index = [
            {
                "name": c.name,
                "title": c.title,
                "description": c.description,
                "count": c.count,
                "api_url": site.absolute(self.list_route(c.name, 1)),
                "url": site.absolute(c.route) if c.route else None,
            }
            for c in collections
        ]
        taxonomies = [
            {
                "name": t.name,
                "title": t.title,
                "terms": len(t.terms),
                "api_url": site.absolute(f"{self.prefix}taxonomies/{t.name}/index.json"),
            }
            for t in site.taxonomies.values()
        ]
        meta = {
            "title": site.title,
            "base_url": site.config.site.base_url,
            "generator": f"sonicgen {__version__}",
            "taxonomies": taxonomies,
        }
        yield File(self.prefix + "index.json", _json({"data": index, "meta": meta}), "JSON API", "application/json")
        for c in collections:
            pages = max(1, -(-c.count // self.cfg.page_size))
            for number in range(1, pages + 1):
                page = (c.name, c.docs, number, pages)
                yield File(
                    self.list_route(c.name, number), partial(self.listing, *page), f"JSON API {c.name}", "application/json", key=page
                )
            for doc in c.docs:
                yield File(self.entry_route(doc), partial(self.entry, doc), doc.entry.source.path, "application/json", key=doc)
        for taxonomy in site.taxonomies.values():
            terms = taxonomy.sorted_terms()
            listing = [
                {
                    "name": t.name,
                    "slug": t.slug,
                    "count": t.count,
                    "api_url": site.absolute(self.term_route(t)),
                    "url": site.absolute(t.route),
                }
                for t in terms
            ]
            yield File(
                f"{self.prefix}taxonomies/{taxonomy.name}/index.json",
                _json({"data": listing, "meta": {"total": len(terms)}}),
                f"JSON API taxonomy {taxonomy.name}",
                "application/json",
            )
            for term in terms:
                yield File(self.term_route(term), partial(self.term, term), f"JSON API term {term.name!r}", "application/json", key=term)

    def term(self, term: Term) -> bytes:
        docs = [d for d in term.docs if d.config.api]
        body = {
            "data": {
                "name": term.name,
                "slug": term.slug,
                "url": self.site.absolute(term.route),
                "entries": [self.summary(d) for d in docs],
            },
            "meta": {"total": len(docs)},
        }
        return _json(body)


def setup(ctx: PluginContext[JsonApiConfig]) -> None:
    cfg = ctx.config
    ctx.hook("site:outputs", lambda site: Api(site, cfg).outputs())


plugin = Plugin(name="json-api", version="1.0.0", description="The static JSON API under /api/.", config=JsonApiConfig, setup=setup)
