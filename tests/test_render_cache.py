"""The Markdown render cache in .sonicgen/state.db: reused when nothing it depends on changed, never stale."""

from __future__ import annotations

import re
import shutil
import sqlite3

from conftest import BASIC_CONFIG, age_sources, post, run, tree_digest

from sonicgen.content import markup


def counts(output: str) -> tuple[int, int]:
    match = re.search(r"Markdown: (\d+) rendered, (\d+) from the cache", output)
    assert match, output
    return int(match[1]), int(match[2])


def build(site, *options: str) -> tuple[int, int]:
    result = run(site, "build", "-v", *options)
    assert result.exit_code == 0, result.output
    return counts(result.output)


def site_with_posts(make_site):
    return make_site(
        {f"content/posts/p{n}.md": post(f"P{n}", body=f"Body {n} with `code`.\n\n```python\nx = {n}\n```\n") for n in range(4)}
    )


def test_second_build_renders_nothing_and_matches_a_build_without_cache(make_site, tmp_path):
    site = site_with_posts(make_site)
    assert build(site) == (4, 0)
    first = tree_digest(site / "dist")
    assert build(site) == (0, 0)  # incremental: no page is stale, so no body is even looked up
    assert build(site, "--clean") == (0, 4)
    assert tree_digest(site / "dist") == first
    shutil.rmtree(site / ".sonicgen")
    assert build(site) == (4, 0)
    assert tree_digest(site / "dist") == first


def test_an_edited_body_is_rendered_again_and_nothing_else(make_site):
    site = site_with_posts(make_site)
    build(site)
    (site / "content/posts/p2.md").write_text(post("P2", body="A **new** body.\n"))
    assert build(site) == (1, 3)
    assert "A <strong>new</strong> body." in (site / "dist/posts/2024/p2/index.html").read_text()


def test_renderer_settings_and_markdown_plugins_invalidate_the_cache(make_site):
    site = site_with_posts(make_site)
    build(site)
    (site / "site.yaml").write_text(BASIC_CONFIG + "markdown:\n  highlight_style: monokai\n")
    assert build(site) == (4, 0)
    plugin = (
        "from sonicgen import Plugin\n\n"
        "def setup(ctx):\n"
        "    ctx.hook('markdown:setup', lambda md: md.enable('replacements'))\n\n"
        "plugin = Plugin(name='typo', version='{v}', setup=setup)\n"
    )
    (site / "plugins").mkdir()
    (site / "plugins/typo.py").write_text(plugin.format(v="1.0.0"))
    assert build(site) == (4, 0)
    assert build(site, "--clean") == (0, 4)
    (site / "plugins/typo.py").write_text(plugin.format(v="1.1.0"))
    assert build(site) == (4, 0)


def test_renderings_no_full_build_uses_are_pruned(make_site):
    site = site_with_posts(make_site)
    build(site)
    (site / "content/posts/p3.md").unlink()
    build(site, "--clean")
    with sqlite3.connect(site / ".sonicgen/state.db") as conn:
        assert conn.execute("SELECT count(*) FROM render_cache").fetchone()[0] == 3


def highlighted_code(site) -> list[str]:
    """The code blocks whose highlighting the build state holds, as their HTML."""
    with sqlite3.connect(site / ".sonicgen/state.db") as conn:
        return sorted(html for (html,) in conn.execute("SELECT html FROM highlights"))


def number(n: int) -> str:
    return f'<span class="mi">{n}</span>'


def test_an_edited_body_highlights_only_the_code_blocks_it_did_not_have(make_site, monkeypatch):
    site = site_with_posts(make_site)
    build(site)
    assert [block for block in highlighted_code(site) if number(2) in block] != []
    pygments_calls: list[str] = []
    highlight = markup.pygments_highlight
    monkeypatch.setattr(markup, "pygments_highlight", lambda code, *rest: pygments_calls.append(code) or highlight(code, *rest))
    edited = "Edited prose.\n\n```python\nx = 2\n```\n\n```python\ny = 3\n```\n"
    (site / "content/posts/p2.md").write_text(post("P2", body=edited))
    assert build(site) == (1, 3)
    assert pygments_calls == ["y = 3\n"]
    page = (site / "dist/posts/2024/p2/index.html").read_text()
    assert number(2) in page and number(3) in page and "Edited prose." in page
    edited_build = tree_digest(site / "dist")
    shutil.rmtree(site / ".sonicgen")
    build(site)
    assert tree_digest(site / "dist") == edited_build


def test_a_changed_markdown_setting_renders_every_body_again_but_highlights_no_code(make_site, monkeypatch):
    site = site_with_posts(make_site)
    build(site)
    pygments_calls: list[str] = []
    monkeypatch.setattr(markup, "pygments_highlight", lambda code, *rest: pygments_calls.append(code) or "")
    (site / "site.yaml").write_text(BASIC_CONFIG + "markdown:\n  typographer: true\n")
    assert build(site) == (4, 0)
    assert pygments_calls == []
    assert number(3) in (site / "dist/posts/2024/p3/index.html").read_text()


