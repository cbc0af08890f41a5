"""The default theme and sonicgen's Markdown output are accessible.

Every page of the example site (the repository root) passes axe-core's WCAG 2.1 A and AA rules in
Chromium, in the light and the dark colour scheme, with no serious or critical violation; no page
scrolls sideways on a screen 320 CSS pixels wide (WCAG 1.4.10); the Markdown renderer names its
task-list checkboxes and footnote back-links and lets a keyboard scroll its code blocks; and the
default code colours have enough contrast for every kind of token, not only those the example
site happens to show.

axe-core comes from PyPI: axe-playwright-python ships ``axe.min.js`` (the ``test`` extra installs
it), which each page loads with ``add_script_tag``. As in test_search_plugin.py, the site is served
over HTTP on 127.0.0.1 and driven in Debian's Chromium through Playwright, and the tests fail, never
skip, when either is missing.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from conftest import REPO, run
from pygments.styles import get_style_by_name
from test_search_plugin import QuietHandler

from sonicgen.config.schema import MarkdownConfig
from sonicgen.content.markup import MarkdownRenderer, create_markdown, pygments_css

if TYPE_CHECKING:
    from playwright.sync_api import Page

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")
SEARCH = "/search/?q=sonicgen"  # the search page with results on it (they are made in the browser)

# What the pages must show between them, so that axe sees each part of the theme and of the Markdown output.
FEATURES = {
    "task-list checkbox": ".task-list-item-checkbox",
    "heading anchor": ".header-anchor",
    "table": ".prose table",
    "footnote back-link": ".footnote-backref",
    "highlighted code": "pre.highlight",
    "table of contents": "nav.toc",
    "pagination": "nav.pagination",
    "previous/next": "nav.pager",
    "search results": "#search-results li",
}
KINDS = {"home", "entry", "list", "taxonomy", "term", "search", "404"}

FEATURES_JS = """features => Object.fromEntries(Object.entries(features).map(([name, selector]) =>
    [name, document.querySelector(selector) !== null]))"""
AXE_JS = "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})"


def axe_script() -> Path:
    try:
        from axe_playwright_python.base import AXE_FILE_PATH
    except ImportError:
        pytest.fail("axe-playwright-python (which ships axe-core) is not installed: pip install -e '.[test]'", pytrace=False)
    return Path(AXE_FILE_PATH)


@pytest.fixture(scope="module")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example site's inputs copied and built afresh (the checkout's own build state may hold
    renderings from before a change to the renderer); returns its output folder."""
    site = tmp_path_factory.mktemp("example-site")
    shutil.copy2(REPO / "site.yaml", site / "site.yaml")
    for folder in ("content", "templates", "themes", "plugins", "static"):
        if (REPO / folder).is_dir():
            shutil.copytree(REPO / folder, site / folder)
    result = run(site, "build")
    assert result.exit_code == 0, result.output
    return site / "dist"


