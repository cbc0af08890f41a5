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
from sonicgen.content.models import Entry
from sonicgen.content.rendered import Rendered, TocItem, strip_tags
from sonicgen.content.urls import UrlError, base_path, expand_permalink, page_url, permalink_fields, slugify
from sonicgen.errors import Problems

RenderFn = Callable[[Entry], Rendered]
SummaryFn = Callable[[Entry], str]  # a body's summary, which a store may keep apart from its rendering


class Recorded(Mapping[str, Any]):
    """A mapping that notes which keys a page read (``prefix + key``), or ``prefix + "*"`` for all of them."""

    __slots__ = ("_data", "_prefix", "_site")

    def __init__(self, data: Mapping[str, Any], site: SiteGraph, prefix: str) -> None:
        self._data = data
        self._site = site
        self._prefix = prefix

    def __getitem__(self, key: str) -> Any:
        self._site.note(self._prefix + str(key))
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        self._site.note(self._prefix + str(key))
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        self._site.note(self._prefix + "*")
        return iter(self._data)

    def __len__(self) -> int:
        self._site.note(self._prefix + "*")
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        self._site.note(self._prefix + "*")
        return dict(self._data) == other

    __hash__ = None  # type: ignore[assignment]


class Doc:
    """An entry as published: its URL, neighbours, terms and (lazily) rendered body.

    Every public attribute notes what it reveals (``d:<collection>/<slug>:<aspect>``) in the
    site's recorder, so a page's recorded inputs are exactly what its template read.
    """

    __slots__ = ("_entry", "_id", "_next", "_prev", "_rendered", "_route", "_site", "_summary", "_terms")

    def __init__(self, entry: Entry, route: str, site: SiteGraph) -> None:
        self._entry = entry
        self._id = f"{entry.collection}/{entry.slug}"
        self._route = route
        self._site = site
        self._rendered: Rendered | None = None
        self._summary: str | None = None
        self._prev: Doc | None = None
        self._next: Doc | None = None
        self._terms: dict[str, list[Term]] = {}

    def __repr__(self) -> str:
        return f"<Doc {self._id}>"

    def __getattr__(self, name: str) -> Any:
        # Only reached when no slot or property matches: schema fields read like attributes.
        if name.startswith("__"):
            raise AttributeError(name)
        fields = object.__getattribute__(self, "_entry").fields
        if name in fields:
            self._note(f"f:{name}")
            return fields[name]
        raise AttributeError(name)

    def _note(self, aspect: str) -> None:
        if self._site.recorder is not None:
            self._site.recorder.add(f"d:{self._id}:{aspect}")

    @property
    def id(self) -> str:
        """``collection/slug``: who this is, which never changes while it exists."""
        return self._id

    @property
    def entry(self) -> Entry:
        self._note("entry")
        return self._entry

    @property
    def collection(self) -> str:
        return self._entry.collection

    @property
    def slug(self) -> str:
        return self._entry.slug

    @property
    def route(self) -> str:
        self._note("route")
        return self._route

    @property
    def prev(self) -> Doc | None:
        self._site.note(f"n:{self._id}")
        return self._prev

    @property
    def next(self) -> Doc | None:
        self._site.note(f"n:{self._id}")
        return self._next

    @property
    def terms(self) -> dict[str, list[Term]]:
        self._site.note(f"dt:{self._id}")
        return self._terms

    @property
    def fields(self) -> Mapping[str, Any]:
        fields = self._entry.fields
        return fields if self._site.recorder is None else Recorded(fields, self._site, f"d:{self._id}:f:")

    @property
    def config(self) -> CollectionConfig:
        self._site.note(f"cc:{self._entry.collection}")
        return self._site.config.site.collections[self._entry.collection]

    @property
    def title(self) -> str:
        self._note("title")
        return self._title()

    def _title(self) -> str:
        config = self._site.config.site.collections[self._entry.collection]
        value = self._entry.fields.get(config.title_field)
        return str(value) if value else self._entry.slug.replace("-", " ").capitalize()

    @property
    def date(self) -> datetime | None:
        self._note("date")
        return self._entry.date

    @property
    def url(self) -> str:
        self._note("route")
        return self._site.url(self._route)

    @property
    def permalink(self) -> str:
        self._note("route")
        return self._site.absolute(self._route)

    @property
    def rendered(self) -> Rendered:
        self._note("body")
        if self._rendered is None:
            self._rendered = self._site.render_markdown(self._entry)
        return self._rendered

    @property
    def html(self) -> Markup:
        return Markup(self.rendered.html)

    @property
    def summary(self) -> Markup:
        config = self._site.config.site.collections[self._entry.collection]
        explicit = self._entry.fields.get(config.summary_field)
        self._note(f"f:{config.summary_field}")
        if isinstance(explicit, str) and explicit.strip():
            return Markup("<p>") + explicit.strip() + Markup("</p>")
        self._note("summary")  # not the body: a listing stays as it is while only text after the summary changes
        return Markup(self._body_summary())

    def _body_summary(self, *, keep: bool = True) -> str:
        """The summary the body gives (up to ``<!--more-->``, else its first paragraph), without noting it;
        kept for the pages that show it again unless ``keep`` is false (a caller that will not ask again)."""
        summary = self._summary
        if summary is None:
            summary = self._rendered.summary if self._rendered is not None else self._site.summarize(self._entry)
            if keep:
                self._summary = summary
        return summary

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


