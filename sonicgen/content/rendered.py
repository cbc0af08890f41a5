"""What rendering one Markdown body yields, apart from the renderer itself (which needs
markdown-it-py and Pygments: a build with nothing to render never imports them)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sonicgen.content.models import Entry

_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True, slots=True)
class TocItem:
    level: int
    id: str
    title: str
    children: list[TocItem] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Rendered:
    """Everything derived from one parse of a Markdown body."""

    html: str
    summary: str
    toc: list[TocItem]
    text: str
    words: int


def strip_tags(markup: str) -> str:
    """Plain text of a fragment we rendered ourselves (for descriptions and feeds)."""
    return html.unescape(_TAG.sub("", markup)).strip()


class Bodies(Protocol):
    """Where the site graph gets its docs' rendered bodies (the build's render cache)."""

    def rendered(self, entry: Entry) -> Rendered:
        """The entry's body, rendered."""
        ...

    def summary(self, entry: Entry) -> str:
        """Its summary alone (a listing shows no more), which may be had without the whole rendering."""
        ...

    def key(self, entry: Entry) -> str:
        """A text that changes exactly when the body's rendering would (its fact)."""
        ...
