"""What one build publishes: entries in order, with URLs, taxonomies, neighbours and references.

These are plain records: reading them notes nothing.  The build reads them for facts, doc
versions and shapes; plugins and templates read them through the recording view
(:mod:`sonicgen.content.graph`), which notes every read.  A doc's body is rendered on first
use (through :class:`~sonicgen.content.rendered.Bodies`) and shared by every output that shows it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from sonicgen.config import Config
from sonicgen.config.schema import CollectionConfig, TaxonomyConfig
from sonicgen.content.models import Entry
from sonicgen.content.rendered import Bodies, Rendered
from sonicgen.content.urls import UrlError, base_path, expand_permalink, permalink_fields, slugify
from sonicgen.errors import Problems


def doc_id(collection: str, slug: str) -> str:
    """Who a doc is: ``collection/slug``, which never changes while it exists."""
    return f"{collection}/{slug}"


class PublishedDoc:
    """An entry as published: its URL and title, its neighbours and terms, its body once rendered."""

    __slots__ = ("entry", "id", "next", "prev", "rendered", "route", "summary", "terms", "title")

    def __init__(self, entry: Entry, route: str, title: str) -> None:
        self.entry = entry
        self.id = doc_id(entry.collection, entry.slug)
        self.route = route
        self.title = title
        self.rendered: Rendered | None = None  # held while outputs that show it render
        self.summary: str | None = None  # kept: listings show each summary many times
        self.prev: PublishedDoc | None = None
        self.next: PublishedDoc | None = None
        self.terms: dict[str, list[PublishedTerm]] = {}

    def __repr__(self) -> str:
        return f"<PublishedDoc {self.id}>"


class PublishedTerm:
    """One value of a taxonomy (a tag) and the docs carrying it, newest first."""

    __slots__ = ("docs", "id", "name", "route", "slug", "taxonomy")

    def __init__(self, taxonomy: str, name: str, slug: str, route: str) -> None:
        self.taxonomy = taxonomy
        self.name = name
        self.slug = slug
        self.id = f"{taxonomy}/{slug}"
        self.route = route
        self.docs: list[PublishedDoc] = []


class PublishedTaxonomy:
    __slots__ = ("config", "name", "route", "terms")

    def __init__(self, name: str, config: TaxonomyConfig, route: str, terms: dict[str, PublishedTerm]) -> None:
        self.name = name
        self.config = config
        self.route = route
        self.terms = terms


class PublishedCollection:
    __slots__ = ("config", "docs", "name")

    def __init__(self, name: str, config: CollectionConfig, docs: list[PublishedDoc]) -> None:
        self.name = name
        self.config = config
        self.docs = docs


class Published:
    """The published content of one build, plus URL helpers and its docs' bodies."""

    def __init__(self, config: Config, bodies: Bodies, data: Mapping[str, Any]) -> None:
        self.config = config
        self.bodies = bodies
        self.data = data
        self.collections: dict[str, PublishedCollection] = {}
        self.taxonomies: dict[str, PublishedTaxonomy] = {}
        self.by_id: dict[str, PublishedDoc] = {}
        self.feeds: list[Any] = []  # filled by plugins at ``site:collected`` (``site.feeds`` in templates)
        self._held: list[PublishedDoc] = []
        base = config.site.base_url
        self.base_url = base.rstrip("/")
        self.base_path = base_path(base)

    def docs(self) -> Iterator[PublishedDoc]:
        for collection in self.collections.values():
            yield from collection.docs

    def url(self, route: str) -> str:
        """Site route (``/blog/x/``) to a link that honours the base path."""
        if route.startswith(("http://", "https://", "//", "#", "mailto:")):
            return route
        return self.base_path + route.lstrip("/")

    def absolute(self, route: str) -> str:
        origin = self.base_url.split("://", 1)
        host = origin[1].split("/", 1)[0]
        return f"{origin[0]}://{host}{self.url(route)}"

    def rendered(self, doc: PublishedDoc) -> Rendered:
        """The doc's rendered body, held until :meth:`release_bodies`."""
        if doc.rendered is None:
            doc.rendered = self.bodies.rendered(doc.entry)
            self._held.append(doc)
        return doc.rendered

    def summary(self, doc: PublishedDoc, *, keep: bool = True) -> str:
        """The summary the body gives (up to ``<!--more-->``, else its first paragraph); kept for the
        outputs that show it again unless ``keep`` is false (a caller that will not ask again)."""
        summary = doc.summary
        if summary is None:
            summary = doc.rendered.summary if doc.rendered is not None else self.bodies.summary(doc.entry)
            if keep:
                doc.summary = summary
        return summary

    def release_bodies(self) -> None:
        """Let go of the rendered bodies held since the last call (after each output): they are fetched
        again when needed, so memory does not grow with the site.  Summaries stay: a few hundred bytes
        each, and list, tag and JSON pages show each one several times."""
        for doc in self._held:
            doc.rendered = None
        self._held.clear()

    def replace_entry(self, entry: Entry) -> PublishedDoc | None:
        """Put ``entry`` in place of the published entry with its collection and slug, which must differ
        from it in its body alone (everything the graph is assembled from stays as it was); None when
        no published doc has that id (a draft, say)."""
        doc = self.by_id.get(doc_id(entry.collection, entry.slug))
        if doc is not None:
            doc.entry = entry
            doc.title = title_of(entry, self.config.site.collections[entry.collection])
            doc.rendered = doc.summary = None
        return doc