def test_highlighted_code_no_rendering_holds_is_pruned(make_site):
    site = site_with_posts(make_site)
    build(site)
    assert len(highlighted_code(site)) == 4
    (site / "content/posts/p3.md").unlink()
    (site / "content/posts/p2.md").write_text(post("P2", body="```python\nx = 22\n```\n"))
    build(site)
    assert len(highlighted_code(site)) == 5  # an incremental build renders on demand: it cannot tell what is unused
    build(site, "--clean")
    blocks = highlighted_code(site)
    assert len(blocks) == 3 and any(number(22) in block for block in blocks), blocks
    assert not any(number(2) in block or number(3) in block for block in blocks), blocks


def test_a_build_state_from_before_highlighted_code_keeps_its_renderings(make_site):
    site = site_with_posts(make_site)
    build(site)
    with sqlite3.connect(site / ".sonicgen/state.db") as conn:  # the state as the release before left it
        conn.execute("DROP TABLE highlights")
        conn.execute("ALTER TABLE render_cache DROP COLUMN code")
        conn.execute("DELETE FROM _migrations WHERE id = '0006_highlights'")
    assert build(site, "--clean") == (0, 4)
    (site / "content/posts/p2.md").write_text(post("P2", body="Edited.\n\n```python\nx = 2\n```\n"))
    assert build(site) == (1, 3)
    assert len(highlighted_code(site)) == 1 and number(2) in highlighted_code(site)[0]


def test_a_damaged_state_database_only_costs_the_cache(make_site):
    site = site_with_posts(make_site)
    build(site)
    (site / ".sonicgen/state.db").write_bytes(b"not a database at all")
    for leftover in (site / ".sonicgen").glob("state.db-*"):
        leftover.unlink()
    result = run(site, "build", "-v")
    assert result.exit_code == 0, result.output
    assert ".sonicgen/state.db: warning: .sonicgen/state.db: not a SQLite database" in result.output
    assert counts(result.output) == (4, 0)  # every body rendered, none from a cache
    assert run(site, "build", "--strict").exit_code == 1  # a warning like any other


def test_damaged_pages_inside_the_state_database_only_cost_the_cache(make_site):
    site = site_with_posts(make_site)
    build(site)
    first = tree_digest(site / "dist")
    state = site / ".sonicgen/state.db"
    data = bytearray(state.read_bytes())
    page = 4096
    assert len(data) > 2 * page
    data[page:] = b"\xff" * (len(data) - page)  # every page but the header is garbage
    state.write_bytes(bytes(data))
    result = run(site, "build", "-v")
    assert result.exit_code == 0, result.output
    assert "building without the render cache" in result.output and "Traceback" not in result.output
    assert counts(result.output) == (4, 0)  # no cache, as when the file is not a database at all
    assert tree_digest(site / "dist") == first


def test_a_scheduled_time_that_is_not_a_time_makes_the_next_build_plan_again(make_site):
    """The build state is a cache: a value in it that makes no sense costs time, never the build."""
    site = site_with_posts(make_site)
    age_sources(site)
    build(site)
    state = site / ".sonicgen/state.db"
    with sqlite3.connect(state) as conn:
        conn.execute("UPDATE meta SET value = 'soon' WHERE name = 'next_change'")
    result = run(site, "build", "-v")  # nothing changed, but it cannot tell whether a post came due
    assert result.exit_code == 0 and "Nothing to do" not in result.output, result.output
    with sqlite3.connect(state) as conn:
        conn.execute("UPDATE meta SET value = 'soon' WHERE name = 'next_change'")
    page = site / "content/posts/p0.md"
    page.write_text(page.read_text("utf-8") + "\nMore.\n", "utf-8")
    age_sources(site)
    result = run(site, "build", "-v")  # a body edit: every definition is fingerprinted again
    assert result.exit_code == 0, result.output
    assert "More." in (site / "dist/posts/2024/p0/index.html").read_text("utf-8")


def test_listings_show_summaries_without_whole_renderings(make_site):
    site = site_with_posts(make_site)
    (site / "site.yaml").write_text(BASIC_CONFIG + "plugins:\n  feeds:\n    full_content: false\n")
    build(site)
    with sqlite3.connect(site / ".sonicgen/state.db") as conn:
        summaries = {summary for (summary,) in conn.execute("SELECT summary FROM render_cache")}
        conn.execute("DELETE FROM render_values")  # only the small summary rows are left
    assert summaries == {f"<p>Body {n} with <code>code</code>.</p>\n" for n in range(4)}
    (site / "content/posts/p1.md").write_text(post("P1 renamed", body="Body 1 with `code`.\n\n```python\nx = 1\n```\n"))
    # p1's page and its neighbours' (which show its title) need whole renderings; p3 is only
    # listed (lists, feeds, JSON listings), and its summary comes from the cache
    assert build(site) == (3, 1)
    listing = (site / "dist/posts/index.html").read_text()
    assert "P1 renamed" in listing and "Body 0 with <code>code</code>." in listing


def test_a_build_fetches_each_rendering_and_summary_once(make_site):
    """Pages, lists, tag pages, feeds and the JSON API share one fetch of each body and of each summary."""
    site = make_site({f"content/posts/p{n}.md": post(f"P{n}", tags=["a", "b"], body=f"Body {n}.\n\nMore {n}.\n") for n in range(6)})
    build(site)
    shutil.rmtree(site / "dist")  # every output renders again, every body comes from the state
    result = run(site, "build", "-v", "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert counts(result.output) == (0, 6)
    # Six renderings and six summaries, each read once: a post's page and its JSON document render side by
    # side, and listings keep the summaries they show.
    assert "(12 renderings and summaries read from the build state)" in result.output
