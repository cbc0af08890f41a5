"""The files under a folder of the site, with one rule for symbolic links.

A link to a file or folder inside the site is followed like the file or folder itself; a link
that leads out of the site is refused (the build stops and names it), unless the site allows
links out (``follow_symlinks: true`` in site.yaml): nothing outside the site is read into it
unless its author asked for that.  A folder reached twice through links is walked once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from sonicgen.errors import SonicgenError


class LinkOutOfSite(SonicgenError):
    """A symbolic link in the site that leads out of it, which the site does not allow."""


class Links(NamedTuple):
    """How a site treats symbolic links: ``root`` is its folder."""

    root: Path
    out_allowed: bool = False

    def check(self, path: str) -> str:
        """The real path of ``path`` (a link, or a file under a linked folder); raises
        :class:`LinkOutOfSite` when it leads out of the site and that is not allowed."""
        real = os.path.realpath(path)
        if not self.out_allowed:
            root = os.path.realpath(self.root)
            if real != root and not real.startswith(root + os.sep):
                shown = os.path.relpath(path, self.root) if path.startswith(str(self.root)) else path
                raise LinkOutOfSite(
                    f"{shown}: a symbolic link to {real}, outside the site; put the file itself in the site, "
                    "or allow links out of the site with `follow_symlinks: true` in site.yaml"
                )
        return real


def files(directory: Path, links: Links, skip: Callable[[str], bool] = lambda name: False) -> Iterator[str]:
    """The files under ``directory`` (a file's own path when it is one), each folder's files in name
    order before its subfolders, leaving out the names ``skip`` says (and what is under them)."""
    try:
        if not directory.is_dir():
            if directory.exists():
                if directory.is_symlink():
                    links.check(str(directory))
                yield str(directory)
            return
    except OSError:
        return
    yield from _files(str(directory), links, skip, {os.path.realpath(directory)})


def _files(folder: str, links: Links, skip: Callable[[str], bool], seen: set[str]) -> Iterator[str]:
    try:
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
    except (FileNotFoundError, NotADirectoryError):
        return
    folders = []
    for entry in entries:
        if skip(entry.name):
            continue
        if entry.is_symlink():
            real = links.check(entry.path)
            if Path(real).is_dir():
                if real not in seen:
                    seen.add(real)
                    folders.append(entry.path)
            elif Path(real).exists():
                yield entry.path
        elif entry.is_dir(follow_symlinks=False):
            folders.append(entry.path)
        else:
            yield entry.path
    for sub in folders:
        yield from _files(sub, links, skip, seen)
