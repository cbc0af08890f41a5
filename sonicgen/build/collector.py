"""The cycle collector during a build.

A build makes hundreds of thousands of objects that live until it ends (the site graph, the
outputs, what each read).  With Python's default threshold the collector walks them hundreds
of times in a one-post rebuild; a build raises it while it runs, and so does each worker process.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_OBJECTS = 50_000
"""Allocations between runs of the cycle collector during a build (Python's default is 700)."""


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the collector's threshold for a build, and give the process's back after it, however it ends."""
    before = gc.get_threshold()
    gc.set_threshold(YOUNG_OBJECTS, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*before)
