"""What bounds a whole build process on this machine, whatever sonicgen does:
``python bench/limits.py SITE_DIR [--runs 7] [--writes 3]`` (SITE_DIR built once before).

Issue 5's targets are whole-process figures; this prints the parts of them no build code
can remove, each alternating with what it bounds so that the machine's drift hits both:

* starting a process that re-renders one post: bare Python, then Python importing only the
  libraries rendering needs (:data:`RENDER_LIBRARIES`), then the same process also taking the stat of
  every file of SITE_DIR but its output and build state (:data:`STAT_SITE`: a fresh process
  cannot know what changed without it), then ``sonicgen build`` with nothing to do;
* writing the files of SITE_DIR's last build (read into memory first) on all cores, without
  and with the static JSON API's files, next to the Markdown floor of ``bench/floor.py``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path

from floor import run_once  # bench/floor.py: the Markdown floor, timed

RENDER_LIBRARIES = (
    "jinja2, markdown_it, mdit_py_plugins.anchors, mdit_py_plugins.footnote, mdit_py_plugins.tasklists,"
    " pygments.lexers, pygments.formatters.html, msgspec, yaml, sqlite3, click"
)
"""Third-party modules a rebuild that renders one post imports (templates, Markdown, highlighting,
build state, front matter, the command line)."""

STAT_SITE = """
import os, sys

def stat_all(folder):
    with os.scandir(folder) as found:
        for entry in found:
            if not entry.is_dir(follow_symlinks=False):
                entry.stat()
            elif entry.name not in ("dist", ".sonicgen"):
                stat_all(entry.path)

stat_all(sys.argv[1])
"""
"""Stat every file of the site given as the first argument, as a build's input signature does."""

Files = list[tuple[str, bytes]]


def _seconds(argv: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv[1:])} failed:\n{done.stdout}{done.stderr}")
    return time.perf_counter() - started


def process_floors(site: Path, runs: int) -> dict[str, float]:
    """Median wall seconds of each kind of process, run in turns."""
    kinds = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python importing the libraries a render needs": [sys.executable, "-c", f"import {RENDER_LIBRARIES}"],
        "  the same, and a stat of every file of the site": [sys.executable, "-c", f"import {RENDER_LIBRARIES}\n{STAT_SITE}", str(site)],
        "sonicgen build, nothing changed": [sys.executable, "-m", "sonicgen", "build", "-q", "--config", str(site / "site.yaml")],
    }
    _seconds(kinds["sonicgen build, nothing changed"])  # the state matches the content from here on
    times: dict[str, list[float]] = {name: [] for name in kinds}
    for _ in range(runs):
        for name, argv in kinds.items():
            times[name].append(_seconds(argv))
    return {name: statistics.median(values) for name, values in times.items()}


def read_output(out: Path) -> Files:
    return [(str(path.relative_to(out)), path.read_bytes()) for path in sorted(out.rglob("*")) if path.is_file()]


def _write(job: tuple[str, Files]) -> None:
    target, files = job
    for name, data in files:
        path = Path(target, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def write_once(files: Files, beside: Path, jobs: int) -> float:
    """Seconds to write ``files`` into a new folder beside ``beside`` (same file system) on ``jobs`` processes."""
    target = tempfile.mkdtemp(prefix="sonicgen-limits-", dir=beside.parent)
    try:
        started = time.perf_counter()
        with get_context("fork").Pool(jobs) as pool:
            pool.map(_write, [(target, files[n::jobs]) for n in range(jobs)])
        return time.perf_counter() - started
    finally:
        shutil.rmtree(target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("site", type=Path)
    parser.add_argument("--runs", type=int, default=7, help="runs of each process kind")
    parser.add_argument("--writes", type=int, default=3, help="rounds of writing and Markdown floor")
    args = parser.parse_args()
    site: Path = args.site.resolve()
    out = site / "dist"
    if not (out / ".sonicgen-manifest.json").is_file():
        sys.exit(f"{out}: no build output; run `sonicgen build --config {site / 'site.yaml'}` first")
    jobs = len(os.sched_getaffinity(0))

    print(f"whole processes, median of {args.runs} runs in turns:")
    for name, seconds in process_floors(site, args.runs).items():
        print(f"  {name:48s} {seconds:6.3f} s")

    files = read_output(out)
    sets = {"all files": files, "without api/": [f for f in files if not f[0].startswith("api/")]}
    sources = sorted((site / "content").rglob("*.md"))
    times: dict[str, list[float]] = {"markdown floor": [], **{name: [] for name in sets}}
    for _ in range(args.writes):
        times["markdown floor"].append(run_once(sources, jobs))
        for name, chosen in sets.items():
            times[name].append(write_once(chosen, out, jobs))
    floor = statistics.median(times["markdown floor"])
    print(f"writing {out.name}/ on {jobs} processes, median of {args.writes} rounds in turns with the Markdown floor:")
    print(f"  {'markdown floor':48s} {floor:6.2f} s ({len(sources)} files)")
    for name, chosen in sets.items():
        seconds = statistics.median(times[name])
        size = sum(len(data) for _, data in chosen) / 2**20
        print(f"  {f'write {name} ({len(chosen)} files, {size:.0f} MiB)':48s} {seconds:6.2f} s = {seconds / floor:.2f}x the floor")
    print(f"python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
