"""What a build produces: templated pages and generated files, each at one URL."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sonicgen.content.urls import output_path


@dataclass(frozen=True, slots=True)
class Page:
    """An HTML page rendered from the first template of ``templates`` that exists.

    ``key`` stands for the ``description`` function when there is one: what it makes the
    description of besides what it reads through the site graph (see :class:`File`).
    """

    route: str
    templates: tuple[str, ...]
    context: Mapping[str, Any]
    kind: str
    title: str
    source: str
    description: str | Callable[[], str] = ""  # a function: read when the page renders, recorded like the page's other reads
    sitemap: bool = True
    lastmod: datetime | None = None
    key: Any = None

    @property
    def path(self) -> str:
        return output_path(self.route)


@dataclass(frozen=True, slots=True)
class File:
    """A generated file (feed, JSON, sitemap); ``data`` may be a function called at write time.

    A build re-makes a function's file only when what it read through the site graph changed, or
    its *definition* did: its route and ``key``, the value that says what the function makes the
    file from besides those reads (the docs it was given, a page number...).  Without a ``key``, a
    ``functools.partial`` of a module's function or a method of a dataclass is taken for one (its
    arguments); any other function (a lambda, a closure) cannot be told apart from another, and
    its file is made on every build.
    """

    route: str
    data: bytes | str | Callable[[], bytes | str]
    source: str
    content_type: str | None = None
    sitemap: bool = False
    meta: Mapping[str, Any] = field(default_factory=dict)
    key: Any = None

    @property
    def path(self) -> str:
        return output_path(self.route)

    def bytes(self) -> bytes:
        data = self.data() if callable(self.data) else self.data
        return data.encode("utf-8") if isinstance(data, str) else data


Output = Page | File


@dataclass
class BuildSummary:
    """Counts shown at the end of a build and handed to ``build:done``."""

    pages: int = 0
    files: int = 0
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    warnings: int = 0
    seconds: float = 0.0
    output_dir: str = ""
    markdown_cached: int = 0  # bodies whose rendering came from the build state
    markdown_rendered: int = 0
    markdown_fetched: int = 0  # renderings and summaries read from the build state
    kept: int = 0  # outputs an incremental build did not need to render
    stale: dict[str, str] = field(default_factory=dict)  # outputs rendered -> why
    inputs_unchanged: bool = False  # no input, setting or scheduled time changed: nothing was even read
    plan: str = ""  # how the build planned: nothing changed, edited docs, compared, everything
    assembled: bool = False  # the site was read and assembled (not: nothing changed, or edits taken into a kept site)
