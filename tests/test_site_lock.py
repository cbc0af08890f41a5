"""One build at a time per site: a second build waits for the first (or, with --no-wait, fails at
once), and a build removes only the staging folders of builds whose process is gone."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import post

from sonicgen.output.writer import STAGING_PREFIX, OutputWriter

HELD_BUILD = """
import os, time
from pathlib import Path
from sonicgen import Plugin

def hold(config, drafts, future):
    if not os.environ.get("HOLD_BUILD"):
        return
    here = Path(__file__).parent
    (here / "started").write_text(str(os.getpid()))
    deadline = time.monotonic() + 60
    while not (here / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.02)

def setup(ctx):
    ctx.hook("build:start", hold)

plugin = Plugin(name="held-build", version="1.0.0", setup=setup)
"""


def start_held_build(site: Path) -> subprocess.Popen[str]:
    """A ``sonicgen build`` that holds the site's lock until ``plugins/go`` exists."""
    env = {**os.environ, "NO_COLOR": "1", "HOLD_BUILD": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sonicgen", "build"], cwd=site, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not (site / "plugins/started").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the first build never started"
        time.sleep(0.02)
    return proc


def sonicgen(site: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "sonicgen", *args], cwd=site, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def a_site(make_site):
    return make_site({"content/posts/a.md": post("A"), "content/posts/b.md": post("B"), "plugins/held.py": HELD_BUILD})


def test_a_second_build_waits_for_the_first_and_says_so(make_site):
    site = a_site(make_site)
    first = start_held_build(site)
    try:
        second = sonicgen(site, "build")
        time.sleep(1.5)  # a build of two posts takes a fraction of that: it is waiting
        assert second.poll() is None, second.communicate()
        (site / "plugins/go").write_text("")
        out, err = second.communicate(timeout=60)
        first_out, first_err = first.communicate(timeout=60)
    finally:
        (site / "plugins/go").write_text("")
        first.kill()
    holder = (site / "plugins/started").read_text()
    assert first.returncode == 0, first_err
    assert second.returncode == 0, err
    assert f"waiting for process {holder} to finish building this site" in err
    assert "Built" in first_out and "Built" in out
    assert (site / "dist/posts/2024/a/index.html").is_file()
    assert not list(site.glob(STAGING_PREFIX + "*")), "no staging folder is left behind"


def test_with_no_wait_a_second_build_fails_at_once_naming_the_holder(make_site):
    site = a_site(make_site)
    first = start_held_build(site)
    try:
        second = sonicgen(site, "build", "--no-wait")
        _, err = second.communicate(timeout=60)
        assert first.poll() is None, "the first build was still running"
        (site / "plugins/go").write_text("")
        first.communicate(timeout=60)
    finally:
        (site / "plugins/go").write_text("")
        first.kill()
    holder = (site / "plugins/started").read_text()
    assert second.returncode == 1, err
    assert f"process {holder} is building this site" in err and "--no-wait" in err
    assert "internal error" not in err and "Traceback" not in err
    assert first.returncode == 0


def test_only_the_staging_folders_of_builds_that_are_gone_are_removed(tmp_path):
    out = tmp_path / "dist"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    gone = tmp_path / f"{STAGING_PREFIX}dist-{dead.stdout.strip()}-0a1b2c"
    running = tmp_path / f"{STAGING_PREFIX}dist-{os.getppid()}-3d4e5f"  # a live process: this one's parent
    before_pids = tmp_path / f"{STAGING_PREFIX}dist-9f8e7d6c5b4a"  # named before names carried a process id
    for folder in (gone, running, before_pids):
        (folder / "posts").mkdir(parents=True)
        (folder / "posts/index.html").write_text("staged")
    writer = OutputWriter.open(out)
    try:
        assert not gone.exists() and not before_pids.exists()
        assert (running / "posts/index.html").read_text() == "staged"
        assert writer.staging.name.startswith(f"{STAGING_PREFIX}dist-{os.getpid()}-")
    finally:
        writer.abort()
