"""Resident builds (``sonicgen build --watch``): body edits taken in place, everything else through the planner.

The random-edit invariant (test_incremental_invariant.py) runs resident builds among the others;
these tests pin down when the body-edit path is taken, that it renders only what read the edited
bodies, what makes it step aside, and ``build --watch`` as a user runs it.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import age_sources, post, run, tree_digest
from watchdog.observers.api import BaseObserver

from sonicgen.build import BuildOptions
from sonicgen.build.resident import ResidentBuild
from sonicgen.content.outputs import BuildSummary
from sonicgen.errors import BuildError


def bravo(title: str = "Bravo", tags: tuple[str, ...] = ("x",), body: str = "Second body.") -> str:
    return post(title, date="2024-01-02T10:00:00Z", tags=list(tags), body=body)


POSTS = {
    "content/posts/a.md": post("Alpha", date="2024-01-01T10:00:00Z", tags=["x"], body="First body."),
    "content/posts/b.md": bravo(body="Second body."),
    "content/posts/c.md": post("Charlie", date="2024-01-03T10:00:00Z", tags=["y"], body="Third body."),
}

LAZY_WORDS = """
from functools import partial
from sonicgen import Plugin
from sonicgen.content.outputs import File

def words(site):
    return " ".join(str(doc.words) for doc in site.collections["posts"].docs)

def setup(ctx):
    ctx.hook("site:outputs", lambda site: [File("/words.txt", partial(words, site), "words plugin")])

plugin = Plugin(name="words", version="1.0.0", setup=setup)
"""

EAGER_WORDS = """
from sonicgen import Plugin
from sonicgen.content.outputs import File

def setup(ctx):
    def outputs(site):
        words = " ".join(str(len(doc.entry.load_body().split())) for doc in site.collections["posts"].docs)
        return [File("/words.txt", words, "words plugin")]
    ctx.hook("site:outputs", outputs)

plugin = Plugin(name="words", version="1.0.0", setup=setup)
"""

COLLECTOR = """
from sonicgen import Plugin

def setup(ctx):
    ctx.hook("site:collected", lambda site: None)

plugin = Plugin(name="collector", version="1.0.0", setup=setup)
"""

STOP_FLAG = """
from pathlib import Path
from sonicgen import Plugin
from sonicgen.content.outputs import File
from sonicgen.errors import SonicgenError

def setup(ctx):
    stop = Path(__file__).parent.parent / "static" / "stop.txt"

    def flag():  # closes over a path: sonicgen cannot fingerprint it, so every build writes it
        if stop.exists():
            raise SonicgenError("static/stop.txt: present; delete it to build")
        return "ok"

    ctx.hook("site:outputs", lambda site: [File("/flag.txt", flag, "flag plugin")])

plugin = Plugin(name="flag", version="1.0.0", setup=setup)
"""

BOOM = """
from sonicgen import Plugin

def setup(ctx):
    def highlight(code, lang):
        if lang == "boom":
            raise ValueError("cannot highlight boom")
        return None
    ctx.hook("markdown:highlight", highlight)

plugin = Plugin(name="boom", version="1.0.0", setup=setup)
"""


def edit(site: Path, rel: str, text: str) -> None:
    (site / rel).parent.mkdir(parents=True, exist_ok=True)
    (site / rel).write_text(text, "utf-8")
    age_sources(site)


def clean_build(site: Path, tmp_path: Path) -> dict[str, str]:
    """The output of a clean build of the site's sources, in a copy."""
    copy = tmp_path / "clean"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(site, copy, ignore=shutil.ignore_patterns("dist", ".sonicgen"))
    result = run(copy, "build")
    assert result.exit_code == 0, result.output
    return tree_digest(copy / "dist")


@pytest.fixture
def resident(make_site: Callable[..., Path]) -> Callable[..., tuple[Path, ResidentBuild]]:
    """A site with three posts (plus ``files``), aged and built once by a resident build."""

    def make(files: dict[str, str] | None = None) -> tuple[Path, ResidentBuild]:
        site = make_site({**POSTS, **(files or {})})
        age_sources(site)
        builds = ResidentBuild(site / "site.yaml", BuildOptions(jobs=1))
        builds.build()
        return site, builds

    return make


def in_place(summary: BuildSummary) -> bool:
    """Whether a build took entries edited in their bodies into the site it kept, without reading
    and assembling the site again."""
    return summary.plan == "edited docs" and not summary.assembled