class Term:
    """One value of a taxonomy (a tag) and the docs carrying it."""

    __slots__ = ("_docs", "_name", "_route", "_site", "slug", "taxonomy")

    def __init__(self, taxonomy: str, name: str, slug: str, route: str, site: SiteGraph) -> None:
        self.taxonomy = taxonomy
        self.slug = slug
        self._name = name
        self._route = route
        self._site = site
        self._docs: list[Doc] = []

    def __repr__(self) -> str:
        return f"<Term {self.taxonomy}/{self.slug}>"

    @property
    def id(self) -> str:
        return f"{self.taxonomy}/{self.slug}"

    @property
    def name(self) -> str:
        self._site.note(f"t:{self.id}:name")
        return self._name

    @property
    def route(self) -> str:
        self._site.note(f"xc:{self.taxonomy}")  # the slug is who this is; the pattern comes from site.yaml
        return self._route

    @property
    def url(self) -> str:
        return self._site.url(self.route)

    @property
    def docs(self) -> list[Doc]:
        self._site.note(f"t:{self.id}:docs")
        return self._docs

    @property
    def count(self) -> int:
        return len(self.docs)


class Taxonomy:
    """A taxonomy of site.yaml and its terms."""

    __slots__ = ("_config", "_route", "_site", "_terms", "name")

    def __init__(self, name: str, config: TaxonomyConfig, route: str, terms: dict[str, Term], site: SiteGraph) -> None:
        self.name = name
        self._config = config
        self._route = route
        self._terms = terms
        self._site = site

    def __repr__(self) -> str:
        return f"<Taxonomy {self.name}>"

    @property
    def config(self) -> TaxonomyConfig:
        self._site.note(f"xc:{self.name}")
        return self._config

    @property
    def title(self) -> str:
        return self.config.title or self.name

    @property
    def route(self) -> str:
        self._site.note(f"xc:{self.name}")
        return self._route

    @property
    def url(self) -> str:
        return self._site.url(self.route)

    @property
    def terms(self) -> dict[str, Term]:
        self._site.note(f"x:{self.name}")
        return self._terms

    def sorted_terms(self) -> list[Term]:
        return sorted(self.terms.values(), key=lambda t: (t._name.casefold(), t.slug))


