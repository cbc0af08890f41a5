"""A build killed (kill -9) while it writes its output: the next build finishes the commit the
killed one began, says so, and leaves the output exactly as a clean build makes it, with nothing
left behind beside it."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import post, tree_digest, write_tree

from sonicgen.output.writer import STAGING_PREFIX

POSTS = 120
KILLS = int(os.environ.get("SONICGEN_CRASH_KILLS", "20"))

TEMPLATE = '{{% extends "theme:entry.html" %}}{{% block content %}}<p>version {n}</p>{{{{ super() }}}}{{% endblock %}}'


def sonicgen(site: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "sonicgen", *args], cwd=site, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def build_ok(site: Path) -> str:
    proc = sonicgen(site, "build", "--jobs", "1")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return err


def until_writing(site: Path) -> subprocess.Popen[str]:
    """A build, once its Writing stage began."""
    proc = sonicgen(site, "build", "-v", "--jobs", "1")
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("· Writing"):
            return proc
    proc.wait()
    raise AssertionError(f"the build never reached its Writing stage (exit {proc.returncode})")


def time_writing(site: Path) -> float:
    """Seconds from a build's Writing stage to its end."""
    proc = until_writing(site)
    began = time.perf_counter()
    proc.communicate(timeout=120)
    assert proc.returncode == 0
    return time.perf_counter() - began


def kill_while_writing(site: Path, delay: float) -> bool:
    """Kill a build ``delay`` seconds after its Writing stage began; whether it was still running."""
    proc = until_writing(site)
    time.sleep(delay)
    running = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return running


def test_a_build_killed_while_it_writes_leaves_the_next_build_a_clean_output(make_site, tmp_path):
    files = {f"content/posts/p{n:03}.md": post(f"Post {n}", body=f"Body {n}.") for n in range(POSTS)}
    site = make_site({**files, "templates/entry.html": TEMPLATE.format(n=0)})
    build_ok(site)
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    # How long writing and recording take here: the kills fall across that span.
    (site / "templates/entry.html").write_text(TEMPLATE.format(n=1))
    span = time_writing(site)
    interrupted = 0
    for kill in range(KILLS):
        version = kill + 2
        (site / "templates/entry.html").write_text(TEMPLATE.format(n=version))
        interrupted += kill_while_writing(site, rng.uniform(0, span))
        err = build_ok(site)
        expected = tmp_path / f"clean-{kill}"
        shutil.rmtree(expected, ignore_errors=True)
        write_tree(expected, {**files, "templates/entry.html": TEMPLATE.format(n=version)})
        shutil.copy(site / "site.yaml", expected / "site.yaml")
        build_ok(expected)
        context = f"kill {kill} (seed {seed}): {err}"
        assert tree_digest(site / "dist") == tree_digest(expected / "dist"), context
        assert f"<p>version {version}</p>" in (site / "dist/posts/2024/p007/index.html").read_text(), context
        assert not [p.name for p in site.iterdir() if p.name.startswith(STAGING_PREFIX)], context
    assert interrupted >= KILLS // 2, f"only {interrupted} of {KILLS} kills fell while the build ran (seed {seed})"


def test_the_next_build_finishes_a_commit_that_was_cut_short_and_says_so(make_site):
    """A commit cut short after its journal was written: every staged file reaches the output."""
    files = {f"content/posts/p{n:03}.md": post(f"Post {n}", body=f"Body {n}.") for n in range(POSTS)}
    site = make_site({**files, "templates/entry.html": TEMPLATE.format(n=0)})
    build_ok(site)
    for attempt in range(40):
        (site / "templates/entry.html").write_text(TEMPLATE.format(n=attempt + 1))
        kill_while_writing(site, 0.002 * attempt)
        journals = list(site.glob(f"{STAGING_PREFIX}*/.sonicgen-commit.json"))
        if journals and any(p.name not in (".sonicgen-commit.json", ".sonicgen-manifest.json") for p in journals[0].parent.iterdir()):
            break  # files were left to move
    else:
        raise AssertionError("no kill fell between a commit's journal and its end")
    err = build_ok(site)
    assert "finished writing the output of a build that was interrupted" in err
    page = (site / "dist/posts/2024/p007/index.html").read_text()
    assert f"<p>version {attempt + 1}</p>" in page
    assert not list(site.glob(STAGING_PREFIX + "*"))


def test_the_output_is_written_into_never_through_a_link_in_it(make_site, tmp_path):
    """A folder of the output replaced by a link to elsewhere: the build (--clean too) replaces the
    link by a real folder and leaves the folder it pointed to as it was."""
    files = {f"content/posts/p{n}.md": post(f"Post {n}") for n in range(3)}
    site = make_site({**files, "templates/entry.html": TEMPLATE.format(n=0)})
    build_ok(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("not the site's")
    shutil.rmtree(site / "dist/posts/2024")
    (site / "dist/posts/2024").symlink_to(elsewhere, target_is_directory=True)
    for clean in ((), ("--clean",)):
        (site / "templates/entry.html").write_text(TEMPLATE.format(n=len(clean) + 1))
        proc = sonicgen(site, "build", *clean)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert sorted(p.name for p in elsewhere.iterdir()) == ["keep.txt"]
        assert not (site / "dist/posts/2024").is_symlink()
        assert f"<p>version {len(clean) + 1}</p>" in (site / "dist/posts/2024/p1/index.html").read_text()
        (site / "dist/posts/2024").rename(tmp_path / f"real-{len(clean)}")
        (site / "dist/posts/2024").symlink_to(elsewhere, target_is_directory=True)
