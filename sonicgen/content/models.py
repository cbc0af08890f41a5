"""The Entry: one piece of content as every source produces it and every store saves it."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from sonicgen.errors import Problem, SonicgenError


class Pickled:
    """For frozen slots dataclasses sent back by worker processes: pickled as the call that makes them.

    dataclasses' own ``__setstate__`` looks the fields up again for every object it restores:
    most of the time of unpickling the files a build read in workers.
    """

    __slots__ = ()
    __match_args__: tuple[str, ...]  # the fields ``__init__`` takes in order, which dataclasses sets

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        return type(self), tuple(getattr(self, name) for name in self.__match_args__)


@dataclass(frozen=True, slots=True)
class SourceRef(Pickled):
    """Where an entry came from: a file (with lines) or a table row."""

    path: str
    line: int = 1
    field_lines: Mapping[str, int] = field(default_factory=dict)

    def line_of(self, name: str) -> int:
        return self.field_lines.get(name, self.line)


@dataclass(frozen=True, slots=True)
class Entry(Pickled):
    """A validated entry of a collection.

    ``fields`` hold schema values (defaults applied); ``extra`` keeps front-matter keys the
    schema does not know, so saving an entry back never drops them.  ``bundle_files`` are
    the files beside a bundle's ``index.md`` (relative to its folder), published with it.
    ``body`` is the Markdown text, or where it was left (a :class:`StoredBody`: a build keeps no
    body in memory); :meth:`load_body` gives the text either way.
    """

    collection: str
    slug: str
    fields: Mapping[str, Any]
    body: str | StoredBody
    source: SourceRef
    content_hash: str
    path: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    date: datetime | None = None
    expires: datetime | None = None
    draft: bool = False
    template: str | None = None
    bundle_files: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.collection, self.slug)

    def load_body(self) -> str:
        """The body's text; raises :class:`BodyUnavailable` (naming the file) when a body left in its
        file can no longer be had as it was read (the file changed or went since)."""
        body = self.body
        return body if isinstance(body, str) else body.load()

    def body_digest(self) -> str:
        """A hash of the body, without loading one left where it was."""
        body = self.body
        return body_digest(body) if isinstance(body, str) else body.digest


@runtime_checkable
class StoredBody(Protocol):
    """A body left where it came from; ``digest`` is its :func:`body_digest`."""

    @property
    def digest(self) -> str: ...

    def load(self) -> str:
        """The body as it was when the entry was read, or :class:`BodyUnavailable`."""
        ...


class BodyUnavailable(SonicgenError):
    """An entry's body cannot be had as it was read: its file changed or went during the build."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def body_digest(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
