"""Dependency keys: the names of what an output read while it rendered.

While a page or generated file renders, every read of the site graph, a template, the Markdown
filter or the theme's assets is noted as a key; the build state keeps each output's keys, and
a later build re-renders the outputs whose keys' facts (:mod:`sonicgen.content.facts`) changed.

A key is a :class:`Dep` (kind, subject, aspect).  Rendering notes millions of them, so the
constructors below return the compact text form the build state stores (``d:posts/hello:title``)
and :func:`parse` turns it back into a :class:`Dep`.  This module is the only one that formats
or parses that text.

================  =================  ====================================================
kind              subject            aspect
================  =================  ====================================================
``d``             doc id             ``title``, ``date``, ``route``, ``body`` (rendered
                                     Markdown), ``summary`` (what listings show),
                                     ``entry`` (the raw entry), ``f:<field>`` (``f:*``: all)
``n``             doc id             its neighbours (prev/next)
``dt``            doc id             the terms it carries
``c`` / ``cc``    collection         its published docs in order / its settings
``t``             ``<tax>/<term>``   ``name`` or ``docs`` (in order)
``x`` / ``xc``    taxonomy           its terms / its settings
``s``             setting            a site setting (``title``, ``menu``…) or ``feeds``
``data``          data file name     one data file (``*``: all of them)
``tpl``           template name      which file a template name finds, and its text
``markdown``                         the Markdown renderer's settings (the ``markdown`` filter)
``assets``                           the theme's fingerprinted asset names
================  =================  ====================================================
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class Kind(StrEnum):
    DOC = "d"
    NEIGHBOURS = "n"
    DOC_TERMS = "dt"
    COLLECTION = "c"
    COLLECTION_SETTINGS = "cc"
    TERM = "t"
    TAXONOMY = "x"
    TAXONOMY_SETTINGS = "xc"
    SETTING = "s"
    DATA = "data"
    TEMPLATE = "tpl"
    MARKDOWN = "markdown"
    ASSETS = "assets"


ALL = "*"
"""The subject or field name that stands for all of them."""

_ASPECTS_OF = (Kind.DOC, Kind.TERM)  # kinds whose keys carry an aspect after the subject
_ORDER: tuple[Kind, ...] = (Kind.TEMPLATE, Kind.SETTING, Kind.DATA, Kind.COLLECTION_SETTINGS, Kind.COLLECTION, Kind.TAXONOMY_SETTINGS)
_ORDER += (Kind.TAXONOMY, Kind.TERM, Kind.DOC, Kind.NEIGHBOURS, Kind.DOC_TERMS, Kind.MARKDOWN, Kind.ASSETS)


class Dep(NamedTuple):
    """One dependency: what kind of thing was read, which one, and which part of it (a tuple:
    recording a large build parses a million of them)."""

    kind: Kind
    subject: str = ""
    aspect: str = ""

    @property
    def key(self) -> str:
        """The compact text the build state stores."""
        if self.kind in (Kind.MARKDOWN, Kind.ASSETS):
            return self.kind.value
        if self.kind in _ASPECTS_OF:
            return f"{self.kind.value}:{self.subject}:{self.aspect}"
        return f"{self.kind.value}:{self.subject}"

    @property
    def doc(self) -> str | None:
        """The doc this is a part of (its facts change only with that doc's version), else None."""
        return self.subject if self.kind is Kind.DOC else None

    @property
    def field(self) -> str | None:
        """For a doc's field, the field's name (``*`` for all of them)."""
        return self.aspect[2:] if self.kind is Kind.DOC and self.aspect.startswith("f:") else None

    def sort_key(self) -> tuple[int, str, str]:
        """Templates and settings first, then data, collections, taxonomies, terms and docs."""
        return (_ORDER.index(self.kind), self.subject, self.aspect)

    def describe(self) -> str:
        """In words, for ``build -v`` and ``sonicgen why``."""
        kind, subject, aspect = self.kind, self.subject, self.aspect
        if kind is Kind.DOC:
            field = self.field
            if field is not None:
                return f"all fields of {subject}" if field == ALL else f"field {field!r} of {subject}"
            named = {"body": "the body of", "route": "the URL of", "entry": "the source of"}
            return f"{named.get(aspect, f'the {aspect} of')} {subject}"
        if kind is Kind.TERM:
            return f"the {'name' if aspect == 'name' else 'docs'} of term {subject}"
        if kind is Kind.DATA:
            return "all data files" if subject == ALL else f"data file {subject!r}"
        return _DESCRIBED[kind].format(subject)


_DESCRIBED = {
    Kind.NEIGHBOURS: "the neighbours (prev/next) of {}",
    Kind.DOC_TERMS: "the terms of {}",
    Kind.COLLECTION: "the docs of collection {!r}",
    Kind.COLLECTION_SETTINGS: "the settings of collection {!r}",
    Kind.TAXONOMY: "the terms of taxonomy {!r}",
    Kind.TAXONOMY_SETTINGS: "the settings of taxonomy {!r}",
    Kind.SETTING: "site setting {!r}",
    Kind.TEMPLATE: "template {}",
    Kind.MARKDOWN: "the Markdown renderer settings",
    Kind.ASSETS: "the theme's assets",
}


class NotAKey(ValueError):
    """Text that is not a dependency key (a build state written by another version, or damaged)."""


_KINDS = {kind.value: kind for kind in Kind}


def parse(key: str) -> Dep:
    """The :class:`Dep` a key stands for; raises :class:`NotAKey` for text that is none."""
    head, sep, rest = key.partition(":")
    kind = _KINDS.get(head)
    if kind is None:
        raise NotAKey(f"not a dependency key: {key!r}")
    if kind in (Kind.MARKDOWN, Kind.ASSETS):
        if sep:
            raise NotAKey(f"not a dependency key: {key!r}")
        return Dep(kind)
    if not sep:
        raise NotAKey(f"not a dependency key: {key!r}")
    if kind is Kind.DOC:  # doc ids hold no ':' (slugs are URL-safe); aspects may (``f:name``)
        subject, _, aspect = rest.partition(":")
        return Dep(kind, subject, aspect)
    if kind is Kind.TERM:  # term ids hold no ':'; the aspect is last
        subject, _, aspect = rest.rpartition(":")
        return Dep(kind, subject, aspect)
    return Dep(kind, rest)  # template names may hold ':' (``theme:entry.html``)


def doc_of(key: str) -> str | None:
    """``parse(key).doc`` without making the :class:`Dep` (recording asks it of every new key)."""
    return key[2:].partition(":")[0] if key.startswith("d:") else None


# Constructors: the compact text of each key, made where it is read (rendering notes millions).


def doc(doc_id: str, aspect: str) -> str:
    """A part of a doc other than a field: ``title``, ``date``, ``route``, ``body``, ``summary``, ``entry``."""
    return f"d:{doc_id}:{aspect}"


def field(doc_id: str, name: str) -> str:
    """A field of a doc (``*``: all of its fields)."""
    return f"d:{doc_id}:f:{name}"


def neighbours(doc_id: str) -> str:
    return f"n:{doc_id}"


def doc_terms(doc_id: str) -> str:
    return f"dt:{doc_id}"


def collection(name: str) -> str:
    return f"c:{name}"


def collection_settings(name: str) -> str:
    return f"cc:{name}"


def term(term_id: str, aspect: str) -> str:
    """A term's ``name`` or ``docs``."""
    return f"t:{term_id}:{aspect}"


def taxonomy(name: str) -> str:
    return f"x:{name}"


def taxonomy_settings(name: str) -> str:
    return f"xc:{name}"


def setting(name: str) -> str:
    return f"s:{name}"


def data(name: str) -> str:
    """One data file (``*``: all of them)."""
    return f"data:{name}"


def template(name: str) -> str:
    return f"tpl:{name}"


MARKDOWN = Kind.MARKDOWN.value
ASSETS = Kind.ASSETS.value
