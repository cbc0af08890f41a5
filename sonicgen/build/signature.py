"""Did anything change since the last good build?  One stat of every input answers the common "no".

The *signature* hashes the name, size and modification time of every file a build can read
(site.yaml, content, data, static files, templates, the theme, local plugins, the content
database).  A build whose signature, settings and clock all match what the last good build
recorded has nothing to do; otherwise each file's stat tells which files changed
(:mod:`sonicgen.build.changes`).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sonicgen.config import Config
from sonicgen.content.models import Entry, content_hash
from sonicgen.render.theme import theme_dir
from sonicgen.sources import RACY_NS
from sonicgen.walk import Links, files


@dataclass(frozen=True)
class Signature:
    digest: str
    files: dict[str, tuple[int, int]]  # path -> (size, mtime in ns)
    racy: dict[str, str | None]  # files changed too recently to trust their stat -> their content hash then (None: unreadable)


def _stats(root: Path, links: Links) -> Iterator[tuple[str, os.stat_result]]:
    """``(path, stat)`` of ``root`` or of every file under it, in a stable order; nothing if it does
    not exist.  A symbolic link that leads out of the site stops the build here, before anything reads it."""
    for path in files(root, links):
        try:
            yield path, os.stat(path)  # noqa: PTH116
        except FileNotFoundError:
            continue  # gone since the folder was listed


def input_roots(config: Config) -> list[Path]:
    site = config.site
    dirs = [config.content_dir, config.dir(site.data_dir), config.dir(site.static_dir), config.dir(site.templates_dir)]
    dirs += [config.dir(site.plugins_dir), theme_dir(config)]
    files = [config.path, config.dir(site.content_db), config.dir(site.content_db + "-wal")]
    return sorted({p for p in dirs if not any(p.is_relative_to(d) and p != d for d in dirs)} | set(files))


def input_signature(config: Config) -> Signature:
    """Stat every input; the digest changes whenever any of them does (or one appears or goes),
    and each file's stat tells which changed since an earlier signature.

    A file changed so recently that another change could hide in the same timestamp is also
    hashed, now, before the build reads it: a later build compares its content with that hash.
    Any change after this moment shows (the build read the file at this moment or later).
    """
    started = time.time_ns()
    stats = {path: (st.st_size, st.st_mtime_ns) for root in input_roots(config) for path, st in _stats(root, config.links)}
    racy = {path: content_of(path) for path, (_, mtime) in stats.items() if mtime >= started - RACY_NS}
    return Signature(_digest(stats.items()), stats, racy)


def content_of(path: str) -> str | None:
    """The file's content hash now; None when it cannot be read."""
    try:
        return content_hash(Path(path).read_bytes())
    except OSError:
        return None


def _digest(stats: Iterable[tuple[str, tuple[int, int]]]) -> str:
    hasher = hashlib.blake2b(digest_size=16)
    for path, (size, mtime) in stats:
        hasher.update(f"{path}\0{size}\0{mtime}\n".encode("utf-8", "surrogateescape"))
    return hasher.hexdigest()


def is_due(scheduled: str | None, now: datetime) -> bool:
    """Whether the time a build recorded as ``next_change`` has come; a value that is not a time counts as come."""
    if not scheduled:
        return False
    try:
        return datetime.fromisoformat(scheduled) <= now
    except (ValueError, TypeError):
        return True


def next_change(entries: Iterable[Entry], now: datetime, *, future: bool) -> str:
    """When the clock alone will change what is published (a scheduled post, an expiry), ISO 8601; "" if never."""
    moments = [e.expires for e in entries if e.expires is not None and e.expires > now]
    if not future:
        moments += [e.date for e in entries if e.date is not None and e.date > now]
    return min(moments).isoformat() if moments else ""
