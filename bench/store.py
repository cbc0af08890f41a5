"""Store write costs: ``python bench/store.py [--saves 300] [--workers 4] [--per-worker 500] [--dir DIR]``.

For each store (``sqlite`` and ``files``), in a
fresh site: the latency of one single-entry save (p50 and p99 over ``--saves`` sequential
saves of distinct entries), then ``--workers`` processes each saving ``--per-worker``
entries to the same site at once (every tenth save goes to one of four shared slugs with
``expected=ANY``), as writes per second from the common start to the last finish.
The SQLite store commits with ``synchronous=FULL``, so its figures include an fsync per
save: run it on the disk you care about (``--dir``), not on a RAM-backed /tmp.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from sonicgen.config import load_config
from sonicgen.content.models import Entry, SourceRef
from sonicgen.sources import ANY, open_store

CONFIG = """\
title: Store bench
base_url: https://bench.example/
collections:
  posts:
    source: {source}
    fields:
      title: {{type: string, required: true}}
      tags: {{type: list}}
      rating: {{type: integer}}
"""
BODY = "A paragraph of an ordinary length, with a [link](https://example.org/) and *emphasis*.\n\n" * 8


def make_site(root: Path, source: str) -> Path:
    site = root / source
    (site / "content" / "posts").mkdir(parents=True)
    (site / "site.yaml").write_text(CONFIG.format(source=source), "utf-8")
    return site


def post(slug: str, title: str) -> Entry:
    return Entry("posts", slug, {"title": title, "tags": ["bench"], "rating": 3}, BODY, SourceRef(""), "")


def latencies(site: Path, saves: int) -> list[float]:
    config, _ = load_config(site / "site.yaml")
    store = open_store(config, "posts")
    try:
        store.save(post("warm-up", "Warm up"))
        out = []
        for n in range(saves):
            started = time.perf_counter()
            store.save(post(f"single-{n}", f"Single {n}"))
            out.append(time.perf_counter() - started)
        return out
    finally:
        store.close()


def worker(site: Path, number: int, count: int, start: float) -> tuple[float, list[str]]:
    """Save ``count`` entries from one process; return when it finished and what went wrong."""
    config, _ = load_config(site / "site.yaml")
    time.sleep(max(0.0, start - time.time()))
    errors = []
    store = open_store(config, "posts")
    try:
        for i in range(count):
            slug = f"shared-{(i // 10) % 4}" if i % 10 == 0 else f"w{number}-{i}"
            try:
                store.save(post(slug, f"{number}:{i}"), expected=ANY)
            except Exception as exc:  # counted and shown: a lost write is what this measures
                errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        store.close()
    return time.time(), errors


def throughput(site: Path, workers: int, per_worker: int) -> tuple[float, list[str]]:
    open_store(load_config(site / "site.yaml")[0], "posts").close()  # create the database before the clock starts
    start = time.time() + 2.0  # every process has imported sonicgen by then
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(worker, site, n, per_worker, start) for n in range(workers)]
        results = [f.result() for f in futures]
    finished = max(end for end, _ in results)
    return workers * per_worker / (finished - start), [e for _, errors in results for e in errors]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=300)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--per-worker", type=int, default=500)
    parser.add_argument("--dir", type=Path, default=None, help="where to create the bench sites (default: a temporary folder)")
    args = parser.parse_args()
    sources = ["sqlite", "files"]
    failed = False
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for source in sources:
            single = latencies(make_site(Path(tmp) / "single", source), args.saves)
            print(
                f"{source:>6}: single save p50 {statistics.median(single) * 1000:.2f} ms, p99 {percentile(single, 0.99) * 1000:.2f} ms "
                f"({args.saves} saves)"
            )
            rate, errors = throughput(make_site(Path(tmp) / "concurrent", source), args.workers, args.per_worker)
            print(f"{source:>6}: {args.workers} processes × {args.per_worker} saves: {rate:,.0f} writes/s, {len(errors)} error(s)")
            for error in errors[:5]:
                print(f"        {error}")
            failed = failed or bool(errors)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