class Collection:
    """A collection of site.yaml and its published docs in order."""

    __slots__ = ("_config", "_docs", "_site", "name")

    def __init__(self, name: str, config: CollectionConfig, docs: list[Doc], site: SiteGraph) -> None:
        self.name = name
        self._config = config
        self._docs = docs
        self._site = site

    def __repr__(self) -> str:
        return f"<Collection {self.name}>"

    @property
    def config(self) -> CollectionConfig:
        self._site.note(f"cc:{self.name}")
        return self._config

    @property
    def docs(self) -> list[Doc]:
        self._site.note(f"c:{self.name}")
        return self._docs

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
        return self._site.url(self.route) if self.route else None

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

    def window(self, around: int = 2) -> list[tuple[int, str] | None]:
        """The pages a pager links: the first, the last and ``around`` either side of this one; None marks a gap.

        A pager that walks :attr:`urls` costs every list page time in proportion to the number
        of pages, which makes a long list's pagination quadratic in its length.
        """
        near = range(max(1, self.number - around), min(self.pages, self.number + around) + 1)
        shown: list[tuple[int, str] | None] = []
        last = 0
        for n in sorted({1, self.pages, *near}):
            if n - last > 1:
                shown.append(None)
            shown.append((n, self.site.url(self.routes[n - 1])))
            last = n
        return shown


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

        values = [(doc, value(doc)) for doc in out]
        present = [(doc, v) for doc, v in values if v is not None]
        present.sort(key=lambda pair: _sort_key_value(pair[1]), reverse=reverse)
        out = [doc for doc, _ in present] + [doc for doc, v in values if v is None]
    return out


class SiteGraph:
    """Published content of one build, plus URL helpers.

    While a page renders, ``recorder`` collects the keys of everything the page read (see
    :mod:`sonicgen.content.facts`); the build stores them as the page's inputs.
    """

    def __init__(self, config: Config, render_markdown: RenderFn, data: Mapping[str, Any], summarize: SummaryFn | None = None) -> None:
        self.config = config
        self.render_markdown = render_markdown
        self.summarize: SummaryFn = summarize or (lambda entry: render_markdown(entry).summary)
        self.recorder: set[str] | None = None
        self._data = data
        self._collections: dict[str, Collection] = {}
        self._taxonomies: dict[str, Taxonomy] = {}
        self._by_key: dict[tuple[str, str], Doc] = {}
        self._feeds: list[Any] = []
        base = config.site.base_url
        self.base_url = base.rstrip("/")
        self.base_path = base_path(base)

    def note(self, key: str) -> None:
        if self.recorder is not None:
            self.recorder.add(key)

    def _setting(self, name: str) -> Any:
        self.note(f"s:{name}")
        return getattr(self.config.site, name)

    title = property(lambda self: self._setting("title"))
    description = property(lambda self: self._setting("description"))
    language = property(lambda self: self._setting("language"))
    author = property(lambda self: self._setting("author"))
    menu = property(lambda self: self._setting("menu"))
    params = property(lambda self: self._setting("params"))

    @property
    def data(self) -> Mapping[str, Any]:
        return self._data if self.recorder is None else Recorded(self._data, self, "data:")

    @property
    def feeds(self) -> list[Any]:
        self.note("s:feeds")
        return self._feeds

    @property
    def collections(self) -> dict[str, Collection]:
        return self._collections

    @property
    def taxonomies(self) -> dict[str, Taxonomy]:
        return self._taxonomies

    def url(self, route: str) -> str:
        """Site route (``/blog/x/``) to a link that honours the base path."""
        if route.startswith(("http://", "https://", "//", "#", "mailto:")):
            return route
        return self.base_path + route.lstrip("/")

    def absolute(self, route: str) -> str:
        origin = self.base_url.split("://", 1)
        host = origin[1].split("/", 1)[0]
        return f"{origin[0]}://{host}{self.url(route)}"

    def release(self, read: Iterable[str]) -> None:
        """Let go of the rendered bodies among ``read`` (recorded keys); they are fetched again when needed.

        Summaries stay: a few hundred bytes each, and the list, tag and JSON pages show each one
        about eight times (fetched from the build state each time, that was 5 % of a one-process
        build of 10,000 posts with the render cache warm).
        """
        for key in read:
            if not key.startswith("d:") or not key.endswith(":body"):
                continue
            doc_id, _, aspect = key[2:].partition(":")
            collection, _, slug = doc_id.partition("/")
            doc = self._by_key.get((collection, slug))
            if doc is not None and aspect == "body":  # not f:body, a field
                doc._rendered = None

    def get(self, collection: str, slug: str) -> Doc | None:
        self.note(f"c:{collection}")
        return self._by_key.get((collection, slug))

    def docs(self) -> Iterable[Doc]:
        for collection in self._collections.values():
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
    summarize: SummaryFn | None = None,
    data: Mapping[str, Any],
    problems: Problems,
    now: datetime,
    drafts: bool = False,
    future: bool = False,
) -> SiteGraph:
    """Check slugs and references across all entries, then assemble what will be published."""
    site = SiteGraph(config, render_markdown, data, summarize)
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
        pattern = ccfg.permalink or "/"
        values: dict[str, Any] = {
            "slug": entry.slug,
            "path": "/".join(p for p in (entry.path, entry.slug) if p),
            "collection": entry.collection,
        }
        if entry.date is not None:
            values.update(year=f"{entry.date.year:04d}", month=f"{entry.date.month:02d}", day=f"{entry.date.day:02d}")
        for key in permalink_fields(pattern):  # only the fields the pattern names, not every field of every entry
            value = entry.fields.get(key)
            if value is not None and key not in values:
                values[key] = value
        try:
            route = expand_permalink(pattern, values)
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
            before._next, after._prev = after, before
        site._collections[name] = Collection(name, ccfg, docs, site)

    for name, tcfg in config.site.taxonomies.items():
        site._taxonomies[name] = _taxonomy(name, tcfg, site, problems)
    return site


