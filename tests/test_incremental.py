"""Incremental builds: only outputs whose recorded inputs changed are rendered, and why is visible.

The random-edit invariant (test_incremental_invariant.py) proves the results equal clean
builds; these tests pin down what is *not* rendered, the reports, and failure handling.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from conftest import REPO, post, run, tree_digest
from hypothesis import given, settings
from hypothesis import strategies as st

from sonicgen.build import BuildOptions, build
from sonicgen.build.state import BuildState, decode_deps, encode_deps
from sonicgen.config import load_config
from sonicgen.content.facts import Facts
from sonicgen.content.graph import Recorder, SiteGraph
from sonicgen.content.models import Entry
from sonicgen.content.published import Published, publish
from sonicgen.content.rendered import Rendered
from sonicgen.errors import Problems
from sonicgen.sources import read_entries

# Fact ids in each of msgpack's encodings (one byte, 0xcc, 0xcd, 0xce), and ones whose bytes
# hide inside others': 0xcc (204) is the marker of a one-byte id, 0xcd01 the start of 0xcd0100.
FACT_IDS = (1, 5, 127, 128, 204, 205, 255, 256, 52480, 52736, 65535, 65536, 13434880, 4294967295)

TITLES_ONLY_TERM = """\
{% extends "base.html" %}
{% block content %}<h1>{{ term.name }}</h1>
<ul>{% for entry in paginator.items %}<li><a href="{{ entry.url }}">{{ entry.title }}</a></li>{% endfor %}</ul>
{% endblock %}
"""


def three_posts(make_site) -> Path:
    return make_site(
        {
            "content/posts/a.md": post("Alpha", date="2024-01-01T10:00:00Z", tags=["x"], body="First body."),
            "content/posts/b.md": post("Bravo", date="2024-01-02T10:00:00Z", tags=["x"], body="Second body."),
            "content/posts/c.md": post("Charlie", date="2024-01-03T10:00:00Z", tags=["y"], body="Third body."),
            "templates/term.html": TITLES_ONLY_TERM,
        }
    )


def age(site: Path) -> None:
    """Date every source an hour back: a file changed within the last two seconds is never trusted by its stat."""
    past = datetime.now(UTC).timestamp() - 3600
    for path in site.rglob("*"):
        if path.is_file():
            os.utime(path, (past, past))


def rebuild(site: Path, **options: object) -> dict[str, str]:
    """Build in-process; the outputs rendered and why."""
    return build(site / "site.yaml", BuildOptions(**options)).summary.stale  # type: ignore[arg-type]


def test_a_body_edit_leaves_pages_that_show_only_the_title_alone(make_site):
    site = three_posts(make_site)
    rebuild(site)
    term_page = (site / "dist/tags/x/index.html").read_bytes()
    (site / "content/posts/b.md").write_text(post("Bravo", date="2024-01-02T10:00:00Z", tags=["x"], body="A *new* body."))
    stale = rebuild(site)
    assert stale["posts/2024/b/index.html"] == "the body of posts/b changed"
    assert "tags/x/index.html" not in stale  # shows titles only
    assert "posts/2024/a/index.html" not in stale and "posts/2024/c/index.html" not in stale  # neighbours show titles
    assert "<em>new</em>" in (site / "dist/posts/2024/b/index.html").read_text()
    assert (site / "dist/tags/x/index.html").read_bytes() == term_page


def test_a_body_edit_after_the_summary_leaves_the_listings_that_show_the_summary_alone(make_site):
    site = make_site(
        {
            "content/posts/a.md": post("Alpha", date="2024-01-01T10:00:00Z", body="First paragraph.\n\nSecond paragraph."),
            "content/posts/b.md": post("Bravo", date="2024-01-02T10:00:00Z", body="Another post."),
        }
    )
    rebuild(site)
    listing = site / "dist/posts/index.html"
    assert "First paragraph." in listing.read_text() and "Second paragraph." not in listing.read_text()
    (site / "content/posts/a.md").write_text(post("Alpha", date="2024-01-01T10:00:00Z", body="First paragraph.\n\nA new second one."))
    stale = rebuild(site)
    shows_the_body = ("posts/2024/a/index.html", "api/collections/posts/a.json", "posts/atom.xml", "posts/rss.xml")
    assert stale == dict.fromkeys(shows_the_body, "the body of posts/a changed")  # not the listings
    assert "A new second one." in (site / "dist/posts/2024/a/index.html").read_text()
    (site / "content/posts/a.md").write_text(post("Alpha", date="2024-01-01T10:00:00Z", body="A new first.\n\nA new second one."))
    stale = rebuild(site)
    assert stale["posts/index.html"] == "the summary of posts/a changed"
    assert "A new first." in listing.read_text()


def test_a_title_edit_rerenders_the_pages_that_show_it(make_site):
    site = three_posts(make_site)
    rebuild(site)
    (site / "content/posts/b.md").write_text(post("Bravissimo", date="2024-01-02T10:00:00Z", tags=["x"], body="Second body."))
    stale = rebuild(site)
    assert stale["tags/x/index.html"] == "the title of posts/b changed"
    assert "Bravissimo" in (site / "dist/tags/x/index.html").read_text()
    assert "tags/y/index.html" not in stale  # b is not tagged y
    assert "Bravissimo" in (site / "dist/posts/2024/a/index.html").read_text()  # its neighbour's pager


def test_build_v_says_how_many_outputs_were_rendered_and_why(make_site):
    site = three_posts(make_site)
    assert run(site, "build").exit_code == 0
    (site / "content/posts/b.md").write_text(post("Bravissimo", date="2024-01-02T10:00:00Z", tags=["x"], body="Second body."))
    result = run(site, "build", "-v")
    assert result.exit_code == 0, result.output
    assert "Re-rendered " in result.output and " were up to date" in result.output
    assert "× the title of posts/b changed (e.g. " in result.output
    age(site)
    assert "Re-rendered 0 of " in run(site, "build", "-v").output  # the files are recent: their stat is not trusted
    nothing = run(site, "build", "-v")
    assert "Nothing to do: no input file, setting or scheduled date changed since the last build" in nothing.output


def test_why_lists_the_recorded_inputs_of_one_page(make_site):
    site = three_posts(make_site)
    missing = run(site, "why", "/posts/2024/a/")
    assert missing.exit_code == 1 and "no build state yet; run `sonicgen build` first" in missing.output
    assert run(site, "build").exit_code == 0
    result = run(site, "why", "https://test.example/posts/2024/a/")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("posts/2024/a/index.html read ")
    assert "template entry.html  [tpl:entry.html]" in result.output
    assert "the body of posts/a  [d:posts/a:body]" in result.output
    assert "the title of posts/b  [d:posts/b:title]" in result.output  # its neighbour, in the pager
    unknown = run(site, "why", "/posts/2024/alpha/")
    assert unknown.exit_code == 1 and "did you mean posts/2024/a/index.html" in unknown.output


def test_why_takes_an_output_path_relative_to_the_output_folder_with_or_without_a_slash(make_site):
    site = three_posts(make_site)
    assert run(site, "build").exit_code == 0
    for asked in ("posts/index.html", "/posts/index.html", "posts/", "/posts/", "posts", "https://test.example/posts/"):
        result = run(site, "why", asked)
        assert result.exit_code == 0, (asked, result.output)
        assert result.output.startswith("posts/index.html read "), (asked, result.output)
        assert "template list.html  [tpl:list.html]" in result.output
    entry = run(site, "why", "posts/2024/a/index.html")
    assert entry.exit_code == 0 and entry.output.startswith("posts/2024/a/index.html read "), entry.output
    wrong = run(site, "why", "posts/2024/alpha/")
    assert wrong.exit_code == 1 and "no inputs for posts/2024/alpha/index.html" in wrong.output


def test_a_failed_incremental_build_keeps_the_last_good_output_and_state(make_site):
    site = three_posts(make_site)
    rebuild(site)
    before = tree_digest(site / "dist")
    state = site / ".sonicgen/state.db"
    with sqlite3.connect(state) as conn:
        recorded = conn.execute("SELECT path, definition FROM outputs ORDER BY path").fetchall()
    good = (site / "templates/term.html").read_text()
    (site / "templates/term.html").write_text(good.replace("{{ term.name }}", "{{ term.name }"))
    (site / "content/posts/a.md").write_text(post("Alpha", date="2024-01-01T10:00:00Z", tags=["x"], body="Edited while broken."))
    failed = run(site, "build")
    assert failed.exit_code == 1 and "templates/term.html:2: template syntax error" in failed.output
    assert tree_digest(site / "dist") == before
    with sqlite3.connect(state) as conn:
        assert conn.execute("SELECT path, definition FROM outputs ORDER BY path").fetchall() == recorded
    (site / "templates/term.html").write_text(good)
    stale = rebuild(site)
    assert stale and "tags/x/index.html" not in stale  # still incremental: only what the edit touched
    assert stale["posts/2024/a/index.html"] == "the body of posts/a changed"
    assert "Edited while broken." in (site / "dist/posts/2024/a/index.html").read_text()


def test_a_scheduled_post_appears_when_its_time_comes_without_any_edit(make_site):
    site = make_site(
        {
            "content/posts/now.md": post("Now", date="2024-01-01T10:00:00Z"),
            "content/posts/later.md": post("Later", date="2030-01-01T10:00:00Z"),
        }
    )
    age(site)
    before = datetime(2029, 6, 1, tzinfo=UTC)
    build(site / "site.yaml", BuildOptions(now=before))
    assert not (site / "dist/posts/2030/later/index.html").exists()
    assert build(site / "site.yaml", BuildOptions(now=before)).summary.inputs_unchanged
    after = build(site / "site.yaml", BuildOptions(now=datetime(2030, 6, 1, tzinfo=UTC))).summary
    assert not after.inputs_unchanged
    assert after.stale["posts/2030/later/index.html"] == "new"
    assert "Later" in (site / "dist/posts/index.html").read_text()


def test_warnings_are_shown_again_when_nothing_changed(make_site):
    site = make_site({"content/posts/a.md": post("A", tags=['"!!!"'])})
    age(site)
    first = run(site, "build")
    warning = "content/posts/a.md:4: warning: tags: term '!!!' has no URL-safe letters; ignored"
    assert first.exit_code == 0 and warning in first.output
    again = run(site, "build", "-v")
    assert again.exit_code == 0 and warning in again.output and "Nothing to do" in again.output
    assert run(site, "build", "--strict").exit_code == 1


def _python_on_a_built_site(make_site: Callable[..., Path], script: str) -> subprocess.CompletedProcess[str]:
    """``script`` in a fresh interpreter with this checkout importable and, as its argument, the config
    of a site built once with its files aged: the next build has nothing to do."""
    site = three_posts(make_site)
    age(site)
    rebuild(site)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", script, str(site / "site.yaml")], capture_output=True, text=True, env=env)


def test_a_build_with_nothing_to_do_loads_no_renderer(make_site):
    """The no-change path pays for Python's start and sonicgen's own imports, not Jinja's, markdown-it's or Pygments'."""
    script = (
        "import sys; from pathlib import Path; from sonicgen.build import BuildOptions, build; "
        "summary = build(Path(sys.argv[1]), BuildOptions()).summary; "
        "print(summary.inputs_unchanged, [m for m in ('jinja2', 'markdown_it', 'pygments') if m in sys.modules])"
    )
    done = _python_on_a_built_site(make_site, script)
    assert done.returncode == 0 and done.stdout.split() == ["True", "[]"], done.stdout + done.stderr


