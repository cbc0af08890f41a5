"""What a recorded input is worth now: the current *fact* behind each dependency key.

A fact is a short string that changes exactly when what its key (:mod:`sonicgen.content.deps`)
names changes, so an incremental build compares facts, never pages.  Facts are read from the
plain records of what is published (:mod:`sonicgen.content.published`); keys that the render
layer notes (templates, the Markdown filter, assets) are resolved there.  ``None`` means a fact
that cannot be known, which makes every output that read it stale on every build.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import types
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time
from pathlib import PurePath
from typing import Any

import msgspec

from sonicgen.content import deps
from sonicgen.content.deps import Kind
from sonicgen.content.graph import Collection, Doc, Paginator, SiteGraph, Taxonomy, Term
from sonicgen.content.models import Entry
from sonicgen.content.outputs import File, Page
from sonicgen.content.published import Published, PublishedDoc

GONE = "-"
"""The fact of something that does not exist (a removed doc, a missing field or template)."""

_SHORT = 64


def digest(text: str) -> str:
    """``text`` itself when short, else a 128-bit hash of it: facts stay small and comparable."""
    if len(text) <= _SHORT:
        return text
    return "#" + hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


Memo = dict[int, tuple[Any, str | None]]
"""Fingerprints by identity (with the objects, so that no id is reused), for one build's outputs."""


def _join(values: Iterable[Any], memo: Memo, open_: str = "[", close: str = "]") -> str | None:
    parts = []
    for value in values:
        leaf = _LEAVES.get(type(value))
        part = leaf(value) if leaf is not None else fingerprint(value, memo)
        if part is None:
            return None
        parts.append(part)
    return open_ + ",".join(parts) + close


def _callable(fn: Callable[..., Any], memo: Memo) -> str | None:
    """A function by what names it (its code is the plugin's, which the settings cover): a partial by its
    function and arguments, a method by its object and name, a module's function by its qualified name.
    None for any other (a lambda, a closure): what it captured cannot be known."""
    if isinstance(fn, functools.partial):
        return _join((fn.func, *fn.args, fn.keywords) if fn.keywords else (fn.func, *fn.args), memo, "partial(", ")")
    if isinstance(fn, types.MethodType):
        owner = fingerprint(fn.__self__, memo)
        return None if owner is None else f"{owner}.{fn.__name__}"
    if isinstance(fn, types.FunctionType) and fn.__closure__ is None and "<" not in fn.__qualname__:
        return f"{fn.__module__}.{fn.__qualname__}"
    return None


def _moment(value: datetime | date | time) -> str:
    return f"{type(value).__name__}({value.isoformat()})"


_LEAVES: dict[type, Callable[[Any], str]] = {
    **dict.fromkeys((str, int, bool, float, type(None)), repr),
    **dict.fromkeys((datetime, date, time), _moment),
    Doc: lambda doc: f"<doc {doc.id}>",
    Term: lambda term: f"<term {term.id}>",
    Collection: lambda collection: f"<collection {collection.name}>",
    Taxonomy: lambda taxonomy: f"<taxonomy {taxonomy.name}>",
    SiteGraph: lambda _: "<site>",
}
"""Values that stand for themselves, by exact type, checked before the memo (they are most of what is fingerprinted)."""


def _leaf(value: Any) -> str | None:
    leaf = _LEAVES.get(type(value))
    return None if leaf is None else leaf(value)


def fingerprint(value: Any, memo: Memo | None = None) -> str | None:
    """A canonical text for ``value``: equal texts mean equal values; None when it cannot be known.

    Graph objects stand for themselves by identity (their content is recorded when read);
    functions by what names them (:func:`_callable`), so ``partial(render, site, docs)`` is stable.
    ``memo`` remembers containers by identity: pass one only while they cannot change.
    """
    leaf = _leaf(value)
    if leaf is not None:
        return leaf
    if memo is None:
        memo = {}
    found = memo.get(id(value))
    if found is not None:
        return found[1]
    # Digested, so that containers of containers (every page of a list shares its routes) stay small.
    text = _fingerprint(value, memo)
    result = None if text is None else digest(text)
    if _worth_remembering(value):
        memo[id(value)] = (value, result)  # kept with the value: an id is only unique while its object lives
    return result


