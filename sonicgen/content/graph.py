"""The site graph: published entries in order, with URLs, taxonomies, neighbours and references.

Templates, feeds and the JSON API all read this one structure; a ``Doc``'s Markdown is
rendered on first use and then shared by every output that shows it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from markupsafe import Markup

from sonicgen.config import Config
from sonicgen.config.schema import CollectionConfig, TaxonomyConfig
from sonicgen.content.markup import Rendered, TocItem, strip_tags
from sonicgen.content.models import Entry
from sonicgen.content.urls import UrlError, base_path, expand_permalink, page_url, slugify
from sonicgen.errors import Problems

RenderFn = Callable[[Entry], Rendered]


class Doc:
    """An entry as published: its URL, neighbours, terms and (lazily) rendered body."""

    __slots__ = ("_rendered", "_site", "entry", "next", "prev", "route", "terms")

    def __init__(self, entry: Entry, route: str, site: SiteGraph) -> None:
        self.entry = entry
        self.route = route
        self._site = site
        self._rendered: Rendered | None = None
        self.prev: Doc | None = None
        self.next: Doc | None = None
        self.terms: dict[str, list[Term]] = {}

    def __repr__(self) -> str:
        return f"<Doc {self.entry.collection}/{self.entry.slug}>"

    def __getattr__(self, name: str) -> Any:
        # Only reached when no slot or property matches: schema fields read like attributes.
        fields = object.__getattribute__(self, "entry").fields
        if name in fields:
            return fields[name]
        raise AttributeError(name)

    @property
    def collection(self) -> str:
        return self.entry.collection

    @property
    def slug(self) -> str:
        return self.entry.slug

    @property
    def fields(self) -> Mapping[str, Any]:
        return self.entry.fields

    @property
    def config(self) -> CollectionConfig:
        return self._site.config.site.collections[self.entry.collection]

    @property
    def title(self) -> str:
        value = self.entry.fields.get(self.config.title_field)
        return str(value) if value else self.entry.slug.replace("-", " ").capitalize()

    @property
    def date(self) -> datetime | None:
        return self.entry.date

    @property
    def url(self) -> str:
        return self._site.url(self.route)

    @property
    def permalink(self) -> str:
        return self._site.absolute(self.route)

    @property
    def rendered(self) -> Rendered:
        if self._rendered is None:
            self._rendered = self._site.render_markdown(self.entry)
        return self._rendered

    def provide(self, rendered: Rendered) -> None:
        """Hand over a body rendered elsewhere (a worker process, a cache), so it is not rendered again."""
        self._rendered = rendered

    @property
    def html(self) -> Markup:
        return Markup(self.rendered.html)

    @property
    def summary(self) -> Markup:
        explicit = self.entry.fields.get(self.config.summary_field)
        if isinstance(explicit, str) and explicit.strip():
            return Markup("<p>") + explicit.strip() + Markup("</p>")
        return Markup(self.rendered.summary)

    @property
    def description(self) -> str:
        """Plain-text summary for meta tags and feeds."""
        return " ".join(strip_tags(str(self.summary)).split())

    @property
    def toc(self) -> list[TocItem]:
        return self.rendered.toc

    @property
    def words(self) -> int:
        return self.rendered.words


@dataclass
class Term:
    """One value of a taxonomy (a tag) and the docs carrying it."""

    taxonomy: str
    name: str
    slug: str
    route: str
    docs: list[Doc] = field(default_factory=list)
    site: SiteGraph | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        assert self.site is not None
        return self.site.url(self.route)

    @property
    def count(self) -> int:
        return len(self.docs)


@dataclass
class Taxonomy:
    name: str
    config: TaxonomyConfig
    route: str
    terms: dict[str, Term]
    site: SiteGraph = field(repr=False)

    @property
    def title(self) -> str:
        return self.config.title or self.name

    @property
    def url(self) -> str:
        return self.site.url(self.route)

    def sorted_terms(self) -> list[Term]:
        return sorted(self.terms.values(), key=lambda t: (t.name.casefold(), t.slug))


@dataclass
class Collection:
    name: str
    config: CollectionConfig
    docs: list[Doc]
    site: SiteGraph = field(repr=False)

    @property
    def title(self) -> str:
        return self.config.title or self.name

    @property
    def description(self) -> str:
        return self.config.description

    @property
    def route(self) -> str | None:
        return self.config.list_permalink or None

    @property
    def url(self) -> str | None:
        return self.site.url(self.route) if self.route else None

    @property
    def count(self) -> int:
        return len(self.docs)

    def __iter__(self) -> Iterator[Doc]:
        return iter(self.docs)


@dataclass
class Paginator:
    """One page of a paginated list."""

    items: list[Any]
    number: int
    pages: int
    total: int
    routes: list[str]
    site: SiteGraph = field(repr=False)

    def _url(self, number: int) -> str | None:
        return self.site.url(self.routes[number - 1]) if 1 <= number <= self.pages else None

    @property
    def url(self) -> str:
        return self._url(self.number) or ""

    @property
    def prev_url(self) -> str | None:
        return self._url(self.number - 1)

    @property
    def next_url(self) -> str | None:
        return self._url(self.number + 1)

    @property
    def first_url(self) -> str:
        return self._url(1) or ""

    @property
    def last_url(self) -> str:
        return self._url(self.pages) or ""

    @property
    def urls(self) -> list[str]:
        return [self.site.url(r) for r in self.routes]


def paginate(items: list[Any], size: int, base_route: str, site: SiteGraph) -> list[Paginator]:
    """Split ``items`` into pages; an empty list still has one (empty) page."""
    count = max(1, -(-len(items) // size))
    routes = [page_url(base_route, n) for n in range(1, count + 1)]
    return [Paginator(items[(n - 1) * size : n * size], n, count, len(items), routes, site) for n in range(1, count + 1)]


def _sort_key_value(value: Any) -> tuple[int, Any]:
    if value is None:
        return (1, "")
    if isinstance(value, str):
        return (0, value.casefold())
    if isinstance(value, datetime):
        return (0, value.timestamp())
    if hasattr(value, "isoformat"):
        return (0, value.isoformat())
    return (0, value)


def sort_docs(docs: list[Doc], spec: str) -> list[Doc]:
    """Stable multi-key sort from a spec such as ``-date,title``; missing values sort last."""
    out = sorted(docs, key=lambda d: d.slug)
    for key in reversed([k.strip() for k in spec.split(",") if k.strip()]):
        reverse = key.startswith("-")
        name = key.lstrip("-")

        def value(doc: Doc, name: str = name) -> Any:
            if name == "slug":
                return doc.slug
            if name == "path":
                return doc.entry.path + "/" + doc.slug
            if name == doc.config.date_field and doc.date is not None:
                return doc.date
            return doc.fields.get(name)

        present = [d for d in out if value(d) is not None]
        missing = [d for d in out if value(d) is None]
        present.sort(key=lambda d: _sort_key_value(value(d)), reverse=reverse)
        out = present + missing
    return out


class SiteGraph:
    """Published content of one build, plus URL helpers."""

    def __init__(self, config: Config, render_markdown: RenderFn, data: Mapping[str, Any]) -> None:
        self.config = config
        self.render_markdown = render_markdown
        self.data = data
        self.collections: dict[str, Collection] = {}
        self.taxonomies: dict[str, Taxonomy] = {}
        self._by_key: dict[tuple[str, str], Doc] = {}
        self.feeds: list[Any] = []
        site = config.site
        self.title = site.title
        self.description = site.description
        self.language = site.language
        self.author = site.author
        self.menu = site.menu
        self.params = site.params
        base = config.site.base_url
        self.base_url = base.rstrip("/")
        self.base_path = base_path(base)

    def url(self, route: str) -> str:
        """Site route (``/blog/x/``) to a link that honours the base path."""
        if route.startswith(("http://", "https://", "//", "#", "mailto:")):
            return route
        return self.base_path + route.lstrip("/")

    def absolute(self, route: str) -> str:
        origin = self.base_url.split("://", 1)
        host = origin[1].split("/", 1)[0]
        return f"{origin[0]}://{host}{self.url(route)}"

    def get(self, collection: str, slug: str) -> Doc | None:
        return self._by_key.get((collection, slug))

    def docs(self) -> Iterable[Doc]:
        for collection in self.collections.values():
            yield from collection.docs


def is_published(entry: Entry, *, now: datetime, drafts: bool, future: bool) -> bool:
    if entry.draft and not drafts:
        return False
    if entry.date is not None and entry.date > now and not future:
        return False
    return not (entry.expires is not None and entry.expires <= now)


def build_graph(
    config: Config,
    entries: list[Entry],
    *,
    render_markdown: RenderFn,
    data: Mapping[str, Any],
    problems: Problems,
    now: datetime,
    drafts: bool = False,
    future: bool = False,
) -> SiteGraph:
    """Check slugs and references across all entries, then assemble what will be published."""
    site = SiteGraph(config, render_markdown, data)
    seen: dict[tuple[str, str], Entry] = {}
    for entry in entries:
        other = seen.get(entry.key)
        if other is not None:
            problems.error(
                entry.source.path,
                f"duplicate slug {entry.slug!r} in collection {entry.collection!r}: "
                f"also used by {other.source.path}:{other.source.line_of('slug')}",
                line=entry.source.line_of("slug"),
                field="slug",
            )
            continue
        seen[entry.key] = entry
    _check_references(config, list(seen.values()), seen, problems)

    grouped: dict[str, list[Doc]] = {name: [] for name in config.site.collections}
    for entry in seen.values():
        if not is_published(entry, now=now, drafts=drafts, future=future):
            continue
        ccfg = config.site.collections[entry.collection]
        values: dict[str, Any] = {
            "slug": entry.slug,
            "path": "/".join(p for p in (entry.path, entry.slug) if p),
            "collection": entry.collection,
        }
        if entry.date is not None:
            values.update(year=f"{entry.date.year:04d}", month=f"{entry.date.month:02d}", day=f"{entry.date.day:02d}")
        for key, value in entry.fields.items():
            if value is not None and key not in values:
                values[key] = value
        try:
            route = expand_permalink(ccfg.permalink or "/", values)
        except KeyError as exc:
            problems.error(entry.source.path, f"permalink {ccfg.permalink} needs {{{exc.args[0]}}}, which this entry has no value for")
            continue
        except UrlError as exc:
            problems.error(entry.source.path, f"cannot build its URL: {exc}")
            continue
        doc = Doc(entry, route, site)
        grouped[entry.collection].append(doc)
        site._by_key[entry.key] = doc

    for name, ccfg in config.site.collections.items():
        docs = sort_docs(grouped[name], ccfg.sort or "title")
        for before, after in itertools.pairwise(docs):
            before.next, after.prev = after, before
        site.collections[name] = Collection(name, ccfg, docs, site)

    for name, tcfg in config.site.taxonomies.items():
        site.taxonomies[name] = _taxonomy(name, tcfg, site, problems)
    return site


def _check_references(config: Config, entries: list[Entry], keys: Mapping[tuple[str, str], Entry], problems: Problems) -> None:
    for entry in entries:
        for name, spec in config.site.collections[entry.collection].fields.items():
            is_ref = spec.type == "reference" or (spec.type == "list" and spec.items == "reference")
            value = entry.fields.get(name)
            if not is_ref or value is None:
                continue
            for slug in value if isinstance(value, list) else [value]:
                if (spec.collection or "", slug) not in keys:
                    problems.error(
                        entry.source.path,
                        f"refers to {slug!r}, but collection {spec.collection!r} has no entry with that slug",
                        line=entry.source.line_of(name),
                        field=name,
                    )


def _taxonomy(name: str, tcfg: TaxonomyConfig, site: SiteGraph, problems: Problems) -> Taxonomy:
    pattern = tcfg.permalink or f"/{name}/{{term}}/"
    index_route = pattern.split("{term}", 1)[0] or "/"
    terms: dict[str, Term] = {}
    for cname in tcfg.collections or []:
        for doc in site.collections[cname].docs:
            raw = doc.fields.get(tcfg.field or name)
            values = raw if isinstance(raw, list) else [raw] if raw else []
            mine: list[Term] = []
            for value in values:
                text = str(value).strip()
                slug = slugify(text)
                if not slug:
                    problems.warn(
                        doc.entry.source.path,
                        f"term {text!r} has no URL-safe letters; ignored",
                        line=doc.entry.source.line_of(tcfg.field or name),
                        field=tcfg.field,
                    )
                    continue
                term = terms.get(slug)
                if term is None:
                    term = Term(name, text, slug, expand_permalink(pattern, {"term": slug}), site=site)
                    terms[slug] = term
                if doc not in term.docs:
                    term.docs.append(doc)
                    mine.append(term)
            doc.terms[name] = mine
    for term in terms.values():
        term.docs = sorted(term.docs, key=lambda d: (-(d.date.timestamp() if d.date else 0), d.title.casefold(), d.collection, d.slug))
    return Taxonomy(name, tcfg, index_route, terms, site)
