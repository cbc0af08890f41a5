"""Markdown to HTML with markdown-it-py: one parse per body gives the page HTML, the summary
and the table of contents together, so nothing renders the same Markdown twice.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from functools import lru_cache, partial
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.utils import OptionsDict
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.tasklists import tasklists_plugin
from pygments import highlight as pygments_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from sonicgen.config.schema import MarkdownConfig
from sonicgen.content.rendered import Rendered, TocItem
from sonicgen.content.urls import slugify

MORE_MARKER = "<!--more-->"
_TEXT_CHILDREN = ("text", "code_inline", "softbreak", "hardbreak")


_FORMATTER = HtmlFormatter(nowrap=True)  # building one computes a whole stylesheet: make it once


@lru_cache(maxsize=256)
def _lexer(lang: str) -> Lexer | None:
    """Pygments' lexer lookup scans its registry; lexers are stateless, so one per language serves."""
    try:
        return get_lexer_by_name(lang)
    except ClassNotFound:
        return None


def highlight_code(code: str, lang: str) -> str:
    """Highlighted ``<pre>`` for ``code`` in ``lang``; '' when Pygments has no such lexer.

    Not cached here: the build's render cache keeps every block by its content, across builds.
    """
    lexer = _lexer(lang)
    if lexer is None:
        return ""
    body = pygments_highlight(code, lexer, _FORMATTER)
    lang_class = html.escape(lang, quote=True)
    return f'<pre class="highlight" tabindex="0"><code class="language-{lang_class}">{body}</code></pre>\n'


def pygments_css(light: str, dark: str) -> str:
    """Stylesheet for highlighted code, switching with the reader's colour scheme."""
    scope = "pre.highlight"
    light_css = HtmlFormatter(style=light).get_style_defs(scope)
    dark_css = HtmlFormatter(style=dark).get_style_defs(scope)
    return f"{light_css}\n@media (prefers-color-scheme: dark) {{\n{dark_css}\n}}\n"


def _label_anchors(state: Any) -> None:
    """Give heading permalinks an accessible name instead of a bare symbol."""
    tokens: list[Token] = state.tokens
    for index, token in enumerate(tokens):
        if token.type != "inline" or index == 0 or tokens[index - 1].type != "heading_open":
            continue
        children = token.children or []
        title = "".join(c.content for c in children if c.type in ("text", "code_inline")).strip()
        for child in children:
            if child.type == "link_open" and child.attrGet("class") == "header-anchor":
                child.attrSet("aria-label", f"Permalink to {title}" if title else "Permalink")


def _keyboard_scrollable(default: Callable[..., str]) -> Callable[..., str]:
    """markdown-it's own ``<pre>`` for a code block, with ``tabindex="0"``: a block whose lines are
    longer than the page is wide scrolls sideways, and only a focusable one can be scrolled from the
    keyboard (WCAG 2.1.1). Highlighted blocks carry it from :func:`highlight_code`; a
    ``markdown:highlight`` plugin's own ``<pre ...>`` is left as the plugin wrote it."""

    def rule(self: Any, tokens: list[Token], idx: int, options: OptionsDict, env: Any) -> str:
        out = default(tokens, idx, options, env)
        return '<pre tabindex="0"><code' + out[len("<pre><code") :] if out.startswith("<pre><code") else out

    return rule


def _footnote_backref(self: Any, tokens: list[Token], idx: int, options: OptionsDict, env: Any) -> str:
    """A footnote's link back to where it is referenced, named for screen readers ("Back to reference 1")
    rather than by its arrow alone."""
    ident: str = self.rules["footnote_anchor_name"](tokens, idx, options, env)
    sub = tokens[idx].meta["subId"]
    if sub > 0:
        ident += f":{sub}"
    number = self.rules["footnote_caption"](tokens, idx, options, env).strip("[]")
    # U+FE0E keeps iOS from drawing the arrow as an emoji.
    return f' <a href="#fnref{ident}" class="footnote-backref" aria-label="Back to reference {number}">\u21a9\ufe0e</a>'


def _prefix_root_links(base_path: str) -> Callable[[Any], None]:
    """Root-relative links and images get the site's base path (for sites under a sub-path)."""
    prefix = base_path.rstrip("/")

    def rule(state: Any) -> None:
        for token in state.tokens:
            for child in token.children or []:
                attr = "href" if child.type == "link_open" else "src" if child.type == "image" else None
                if attr is None:
                    continue
                value = child.attrGet(attr)
                if isinstance(value, str) and value.startswith("/") and not value.startswith("//"):
                    child.attrSet(attr, prefix + value)

    return rule


Highlighter = Callable[[str, str, str], "str | None"]
"""A first say on each fenced block (the ``markdown:highlight`` hook): code, language, attributes → HTML or None."""

Highlight = Callable[[str, str], str]
"""Highlights a fenced block with Pygments: code, language → HTML ('' when Pygments has no such language)."""