def edit_in_place(resident, body: str) -> tuple[Path, BuildSummary]:
    """Edit post b's body to ``body`` and build; the resident build must take the edit in place."""
    site, builds = resident()
    edit(site, "content/posts/b.md", bravo(body=body))
    summary = builds.build().summary
    assert in_place(summary), summary
    return site, summary


def test_a_body_edit_renders_what_read_the_body_without_loading_the_site(resident, tmp_path):
    site, summary = edit_in_place(resident, "Second body.\n\nA new paragraph.")
    # The summary (first paragraph) is unchanged: lists and tag pages stay; the feeds carry whole bodies.
    assert sorted(summary.stale) == ["api/collections/posts/b.json", "posts/2024/b/index.html", "posts/atom.xml", "posts/rss.xml"]
    assert set(summary.stale.values()) == {"the body of posts/b changed"}
    assert "A new paragraph." in (site / "dist/posts/2024/b/index.html").read_text("utf-8")
    assert tree_digest(site / "dist") == clean_build(site, tmp_path)


def test_a_summary_edit_also_renders_the_listings_that_show_it(resident, tmp_path):
    site, summary = edit_in_place(resident, "A new first paragraph.")
    assert {"index.html", "posts/index.html", "tags/x/index.html", "api/taxonomies/tags/x.json"} <= summary.stale.keys()
    assert "tags/y/index.html" not in summary.stale
    assert "A new first paragraph." in (site / "dist/tags/x/index.html").read_text("utf-8")
    assert tree_digest(site / "dist") == clean_build(site, tmp_path)


ENTRY_TEMPLATE = '{% extends "theme:entry.html" %}{% block content %}NEW{{ super() }}{% endblock %}'
BEYOND_A_BODY: dict[str, Callable[[Path], object]] = {
    "title": lambda site: edit(site, "content/posts/b.md", bravo(title="Renamed")),
    "tags": lambda site: edit(site, "content/posts/b.md", bravo(tags=("y",))),
    "new post": lambda site: edit(site, "content/posts/d.md", post("Delta", date="2024-01-04T10:00:00Z", body="Fourth.")),
    "deleted post": lambda site: ((site / "content/posts/a.md").unlink(), age_sources(site)),
    "template": lambda site: edit(site, "templates/entry.html", ENTRY_TEMPLATE),
    "site.yaml": lambda site: edit(site, "site.yaml", (site / "site.yaml").read_text("utf-8").replace("Test Site", "Other Site")),
    # The same instant at another offset: an equal datetime, shown differently (the sitemap kept the old one).
    "date offset": lambda site: edit(
        site, "content/posts/b.md", post("Bravo", date="2024-01-02T11:00:00+01:00", tags=["x"], body="Second body.")
    ),
}


@pytest.mark.parametrize("what", BEYOND_A_BODY)
def test_edits_beyond_a_body_go_through_the_planner(resident, tmp_path, what):
    site, builds = resident()
    BEYOND_A_BODY[what](site)
    summary = builds.build().summary
    assert not in_place(summary) and summary.assembled, what
    assert summary.stale, what
    assert tree_digest(site / "dist") == clean_build(site, tmp_path), what
    # ...and what the planner built is kept: the next body edit is taken in place.
    edit(site, "content/posts/c.md", post("Charlie", date="2024-01-03T10:00:00Z", tags=["y"], body="Third body, edited."))
    assert in_place(builds.build().summary), what
    assert tree_digest(site / "dist") == clean_build(site, tmp_path), what


def test_a_build_by_another_process_meanwhile_is_not_built_upon(resident, tmp_path):
    site, builds = resident({"content/posts/d.md": post("Draft", date="2024-01-04T10:00:00Z", draft="true")})
    assert run(site, "build", "--drafts").exit_code == 0  # records other settings, writes the draft's page
    assert (site / "dist/posts/2024/d/index.html").exists()
    edit(site, "content/posts/b.md", bravo(body="Second body.\n\nMore."))
    assert builds.build().summary.assembled
    assert not (site / "dist/posts/2024/d/index.html").exists()
    assert tree_digest(site / "dist") == clean_build(site, tmp_path)


def test_nothing_changed_gives_the_last_result_without_building(resident):
    site, builds = resident()
    before = tree_digest(site / "dist")
    summary = builds.build().summary
    assert summary.inputs_unchanged and not summary.assembled and summary.pages > 0 and summary.written == 0
    assert tree_digest(site / "dist") == before