@pytest.fixture(scope="module")
def server(example_site: Path) -> Iterator[str]:
    """The built example site on 127.0.0.1 at a free port; yields its base URL."""
    handler = functools.partial(QuietHandler, directory=str(example_site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def site_pages(dist: Path) -> list[str]:
    """Every HTML page the build wrote, as URL paths, and the search page with results."""
    paths = sorted("/" + p.relative_to(dist).as_posix().removesuffix("index.html") for p in dist.rglob("*.html"))
    return [*paths, SEARCH]


def open_page(tab: Page, server: str, path: str) -> None:
    tab.goto(server + path)
    if path == SEARCH:
        tab.locator("#search-results li").first.wait_for()


def describe(path: str, violation: dict[str, Any]) -> str:
    targets = "; ".join(" ".join(node["target"]) for node in violation["nodes"])
    return f"{path}: {violation['id']} ({violation['impact']}): {violation['help']} — {targets}"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_passes_axe_wcag21_a_and_aa(browser, server, example_site, scheme):
    axe = axe_script()
    context = browser.new_context(color_scheme=scheme)
    try:
        tab = context.new_page()
        tab.set_default_timeout(10_000)
        kinds: set[str] = set()
        seen: set[str] = set()
        problems: list[str] = []
        for path in site_pages(example_site):
            open_page(tab, server, path)
            kinds.add(tab.evaluate("document.body.className").removeprefix("kind-"))
            seen |= {name for name, present in tab.evaluate(FEATURES_JS, FEATURES).items() if present}
            tab.add_script_tag(path=axe)
            results = tab.evaluate(AXE_JS, WCAG_TAGS)
            problems += [describe(path, v) for v in results["violations"] if v["impact"] in BLOCKING]
    finally:
        context.close()
    assert kinds >= KINDS, f"the example site no longer has every kind of page: {sorted(KINDS - kinds)} missing"
    assert seen == set(FEATURES), f"no page of the example site shows {sorted(set(FEATURES) - seen)}"
    assert problems == [], f"axe-core found {len(problems)} serious or critical violations ({scheme}):\n" + "\n".join(problems)


def test_no_page_scrolls_sideways_on_a_320_pixel_screen(browser, server, example_site):
    context = browser.new_context(viewport={"width": 320, "height": 640})
    try:
        tab = context.new_page()
        tab.set_default_timeout(10_000)
        too_wide = {}
        for path in site_pages(example_site):
            open_page(tab, server, path)
            width = tab.evaluate("document.documentElement.scrollWidth")
            if width > 320:
                too_wide[path] = width
    finally:
        context.close()
    assert too_wide == {}


# ---------- The Markdown output ----------

BODY = """\
- [ ] Write the *docs* for [hooks](/docs/)
- [x] Ship it

1. [ ] A loose item

   with a second paragraph

Said once[^a], said twice[^a], and another[^b].

```python
print("hi")
```

```nolanguage
plain
```

    indented

[^a]: A note.
[^b]: Another.
"""


def test_markdown_names_its_controls_and_lets_a_keyboard_scroll_code():
    config = MarkdownConfig()
    page = MarkdownRenderer(create_markdown(config), config).render(BODY).html
    # Each checkbox is labelled by its item's text.
    assert (
        '<li class="task-list-item"><label><input class="task-list-item-checkbox" disabled="disabled" type="checkbox">'
        ' Write the <em>docs</em> for <a href="/docs/">hooks</a></label></li>'
    ) in page
    assert '<label><input class="task-list-item-checkbox" checked="checked" disabled="disabled" type="checkbox"> Ship it</label>' in page
    assert '<p><label><input class="task-list-item-checkbox" disabled="disabled" type="checkbox"> A loose item</label></p>' in page
    # Each back-link says where it goes; the arrow stays for sighted readers.
    assert re.findall(r'<a href="([^"]+)" class="footnote-backref" aria-label="([^"]+)">↩\ufe0e</a>', page) == [
        ("#fnref1", "Back to reference 1"),
        ("#fnref1:1", "Back to reference 1:1"),
        ("#fnref2", "Back to reference 2"),
    ]
    # Every code block, highlighted or not, fenced or indented, can take the focus (and so be scrolled).
    assert re.findall(r"<pre[^>]*>", page) == ['<pre class="highlight" tabindex="0">', '<pre tabindex="0">', '<pre tabindex="0">']


def test_markdown_highlight_hook_output_is_left_as_the_plugin_wrote_it():
    config = MarkdownConfig()
    renderer = MarkdownRenderer(create_markdown(config), config, lambda code, lang, attrs: f'<pre class="mermaid">{code}</pre>')
    assert renderer.render("```mermaid\ngraph\n```\n").html == '<pre class="mermaid">graph\n</pre>\n'


# ---------- Code colours ----------


def luminance(colour: str) -> float:
    value = colour.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one: str, two: str) -> float:
    high, low = sorted((luminance(one), luminance(two)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def rules(css: str) -> dict[str, dict[str, str]]:
    """``selector → {property: value}`` of a Pygments stylesheet (one rule per line)."""
    found: dict[str, dict[str, str]] = {}
    for selector, body in re.findall(r"^(pre\.highlight[^{]*?)\s*\{([^}]*)\}", css, re.M):
        declarations = (part.split(":", 1) for part in body.split(";") if ":" in part)
        found.setdefault(selector, {}).update({name.strip(): value.strip() for name, value in declarations})
    return found


def test_default_code_colours_meet_aa_contrast_in_both_schemes():
    """Each token colour of the default styles against its background, at least 4.5:1, in the light
    scheme and in the dark one, where a light rule that the dark style does not override still applies."""
    defaults = MarkdownConfig()
    light_style, dark_style = defaults.highlight_style, defaults.highlight_style_dark
    light_css, dark_css = pygments_css(light_style, dark_style).split("@media (prefers-color-scheme: dark)")
    light, dark = rules(light_css), rules(dark_css)
    whitespace = {"pre.highlight .w"}  # no visible glyphs
    in_dark = {selector: {**light.get(selector, {}), **dark.get(selector, {})} for selector in light.keys() | dark.keys()}
    schemes = {
        "light": (light, get_style_by_name(light_style).background_color),
        "dark": (in_dark, dark["pre.highlight"]["background"]),
    }
    low = []
    for scheme, (styles, background) in schemes.items():
        for selector, props in sorted(styles.items()):
            if "color" in props and selector not in whitespace:
                ratio = contrast(props["color"], props.get("background-color", background))
                if ratio < 4.5:
                    low.append(f"{scheme}: {selector} {props['color']} on {props.get('background-color', background)}: {ratio:.2f}:1")
    assert len(schemes["dark"][0]) > 60  # every token kind was read
    assert low == []
