"""The Entry: one piece of content as every source produces it and every store saves it."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, cast


class Pickled:
    """For frozen slots dataclasses sent back by worker processes: pickled as the call that makes them.

    dataclasses' own ``__setstate__`` looks the fields up again for every object it restores:
    over half the time of unpickling the 10,000 files a build had read in workers.
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
    ``body`` may be a :class:`DeferredBody` left where it was read from: it is then loaded
    on every use, so a large site never holds all of its bodies at once.
    """

    collection: str
    slug: str
    fields: Mapping[str, Any]
    body: str
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

    def body_digest(self) -> str:
        """A hash of the body, without loading a deferred one."""
        stored = _stored_body(self)
        return body_digest(stored) if isinstance(stored, str) else stored.digest

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        """A body left on disk stays there (``getattr`` would load it)."""
        return Entry, tuple(_stored_body(self) if name == "body" else getattr(self, name) for name in self.__match_args__)

    def replace(self, **changes: Any) -> Entry:
        """``dataclasses.replace`` that leaves a body on disk there unless ``body`` is among the changes
        (``dataclasses.replace`` reads it, and the copy then holds it in memory)."""
        changes.setdefault("body", _stored_body(self))
        return dataclasses.replace(self, **changes)


class DeferredBody(Protocol):
    """A body left where it came from; ``digest`` is its :func:`body_digest`."""

    @property
    def digest(self) -> str: ...

    def load(self) -> str:
        """The body, or a SonicgenError saying why it cannot be had as it was (e.g. its file changed since)."""
        ...


class _Body:
    """``Entry.body``: the text in the slot, or loaded each time from the DeferredBody there."""

    def __init__(self, slot: Any) -> None:
        self.slot = slot

    def __get__(self, entry: Entry | None, owner: type | None = None) -> Any:
        if entry is None:
            return self
        value = self.slot.__get__(entry, owner)
        return value if isinstance(value, str) else value.load()

    def __set__(self, entry: Entry, value: str | DeferredBody) -> None:
        self.slot.__set__(entry, value)


_body = _Body(vars(Entry)["body"])  # wraps the slot dataclass made for the field
setattr(Entry, "body", _body)  # noqa: B010 - the field's slot, replaced after the dataclass exists


def _stored_body(entry: Entry) -> str | DeferredBody:
    return cast("str | DeferredBody", _body.slot.__get__(entry, Entry))


def body_digest(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