def test_a_file_saved_unchanged_renders_nothing_and_is_recorded_for_the_next_build(resident):
    site, builds = resident()
    path = site / "content/posts/b.md"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    summary = builds.build().summary
    assert summary.stale == {} and summary.written == 0 and not summary.inputs_unchanged
    # The new stat is in the build state: a build in another process finds nothing to do.
    assert "Nothing to do: no input file" in run(site, "build", "-v").output


def test_a_plugin_whose_outputs_read_bodies_through_the_graph_keeps_body_edits_in_place(resident, tmp_path):
    site, builds = resident({"plugins/words.py": LAZY_WORDS})
    edit(site, "content/posts/b.md", bravo(body="Second body has five words."))
    summary = builds.build().summary
    assert in_place(summary)
    assert "words.txt" in summary.stale
    assert (site / "dist/words.txt").read_text("utf-8") == "2 5 2"  # newest first
    assert tree_digest(site / "dist") == clean_build(site, tmp_path)


def test_a_plugin_whose_outputs_hold_bodies_makes_body_edits_go_through_the_planner(resident, tmp_path):
    site, builds = resident({"plugins/words.py": EAGER_WORDS})
    assert (site / "dist/words.txt").read_text("utf-8") == "2 2 2"
    edit(site, "content/posts/b.md", bravo(body="Second body has five words."))
    assert builds.build().summary.assembled
    assert (site / "dist/words.txt").read_text("utf-8") == "2 5 2"
    assert tree_digest(site / "dist") == clean_build(site, tmp_path)


def test_a_plugin_handling_site_collected_makes_body_edits_go_through_the_planner(resident, tmp_path):
    site, builds = resident({"plugins/collector.py": COLLECTOR})
    edit(site, "content/posts/b.md", bravo(body="Second body, edited."))
    assert builds.build().summary.assembled
    assert tree_digest(site / "dist") == clean_build(site, tmp_path)


def test_a_failed_body_edit_leaves_the_output_and_the_next_build_recovers(resident, tmp_path):
    site, builds = resident({"plugins/boom.py": BOOM})
    before = tree_digest(site / "dist")
    edit(site, "content/posts/b.md", bravo(body="Code:\n\n```boom\nx\n```\n"))
    with pytest.raises(BuildError) as failure:
        builds.build()
    assert "boom" in str(failure.value.problems[0]) and "cannot highlight boom" in str(failure.value.problems[0])
    assert tree_digest(site / "dist") == before
    edit(site, "content/posts/b.md", bravo(body="Fixed."))
    builds.build()  # through the planner: a failed build keeps nothing in memory
    assert "Fixed." in (site / "dist/posts/2024/b/index.html").read_text("utf-8")
    assert tree_digest(site / "dist") == clean_build(site, tmp_path)
    edit(site, "content/posts/b.md", bravo(body="Fixed again."))
    assert in_place(builds.build().summary)
    assert tree_digest(site / "dist") == clean_build(site, tmp_path)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@contextmanager
