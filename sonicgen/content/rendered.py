"""What rendering one Markdown body yields, apart from the renderer itself (which needs
markdown-it-py and Pygments: a build with nothing to render never imports them)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field

_TAG = re.compile(r"<[^>]+>")

Highlight = Callable[[str, str], str]

code_blocks: ContextVar[Callable[[str, str, Highlight], str] | None] = ContextVar("code_blocks", default=None)
"""What highlights the fenced code of the body being rendered, given the code, its language and
Pygments (:func:`~sonicgen.content.markup.highlight_code`): the build sets its cache of highlighted
blocks here while it renders a body, so an edited body highlights only the blocks it did not have."""


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
