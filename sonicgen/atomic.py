"""Replacing a file so that readers see its old bytes or its new ones, never a part: for the
output's manifest and for content files saved through the files store alike."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path

NEW_FILE_MODE = 0o644


def write_atomically(path: Path, data: bytes | Iterable[bytes], *, durable: bool = False) -> os.stat_result:
    """Write ``data`` (or its pieces, in order) to ``path`` through a temporary file in the same
    folder and a rename; the file keeps its permissions (a new one gets ``0o644``).

    ``durable`` also flushes the data to disk before the rename and the rename before returning:
    right for a source of truth, wasted on output that the next build can write again.
    Returns the new file's stat; raises OSError with the temporary file removed.
    """
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = NEW_FILE_MODE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".sonicgen-", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(data, bytes):
                fh.write(data)
            else:
                fh.writelines(data)
            fh.flush()
            os.fchmod(fh.fileno(), mode)
            if durable:
                os.fsync(fh.fileno())
            written = os.fstat(fh.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        sync_folder(path.parent)
    return written


def sync_folder(folder: Path) -> None:
    """Make a rename or unlink in ``folder`` durable (best effort: not every file system allows it)."""
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
