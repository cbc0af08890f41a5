"""Whole builds of small sites: what is published, where, and what a rebuild changes."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import jinja2
import msgspec
import pytest
from conftest import BASIC_CONFIG, post, run, tree_digest

from sonicgen import __version__
from sonicgen.content.graph import Recorder
from sonicgen.errors import BuildError
from sonicgen.output import writer as writer_module
from sonicgen.output.writer import MANIFEST, OutputWriter, Record, manifest_text
from sonicgen.render.templates import RecordingEnvironment


def build_ok(site: Path, *args: str) -> str:
    result = run(site, "build", *args)
    assert result.exit_code == 0, result.output
    return result.output


def test_pages_lists_and_pretty_urls(make_site):
    site = make_site(
        {
            "content/posts/first.md": post("First post", "2024-01-01T10:00:00Z", ["python", "Web Dev"]),
            "content/posts/second.md": post("Second post", "2024-02-01T10:00:00Z", ["python"]),
            "content/posts/third.md": post("Third post", "2025-03-01T10:00:00Z"),
        }
    )
    build_ok(site)
    dist = site / "dist"
    page = (dist / "posts/2024/first/index.html").read_text()
    assert "<h1>First post</h1>" in page or ">First post</h1>" in page
    assert "Body text." in page
    # newest first, two per page: third and second on page 1, first on page 2
    page1 = (dist / "posts/index.html").read_text()
    page2 = (dist / "posts/page/2/index.html").read_text()
    assert page1.index("Third post") < page1.index("Second post")
    assert "First post" not in page1 and "First post" in page2
    assert 'href="/posts/page/2/"' in page1
    # taxonomy pages, with a slugified term
    assert (dist / "tags/index.html").is_file()
    assert "Second post" in (dist / "tags/python/index.html").read_text()
    assert "First post" in (dist / "tags/web-dev/index.html").read_text()
    assert (dist / "404.html").is_file() and (dist / "robots.txt").is_file()


def test_a_permalink_may_name_a_field_and_an_entry_without_it_is_an_error(make_site):
    config = BASIC_CONFIG.replace("permalink: /posts/{year}/{slug}/", "permalink: /posts/{section}/{slug}/").replace(
        "      tags: {type: list}\n", "      tags: {type: list}\n      section: {type: string}\n"
    )
    site = make_site({"site.yaml": config, "content/posts/a.md": post("A", section="Getting Started")})
    build_ok(site)
    assert "<p>Body text.</p>" in (site / "dist/posts/getting-started/a/index.html").read_text()
    (site / "content/posts/b.md").write_text(post("B"))
    result = run(site, "build")
    assert result.exit_code == 1
    assert "content/posts/b.md: permalink /posts/{section}/{slug}/ needs {section}, which this entry has no value for" in result.output


def test_drafts_future_and_expired_entries(make_site):
    site = make_site(
        {
            "content/posts/live.md": post("Live"),
            "content/posts/draft.md": post("Drafty", draft="true"),
            "content/posts/future.md": post("Later", "2999-01-01T00:00:00Z"),
            "content/posts/expired.md": post("Gone", expires="2000-01-01"),
        }
    )
    build_ok(site)
    published = {p.parent.name for p in (site / "dist/posts").glob("[0-9][0-9][0-9][0-9]/*/index.html")}
    assert published == {"live"}
    build_ok(site, "--drafts", "--future")
    published = {p.parent.name for p in (site / "dist/posts").glob("[0-9][0-9][0-9][0-9]/*/index.html")}
    assert published == {"live", "draft", "future"}
    # the draft pages of the first build are pruned again by a normal build
    build_ok(site)
    assert not (site / "dist/posts/2999").exists()


def test_base_url_with_sub_path_prefixes_every_link(make_site):
    site = make_site({"content/posts/a.md": post("A", body="See [the other](/posts/2024/b/).\n"), "content/posts/b.md": post("B")})
    build_ok(site, "--base-url", "https://example.org/sub/")
    html = (site / "dist/posts/2024/a/index.html").read_text()
    assert 'href="/sub/posts/2024/b/"' in html  # Markdown link
    assert 'href="/sub/assets/css/site.' in html  # theme asset
    assert '<link rel="canonical" href="https://example.org/sub/posts/2024/a/"' in html
    feed = (site / "dist/posts/atom.xml").read_text()
    assert "https://example.org/sub/posts/2024/a/" in feed


def test_manifest_lists_every_output_with_hash_size_and_type(make_site):
    site = make_site({"content/posts/a.md": post("A")})
    build_ok(site)
    dist = site / "dist"
    manifest = json.loads((dist / MANIFEST).read_text())["files"]
    on_disk = set(tree_digest(dist)) - {MANIFEST}
    assert set(manifest) == on_disk
    digests = tree_digest(dist)
    for path, record in manifest.items():
        assert record["sha256"] == digests[path]
        assert record["size"] == (dist / path).stat().st_size
    assert manifest["index.html"]["type"] == "text/html; charset=utf-8"
    css = next(p for p in manifest if p.startswith("assets/css/site."))
    assert manifest[css]["cache"] == "immutable" and manifest["index.html"]["cache"] == "revalidate"


def test_a_pager_links_the_ends_and_the_pages_near_this_one(make_site):
    posts = {f"content/posts/p{n:02}.md": post(f"Post {n}", f"2024-01-{n:02}T10:00:00Z") for n in range(1, 25)}
    site = make_site(posts)  # two per page: 12 pages
    build_ok(site)
    page = (site / "dist/posts/page/6/index.html").read_text()
    pager = page[page.index('<nav class="pagination"') :]
    linked = [int(n) for n in re.findall(r'<span class="visually-hidden">Page </span>(\d+)</a>', pager)]
    assert linked == [1, 4, 5, 6, 7, 8, 12]
    assert pager.count("pagination__gap") == 2
    assert '<a href="/posts/page/6/" aria-current="page">' in pager
    first = (site / "dist/posts/index.html").read_text()
    assert re.findall(r'<span class="visually-hidden">Page </span>(\d+)</a>', first) == ["1", "2", "3", "12"]


def test_a_first_build_publishes_a_folder_anyone_may_read(make_site):
    site = make_site({"content/posts/a.md": post("A")})
    umask = os.umask(0o022)
    try:
        build_ok(site)
    finally:
        os.umask(umask)
    assert (site / "dist").stat().st_mode & 0o777 == 0o755  # the staging folder it was, made with the umask
    assert not list(site.glob(".sonicgen-staging-*"))


def test_rebuild_writes_only_changes_and_prunes_removed_pages(make_site):
    site = make_site({"content/posts/a.md": post("A"), "content/posts/b.md": post("B", "2024-05-01T00:00:00Z")})
    first = build_ok(site)
    assert "0 unchanged" in first
    second = build_ok(site)
    assert " 0 written" in second and "0 removed" in second
    (site / "content/posts/b.md").unlink()
    third = build_ok(site)
    assert not (site / "dist/posts/2024/b").exists()
    assert "removed" in third and " 0 removed" not in third
    # a file the user put into dist survives a normal build but not --clean
    (site / "dist/keep-me.txt").write_text("mine")
    build_ok(site)
    assert (site / "dist/keep-me.txt").exists()
    build_ok(site, "--clean")
    assert not (site / "dist/keep-me.txt").exists()


def test_clean_rewrites_only_files_whose_bytes_differ(make_site):
    site = make_site({"content/posts/a.md": post("A"), "content/posts/b.md": post("B")})
    build_ok(site)
    page_a, page_b = site / "dist/posts/2024/a/index.html", site / "dist/posts/2024/b/index.html"
    inode_a, good_b = page_a.stat().st_ino, page_b.read_bytes()
    page_b.write_bytes(good_b.replace(b"<h1", b"<h2"))  # same size, other bytes: the manifest cannot tell
    output = build_ok(site, "--clean")
    assert page_b.read_bytes() == good_b
    assert page_a.stat().st_ino == inode_a  # identical bytes are left where they are
    assert " 1 written" in output


def test_a_rebuild_stages_files_without_making_folders(make_site):
    site = make_site({"content/posts/a.md": post("A")})
    build_ok(site)
    writer = OutputWriter.open(site / "dist")
    writer.add("posts/2024/new/index.html", b"<p>new</p>")
    writer.add("index.html", b"<p>home</p>")
    assert [p.is_file() for p in writer.staging.iterdir()] == [True, True]
    writer.commit()
    assert (site / "dist/posts/2024/new/index.html").read_bytes() == b"<p>new</p>"
    assert (site / "dist/index.html").read_bytes() == b"<p>home</p>"
    assert not list(site.glob(".sonicgen-staging-*"))
    assert (writer.records, writer.previous) == ({}, {})  # the manifest has them; the build does not hold them while it records
    assert json.loads((site / "dist" / MANIFEST).read_text())["files"].keys() == {"index.html", "posts/2024/new/index.html"}


def test_failed_build_leaves_previous_output_untouched(make_site):
    site = make_site({"content/posts/a.md": post("A")})
    build_ok(site)
    before = tree_digest(site / "dist")
    (site / "content/posts/a.md").write_text(post("A", body="changed body"))
    (site / "content/posts/broken.md").write_text("---\ntitle: [unclosed\n---\n")
    result = run(site, "build")
    assert result.exit_code == 1
    assert tree_digest(site / "dist") == before
    assert not list(site.glob(".sonicgen-staging-*"))


def test_out_option_and_refusal_to_overwrite_the_site(make_site, tmp_path):
    site = make_site({"content/posts/a.md": post("A")})
    build_ok(site, "--out", str(tmp_path / "elsewhere"))
    assert (tmp_path / "elsewhere/posts/2024/a/index.html").is_file()
    result = run(site, "build", "--out", ".")
    assert result.exit_code == 1
    assert "would overwrite the site itself" in result.output
    # An output among the files a build reads would be read back by the next build, into itself.
    (site / "static").mkdir()
    inside = run(site, "build", "--out", "static/out")
    assert inside.exit_code == 1
    assert "output directory is inside static/, which the build reads; choose another --out" in inside.output
    assert not (site / "static/out").exists()


@pytest.mark.parametrize(
    ("out", "why"),
    [
        (".sonicgen", "is .sonicgen/, where sonicgen keeps its build state (--clean would delete it)"),
        (".sonicgen/pages", "is inside .sonicgen/, where sonicgen keeps its build state"),
        ("content", "is content/, the site's content (--clean would delete it)"),
        ("content/_data", "is inside content/, the site's content"),
        ("templates", "is templates/, which the build reads (--clean would delete it)"),
        ("static", "is static/, which the build reads (--clean would delete it)"),
        ("themes", "is themes/, the site's themes (--clean would delete it)"),
        ("plugins", "is plugins/, which the build reads (--clean would delete it)"),
        (".", "would overwrite the site itself"),
    ],
)
def test_clean_into_the_build_state_the_site_or_a_source_folder_is_refused_before_anything_is_deleted(make_site, out: str, why: str):
    site = make_site(
        {
            "content/posts/a.md": post("A"),
            "content/_data/team.yaml": "lead: Ada\n",
            "templates/extra.html": "<p>mine</p>\n",
            "static/robots-extra.txt": "kept\n",
            "themes/mine/notes.txt": "kept\n",
            "plugins/README.md": "kept\n",
        }
    )
    build_ok(site)
    before = {rel: tree_digest(site / rel) for rel in (".sonicgen", "content", "templates", "static", "themes", "plugins", "dist")}
    result = run(site, "build", "--clean", "-o", out)
    assert result.exit_code == 1
    assert f"{(site / out).resolve()}: output directory {why}; choose another --out, such as --out dist" in result.output
    assert {rel: tree_digest(site / rel) for rel in before} == before  # nothing deleted, nothing written


def test_an_output_dir_setting_on_the_build_state_is_refused_and_names_the_setting(make_site):
    site = make_site({"content/posts/a.md": post("A")}, config=BASIC_CONFIG + "output_dir: .sonicgen\n")
    result = run(site, "build", "--clean")
    assert result.exit_code == 1
    expected = "output directory is .sonicgen/, where sonicgen keeps its build state (--clean would delete it); "
    assert expected + "set output_dir in site.yaml to another folder (dist)" in result.output


def test_strict_turns_warnings_into_failure(make_site):
    site = make_site({"content/posts/a.md": post("A", mood="happy")})
    result = run(site, "build")
    assert result.exit_code == 0
    assert "content/posts/a.md:4: warning: mood: not a field of this collection" in result.output
    strict = run(site, "build", "--strict")
    assert strict.exit_code == 1
    assert "--strict" in strict.output


def test_static_files_and_data_files(make_site):
    site = make_site(
        {
            "content/posts/a.md": post("A"),
            "static/images/logo.svg": "<svg/>",
            "content/_data/team.yaml": "lead: Ada\n",
            "templates/index.html": "{% extends 'theme:index.html' %}{% block content %}Lead: {{ site.data.team.lead }}{% endblock %}",
        }
    )
    build_ok(site)
    assert (site / "dist/images/logo.svg").read_text() == "<svg/>"
    assert "Lead: Ada" in (site / "dist/index.html").read_text()


def test_site_template_overrides_theme_template(make_site):
    site = make_site(
        {
            "content/posts/a.md": post("A"),
            "templates/entry.html": "<p>custom {{ entry.title }}</p>\n",
        }
    )
    build_ok(site)
    assert (site / "dist/posts/2024/a/index.html").read_text() == "<p>custom A</p>\n"


def test_front_matter_template_is_used_and_a_missing_one_is_an_error(make_site):
    site = make_site(
        {
            "content/posts/a.md": post("A", template="special.html"),
            "content/posts/b.md": post("B"),
            "templates/special.html": "<p>special {{ entry.title }}</p>\n",
        }
    )
    build_ok(site)
    assert (site / "dist/posts/2024/a/index.html").read_text() == "<p>special A</p>\n"
    assert "special" not in (site / "dist/posts/2024/b/index.html").read_text()

    (site / "templates/special.html").unlink()
    result = run(site, "build")
    assert result.exit_code == 1
    assert "content/posts/a.md:4: template: 'special.html' not found" in result.output


def test_toml_front_matter_and_leaf_bundles(make_site):
    site = make_site(
        {
            "content/posts/tomly.md": '+++\ntitle = "From TOML"\ndate = 2024-03-01T10:00:00Z\ntags = ["x"]\n+++\n\nTOML body.\n',
            "content/posts/bundle/index.md": post("Bundle"),
        }
    )
    build_ok(site)
    assert "TOML body." in (site / "dist/posts/2024/tomly/index.html").read_text()
    assert (site / "dist/posts/2024/bundle/index.html").is_file()


def test_environment_overrides_config(make_site):
    site = make_site({"content/posts/a.md": post("A", body="<b>bold</b>")})
    result = run(site, "build", env={"SONICGEN_MARKDOWN__UNSAFE_HTML": "true", "SONICGEN_TITLE": "From Env"})
    assert result.exit_code == 0, result.output
    html = (site / "dist/posts/2024/a/index.html").read_text()
    assert "<b>bold</b>" in html and "From Env" in html


def test_raw_html_escaped_by_default(make_site):
    site = make_site({"content/posts/a.md": post("A", body="<script>alert(1)</script>")})
    build_ok(site)
    html = (site / "dist/posts/2024/a/index.html").read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_json_api_shape(make_site):
    config = BASIC_CONFIG + "plugins:\n  json-api: {page_size: 2}\n"
    site = make_site(
        {
            f"content/posts/p{i}.md": post(f"Post {i}", f"2024-01-0{i}T00:00:00Z", ["news"], body=f"## Part {i}\n\nText {i}.")
            for i in range(1, 6)
        },
        config=config,
    )
    build_ok(site)
    api = site / "dist/api"
    index = json.loads((api / "index.json").read_text())
    assert index["data"] == [
        {
            "name": "posts",
            "title": "Posts",
            "description": "",
            "count": 5,
            "api_url": "https://test.example/api/collections/posts/index.json",
            "url": "https://test.example/posts/",
        }
    ]
    page1 = json.loads((api / "collections/posts/index.json").read_text())
    assert page1["meta"] == {"total": 5, "count": 2, "page": 1, "pages": 3, "page_size": 2}
    assert [d["slug"] for d in page1["data"]] == ["p5", "p4"]
    assert page1["links"]["next"] == "https://test.example/api/collections/posts/page/2.json"
    assert page1["links"]["prev"] is None
    last = json.loads((api / "collections/posts/page/3.json").read_text())
    assert [d["slug"] for d in last["data"]] == ["p1"] and last["links"]["next"] is None
    entry = json.loads((api / "collections/posts/p3.json").read_text())["data"]
    assert entry["fields"]["title"] == "Post 3"
    assert entry["fields"]["date"] == "2024-01-03T00:00:00Z"
    assert '<h2 id="part-3">' in entry["html"] and "<p>Text 3.</p>" in entry["html"]
    assert entry["toc"][0]["title"] == "Part 3"
    assert entry["terms"] == {"tags": ["news"]}
    term = json.loads((api / "taxonomies/tags/news.json").read_text())
    assert term["meta"]["total"] == 5 and len(term["data"]["entries"]) == 5


def test_disabling_a_builtin_plugin_removes_its_outputs(make_site):
    config = BASIC_CONFIG + "plugins:\n  json-api: false\n  feeds: false\n"
    site = make_site({"content/posts/a.md": post("A")}, config=config)
    build_ok(site)
    assert not (site / "dist/api").exists()
    assert not (site / "dist/posts/atom.xml").exists()
    assert (site / "dist/posts/2024/a/index.html").exists()


def test_markdown_features_render(make_site):
    body = """\
