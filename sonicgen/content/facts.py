"""What a recorded input is worth now: the current *fact* behind each key a page can record.

While a page renders, the site graph notes a key for everything the page reads (see
:class:`~sonicgen.content.graph.SiteGraph`).  A fact is a short string that changes exactly
when what the key names changes, so an incremental build compares facts, never pages:

==================  ==========================================================
``d:<doc>:<what>``  one doc's ``title``, ``date``, ``route``, ``body`` (rendered
                    Markdown), ``summary`` (the part of it listings show), ``entry``
                    (the raw entry) or field ``f:<name>`` (``f:*``: all of its fields)
``n:<doc>``         its neighbours (``prev``/``next``)
``dt:<doc>``        the terms it carries
``c:<name>``        a collection's published docs, in order
``cc:<name>``       a collection's settings in site.yaml
``t:<tax>/<term>``  a term's ``:name`` or its ``:docs``, in order
``x:<tax>``         a taxonomy's terms; ``xc:<tax>`` its settings
``s:<setting>``     a site setting (``title``, ``menu``, ``params``…) or ``feeds``
``data:<name>``     one data file's content (``data:*``: all of them)
==================  ==========================================================

Keys the render layer adds (templates, filters) are resolved there.  ``None`` means a key
whose fact cannot be known, which makes every page that read it stale on every build.
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

from sonicgen.content.graph import Collection, Doc, Paginator, SiteGraph, Taxonomy, Term
from sonicgen.content.models import Entry
from sonicgen.content.outputs import File, Page

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
    if isinstance(fn, functools.partial):
        return _join((fn.func, *fn.args, fn.keywords) if fn.keywords else (fn.func, *fn.args), memo, "partial(", ")")
    bound = getattr(fn, "__self__", None)
    if bound is not None:  # a bound method: what it is bound to matters as much as the code
        owner = fingerprint(bound, memo)
        return None if owner is None else f"{owner}.{getattr(fn, '__name__', '?')}"
    code = getattr(fn, "__code__", None)
    if code is None:
        return None
    cells = [cell.cell_contents for cell in getattr(fn, "__closure__", None) or ()]
    captured = _join((*cells, *(getattr(fn, "__defaults__", None) or ())), memo)
    return None if captured is None else f"{fn.__module__}.{fn.__qualname__}:{code.co_firstlineno}{captured}"


def _moment(value: datetime | date | time) -> str:
    return f"{type(value).__name__}({value.isoformat()})"


_LEAVES: dict[type, Callable[[Any], str]] = {
    **dict.fromkeys((str, int, bool, float, type(None)), repr),
    **dict.fromkeys((datetime, date, time), _moment),
    Doc: lambda doc: f"<doc {doc._id}>",
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
    functions by their code and what they captured, so ``partial(render, site, docs)`` is stable.
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


def definition(output: Page | File, memo: Memo) -> str | None:
    """What an output is before anything is read: its route, templates and context, or its generator.

    None: the output cannot be fingerprinted (it closes over something unknowable) and is
    rebuilt every time.
    """
    if isinstance(output, Page):
        fields = (output.route, output.templates, output.kind, output.title, output.source)
        text = _join((*fields, output.description, output.sitemap, output.lastmod, output.context), memo)
    else:
        text = _join((output.route, output.data, output.source, output.content_type, output.meta), memo)
    return None if text is None else digest(text)


def doc_facts(doc: Doc, body_key: Callable[[Entry], str]) -> dict[str, str]:
    """Every ``d:`` fact of one doc, from its entry alone (and the settings in its version)."""
    entry = doc._entry
    prefix = f"d:{doc.id}:"
    fields = {f"{prefix}f:{name}": digest(fingerprint(value) or GONE) for name, value in entry.fields.items()}
    return {
        f"{prefix}entry": entry.content_hash,
        f"{prefix}title": digest(doc._title()),
        f"{prefix}date": fingerprint(entry.date) or GONE,
        f"{prefix}route": digest(doc._route),
        f"{prefix}body": body_key(entry),
        f"{prefix}f:*": digest(fingerprint(dict(entry.fields)) or GONE),
        **fields,
    }


def _ids(items: list[Doc]) -> str:
    return digest("\n".join(doc.id for doc in items))


def _json(value: Any) -> str:
    return digest(msgspec.json.encode(value).decode())


DOCS_KEPT = 1024
"""How many docs' facts :class:`Facts` keeps: keys arrive grouped by doc (recording sorts them),
and keeping every doc's would hold about 2 KB per doc until the build ends."""


class Facts:
    """Current facts of one site graph, each computed on first use."""

    def __init__(self, site: SiteGraph, body_key: Callable[[Entry], str]) -> None:
        self.site = site
        self.body_key = body_key
        self._docs: dict[str, dict[str, str]] = {}
        self._by_id = {doc.id: doc for collection in site._collections.values() for doc in collection._docs}

    def doc(self, doc_id: str) -> dict[str, str] | None:
        """All ``d:`` facts of a doc, or None when it is not published."""
        found = self._docs.get(doc_id)
        if found is None:
            doc = self._by_id.get(doc_id)
            if doc is None:
                return None
            if len(self._docs) >= DOCS_KEPT:
                del self._docs[next(iter(self._docs))]  # the longest kept
            found = self._docs[doc_id] = doc_facts(doc, self.body_key)
        return found

    def __call__(self, key: str) -> str | None:
        kind, _, name = key.partition(":")
        site = self.site
        if kind == "d":
            doc_id, _, aspect = name.partition(":")
            if aspect == "summary":  # asked for alone: finding it may take rendering the body
                doc = self._by_id.get(doc_id)
                return GONE if doc is None else digest(doc._body_summary(keep=False))  # recording asks for each once
            facts = self.doc(doc_id)
            if facts is None:
                return GONE
            return facts.get(key, GONE)
        if kind in ("n", "dt"):  # computed each time: kept for every doc, they held 3 MiB at 10,000 docs until the build ended
            doc = self._by_id.get(name)
            if doc is None:
                return GONE
            if kind == "n":
                return f"{doc._prev._id if doc._prev else ''}|{doc._next._id if doc._next else ''}"
            return digest(";".join(f"{tax}={','.join(t.slug for t in terms)}" for tax, terms in doc._terms.items()))
        if kind in ("c", "cc"):
            collection = site._collections.get(name)
            if collection is None:
                return GONE
            return _ids(collection._docs) if kind == "c" else _json(collection._config)
        if kind == "t":
            tax, _, rest = name.partition("/")
            slug, _, part = rest.rpartition(":")
            taxonomy = site._taxonomies.get(tax)
            term = taxonomy._terms.get(slug) if taxonomy is not None else None
            if term is None:
                return GONE
            return digest(term._name) if part == "name" else _ids(term._docs)
        if kind in ("x", "xc"):
            taxonomy = site._taxonomies.get(name)
            if taxonomy is None:
                return GONE
            if kind == "xc":
                return _json(taxonomy._config)
            return digest("\n".join(f"{t.slug}={t._name}" for t in taxonomy._terms.values()))
        if kind == "s":
            value = site._feeds if name == "feeds" else getattr(site.config.site, name, GONE)
            text = fingerprint(value)
            return None if text is None else digest(text)
        if kind == "data":
            value = dict(site._data) if name == "*" else site._data.get(name, GONE)
            text = fingerprint(value)
            return None if text is None else digest(text)
        return None
