"""One build at a time per site: an OS lock on a file in the site's build state folder.

``flock(2)`` is released by the kernel when its holder's file is closed or its process ends,
however it ends (``kill -9`` included): a lock never outlives its build and nothing is left to
clean up.  It is held by an open file, not by a process, so two threads of one server that each
take it wait for each other as two processes do.  The holder writes its process id into the file
for the message a waiting build prints.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

from sonicgen.errors import SonicgenError

LOCK_FILE = "build.lock"


class SiteBusy(SonicgenError):
    """Another build of the site holds its lock, and this one was asked not to wait."""


class SiteLock:
    """The build lock of the site whose build state lives in ``state_dir``."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self, *, wait: bool = True, waiting: Callable[[str], None] = lambda message: None) -> None:
        """Take the lock; while another build holds it, tell ``waiting`` once and wait (or, without
        ``wait``, raise :class:`SiteBusy` at once)."""
        if self._fd is not None:
            raise RuntimeError("this lock is held already")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(fd)
                if not wait:
                    raise SiteBusy(f"{self.path}: {holder} is building this site; wait for it, or build without --no-wait") from None
                waiting(f"waiting for {holder} to finish building this site ({self.path})")
                fcntl.flock(fd, fcntl.LOCK_EX)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # releases the lock


def _holder(fd: int) -> str:
    """Who holds the lock, as its file says (a process that just took it may not have written it yet)."""
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return f"process {text}" if text.isdigit() else "another process"


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (as anything but a zombie waiting to be reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: kill said it exists
    return status.rpartition(")")[2].split()[0] != "Z"