def watching(site: Path, log: Path, stop: signal.Signals = signal.SIGINT) -> Iterator[subprocess.Popen[str]]:
    """``sonicgen build --watch`` on ``site`` writing to ``log``, stopped with ``stop`` (Ctrl+C's SIGINT) at the end."""
    with log.open("w") as out:
        watcher = subprocess.Popen(
            [sys.executable, "-m", "sonicgen", "build", "--watch"],
            cwd=site,
            env={**os.environ, "NO_COLOR": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as from a terminal, even if pytest runs in the background
        )
    try:
        yield watcher
    finally:
        watcher.send_signal(stop)
        watcher.wait(timeout=30)


def test_build_watch_builds_after_each_change_reports_failures_and_stops_on_ctrl_c(make_site, tmp_path):
    site = make_site(POSTS)
    log = tmp_path / "watch.log"
    with watching(site, log) as watcher:
        wait_for(lambda: "Watching for changes" in log.read_text(), "the first build")
        page = site / "dist/posts/2024/b/index.html"
        (site / "content/posts/b.md").write_text(bravo(body="Watched edit."), "utf-8")
        wait_for(lambda: "Watched edit." in page.read_text("utf-8"), "the edit to be built")

        template = site / "templates/entry.html"
        template.parent.mkdir()
        template.write_text('{% extends "theme:entry.html" %}{% block content %}{{ broken {% endblock %}', "utf-8")
        wait_for(lambda: "build failed" in log.read_text(), "the failure to be reported")
        assert "templates/entry.html:1: template syntax error" in log.read_text()
        assert "Watched edit." in page.read_text("utf-8")  # the last good output stays

        built = log.read_text().count("Built ")
        template.write_text('{% extends "theme:entry.html" %}{% block content %}<p>fixed</p>{{ super() }}{% endblock %}', "utf-8")
        wait_for(lambda: "<p>fixed</p>" in page.read_text("utf-8"), "the fixed template to be built")
        wait_for(lambda: log.read_text().count("Built ") > built, "its summary")  # a build stopped by Ctrl+C prints none
    output = log.read_text()
    assert watcher.returncode == 0, output
    assert output.rstrip().endswith("Stopped watching."), output
    assert "Traceback" not in output


def test_build_watch_started_on_a_broken_site_yaml_builds_once_it_is_fixed(make_site, tmp_path):
    site = make_site(POSTS)
    config = (site / "site.yaml").read_text("utf-8")
    (site / "site.yaml").write_text(config.replace("title: Test Site", "title: [unclosed"), "utf-8")
    log = tmp_path / "watch.log"
    with watching(site, log, stop=signal.SIGTERM) as watcher:
        wait_for(lambda: "Watching for changes" in log.read_text(), "the first build")
        assert "site.yaml:" in log.read_text() and "build failed" in log.read_text()
        (site / "site.yaml").write_text(config, "utf-8")
        page = site / "dist/posts/2024/b/index.html"
        wait_for(page.exists, "the fixed site to be built")
        # The content folder is watched now that site.yaml says where it is.
        (site / "content/posts/b.md").write_text(bravo(body="Seen after the fix."), "utf-8")
        wait_for(lambda: "Seen after the fix." in page.read_text("utf-8"), "the edit to be built")
    assert watcher.returncode == 0, log.read_text()  # SIGTERM stops it as Ctrl+C does
    assert log.read_text().rstrip().endswith("Stopped watching.")
    assert "Traceback" not in log.read_text()


def test_build_watch_that_cannot_watch_a_folder_says_so_and_exits_1(make_site, monkeypatch):
    site = make_site(POSTS)

    def full(self: object, handler: object, path: str, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(BaseObserver, "schedule", full)
    result = run(site, "build", "--watch")
    assert result.exit_code == 1
    assert f"error: cannot watch {site}: No space left on device" in result.output
    assert "fs.inotify.max_user_watches" in result.output


def test_build_watch_reports_an_error_outside_the_build_problems_and_goes_on(make_site, tmp_path):
    """Not every expected error is a list of problems: a body that changed while the build read it
    raises a SonicgenError. The watch reports it and builds again on the next change."""
    site = make_site({**POSTS, "plugins/flag.py": STOP_FLAG, "static/keep.txt": "kept"})
    log = tmp_path / "watch.log"
    with watching(site, log) as watcher:
        wait_for(lambda: "Watching for changes" in log.read_text(), "the first build")
        (site / "static/stop.txt").write_text("stop", "utf-8")
        reported = "error: static/stop.txt: present; delete it to build; the previous output was left untouched"
        wait_for(lambda: reported in log.read_text(), "the error")
        assert watcher.poll() is None, log.read_text()  # still watching
        built = log.read_text().count("Built ")
        (site / "static/stop.txt").unlink()
        wait_for(lambda: log.read_text().count("Built ") > built, "the next build")
    assert watcher.returncode == 0, log.read_text()
    assert "Traceback" not in log.read_text()


def test_build_watch_survives_an_impossible_date_and_builds_once_it_is_fixed(make_site, tmp_path):
    """2024-02-30 is well-formed YAML that PyYAML cannot make a date of: a field error like any other,
    in the front matter of an edited entry, never the end of the watch."""
    site = make_site(POSTS)
    log = tmp_path / "watch.log"
    with watching(site, log) as watcher:
        wait_for(lambda: "Watching for changes" in log.read_text(), "the first build")
        page = site / "dist/posts/2024/b/index.html"
        (site / "content/posts/b.md").write_text(bravo().replace("date: 2024-01-02T10:00:00Z", "date: 2024-02-30"), "utf-8")
        reported = "content/posts/b.md:3: date: '2024-02-30' is not a real date (day is out of range for month)"
        wait_for(lambda: reported in log.read_text(), "the problem to be reported")
        assert watcher.poll() is None, log.read_text()  # still watching
        assert "Second body." in page.read_text("utf-8")  # the last good output stays
        (site / "content/posts/b.md").write_text(bravo(body="Dated again."), "utf-8")
        wait_for(lambda: "Dated again." in page.read_text("utf-8"), "the fixed entry to be built")
    output = log.read_text()
    assert watcher.returncode == 0, output
    assert "internal error" not in output and "Traceback" not in output
