"""Whole-process build timings: ``python bench/build.py SITE_DIR [--runs 5]``.

Each run starts a fresh ``python -m sonicgen build`` process (imports included, as a user
sees it) and reports the median wall time, pages per second and the peak resident memory
of the build process, for: a clean build with no build state (fresh output folder,
``.sonicgen/`` removed), a clean output folder with the render cache warm, a rebuild with
nothing changed, and incremental rebuilds after one post's body is edited, after one post's
title is edited (its list, tag and neighbour pages must change) and after the entry template
is edited (every entry page must change).  Edits get a new text on every run and are undone
at the end.  The Markdown floor (``bench/floor.py``) runs before each clean build, so that
the ratio of the two is measured in the same run, under the same drift.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from floor import run_once  # bench/floor.py: the Markdown floor, timed

from sonicgen.render.theme import builtin_themes_dir

MEASURE = """
import resource, sys, runpy
sys.argv = ["sonicgen", *sys.argv[1:]]
try:
    runpy.run_module("sonicgen", run_name="__main__")
finally:
    print("peak_kb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


class Descendants:
    """Watches a process's descendants while it runs (worker processes are forked by a fork server,
    the build's child: grandchildren, which the build's own accounting does not see): the largest
    peak RSS among them, and the CPU time they used, as last seen before each ended."""

    def __init__(self, root: int, every: float = 0.25) -> None:
        self.root = root
        self.peaks: dict[int, int] = {}  # pid -> VmHWM, KiB
        self.cpu: dict[int, float] = {}  # pid -> user + system seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, args=(every,), daemon=True)
        self._thread.start()

    def stop(self) -> tuple[int, float]:
        """The largest peak RSS (KiB) and the CPU seconds of the descendants."""
        self._stop.set()
        self._thread.join()
        return max(self.peaks.values(), default=0), sum(self.cpu.values())

    def _watch(self, every: float) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        while not self._stop.wait(every):
            children: dict[int, list[int]] = {}
            for entry in os.scandir("/proc"):
                if entry.name.isdigit():
                    try:
                        stat = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    children.setdefault(int(stat[1]), []).append(int(entry.name))
                    if int(entry.name) in self.cpu or int(entry.name) in self.peaks:
                        self.cpu[int(entry.name)] = (int(stat[11]) + int(stat[12])) / tick
            stack = list(children.get(self.root, []))
            while stack:
                pid = stack.pop()
                stack.extend(children.get(pid, []))
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        self.peaks[pid] = max(self.peaks.get(pid, 0), int(line.split()[1]))
                self.cpu[pid] = (int(stat[11]) + int(stat[12])) / tick


def run_build(site: Path, out: Path) -> tuple[float, int, int]:
    """Wall seconds, peak RSS (KiB) of one build process and of its largest worker."""
    wall, _, peak, worker_peak = run_build_cpu(site, out)
    return wall, peak, worker_peak


def run_build_cpu(site: Path, out: Path) -> tuple[float, float, int, int]:
    """Wall seconds, CPU seconds (user + system of the build and its workers, less disturbed by other
    load) and peak RSS (KiB) of one build and of its largest worker."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", MEASURE, "build", "-q", "--config", str(site / "site.yaml"), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    workers = Descendants(proc.pid)
    _, stderr = proc.communicate()
    elapsed = time.perf_counter() - started
    worker_peak, worker_cpu = workers.stop()
    if proc.returncode != 0:
        sys.exit(f"build failed:\n{stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime + worker_cpu
    figures = dict(line.split() for line in stderr.splitlines() if line.startswith("peak_kb "))
    return elapsed, cpu, int(figures["peak_kb"]), worker_peak


def pages(out: Path) -> int:
    manifest = json.loads((out / ".sonicgen-manifest.json").read_text())
    return sum(1 for path in manifest["files"] if path.endswith(".html"))


def _median_runs(runs: int, prepare: Callable[[], None], site: Path, out: Path) -> tuple[float, int, int]:
    """Median wall seconds over ``runs`` builds (``prepare`` before each) and the largest peak RSS (KiB) of build and worker."""
    times, peaks, worker_peaks = [], [], []
    for _ in range(runs):
        prepare()
        os.sync()  # the previous run's writes must not be paid for by this one
        seconds, peak, worker_peak = run_build(site, out)
        times.append(seconds)
        peaks.append(peak)
        worker_peaks.append(worker_peak)
    return statistics.median(times), max(peaks), max(worker_peaks)


ARTICLE = '<article class="entry">'


class Edits:
    """Real edits to the corpus, different on every run, undone by :meth:`restore`."""

    def __init__(self, site: Path) -> None:
        self.post = sorted((site / "content" / "posts").glob("*.md"))[len(list((site / "content" / "posts").glob("*.md"))) // 2]
        self.original = self.post.read_bytes()
        self.template = site / "templates" / "entry.html"
        if self.template.exists():
            sys.exit(f"{self.template} exists; run the benchmark on a corpus from bench/generate.py")
        self.theme_entry = (builtin_themes_dir() / "default" / "templates" / "entry.html").read_text("utf-8")
        if ARTICLE not in self.theme_entry:
            sys.exit(f"the default theme's entry.html has no {ARTICLE}; update the template edit in {__file__}")
        self.count = 0

    def body(self) -> None:
        self.count += 1
        self.post.write_bytes(self.original + f"\nAn edited paragraph, take {self.count}.\n".encode())

    def title(self) -> None:
        self.count += 1
        text = self.original.decode()
        head, rest = text.split("title: ", 1)
        self.post.write_text(f'{head}title: "Retitled {self.count}"\n{rest.split(chr(10), 1)[1]}', "utf-8")

    def template_(self) -> None:
        self.count += 1
        self.template.parent.mkdir(exist_ok=True)
        # Inside the content block: text after the blocks of a child template is never output.
        self.template.write_text(self.theme_entry.replace(ARTICLE, f'{ARTICLE[:-1]} data-edit="{self.count}">', 1), "utf-8")

    def restore(self) -> None:
        self.post.write_bytes(self.original)
        self.template.unlink(missing_ok=True)
        if self.template.parent.is_dir() and not any(self.template.parent.iterdir()):
            self.template.parent.rmdir()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("site", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    site = args.site.resolve()
    state = site / ".sonicgen"
    with tempfile.TemporaryDirectory(prefix="sonicgen-bench-") as tmp:
        out = Path(tmp) / "dist"

        sources = sorted((site / "content").rglob("*.md"))
        floors: list[float] = []

        def cold() -> None:
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(state, ignore_errors=True)
            floors.append(run_once(sources, len(os.sched_getaffinity(0))))  # in turns: the machine's drift hits both

        cold_time, cold_peak, cold_workers = _median_runs(args.runs, cold, site, out)
        warm_time, warm_peak, warm_workers = _median_runs(args.runs, lambda: shutil.rmtree(out, ignore_errors=True), site, out)
        count = pages(out)
        rebuild_time, rebuild_peak, rebuild_workers = _median_runs(args.runs, lambda: None, site, out)
        edits = Edits(site)
        try:
            body_time, body_peak, body_workers = _median_runs(args.runs, edits.body, site, out)
            title_time, title_peak, title_workers = _median_runs(args.runs, edits.title, site, out)
            template_time, template_peak, template_workers = _median_runs(args.runs, edits.template_, site, out)
        finally:
            edits.restore()
    print(f"site: {site}")
    print(f"html pages: {count}")
    for label, seconds, peak, workers in (
        ("clean build, no cache", cold_time, cold_peak, cold_workers),
        ("clean output, warm cache", warm_time, warm_peak, warm_workers),
        ("rebuild, no change", rebuild_time, rebuild_peak, rebuild_workers),
        ("rebuild, one post's body edited", body_time, body_peak, body_workers),
        ("rebuild, one post's title edited", title_time, title_peak, title_workers),
        ("rebuild, entry template edited", template_time, template_peak, template_workers),
    ):
        print(
            f"{label}: median {seconds:.2f} s over {args.runs} runs ({count / seconds:.0f} pages/s), peak RSS {peak / 1024:.0f} MB"
            + (f" (largest worker {workers / 1024:.0f} MB)" if workers else "")
        )
    floor = statistics.median(floors)
    print(f"markdown floor (bench/floor.py, before each clean build): median {floor:.2f} s; clean build {cold_time / floor:.2f}x it")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
