"""The site graph as plugins and templates see it: a recording view of what a build publishes.

Every public attribute of these objects notes what it reveals in the build's :class:`Recorder`
(with the keys of :mod:`sonicgen.content.deps`), so the inputs recorded for an output are
exactly what its template or generator read.  The build itself reads the plain records
underneath (:mod:`sonicgen.content.published`), which note nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from markupsafe import Markup

from sonicgen.config import Config
from sonicgen.config.schema import CollectionConfig, TaxonomyConfig
from sonicgen.content import deps
from sonicgen.content.models import Entry
from sonicgen.content.published import Published, PublishedCollection, PublishedDoc, PublishedTaxonomy, PublishedTerm
from sonicgen.content.rendered import Rendered, TocItem, strip_tags
from sonicgen.content.urls import page_url


class Recorder:
    """The keys of what the output being rendered read; nothing is noted between outputs."""

    __slots__ = ("keys",)

    def __init__(self) -> None:
        self.keys: set[str] | None = None

    def start(self) -> None:
        self.keys = set()

    def stop(self) -> set[str]:
        keys, self.keys = self.keys, None
        return keys or set()

    def note(self, key: str) -> None:
        if self.keys is not None:
            self.keys.add(key)


class RecordedMapping(Mapping[str, Any]):
    """A mapping that notes which of its keys a page read, or all of them (``deps.ALL``)."""

    __slots__ = ("_data", "_key", "_recorder")

    def __init__(self, data: Mapping[str, Any], recorder: Recorder, key: Any) -> None:
        self._data = data
        self._recorder = recorder
        self._key = key  # name -> dependency key

    def __getitem__(self, name: str) -> Any:
        self._recorder.note(self._key(str(name)))
        return self._data[name]

    def __contains__(self, name: object) -> bool:
        self._recorder.note(self._key(str(name)))
        return name in self._data

    def __iter__(self) -> Iterator[str]:
        self._recorder.note(self._key(deps.ALL))
        return iter(self._data)

    def __len__(self) -> int:
        self._recorder.note(self._key(deps.ALL))
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        self._recorder.note(self._key(deps.ALL))
        return dict(self._data) == other

    __hash__ = None  # type: ignore[assignment]


class Doc:
    """An entry as published: its URL, neighbours, terms and rendered body; schema fields read
    like attributes (``doc.tags``)."""

    __slots__ = ("_doc", "_site")

    def __init__(self, doc: PublishedDoc, site: SiteGraph) -> None:
        self._doc = doc
        self._site = site

    def __repr__(self) -> str:
        return f"<Doc {self._doc.id}>"

    def __getattr__(self, name: str) -> Any:
        # Only reached when no slot or property matches: schema fields read like attributes.
        if name.startswith("__"):
            raise AttributeError(name)
        fields = object.__getattribute__(self, "_doc").entry.fields
        if name in fields:
            self._site.recorder.note(deps.field(self._doc.id, name))
            return fields[name]
        raise AttributeError(name)

    def _note(self, aspect: str) -> None:
        keys = self._site.recorder.keys
        if keys is not None:
            keys.add(deps.doc(self._doc.id, aspect))

    @property
    def id(self) -> str:
        """``collection/slug``: who this is, which never changes while it exists."""
        return self._doc.id

    @property
    def entry(self) -> Entry:
        self._note("entry")
        return self._doc.entry

    @property
    def collection(self) -> str:
        return self._doc.entry.collection

    @property
    def slug(self) -> str:
        return self._doc.entry.slug

    @property
    def route(self) -> str:
        self._note("route")
        return self._doc.route

    @property
    def prev(self) -> Doc | None:
        self._site.recorder.note(deps.neighbours(self._doc.id))
        return self._site.view(self._doc.prev)

    @property
    def next(self) -> Doc | None:
        self._site.recorder.note(deps.neighbours(self._doc.id))
        return self._site.view(self._doc.next)

    @property
    def terms(self) -> dict[str, list[Term]]:
        self._site.recorder.note(deps.doc_terms(self._doc.id))
        return {name: [self._site.term(t) for t in terms] for name, terms in self._doc.terms.items()}

    @property
    def fields(self) -> Mapping[str, Any]:
        fields = self._doc.entry.fields
        recorder = self._site.recorder
        if recorder.keys is None:
            return fields
        doc_id = self._doc.id
        return RecordedMapping(fields, recorder, lambda name: deps.field(doc_id, name))

    @property
    def config(self) -> CollectionConfig:
        self._site.recorder.note(deps.collection_settings(self._doc.entry.collection))
        return self._site.config.site.collections[self._doc.entry.collection]

    @property
    def title(self) -> str:
        self._note("title")
        return self._doc.title

    @property
    def date(self) -> datetime | None:
        self._note("date")
        return self._doc.entry.date

    @property
    def url(self) -> str:
        self._note("route")
        return self._site.url(self._doc.route)

    @property
    def permalink(self) -> str:
        self._note("route")
        return self._site.absolute(self._doc.route)

    @property
    def rendered(self) -> Rendered:
        self._note("body")
        return self._site.published.rendered(self._doc)

    @property
    def html(self) -> Markup:
        return Markup(self.rendered.html)

    @property
    def summary(self) -> Markup:
        config = self._site.config.site.collections[self._doc.entry.collection]
        explicit = self._doc.entry.fields.get(config.summary_field)
        self._site.recorder.note(deps.field(self._doc.id, config.summary_field))
        if isinstance(explicit, str) and explicit.strip():
            return Markup("<p>") + explicit.strip() + Markup("</p>")
        self._note("summary")  # not the body: a listing stays as it is while only text after the summary changes
        return Markup(self._site.published.summary(self._doc))

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

    __slots__ = ("_docs", "_site", "_term")

    def __init__(self, term: PublishedTerm, site: SiteGraph) -> None:
        self._term = term
        self._site = site
        self._docs: list[Doc] | None = None

    def __repr__(self) -> str:
        return f"<Term {self._term.id}>"

    @property
    def id(self) -> str:
        return self._term.id

    @property
    def taxonomy(self) -> str:
        return self._term.taxonomy

    @property
    def slug(self) -> str:
        return self._term.slug

    @property
    def name(self) -> str:
        self._site.recorder.note(deps.term(self._term.id, "name"))
        return self._term.name

    @property
    def route(self) -> str:
        self._site.recorder.note(deps.taxonomy_settings(self._term.taxonomy))  # the slug is who this is; the pattern is site.yaml's
        return self._term.route

    @property
    def url(self) -> str:
        return self._site.url(self.route)

    @property
    def docs(self) -> list[Doc]:
        self._site.recorder.note(deps.term(self._term.id, "docs"))
        if self._docs is None:
            self._docs = self._site.views(self._term.docs)
        return self._docs

    @property
    def count(self) -> int:
        return len(self.docs)


class Taxonomy:
    """A taxonomy of site.yaml and its terms."""

    __slots__ = ("_site", "_taxonomy", "_terms")

    def __init__(self, taxonomy: PublishedTaxonomy, site: SiteGraph) -> None:
        self._taxonomy = taxonomy
        self._site = site
        self._terms = {slug: site.term(term) for slug, term in taxonomy.terms.items()}

    def __repr__(self) -> str:
        return f"<Taxonomy {self._taxonomy.name}>"

    @property
    def name(self) -> str:
        return self._taxonomy.name

    @property
    def config(self) -> TaxonomyConfig:
        self._site.recorder.note(deps.taxonomy_settings(self._taxonomy.name))
        return self._taxonomy.config

    @property
    def title(self) -> str:
        return self.config.title or self._taxonomy.name

    @property
    def route(self) -> str:
        self._site.recorder.note(deps.taxonomy_settings(self._taxonomy.name))
        return self._taxonomy.route

    @property
    def url(self) -> str:
        return self._site.url(self.route)

    @property
    def terms(self) -> dict[str, Term]:
        self._site.recorder.note(deps.taxonomy(self._taxonomy.name))
        return self._terms

    def sorted_terms(self) -> list[Term]:
        self._site.recorder.note(deps.taxonomy(self._taxonomy.name))
        return [self._terms[t.slug] for t in sorted(self._taxonomy.terms.values(), key=lambda t: (t.name.casefold(), t.slug))]


class Collection:
    """A collection of site.yaml and its published docs in order."""

    __slots__ = ("_collection", "_docs", "_site")

    def __init__(self, collection: PublishedCollection, site: SiteGraph) -> None:
        self._collection = collection
        self._site = site
        self._docs = site.views(collection.docs)

    def __repr__(self) -> str:
        return f"<Collection {self._collection.name}>"

    @property
    def name(self) -> str:
        return self._collection.name

    @property
    def config(self) -> CollectionConfig:
        self._site.recorder.note(deps.collection_settings(self._collection.name))
        return self._collection.config

    @property
    def docs(self) -> list[Doc]:
        self._site.recorder.note(deps.collection(self._collection.name))
        return self._docs

    @property
    def title(self) -> str:
        return self.config.title or self._collection.name

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


class SiteGraph:
    """``site`` in templates and plugins: the published content of one build, plus URL helpers.

    One view object stands for each published doc, term, taxonomy and collection, so that
    outputs made from them can be told apart by identity (see :func:`~sonicgen.content.facts.definition`).
    """

    def __init__(self, published: Published, recorder: Recorder) -> None:
        self.published = published
        self.recorder = recorder
        self.config: Config = published.config
        self.base_url = published.base_url
        self.base_path = published.base_path
        self._docs = {doc.id: Doc(doc, self) for doc in published.docs()}
        self._terms = {term.id: Term(term, self) for t in published.taxonomies.values() for term in t.terms.values()}
        self._collections = {name: Collection(c, self) for name, c in published.collections.items()}
        self._taxonomies = {name: Taxonomy(t, self) for name, t in published.taxonomies.items()}

    def view(self, doc: PublishedDoc | None) -> Doc | None:
        """The view of a published doc (None for None)."""
        return None if doc is None else self._docs[doc.id]

    def views(self, docs: Iterable[PublishedDoc]) -> list[Doc]:
        return [self._docs[doc.id] for doc in docs]

    def term(self, term: PublishedTerm) -> Term:
        return self._terms[term.id]

    def _setting(self, name: str) -> Any:
        self.recorder.note(deps.setting(name))
        return getattr(self.config.site, name)

    title = property(lambda self: self._setting("title"))
    description = property(lambda self: self._setting("description"))
    language = property(lambda self: self._setting("language"))
    author = property(lambda self: self._setting("author"))
    menu = property(lambda self: self._setting("menu"))
    params = property(lambda self: self._setting("params"))

    @property
    def data(self) -> Mapping[str, Any]:
        data = self.published.data
        return data if self.recorder.keys is None else RecordedMapping(data, self.recorder, deps.data)

    @property
    def feeds(self) -> list[Any]:
        self.recorder.note(deps.setting("feeds"))
        return self.published.feeds

    @property
    def collections(self) -> dict[str, Collection]:
        return self._collections

    @property
    def taxonomies(self) -> dict[str, Taxonomy]:
        return self._taxonomies

    def url(self, route: str) -> str:
        """Site route (``/blog/x/``) to a link that honours the base path."""
        return self.published.url(route)

    def absolute(self, route: str) -> str:
        return self.published.absolute(route)

    def get(self, collection: str, slug: str) -> Doc | None:
        self.recorder.note(deps.collection(collection))
        return self._docs.get(f"{collection}/{slug}")

    def docs(self) -> Iterable[Doc]:
        for collection in self._collections.values():
            yield from collection.docs