def create_markdown(config: MarkdownConfig, base_path: str = "/") -> MarkdownIt:
    """The configured parser; plugins may extend it through the ``markdown:setup`` hook."""
    md = MarkdownIt("commonmark", {"html": config.unsafe_html, "typographer": config.typographer})
    md.enable(["table", "strikethrough"])
    if config.typographer:
        md.enable(["replacements", "smartquotes"])
    footnote_plugin(md)
    md.add_render_rule("footnote_anchor", _footnote_backref)
    tasklists_plugin(md, label=True)  # each checkbox inside a <label> with its item's text: a named control
    rules: dict[str, Callable[..., str]] = md.renderer.rules  # type: ignore[attr-defined]  # RendererHTML has them; its protocol does not say
    for name in ("fence", "code_block"):
        md.add_render_rule(name, _keyboard_scrollable(rules[name]))
    if config.heading_anchors:
        anchors_plugin(md, min_level=1, max_level=6, slug_func=lambda s: slugify(s) or "section", permalink=True, permalinkSymbol="#")
        md.core.ruler.push("sonicgen_anchor_labels", _label_anchors)
    if base_path != "/":
        md.core.ruler.push("sonicgen_base_path", _prefix_root_links(base_path))
    return md


class MarkdownRenderer:
    """Renders bodies with one parser and collects summary, TOC and plain text in the same pass.

    Fenced code goes to ``first_say`` (the ``markdown:highlight`` hook) first, then, when
    highlighting is on, to the ``highlight`` given to :meth:`render` (Pygments, or a cache of
    highlighted blocks in front of it); a ``markdown:setup`` plugin that sets the parser's own
    ``highlight`` option replaces both.
    """

    def __init__(self, md: MarkdownIt, config: MarkdownConfig, first_say: Highlighter | None = None) -> None:
        self.md = md
        self.config = config
        self.first_say = first_say

    def render(self, body: str, highlight: Highlight = highlight_code) -> Rendered:
        env: dict[str, Any] = {}
        options = self.md.options
        if options.get("highlight") is None:
            options = OptionsDict({**options, "highlight": partial(self._fence, highlight)})  # type: ignore[typeddict-item]
        tokens = self.md.parse(body, env)
        tokens, more = _cut_more(tokens)
        page_html = self.md.renderer.render(tokens, options, env)
        summary_tokens = tokens[:more] if more is not None else _first_paragraph(tokens)
        summary = self.md.renderer.render(summary_tokens, options, dict(env)) if summary_tokens else ""
        if "footnote-ref" in summary:
            summary = re.sub(r'<sup class="footnote-ref">.*?</sup>', "", summary)
        text = _plain_text(tokens)
        return Rendered(page_html, summary, _toc(tokens, *self.config.toc_levels), text, len(text.split()))

    def _fence(self, highlight: Highlight, code: str, lang: str, attrs: str) -> str:
        custom = self.first_say(code, lang, attrs) if self.first_say is not None else None
        if custom is not None:
            return custom
        if not (self.config.highlight and lang):
            return ""
        return highlight(code, lang.strip().lower())


def _cut_more(tokens: list[Token]) -> tuple[list[Token], int | None]:
    """Remove a ``<!--more-->`` line; return where the summary ends."""
    for index, token in enumerate(tokens):
        is_marker = (token.type == "html_block" and token.content.strip() == MORE_MARKER) or (
            token.type == "inline" and token.content.strip() == MORE_MARKER
        )
        if is_marker:
            if token.type == "inline":  # wrapped in a paragraph when raw HTML is off
                return tokens[: index - 1] + tokens[index + 2 :], index - 1
            return tokens[:index] + tokens[index + 1 :], index
    return tokens, None


def _first_paragraph(tokens: list[Token]) -> list[Token]:
    for index, token in enumerate(tokens):
        if token.type == "paragraph_open" and token.level == 0:
            for end in range(index + 1, len(tokens)):
                if tokens[end].type == "paragraph_close" and tokens[end].level == 0:
                    return tokens[index : end + 1]
    return []


def _inline_text(token: Token) -> str:
    # A line break inside a paragraph separates words; without the space "there\nis" reads "thereis".
    parts = [" " if c.type in ("softbreak", "hardbreak") else c.content for c in token.children or [] if c.type in _TEXT_CHILDREN]
    return "".join(parts).strip()


def _plain_text(tokens: list[Token]) -> str:
    parts = []
    for token in tokens:
        if token.type == "inline":
            parts.append(_inline_text(token))
        elif token.type in ("fence", "code_block"):
            parts.append(token.content)
    return " ".join(p for p in parts if p)


def _toc(tokens: list[Token], low: int, high: int) -> list[TocItem]:
    root: list[TocItem] = []
    stack: list[TocItem] = []
    for index, token in enumerate(tokens):
        if token.type != "heading_open":
            continue
        level = int(token.tag[1])
        ident = token.attrGet("id")
        if not (low <= level <= high) or not isinstance(ident, str):
            continue
        item = TocItem(level, ident, _inline_text(tokens[index + 1]))
        while stack and stack[-1].level >= level:
            stack.pop()
        (stack[-1].children if stack else root).append(item)
        stack.append(item)
    return root