## Table

| a | b |
|---|---|
| 1 | 2 |

~~gone~~ and a note[^n].

- [x] done
- [ ] todo

```python
print("hi")
```

[^n]: The note.
"""
    site = make_site({"content/posts/a.md": post("A", body=body)})
    build_ok(site)
    html = (site / "dist/posts/2024/a/index.html").read_text()
    assert "<table>" in html and "<td>2</td>" in html
    assert "<s>gone</s>" in html
    assert 'class="footnote-ref"' in html and "The note." in html
    assert 'type="checkbox"' in html and "checked" in html
    assert '<pre class="highlight" tabindex="0"><code class="language-python"><span class="nb">print</span>' in html
    assert '<h2 id="table">' in html
    assert 'href="#table"' in html  # table of contents link


def test_bundle_files_are_published_beside_their_page(make_site):
    site = make_site(
        {
            "content/posts/trip/index.md": post("Trip", body="![map](map.svg)\n"),
            "content/posts/trip/map.svg": "<svg/>",
            "content/posts/trip/photos/day-1.txt": "sunny",
            "content/posts/plain.md": post("Plain"),
        }
    )
    build_ok(site)
    page_dir = site / "dist/posts/2024/trip"
    assert '<img src="map.svg" alt="map"' in (page_dir / "index.html").read_text()
    assert (page_dir / "map.svg").read_text() == "<svg/>"
    assert (page_dir / "photos/day-1.txt").read_text() == "sunny"


def test_the_manifest_written_in_pieces_is_one_indented_document(monkeypatch):
    monkeypatch.setattr(writer_module, "MANIFEST_PIECE", 2)
    records = {f"p/{n}.html": Record(cache="revalidate", sha256=f"{n}" * 64, size=n, type="text/html") for n in (3, 1, 2, 0, 4)}
    for some in (records, {"a.css": Record(cache="immutable", sha256="f" * 64, size=9, type="text/css")}, {}):
        whole = {"files": dict(sorted(some.items())), "generator": f"sonicgen {__version__}"}
        assert b"".join(manifest_text(some)) == msgspec.json.format(msgspec.json.encode(whole), indent=1) + b"\n"


def test_a_template_found_missing_is_looked_up_once_and_still_recorded_by_every_page(tmp_path: Path):
    """Each entry page asks for ``posts/entry.html`` first; the miss is remembered, and each page still
    records that it looked (creating that template must make those pages stale)."""
    (tmp_path / "entry.html").write_text("E")
    asked: list[str] = []

    class Counting(jinja2.FileSystemLoader):
        def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, object]:
            asked.append(template)
            return super().get_source(environment, template)

    recorder = Recorder()
    env = RecordingEnvironment(recorder, loader=Counting(str(tmp_path)))
    noted: list[set[str]] = []
    for _ in range(3):
        recorder.start()
        assert env.select_template(["posts/entry.html", "entry.html"]).render() == "E"
        noted.append(recorder.stop())
    assert asked == ["posts/entry.html", "entry.html"]
    assert noted == [{"tpl:posts/entry.html", "tpl:entry.html"}] * 3


GC_SPY = """
import gc
from pathlib import Path
from sonicgen import Plugin

def seen():
    with Path(__file__).with_suffix(".log").open("a") as log:
        log.write(repr(gc.get_threshold()) + "\\n")

def setup(ctx):
    ctx.hook("build:start", seen)

plugin = Plugin(name="gc-spy", version="1.0.0", setup=setup)
"""


def test_a_build_runs_the_cycle_collector_less_often_and_then_as_before(make_site):
    """The collector's thresholds are the process's: a build raises them while it runs, and gives them back even when it fails."""
    import gc

    from sonicgen.build import build
    from sonicgen.build.collector import YOUNG_OBJECTS

    site = make_site({"content/posts/a.md": post("A"), "plugins/gc_spy.py": GC_SPY})
    before = gc.get_threshold()
    assert build(site / "site.yaml").summary.pages > 0
    during = (site / "plugins/gc_spy.log").read_text().splitlines()
    assert during == [repr((YOUNG_OBJECTS, 20, 20))] and before[0] < YOUNG_OBJECTS
    assert gc.get_threshold() == before
    (site / "content/posts/b.md").write_text("---\ntitle: [broken\n---\n")
    with pytest.raises(BuildError):
        build(site / "site.yaml")
    assert gc.get_threshold() == before