def test_the_command_with_nothing_to_do_prints_its_summary_without_loading_rich_or_asyncio(make_site):
    """Rich is for colour and progress bars and asyncio for content hooks: neither is worth its import here."""
    script = (
        "import atexit, runpy, sys; "
        "atexit.register(lambda: print([m for m in ('rich', 'asyncio', 'jinja2') if m in sys.modules], file=sys.stderr)); "
        "sys.argv = ['sonicgen', 'build', '--config', sys.argv[1]]; runpy.run_module('sonicgen', run_name='__main__')"
    )
    done = _python_on_a_built_site(make_site, script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Built 10 pages and 15 files in ") and ": 0 written, 25 unchanged" in done.stdout, done.stdout
    assert done.stderr.strip() == "[]", done.stderr


def test_a_file_whose_stat_did_not_change_is_not_read_again(make_site):
    """Stat first, like git and make: same size and modification time means the file is unchanged."""
    site = make_site({"content/posts/a.md": post("A", body="Version one.")})
    source = site / "content/posts/a.md"
    os.utime(source, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))  # well before the build
    rebuild(site)
    source.write_text(post("A", body="Version two."))  # same length
    os.utime(source, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    rebuild(site)
    assert "Version one." in (site / "dist/posts/2024/a/index.html").read_text()
    source.touch()  # a new time: read again
    assert rebuild(site)["posts/2024/a/index.html"] == "the body of posts/a changed"
    assert "Version two." in (site / "dist/posts/2024/a/index.html").read_text()


def test_facts_no_output_reads_any_more_are_forgotten(make_site):
    site = three_posts(make_site)
    rebuild(site)

    def facts() -> set[str]:
        with sqlite3.connect(site / ".sonicgen/state.db") as conn:
            return {key for (key,) in conn.execute("SELECT key FROM facts")}

    before = facts()
    assert "d:posts/c:body" in before and "t:tags/y:docs" in before
    (site / "content/posts/b.md").write_text(post("Bravo", date="2024-01-02T10:00:00Z", tags=["x"], body="Edited body."))
    rebuild(site)
    assert facts() == before  # the edited page reads what it read before: nothing to forget
    (site / "content/posts/c.md").unlink()
    rebuild(site)
    after = facts()
    assert not any(key.startswith("d:posts/c:") or key.startswith("t:tags/y:") for key in after), sorted(after)
    assert "d:posts/b:body" in after


def test_the_build_state_keeps_no_bodies(make_site):
    site = three_posts(make_site)
    rebuild(site)
    with sqlite3.connect(site / ".sonicgen/state.db") as conn:
        records = b"".join(record for (record,) in conn.execute("SELECT record FROM sources"))
    assert b"Bravo" in records and b"Second body." not in records  # front matter kept, bodies left in the files
    (site / "content/posts/b.md").write_text(post("Bravo", date="2024-01-02T10:00:00Z", tags=["x"], body="Changed body."))
    assert rebuild(site)["posts/2024/b/index.html"] == "the body of posts/b changed"
    assert "Changed body." in (site / "dist/posts/2024/b/index.html").read_text()


def test_fact_ids_follow_key_order_and_each_output_reads_its_own(make_site):
    site = three_posts(make_site)
    rebuild(site)
    with sqlite3.connect(site / ".sonicgen/state.db") as conn:
        keys = [key for (key,) in conn.execute("SELECT key FROM facts ORDER BY id")]
        (deps,) = conn.execute("SELECT deps FROM outputs WHERE path = 'posts/2024/b/index.html'").fetchone()
        ids = json.dumps(decode_deps(deps))
        read = {key for (key,) in conn.execute("SELECT key FROM facts WHERE id IN (SELECT value FROM json_each(?))", (ids,))}
    assert keys == sorted(keys) and len(keys) == len(set(keys))
    assert {"d:posts/b:title", "d:posts/b:body", "n:posts/b"} <= read
    assert not any(key.startswith(("d:posts/a:body", "d:posts/c:body")) for key in read)


class CountingBodies:
    """Bodies for a site graph that count how often each summary is made."""

    def __init__(self) -> None:
        self.summaries: list[str] = []

    def rendered(self, entry: Entry) -> Rendered:
        return Rendered(f"<p>{entry.slug}</p>", self.summary(entry), [], entry.slug, 1)

    def summary(self, entry: Entry) -> str:
        self.summaries.append(entry.slug)
        return f"<p>{entry.slug}</p>"

    def key(self, entry: Entry) -> str:
        return entry.body_digest()


def published_posts(make_site, count: int) -> tuple[Published, CountingBodies]:
    site = make_site({f"content/posts/p{n}.md": post(f"Post {n}", date=f"2024-01-0{n}T10:00:00Z", tags=["x"]) for n in range(1, count + 1)})
    config, _ = load_config(site / "site.yaml")
    problems = Problems()
    bodies = CountingBodies()
    entries = read_entries(config, problems)
    published = publish(config, entries, bodies=bodies, data={}, problems=problems, now=datetime.now(UTC))
    assert not problems.items
    return published, bodies


def test_facts_of_only_a_few_docs_are_kept_at_a_time(make_site):
    published, _ = published_posts(make_site, 6)
    facts = Facts(published, keep=2)
    first = {n: facts(f"d:posts/p{n}:title") for n in range(1, 7)}
    assert first == {n: f"Post {n}" for n in range(1, 7)} and facts.kept == 2
    assert facts("d:posts/p1:route") == "/posts/2024/p1/"  # computed again once let go, and the same
    assert facts("d:posts/nope:title") == "-"


def test_recording_a_build_keeps_none_of_the_facts_it_resolves(make_site):
    """Recording resolves each doc's summary once: kept on the docs, summaries held tens of MB at
    100,000 posts until the build ended.  A page that shows one keeps it (listings show it again)."""
    published, bodies = published_posts(make_site, 6)
    facts = Facts(published)
    assert [facts(f"d:posts/p{n}:summary") for n in (1, 1, 2)] == ["<p>p1</p>", "<p>p1</p>", "<p>p2</p>"]
    assert bodies.summaries == ["p1", "p1", "p2"]  # asked again, made again: nothing was kept
    assert facts("n:posts/p2") == "posts/p3|posts/p1"  # newest first
    doc = SiteGraph(published, Recorder()).get("posts", "p3")
    assert doc is not None and doc.summary == doc.summary and bodies.summaries[3:] == ["p3"]


@settings(max_examples=200, deadline=None)
@given(
    deps=st.lists(st.sets(st.sampled_from(FACT_IDS), max_size=12), min_size=1, max_size=20),
    changed=st.sets(st.sampled_from(FACT_IDS), min_size=1, max_size=5),
)
def test_the_readers_of_changed_facts_are_found_by_searching_the_deps_blobs(deps, changed):
    """The planner lets SQLite search each output's deps for a changed fact's encoded id; an id's
    bytes can also occur inside another's (or the array's header), so only decoding decides."""
    with tempfile.TemporaryDirectory() as root:
        state = BuildState.open(Path(root))
        with sqlite3.connect(state.path) as conn:  # facts at chosen ids, in the state's own tables
            conn.executemany("INSERT INTO facts (id, key, value) VALUES (?, ?, '')", [(fact, f"s:k{fact}") for fact in FACT_IDS])
            conn.executemany(
                "INSERT INTO outputs (path, definition, deps) VALUES (?, '', ?)", [(f"p{n}", encode_deps(d)) for n, d in enumerate(deps)]
            )
        found = state.readers([f"s:k{fact}" for fact in changed])
        state.close()
    assert state.damage is None
    assert {path: set(keys) for path, keys in found.items()} == {
        f"p{n}": {f"s:k{fact}" for fact in d & changed} for n, d in enumerate(deps) if d & changed
    }


def test_files_written_just_before_a_build_are_trusted_by_content_in_the_next(make_site):
    """Files saved within the last two seconds cannot be trusted by their stat: another save in the same
    timestamp tick would not show.  The build hashes them as it begins, and the next compares contents,
    so the build right after a first build of freshly written files has nothing to do..."""
    site = make_site({"content/posts/a.md": post("Alpha"), "templates/entry.html": '{% extends "theme:entry.html" %}'})
    assert run(site, "build").exit_code == 0
    result = run(site, "build", "-v")
    assert "Nothing to do: no input file, setting or scheduled date changed" in result.output, result.output
    # ...while a file changed again without its stat showing it (same size, same modification time) renders again.
    template = site / "templates/entry.html"
    stat = template.stat()
    template.write_text('{% extends "theme:entry.html"%} ')  # the same size, other bytes
    os.utime(template, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (template.stat().st_size, template.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    result = run(site, "build", "-v")
    assert "template entry.html changed" in result.output or "templates/entry.html" in result.output, result.output
    assert "Plan: compared" in result.output
