"""The example site's search plugin: its index and page in a build, and its page in a real browser.

The browser tests serve a built site over HTTP on 127.0.0.1 and drive Debian's Chromium with
Playwright (``.ci/run`` installs Chromium; Playwright is in the ``test`` extra). They fail,
never skip, when either is missing.
"""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from conftest import BASIC_CONFIG, REPO, post, run, write_tree

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page

PLUGIN = (REPO / "plugins/search.py").read_bytes()
# An unlisted collection, so that the default choice of collections can be seen.
PAGES = """\
  pages:
    permalink: /{slug}/
    list_permalink: ""
    listed: false
    fields:
      title: {type: string, required: true}
taxonomies:"""
CONFIG = BASIC_CONFIG.replace("taxonomies:", PAGES)


def build_ok(site: Path, *args: str) -> None:
    result = run(site, "build", *args)
    assert result.exit_code == 0, result.output


def read_index(site: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((site / "dist/search-index.json").read_text("utf-8"))
    return data


# ---------- The build ----------


def test_index_lists_published_entries_with_their_fields(make_site):
    site = make_site(
        {
            "plugins/search.py": PLUGIN,
            "content/posts/older.md": post("Older", "2024-01-01T10:00:00Z", ["python"]),
            "content/posts/newer.md": post("Newer", "2024-03-01T10:00:00Z", ["python", "Web Dev"], body="Alpha beta gamma delta epsilon."),
            "content/posts/draft.md": post("Drafty", draft="true"),
            "content/posts/future.md": post("Later", "2999-01-01T00:00:00Z"),
            "content/pages/about.md": "---\ntitle: About\n---\n\nAbout us.\n",
        },
        config=CONFIG + "plugins:\n  search: {max_text: 28}\n",
    )
    build_ok(site, "--base-url", "https://test.example/sub/")
    index = read_index(site)
    assert index["collections"] == {"posts": "Posts"}  # pages is unlisted, so left out by default
    newer, older = index["entries"]  # the collection's order: newest first; no draft, nothing from the future
    assert newer == {
        "title": "Newer",
        "url": "/sub/posts/2024/newer/",
        "collection": "posts",
        "date": "2024-03-01T10:00:00+00:00",
        "tags": ["python", "Web Dev"],
        "summary": "Alpha beta gamma delta epsilon.",
        "text": "Alpha beta gamma delta",  # 28 characters end inside "epsilon": cut at the word before
    }
    assert older["title"] == "Older" and older["url"] == "/sub/posts/2024/older/" and older["text"] == "Body text."

    manifest = json.loads((site / "dist/.sonicgen-manifest.json").read_text())["files"]
    assert manifest["search-index.json"]["type"] == "application/json"
    page = (site / "dist/search/index.html").read_text("utf-8")
    assert 'data-search-index="/sub/search-index.json"' in page
    assert '<form class="search__form" role="search" action="/sub/search/" method="get">' in page
    assert '<script src="/sub/assets/js/search.' in page and "defer></script>" in page
    assert '<label class="search__label" for="search-input">' in page and 'aria-live="polite"' in page
    assert "/sub/search/" not in (site / "dist/sitemap.xml").read_text()  # no content of its own to index

    before = (site / "dist/search-index.json").read_bytes()
    build_ok(site, "--base-url", "https://test.example/sub/")
    assert (site / "dist/search-index.json").read_bytes() == before


def test_named_collections_are_indexed_in_the_given_order_even_unlisted(make_site):
    site = make_site(
        {
            "plugins/search.py": PLUGIN,
            "content/posts/a.md": post("A post"),
            "content/pages/about.md": "---\ntitle: About\n---\n\nAbout us.\n",
        },
        config=CONFIG + "plugins:\n  search:\n    collections: [pages, posts]\n",
    )
    build_ok(site)
    index = read_index(site)
    assert [(e["collection"], e["title"], e["date"]) for e in index["entries"]] == [
        ("pages", "About", None),
        ("posts", "A post", "2024-01-01T10:00:00+00:00"),
    ]


def test_unknown_collection_and_bad_settings_fail_the_build(make_site):
    site = make_site(
        {"plugins/search.py": PLUGIN, "content/posts/a.md": post("A")}, config=CONFIG + "plugins:\n  search: {collections: [nope]}\n"
    )
    result = run(site, "build")
    assert result.exit_code == 1
    assert "site.yaml:23: plugins.search.collections: no collection named 'nope'; the site has posts, pages" in result.output

    (site / "site.yaml").write_text(CONFIG + "plugins:\n  search: {max_text: -1}\n")
    result = run(site, "build")
    assert result.exit_code == 1
    assert "site.yaml:23: plugins.search.max_text: expected `int` >= 0" in result.output


# ---------- In a browser ----------

EVIL = "<img src=x onerror=window.__xss=1><script>window.__xss=2</script> Evil"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A small site built with the default theme and the plugin, served on 127.0.0.1; yields its base URL."""
    site = write_tree(
        tmp_path_factory.mktemp("search-site"),
        {
            "site.yaml": BASIC_CONFIG,
            "plugins/search.py": PLUGIN,
            "content/posts/hooks.md": post("Plugin hooks in practice", "2024-01-01T10:00:00Z", ["plugins"], body="Write a plugin."),
            "content/posts/release.md": post("Release notes", "2024-06-01T10:00:00Z", body="New plugin hooks and fixes."),
            "content/posts/cafe.md": post("Café culture", "2024-02-01T10:00:00Z", body="Notes from a long visit to Zürich."),
            "content/posts/evil.md": post(EVIL, "2024-03-01T10:00:00Z", body="Harmless body."),
            # Browsers ask for /favicon.ico by themselves; its 404 would be a console error unrelated to search.
            "static/favicon.ico": b"\x00\x00\x01\x00\x00\x00",
        },
    )
    build_ok(site)
    handler = functools.partial(QuietHandler, directory=str(site / "dist"))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Requests are not news in a test run."""


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page; any console error or uncaught exception fails the test that used it."""
    context = browser.new_context()
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"console: {message.text} at {message.location['url']}")

    tab.on("console", on_console)
    tab.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    try:
        yield tab
    finally:
        context.close()
    assert errors == []


def titles(page: Page) -> list[str]:
    return page.locator("#search-results .card__title").all_text_contents()


def test_typing_ranks_title_matches_first_and_marks_every_word(page, server):
    from playwright.sync_api import expect

    index_requests: list[str] = []
    page.on("request", lambda request: index_requests.append(request.url) if "search-index" in request.url else None)
    page.goto(f"{server}/search/")
    status = page.locator("#search-status")
    page.get_by_label("Search terms").fill("plugin hooks")
    expect(status).to_have_text("2 results for “plugin hooks”.")
    # The newer post has the words only in its body, so the post with them in its title comes first.
    assert titles(page) == ["Plugin hooks in practice", "Release notes"]
    links = page.locator("#search-results .card__title a")
    assert [links.nth(i).get_attribute("href") for i in range(2)] == [f"{server}/posts/2024/hooks/", f"{server}/posts/2024/release/"]
    assert page.locator("#search-results li").first.locator(".card__title mark").all_text_contents() == ["Plugin", "hooks"]
    assert page.locator("#search-results li").nth(1).locator(".card__summary mark").all_text_contents() == ["plugin", "hooks"]
    assert page.locator("#search-results li").first.locator(".card__meta").text_content() == "Posts · January 1, 2024"
    assert page.url == f"{server}/search/?q=plugin+hooks"

    page.get_by_label("Search terms").fill("plugin zurich")  # every word must match
    expect(status).to_have_text("No results for “plugin zurich”.")
    expect(page.locator("#search-results")).to_be_hidden()

    page.get_by_label("Search terms").fill("")
    expect(status).to_have_text("")
    assert page.url == f"{server}/search/"
    assert len(index_requests) == 1  # fetched once, searched many times


def test_query_in_the_address_is_searched_on_load_ignoring_case_and_accents(page, server):
    from playwright.sync_api import expect

    page.goto(f"{server}/search/?q=CAFE%20zurich")
    expect(page.locator("#search-status")).to_have_text("1 result for “CAFE zurich”.")
    expect(page.get_by_label("Search terms")).to_have_value("CAFE zurich")
    assert titles(page) == ["Café culture"]
    assert page.locator("#search-results mark").all_text_contents() == ["Café", "Zürich"]


def test_html_in_the_index_is_shown_as_text_and_never_runs(page, server):
    from playwright.sync_api import expect

    page.goto(f"{server}/search/?q=evil")
    expect(page.locator("#search-status")).to_have_text("1 result for “evil”.")
    assert titles(page) == [EVIL]
    assert page.locator("#search-results img, #search-results script").count() == 0
    assert page.evaluate("window.__xss") is None


def test_without_javascript_the_form_submits_the_query_and_says_why_nothing_shows(browser, server):
    context = browser.new_context(java_script_enabled=False)
    try:
        tab = context.new_page()
        tab.goto(f"{server}/search/")
        tab.get_by_label("Search terms").fill("plugin")
        with tab.expect_navigation():
            tab.get_by_role("button", name="Search").click()
        assert tab.url == f"{server}/search/?q=plugin"
        assert "needs JavaScript" in tab.locator("noscript").text_content()
    finally:
        context.close()