def _check_references(config: Config, entries: list[Entry], keys: Mapping[tuple[str, str], Entry], problems: Problems) -> None:
    references = {
        cname: [
            (name, spec)
            for name, spec in ccfg.fields.items()
            if spec.type == "reference" or (spec.type == "list" and spec.items == "reference")
        ]
        for cname, ccfg in config.site.collections.items()
    }
    for entry in entries:
        for name, spec in references[entry.collection]:  # found once per collection, not once per entry
            value = entry.fields.get(name)
            if value is None:
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
    slugs: dict[str, str] = {}  # each distinct text is slugified once
    for cname in tcfg.collections or []:
        for doc in site._collections[cname]._docs:
            raw = doc._entry.fields.get(tcfg.field or name)
            values = raw if isinstance(raw, list) else [raw] if raw else []
            mine: list[Term] = []
            for value in values:
                text = str(value).strip()
                slug = slugs.get(text)
                if slug is None:
                    slug = slugs[text] = slugify(text)
                if not slug:
                    problems.warn(
                        doc._entry.source.path,
                        f"term {text!r} has no URL-safe letters; ignored",
                        line=doc._entry.source.line_of(tcfg.field or name),
                        field=tcfg.field,
                    )
                    continue
                term = terms.get(slug)
                if term is None:
                    term = Term(name, text, slug, expand_permalink(pattern, {"term": slug}), site)
                    terms[slug] = term
                if term not in mine:  # "Python" and "python" are one term
                    term._docs.append(doc)
                    mine.append(term)
            doc._terms[name] = mine
    # Newest first, then by title: ranked once for the whole taxonomy, not once per term a doc carries.
    newest = sorted(
        (doc for cname in tcfg.collections or [] for doc in site._collections[cname]._docs if doc._terms[name]),
        key=lambda d: (-(d._entry.date.timestamp() if d._entry.date else 0), d._title().casefold(), d.collection, d.slug),
    )
    rank = {doc: n for n, doc in enumerate(newest)}
    for term in terms.values():
        term._docs.sort(key=rank.__getitem__)
    return Taxonomy(name, tcfg, index_route, terms, site)
