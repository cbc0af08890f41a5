"""Build a site again whenever one of its inputs changes: ``sonicgen build --watch``.

watchdog reports changes under every input folder (content, data, static files, templates,
plugins, the theme) and to site.yaml and the content database.  A build starts once the
events have been quiet for :data:`SETTLE` seconds (one save in an editor is several events),
and changes made during a build start another as soon as it ends.  The builds share one
process (:class:`~sonicgen.build.resident.ResidentBuild`), so an edit to a post's body
re-renders its pages in a fraction of a second.  A build that fails is reported and the watch
goes on; the output keeps the last good build until the next one succeeds.
"""

from __future__ import annotations

import errno
import threading
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from sonicgen.build import BuildOptions, BuildResult
from sonicgen.build.progress import Progress
from sonicgen.build.resident import ResidentBuild
from sonicgen.build.signature import input_roots
from sonicgen.config import load_config
from sonicgen.errors import SonicgenError

SETTLE = 0.05
"""Seconds without a change before a build starts."""

WATCH_LIMIT = "the system's limit of watched folders: on Linux, raise fs.inotify.max_user_watches"

WRITES = frozenset({"created", "modified", "deleted", "moved", "closed"})
"""Events that may change an input; a build's own reads (opened, closed without writing) are not among them."""


class _Changes(FileSystemEventHandler):
    """Sets ``pending`` when a watched input may have changed."""

    def __init__(self, pending: threading.Event) -> None:
        self.pending = pending
        self.inputs: list[Path] = []  # input roots: a change at or under one counts

    def wanted(self, path: str) -> bool:
        return bool(path) and any(Path(path).is_relative_to(root) for root in self.inputs)

    def on_any_event(self, event: FileSystemEvent) -> None:
        moved_to = getattr(event, "dest_path", "")
        if event.event_type in WRITES and (self.wanted(str(event.src_path)) or self.wanted(str(moved_to))):
            self.pending.set()


def _inputs(config_path: Path) -> list[Path]:
    """What the site's builds read, as site.yaml says now (only site.yaml itself while it cannot be
    read), when no good build says it."""
    try:
        return input_roots(load_config(config_path)[0])
    except SonicgenError:
        return [config_path.resolve()]


def watch(
    config_path: Path,
    options: BuildOptions,
    report: Callable[[BuildResult | SonicgenError], None],
    *,
    progress: Progress | None = None,
    ready: Callable[[], None] | None = None,
) -> None:
    """Build now, then after every change until KeyboardInterrupt; each build's result or failure
    (any error sonicgen expects: a failed build never ends the watch) goes to ``report``, and
    ``ready`` is called once the watch has begun."""
    resident = ResidentBuild(config_path, options)
    pending = threading.Event()
    changes = _Changes(pending)
    observer = Observer()
    site = config_path.resolve().parent
    watched: set[Path] = set()

    def build() -> None:
        try:
            report(resident.build(progress))
        except SonicgenError as exc:
            report(exc)

    def follow() -> bool:
        """Watch what the site reads now: site.yaml may have moved a folder, or one may have appeared.
        True when that changed what is watched."""
        inputs = input_roots(resident.config) if resident.config is not None else _inputs(config_path)
        folders = {root for root in inputs if root.is_dir() and root != site}
        if inputs == changes.inputs and folders == watched:
            return False
        changes.inputs = inputs
        observer.unschedule_all()
        for folder, recursive in [(site, False), *((folder, True) for folder in folders)]:  # the site: site.yaml, the database, new folders
            try:
                observer.schedule(changes, str(folder), recursive=recursive)
            except OSError as exc:
                limit = f" ({WATCH_LIMIT})" if exc.errno == errno.ENOSPC else ""
                raise SonicgenError(f"cannot watch {folder}: {exc.strerror or exc}{limit}") from exc
        watched.clear()
        watched.update(folders)
        return True

    follow()
    observer.start()
    try:
        build()
        if ready is not None:
            ready()
        while True:
            pending.wait()
            pending.clear()
            while pending.wait(SETTLE):
                pending.clear()
            build()
            if follow():
                pending.set()  # a change made before a folder was watched is found by building again
    finally:
        observer.stop()
        observer.join()
