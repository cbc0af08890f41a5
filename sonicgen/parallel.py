"""Worker processes for the parts of a build that use every core: reading many new files,
rendering Markdown, rendering pages.

A :class:`WorkerPool` belongs to whoever opened it and ends with it.  Its processes are started
with the forkserver method: a single-threaded server process forks them, so a build run from a
threaded process (a dev server, the write API) never forks a copy of its other threads' locks.
Nothing of the opener reaches a worker but what it is given: a *setup* function, called once in
each worker to make that worker's context (a loaded site, say), and *tasks*, module-level
functions applied to the context and one item.  Items are handed out one at a time as workers
finish, and results come back with their item's index: what the caller makes of them does not
depend on their order or on the number of workers.

A worker ends with its opener, even in the middle of a task: each holds the reading end of a pipe
its opener never writes to, and a thread of the worker ends the process when that pipe closes (the
opener closed the pool, or died however it died).  The fork server ends once no worker is left.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import pickle
import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

from sonicgen.errors import SonicgenError

C = TypeVar("C")
T = TypeVar("T")
R = TypeVar("R")


def available_cores() -> int:
    """CPUs this process may run on (its affinity), which containers often limit below os.cpu_count()."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class WorkerFailed(SonicgenError):
    """A worker process ended before it answered (killed, out of memory, a crash in a library)."""


class _Raised:
    """An exception raised by a task, sent back to be raised again by the opener (as a RuntimeError
    with the worker's traceback when the exception itself cannot be sent)."""

    def __init__(self, error: BaseException) -> None:
        try:
            pickle.loads(pickle.dumps(error))
        except Exception:
            error = RuntimeError(f"in a worker process: {traceback.format_exc()}")
        self.error = error


def _end_with_opener(lifeline: Connection) -> None:
    """Wait until the opener's end of ``lifeline`` is closed, then end this process at once."""
    with suppress(EOFError, OSError):
        lifeline.recv()
    os._exit(1)


def _serve(conn: Connection, lifeline: Connection, setup: Callable[..., Any] | None, args: tuple[Any, ...]) -> None:
    """A worker's life: make its context on the first task, then answer tasks until told to stop."""
    threading.Thread(target=_end_with_opener, args=(lifeline,), name="lifeline", daemon=True).start()
    context: Any = None
    made = setup is None
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the opener is gone
            return
        if message is None:
            return
        index, task, item = message
        try:
            if not made:
                context, made = setup(*args), True  # type: ignore[misc]
            result: Any = task(context, item)
        except BaseException as exc:
            result = _Raised(exc)
        try:
            conn.send((index, result))
        except (BrokenPipeError, OSError):
            return


def start_server(preload: Sequence[str] = ()) -> None:
    """Start the process that forks workers now, importing the modules ``preload`` names before it
    forks any, so that a pool opened later does not wait for it (it starts in the background and
    serves this process until it ends; what it imports is fixed when it starts)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__, *preload])  # with this process's sys.path
    multiprocessing.forkserver.ensure_running()


class WorkerPool(Generic[C]):
    """``jobs`` worker processes, each with the context ``setup(*args)`` makes (once, on its first task)."""

    def __init__(self, jobs: int, setup: Callable[..., C] | None = None, args: tuple[Any, ...] = (), preload: Sequence[str] = ()) -> None:
        start_server(preload)
        context = multiprocessing.get_context("forkserver")
        self._workers: list[tuple[multiprocessing.process.BaseProcess, Connection]] = []
        self._lifelines: list[Connection] = []  # never written to: closed, they end the workers
        self._pending: dict[Connection, deque[int | None]] = {}  # each worker's tasks in hand: their item's index (None: told to each)
        self._abandoned = False
        try:
            for _ in range(jobs):
                mine, theirs = context.Pipe()
                lifeline, held = context.Pipe(duplex=False)
                process = context.Process(target=_serve, args=(theirs, lifeline, setup, args), daemon=True)
                process.start()
                theirs.close()
                lifeline.close()
                self._lifelines.append(held)
                self._workers.append((process, mine))
                self._pending[mine] = deque()
        except (EOFError, OSError) as exc:  # the fork server could not start, or could not import what it preloads
            self.close()
            raise WorkerFailed(f"cannot start worker processes ({type(exc).__name__}: {exc}); build with --jobs 1") from None
        except BaseException:
            self.close()
            raise

    @property
    def size(self) -> int:
        return len(self._workers)

    def map(self, task: Callable[[C, T], R], items: Sequence[T], local: Callable[[T], R] | None = None) -> Iterator[tuple[int, R]]:
        """``(index, task(context, items[index]))`` for every item, as each is done; with ``local``, this
        process does items too (``local(item)``) whenever no worker's answer is waiting.

        ``task`` must be a module-level function and return picklable values; it should return
        expected failures as values.  An exception it raises is raised here again.  Each worker has
        two items in hand, so that it never waits for this process to give it the next.
        """
        if self._abandoned:
            raise RuntimeError("a map of this pool was left unfinished: its answers are owed; close the pool")
        pending = self._pending
        sentinels = {process.sentinel: (process, conn) for process, conn in self._workers}
        following = 0
        self._abandoned = True  # until this map ends as it should

        def give(conn: Connection) -> None:
            nonlocal following
            if following < len(items):
                conn.send((following, task, items[following]))
                pending[conn].append(following)
                following += 1

        for _ in range(2):
            for _, conn in self._workers:
                give(conn)
        while True:
            busy = [(process, conn) for process, conn in self._workers if pending[conn]]
            left = local is not None and following < len(items)
            if not busy and not left:
                self._abandoned = False
                return
            waited = [conn for _, conn in busy] + [process.sentinel for process, _ in busy]
            for ready in wait(waited, timeout=0 if left else None) if busy else ():
                process, conn = sentinels[ready] if isinstance(ready, int) else next(w for w in busy if w[1] is ready)
                if not pending[conn]:
                    continue
                expected = pending[conn].popleft()
                index, result = _answer(process, conn)
                give(conn)
                if expected is not None:
                    yield index, result
            if local is not None and following < len(items):
                index, following = following, following + 1
                yield index, local(items[index])

    def tell_each(self, task: Callable[[C, T], object], item: T) -> None:
        """Have every worker do ``task(context, item)`` (to hand each the same thing) without waiting:
        each does it before its next task, and an exception it raises is raised by the next :meth:`map`."""
        for _, conn in self._workers:
            conn.send((0, task, item))
            self._pending[conn].append(None)

    def _settle(self) -> None:
        """Take every answer still owed."""
        for process, conn in self._workers:
            while self._pending[conn]:
                self._pending[conn].popleft()
                _answer(process, conn)

    def close(self) -> None:
        """Stop the workers (those still busy are terminated)."""
        for _, conn in self._workers:
            with suppress(OSError):  # a broken pipe: that worker is gone already
                conn.send(None)
        for process, conn in self._workers:
            process.join(5)
            if process.is_alive():
                process.terminate()
                process.join(5)
            conn.close()
        for lifeline in self._lifelines:
            lifeline.close()
        self._workers, self._lifelines = [], []

    def __enter__(self) -> WorkerPool[C]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _answer(process: multiprocessing.process.BaseProcess, conn: Connection) -> tuple[int, Any]:
    """A worker's answer to its task: ``(index, result)``; raises what the task raised."""
    try:
        index, result = conn.recv()
    except (EOFError, OSError):
        process.join(1)
        raise WorkerFailed(
            f"a worker process stopped before it answered (exit code {process.exitcode}); build again, or with --jobs 1"
        ) from None
    if isinstance(result, _Raised):
        raise result.error
    return index, result


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
