"""The Markdown floor: ``python bench/floor.py SITE_DIR [--runs 3] [--jobs N]``.

A bare loop over the same corpus with nothing but the unavoidable work — read each file,
parse its front matter, render its body with the same markdown-it-py plugins and Pygments
highlighting sonicgen uses, write the HTML — on all cores.  A site generator cannot be
much faster than this; ``bench/build.py`` figures are reported as a ratio to it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path

import yaml

from sonicgen.config.schema import MarkdownConfig
from sonicgen.content.markup import create_markdown, highlight_code

_md = create_markdown(MarkdownConfig(), "/")
_md.options["highlight"] = lambda code, lang, attrs: highlight_code(code, lang.strip().lower()) if lang else ""  # as the build's fences


def _one(job: tuple[str, str]) -> int:
    source, target = job
    text = Path(source).read_text("utf-8")
    _, front, body = text.split("---\n", 2)
    yaml.load(front, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    html = _md.render(body)
    Path(target).write_text(html, "utf-8")
    return len(html)


def run_once(files: list[Path], jobs: int) -> float:
    with tempfile.TemporaryDirectory(prefix="sonicgen-floor-") as out:
        work = [(str(f), str(Path(out) / f"{n}.html")) for n, f in enumerate(files)]
        started = time.perf_counter()
        with get_context("fork").Pool(jobs) as pool:
            pool.map(_one, work, chunksize=64)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("site", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    files = sorted((args.site / "content").rglob("*.md"))
    times = [run_once(files, args.jobs) for _ in range(args.runs)]
    median = statistics.median(times)
    rate = len(files) / median
    print(f"markdown floor: {len(files)} files in {median:.2f} s (median of {args.runs}, {args.jobs} processes, {rate:.0f} files/s)")
    print(f"python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