_SMALL = 8


def _worth_remembering(value: Any) -> bool:
    """Shared values (a site's docs, a list's routes, an API object): not the small containers,
    partials and bound methods each output makes for itself, which would only fill the memo."""
    kind = type(value)
    if kind in (list, tuple, dict):
        return len(value) >= _SMALL
    return kind is not functools.partial and kind is not types.MethodType


def _mapping(value: Mapping[Any, Any], memo: Memo) -> str | None:
    # In order: templates may iterate it.
    return _join((item for pair in value.items() for item in pair), memo, "{", "}")


_BY_TYPE: dict[type, Callable[[Any, Memo], str | None]] = {
    list: _join,
    tuple: _join,
    dict: _mapping,
    functools.partial: _callable,
    types.MethodType: _callable,
    types.FunctionType: _callable,
}
"""The containers and callables every output is made of, by exact type: the same texts as
:func:`_fingerprint`'s checks give them, without walking those checks (a definition is made of a dozen)."""


def _fingerprint(value: Any, memo: Memo) -> str | None:
    exact = _BY_TYPE.get(type(value))
    if exact is not None:
        return exact(value, memo)
    if isinstance(value, (list, tuple)):
        return _join(value, memo)
    if isinstance(value, Paginator):
        return _join(("paginator", value.items, value.number, value.pages, value.total, value.routes), memo)
    if isinstance(value, Mapping):
        return _mapping(value, memo)
    if isinstance(value, bytes):
        return "b" + hashlib.blake2b(value, digest_size=16).hexdigest()
    if isinstance(value, (datetime, date, time, Doc, Term, Collection, Taxonomy, SiteGraph)):  # subclasses
        return _leaf(value) or f"{type(value).__qualname__}({value!r})"
    if isinstance(value, msgspec.Struct):
        return f"{type(value).__qualname__}{msgspec.json.encode(value).decode()}"
    if isinstance(value, PurePath):
        return None  # a file's name says nothing about what it holds now
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = _join((getattr(value, f.name) for f in dataclasses.fields(value)), memo)
        return None if fields is None else f"{type(value).__qualname__}{fields}"
    if callable(value):
        return _callable(value, memo)
    return None


def is_definable(output: Page | File) -> bool:
    """Whether an output has a definition: pages and generated files do, files copied as they are do not."""
    return isinstance(output, Page) or callable(output.data)


def definition(output: Page | File, memo: Memo) -> str | None:
    """What an output is before anything is read: its route, templates and context, or its generator;
    a function of it stands for itself by the output's ``key`` when it declares one.

    None: the output cannot be fingerprinted (a function that declares no key and is not simply named,
    see :func:`_callable`) and is rebuilt every time.
    """
    if isinstance(output, Page):
        fields = (output.route, output.templates, output.kind, output.title, output.source)
        text = _join((*fields, _declared(output.description, output.key), output.sitemap, output.lastmod, output.context), memo)
    else:
        text = _join((output.route, _declared(output.data, output.key), output.source, output.content_type, output.meta), memo)
    return None if text is None else digest(text)


def _declared(value: Any, key: Any) -> Any:
    """``value``, or what stands for it when it is a function and the output declared a key."""
    return ("key", key) if key is not None and callable(value) else value


def doc_facts(doc: PublishedDoc, body_key: Callable[[Entry], str]) -> dict[str, str]:
    """Every fact of one doc's own parts, from its entry alone (and the settings in its version)."""
    entry = doc.entry
    fields = {deps.field(doc.id, name): digest(fingerprint(value) or GONE) for name, value in entry.fields.items()}
    return {
        deps.doc(doc.id, "entry"): entry.content_hash,
        deps.doc(doc.id, "title"): digest(doc.title),
        deps.doc(doc.id, "date"): fingerprint(entry.date) or GONE,
        deps.doc(doc.id, "route"): digest(doc.route),
        deps.doc(doc.id, "body"): body_key(entry),
        deps.field(doc.id, deps.ALL): digest(fingerprint(dict(entry.fields)) or GONE),
        **fields,
    }