def title_of(entry: Entry, collection: CollectionConfig) -> str:
    value = entry.fields.get(collection.title_field)
    return str(value) if value else entry.slug.replace("-", " ").capitalize()


def is_published(entry: Entry, *, now: datetime, drafts: bool, future: bool) -> bool:
    if entry.draft and not drafts:
        return False
    if entry.date is not None and entry.date > now and not future:
        return False
    return not (entry.expires is not None and entry.expires <= now)


def publish(
    config: Config,
    entries: list[Entry],
    *,
    bodies: Bodies,
    data: Mapping[str, Any],
    problems: Problems,
    now: datetime,
    drafts: bool = False,
    future: bool = False,
) -> Published:
    """Check slugs and references across all entries, then assemble what will be published."""
    site = Published(config, bodies, data)
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

    grouped: dict[str, list[PublishedDoc]] = {name: [] for name in config.site.collections}
    for entry in seen.values():
        if not is_published(entry, now=now, drafts=drafts, future=future):
            continue
        ccfg = config.site.collections[entry.collection]
        try:
            route = _route(entry, ccfg)
        except KeyError as exc:
            problems.error(entry.source.path, f"permalink {ccfg.permalink} needs {{{exc.args[0]}}}, which this entry has no value for")
            continue
        except UrlError as exc:
            problems.error(entry.source.path, f"cannot build its URL: {exc}")
            continue
        doc = PublishedDoc(entry, route, title_of(entry, ccfg))
        grouped[entry.collection].append(doc)
        site.by_id[doc.id] = doc

    for name, ccfg in config.site.collections.items():
        docs = sort_docs(grouped[name], ccfg)
        for before, after in itertools.pairwise(docs):
            before.next, after.prev = after, before
        site.collections[name] = PublishedCollection(name, ccfg, docs)

    for name, tcfg in config.site.taxonomies.items():
        site.taxonomies[name] = _taxonomy(name, tcfg, site, problems)
    return site


def _route(entry: Entry, collection: CollectionConfig) -> str:
    """The entry's URL from its collection's permalink pattern; KeyError names a value it lacks."""
    pattern = collection.permalink or "/"
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
    return expand_permalink(pattern, values)


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


def sort_docs(docs: list[PublishedDoc], collection: CollectionConfig) -> list[PublishedDoc]:
    """Stable multi-key sort by the collection's ``sort`` (``-date,title``); missing values sort last."""
    out = sorted(docs, key=lambda d: d.entry.slug)
    for key in reversed([k.strip() for k in (collection.sort or "title").split(",") if k.strip()]):
        reverse = key.startswith("-")
        name = key.lstrip("-")

        def value(doc: PublishedDoc, name: str = name) -> Any:
            entry = doc.entry
            if name == "slug":
                return entry.slug
            if name == "path":
                return entry.path + "/" + entry.slug
            if name == collection.date_field and entry.date is not None:
                return entry.date
            return entry.fields.get(name)

        values = [(doc, value(doc)) for doc in out]
        present = [(doc, v) for doc, v in values if v is not None]
        present.sort(key=lambda pair: _sort_key_value(pair[1]), reverse=reverse)
        out = [doc for doc, _ in present] + [doc for doc, v in values if v is None]
    return out


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


def _taxonomy(name: str, tcfg: TaxonomyConfig, site: Published, problems: Problems) -> PublishedTaxonomy:
    pattern = tcfg.permalink or f"/{name}/{{term}}/"
    index_route = pattern.split("{term}", 1)[0] or "/"
    terms: dict[str, PublishedTerm] = {}
    slugs: dict[str, str] = {}  # each distinct text is slugified once
    field = tcfg.field or name
    for cname in tcfg.collections or []:
        for doc in site.collections[cname].docs:
            raw = doc.entry.fields.get(field)
            values = raw if isinstance(raw, list) else [raw] if raw else []
            mine: list[PublishedTerm] = []
            for value in values:
                text = str(value).strip()
                slug = slugs.get(text)
                if slug is None:
                    slug = slugs[text] = slugify(text)
                if not slug:
                    problems.warn(
                        doc.entry.source.path,
                        f"term {text!r} has no URL-safe letters; ignored",
                        line=doc.entry.source.line_of(field),
                        field=tcfg.field,
                    )
                    continue
                term = terms.get(slug)
                if term is None:
                    term = terms[slug] = PublishedTerm(name, text, slug, expand_permalink(pattern, {"term": slug}))
                if term not in mine:  # "Python" and "python" are one term
                    term.docs.append(doc)
                    mine.append(term)
            doc.terms[name] = mine
    # Newest first, then by title: ranked once for the whole taxonomy, not once per term a doc carries.
    newest = sorted(
        (doc for cname in tcfg.collections or [] for doc in site.collections[cname].docs if doc.terms[name]),
        key=lambda d: (-(d.entry.date.timestamp() if d.entry.date else 0), d.title.casefold(), d.entry.collection, d.entry.slug),
    )
    rank = {doc: n for n, doc in enumerate(newest)}
    for term in terms.values():
        term.docs.sort(key=rank.__getitem__)
    return PublishedTaxonomy(name, tcfg, index_route, terms)
