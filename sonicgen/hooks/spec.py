"""The hook catalogue: every hook's name, mode, arguments and contract.

Each hook is declared by a function whose signature is the arguments handlers may take
and whose docstring is the reference text for plugin authors (as MkDocs does for its
events).  A handler may accept any subset of those arguments, by name.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from sonicgen.config import Config
from sonicgen.content.graph import SiteGraph
from sonicgen.content.models import Entry
from sonicgen.content.outputs import BuildSummary, File, Page

if TYPE_CHECKING:
    from jinja2 import Environment
    from markdown_it import MarkdownIt

Mode = Literal["pipe", "collect", "first", "notify"]
Returns = type | tuple[type, ...] | str | None
"""What handlers may return besides None: types, or ``"module:Name"`` for a type of a library
imported only when a handler returns (a build with nothing to do never loads markdown-it)."""


@dataclass(frozen=True)
class HookSpec:
    """How a hook is called and what its handlers may return."""

    name: str
    mode: Mode
    params: tuple[str, ...]
    returns: Returns
    is_async: bool
    doc: str
    signature: str  # as declared, for the reference: "(html: str, page: Page) -> str | None"

    def expected(self) -> type | tuple[type, ...] | None:
        """The types ``returns`` names."""
        return _import_type(self.returns) if isinstance(self.returns, str) else self.returns

    @property
    def value_param(self) -> str | None:
        """The argument a ``pipe`` hook threads through its handlers."""
        return self.params[0] if self.mode == "pipe" else None


@cache
def _import_type(path: str) -> type:
    module, _, name = path.partition(":")
    found: type = getattr(importlib.import_module(module), name)
    return found


CATALOGUE: dict[str, HookSpec] = {}


def _declare(
    name: str, mode: Mode, returns: Returns = None, *, is_async: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(fn)
        params = tuple(signature.parameters)
        args = ", ".join(f"{p.name}: {p.annotation}" for p in signature.parameters.values())
        text = f"({args}) -> {signature.return_annotation}"
        CATALOGUE[name] = HookSpec(name, mode, params, returns, is_async, inspect.cleandoc(fn.__doc__ or ""), text)
        return fn

    return register


@_declare("config:loaded", "pipe", Config)
def config_loaded(config: Config) -> Config | None:
    """The site configuration has been validated. Return a replacement ``Config`` to change
    it (for example to fill settings from another system), or None to keep it."""


@_declare("build:start", "notify")
def build_start(config: Config, drafts: bool, future: bool) -> None:
    """A build is about to read content. ``drafts`` and ``future`` say what it includes."""


@_declare("content:loaded", "pipe", Entry)
def content_loaded(entry: Entry, config: Config) -> Entry | None:
    """One entry was read and validated. Return a replacement ``Entry``
    (``dataclasses.replace(entry, fields=...)``, which leaves a body that is still in its file there) to
    change its fields or body, or None. Make the result depend on the entry and the config
    alone: ``build --watch`` calls this again only for the files that changed."""


@_declare("markdown:setup", "pipe", "markdown_it:MarkdownIt")
def markdown_setup(md: MarkdownIt, config: Config) -> MarkdownIt | None:
    """The Markdown parser is configured. Add markdown-it-py plugins or rules to ``md``
    (or return a different parser). Called once per build, before content is read (a build that
    finds nothing changed reads and renders nothing and does not call it)."""


@_declare("markdown:highlight", "first", str)
def markdown_highlight(code: str, lang: str, attrs: str) -> str | None:
    """A fenced code block is being rendered. Return the complete HTML for it (for example
    a diagram for ``lang == "mermaid"``) or None to leave it to the next handler and, last,
    to Pygments. The first handler that returns HTML wins."""


@_declare("site:collected", "notify")
def site_collected(site: SiteGraph) -> None:
    """Every published entry has its URL, neighbours and taxonomy terms. While a plugin other than
    the built-in ones handles this hook, ``build --watch`` assembles the site again after every edit."""


@_declare("site:outputs", "collect", Iterable)
def site_outputs(site: SiteGraph) -> Iterable[Page | File] | None:
    """Return the pages and files this plugin adds to the site (lists, feeds, search
    indexes...). Two outputs at one URL fail the build naming both sources. Read bodies when
    the output is written (a ``File`` whose data is a function of the site), not here:
    ``build --watch`` calls this again after an edit to a body, and takes the edit in place
    only while the outputs come back as they were."""


@_declare("outputs:complete", "collect", Iterable)
def outputs_complete(site: SiteGraph, outputs: list[Page | File]) -> Iterable[Page | File] | None:
    """Every page and file from ``site:outputs`` is known. Return outputs that summarise
    them (sitemaps, search indexes, redirects); these are not passed to this hook again.
    While a plugin other than the built-in ones handles this hook, ``build --watch``
    assembles the site again after every edit."""


@_declare("render:env", "notify")
def render_env(env: Environment, config: Config) -> None:
    """The Jinja2 environment is ready; add filters, tests or globals to it."""


@_declare("render:context", "pipe", Mapping)
def render_context(context: Mapping[str, Any], page: Page) -> Mapping[str, Any] | None:
    """The variables a page's template will see. Return a new mapping to add or change them."""


@_declare("render:html", "pipe", str)
def render_html(html: str, page: Page) -> str | None:
    """A page's finished HTML. Return replacement HTML (minified, annotated...) or None."""


@_declare("build:done", "notify")
def build_done(summary: BuildSummary, config: Config) -> None:
    """The output directory is complete and consistent; ``summary`` has the counts."""


@_declare("content:save", "pipe", Entry, is_async=True)
def content_save(entry: Entry, config: Config, action: str) -> Entry | None:
    """An entry is about to be written (``action`` is ``"create"`` or ``"update"``), by
    ``sonicgen new`` or the write API. Return a replacement ``Entry`` to change what is
    saved, or raise ``sonicgen.Cancel("why")`` to refuse the write; the user sees the
    message. Handlers may be ``async``."""


@_declare("content:saved", "notify", is_async=True)
def content_saved(entry: Entry, config: Config, action: str, path: str) -> None:
    """An entry was written to ``path`` (relative to the site). Handlers may be ``async``."""