def _ids(items: list[PublishedDoc]) -> str:
    return digest("\n".join(doc.id for doc in items))


def _json(value: Any) -> str:
    return digest(msgspec.json.encode(value).decode())


DOCS_KEPT = 1024
"""How many docs' facts :class:`Facts` keeps: keys arrive grouped by doc (recording sorts them),
and keeping every doc's would hold about 2 KB per doc until the build ends."""


class Facts:
    """Current facts of what one build publishes, each computed on first use."""

    def __init__(self, site: Published, *, keep: int = DOCS_KEPT) -> None:
        self.site = site
        self.keep = keep
        self._docs: dict[str, dict[str, str]] = {}

    @property
    def kept(self) -> int:
        """How many docs' facts are held now (at most ``keep``)."""
        return len(self._docs)

    def doc(self, doc_id: str) -> dict[str, str] | None:
        """All facts of a doc's own parts, or None when it is not published."""
        found = self._docs.get(doc_id)
        if found is None:
            doc = self.site.by_id.get(doc_id)
            if doc is None:
                return None
            if len(self._docs) >= self.keep:
                del self._docs[next(iter(self._docs))]  # the longest kept
            found = self._docs[doc_id] = doc_facts(doc, self.site.bodies.key)
        return found

    def __call__(self, key: str) -> str | None:
        return self.of(deps.parse(key))

    def of(self, dep: deps.Dep) -> str | None:
        """The current fact of ``dep``."""
        kind, name = dep.kind, dep.subject
        site = self.site
        if kind is Kind.DOC:
            if dep.aspect == "summary":  # asked for alone: finding it may take rendering the body
                doc = site.by_id.get(name)
                return GONE if doc is None else digest(site.summary(doc, keep=False))  # recording asks for each once
            facts = self.doc(name)
            if facts is None:
                return GONE
            return facts.get(dep.key, GONE)
        if kind in (Kind.NEIGHBOURS, Kind.DOC_TERMS):  # computed each time: kept for every doc, they would hold much memory
            doc = site.by_id.get(name)
            if doc is None:
                return GONE
            if kind is Kind.NEIGHBOURS:
                return f"{doc.prev.id if doc.prev else ''}|{doc.next.id if doc.next else ''}"
            return digest(";".join(f"{tax}={','.join(t.slug for t in terms)}" for tax, terms in doc.terms.items()))
        if kind in (Kind.COLLECTION, Kind.COLLECTION_SETTINGS):
            collection = site.collections.get(name)
            if collection is None:
                return GONE
            return _ids(collection.docs) if kind is Kind.COLLECTION else _json(collection.config)
        if kind is Kind.TERM:
            tax, _, slug = name.partition("/")
            taxonomy = site.taxonomies.get(tax)
            term = taxonomy.terms.get(slug) if taxonomy is not None else None
            if term is None:
                return GONE
            return digest(term.name) if dep.aspect == "name" else _ids(term.docs)
        if kind in (Kind.TAXONOMY, Kind.TAXONOMY_SETTINGS):
            taxonomy = site.taxonomies.get(name)
            if taxonomy is None:
                return GONE
            if kind is Kind.TAXONOMY_SETTINGS:
                return _json(taxonomy.config)
            return digest("\n".join(f"{t.slug}={t.name}" for t in taxonomy.terms.values()))
        if kind is Kind.SETTING:
            value = site.feeds if name == "feeds" else getattr(site.config.site, name, GONE)
            text = fingerprint(value)
            return None if text is None else digest(text)
        if kind is Kind.DATA:
            value = dict(site.data) if name == deps.ALL else site.data.get(name, GONE)
            text = fingerprint(value)
            return None if text is None else digest(text)
        return None
