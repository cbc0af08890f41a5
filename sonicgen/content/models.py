"""The Entry: one piece of content as every source produces it and every store saves it."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where an entry came from: a file (with lines) or a table row."""

    path: str
    line: int = 1
    field_lines: Mapping[str, int] = field(default_factory=dict)

    def line_of(self, name: str) -> int:
        return self.field_lines.get(name, self.line)


@dataclass(frozen=True, slots=True)
class Entry:
    """A validated entry of a collection.

    ``fields`` hold schema values (defaults applied); ``extra`` keeps front-matter keys the
    schema does not know, so saving an entry back never drops them.  ``bundle_files`` are
    the files beside a bundle's ``index.md`` (relative to its folder), published with it.
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


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
