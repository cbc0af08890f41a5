"""Edits as ``sonicgen build --watch`` takes them: ``python bench/watch.py SITE_DIR [--runs 7] [--edits body,title,template]``.

Starts one watch process on the site (its own ``dist/`` and ``.sonicgen/``), waits for the
first build, then, for one post's body, its title and the entry template in turn, makes an edit
(a new text on every run, as ``bench/build.py`` does) and times from the write to the watch
printing that build's summary: what a user waits for after saving.  The build's own time, as
the summary line gives it, is reported beside it; the rest is the settling delay and the
file-system events.  Edits are undone at the end; the watch's peak resident memory is printed.
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from build import Edits  # bench/build.py: the same edits

BUILT = re.compile(r"^Built \d+ pages and \d+ files in ([\d.]+) s")


class Watch:
    """A ``sonicgen build --watch`` process and the summary lines it prints, as they come."""

    def __init__(self, site: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sonicgen", "build", "--watch", "--config", str(site / "site.yaml")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"},
        )
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put((time.perf_counter(), line.rstrip("\n")))

    def next_build(self, timeout: float = 600) -> tuple[float, float]:
        """When the next build's summary line arrived, and the build time it states."""
        while True:
            at, line = self.lines.get(timeout=timeout)
            if line.startswith(("error:", "Traceback")):
                sys.exit(f"the watch reported: {line}")
            found = BUILT.match(line)
            if found:
                return at, float(found[1])

    def peak_mb(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status)[1]) / 1024  # type: ignore[index]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def _timed(watch: Watch, edit: Callable[[], None], runs: int) -> tuple[float, float]:
    """Median seconds from an edit to its build's summary, and median build time as stated."""
    waits, builds = [], []
    for _ in range(runs):
        time.sleep(0.5)  # the previous build's events have settled
        started = time.perf_counter()
        edit()
        arrived, seconds = watch.next_build()
        waits.append(arrived - started)
        builds.append(seconds)
    return statistics.median(waits), statistics.median(builds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("site", type=Path)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--edits", default="body,title,template", help="which edits to time, of body, title and template")
    args = parser.parse_args()
    site = args.site.resolve()
    edits = Edits(site)
    watch = Watch(site)
    try:
        started = time.perf_counter()
        arrived, first = watch.next_build()
        print(f"first build (loads the site): {arrived - started:.2f} s from start, the build itself {first:.2f} s", flush=True)
        figures = []
        chosen = args.edits.split(",")
        for name, label, edit in (
            ("body", "one post's body edited", edits.body),
            ("title", "one post's title edited", edits.title),
            ("template", "entry template edited", edits.template_),
        ):
            if name in chosen:
                figures.append((label, *_timed(watch, edit, args.runs)))
        peak = watch.peak_mb()
    finally:
        edits.restore()
        watch.stop()
    print(f"site: {site}")
    for label, wait, build in figures:
        print(f"{label}: save to summary {wait:.3f} s, the build itself {build:.3f} s (medians of {args.runs})")
    print(f"watch process peak RSS {peak:.0f} MB; python {sys.version.split()[0]}, {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
