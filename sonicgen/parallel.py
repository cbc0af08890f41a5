"""Fork-based parallel map, for the build's reading, output fingerprints and rendering.

Workers are forked when the work is ready (the files to read; the site graph, templates and
plugins to render with), so they inherit all of it and nothing but task numbers and results
crosses a process boundary.  Each task is a slice of work chosen by index, which keeps the
output independent of the number of workers and of the order in which they finish.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, TypeVar

T = TypeVar("T")

_work: Callable[[int], Any] | None = None


def available_cores() -> int:
    """CPUs this process may run on (its affinity), which containers often limit below os.cpu_count()."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _run(index: int) -> Any:
    assert _work is not None, "fork_map sets the work before forking"
    return _work(index)


def fork_map(work: Callable[[int], T], count: int, jobs: int) -> Iterator[tuple[int, T]]:
    """``work(0) … work(count - 1)`` in ``jobs`` forked workers; yields ``(index, result)`` as each finishes.

    ``work`` must return picklable values and report expected failures as values, not exceptions.
    """
    global _work
    _work = work
    gc.freeze()  # what the parent made stays shared: collections in a worker neither touch nor copy it
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            futures = {pool.submit(_run, index): index for index in range(count)}
            for future in as_completed(futures):
                index = futures.pop(future)  # with it goes the result once the caller is done with it
                yield index, future.result()
    finally:
        _work = None
        gc.unfreeze()


def map_in_workers(fn: Callable[[int], T], count: int, jobs: int) -> list[T]:
    """``[fn(0), …, fn(count - 1)]``, computed in ``jobs`` forked workers a slice at a time."""
    parts = slices(count, jobs)

    def work(index: int) -> list[T]:
        return [fn(n) for n in parts[index]]

    out: list[Any] = [None] * count
    for index, results in fork_map(work, len(parts), jobs):
        for n, result in zip(parts[index], results, strict=True):
            out[n] = result
    return out


def slices(count: int, jobs: int, per_job: int = 4, largest: int = 1000) -> list[range]:
    """Split ``range(count)`` into at least ``jobs * per_job`` contiguous slices (small enough to balance
    load) of at most ``largest`` items: each slice's results arrive at once, and a large site's parent
    would otherwise hold hundreds of megabytes of them while it takes them in."""
    parts = max(1, min(count, max(jobs * per_job, -(-count // largest))))
    size, extra = divmod(count, parts)
    out, start = [], 0
    for part in range(parts):
        end = start + size + (1 if part < extra else 0)
        out.append(range(start, end))
        start = end
    return out
