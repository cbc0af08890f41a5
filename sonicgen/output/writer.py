"""Write a build's files so that readers only ever see a complete previous or new site.

Files are staged beside the output directory while the build runs; nothing in the output
changes until :meth:`OutputWriter.commit`, which moves each changed file into place with
an atomic rename, removes files that no longer belong, and writes the manifest last.
A failed build calls :meth:`abort` and the last good output stays as it was.

A first build stages the site's own tree and publishes it with one rename.  Later builds
stage files flat, under a name derived from their path: every folder made and removed
costs a filesystem block, which is most of a rebuild's writing time on a disk that
discards freed blocks (a template edit re-stages thousands of ``posts/x/index.html``).
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import secrets
import shutil
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import msgspec

from sonicgen.atomic import write_atomically
from sonicgen.lock import process_alive
from sonicgen.version import __version__

MANIFEST = ".sonicgen-manifest.json"
STAGING_PREFIX = ".sonicgen-staging-"
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
}


def content_type(path: str) -> str:
    suffix = Path(path).suffix.lower()
    return _TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"


class Record(msgspec.Struct, frozen=True, kw_only=True):
    """One file of the manifest (fields in the manifest's key order)."""

    cache: Literal["immutable", "revalidate"]  # decoded as two shared strings, not one per file
    sha256: str
    size: int
    type: str


MANIFEST_PIECE = 5000
"""Files per piece of the manifest as it is written."""


def manifest_text(records: Mapping[str, Record]) -> Iterator[bytes]:
    """The manifest, sorted by path and indented by one space per level, in pieces: at 200,000
    files the whole text and its indented copy would be held at once."""
    paths = sorted(records)
    yield b'{\n "files": {' if paths else b'{\n "files": {}'
    for start in range(0, len(paths), MANIFEST_PIECE):
        piece = msgspec.json.format(msgspec.json.encode({p: records[p] for p in paths[start : start + MANIFEST_PIECE]}), indent=1)
        # '{\n "path": {…}\n}' one level in: its lines go one space deeper
        yield (b",\n " if start else b"\n ") + piece[2:-2].replace(b"\n", b"\n ")
    yield (b"\n }" if paths else b"") + b',\n "generator": ' + msgspec.json.encode(f"sonicgen {__version__}") + b"\n}\n"


def manifest_stat(out_dir: Path) -> str:
    """The manifest's size and modification time: it changes whenever anything rewrites the manifest."""
    try:
        st = (out_dir / MANIFEST).stat()
    except OSError:
        return ""
    return f"{st.st_size}:{st.st_mtime_ns}"


class _Manifest(msgspec.Struct):
    files: dict[str, Record]


_manifest = msgspec.json.Decoder(_Manifest)


def read_manifest(out_dir: Path) -> dict[str, Record]:
    try:
        return _manifest.decode((out_dir / MANIFEST).read_bytes()).files
    except (OSError, msgspec.DecodeError):
        return {}


@dataclass
class CommitResult:
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    removed_paths: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Staging:
    """Where a build stages its files, and how: all a worker process needs to stage files too."""

    out_dir: Path
    folder: Path
    clean: bool  # compare with the output's bytes, not its manifest
    tree: bool  # a first build: files are staged at their own paths, and the folder becomes the output


class OutputWriter:
    """Collects a build's files in a staging folder and publishes them in one commit."""

    def __init__(self, staging: Staging) -> None:
        """A writer that stages into ``staging`` (made by :meth:`open`; a worker process joins it)."""
        self.out_dir = staging.out_dir
        self.clean = staging.clean
        self.staging = staging.folder
        self.tree = staging.tree
        self.previous = {} if staging.clean else read_manifest(staging.out_dir)
        self.records: dict[str, Record] = {}
        self.staged: list[str] = []

    @classmethod
    def open(cls, out_dir: Path, *, clean: bool = False) -> OutputWriter:
        """A writer with a new staging folder beside ``out_dir``, named after this process; the
        folders of builds whose process is gone are removed (a running build's never are)."""
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        for leftover in _abandoned(out_dir):
            shutil.rmtree(leftover, ignore_errors=True)
        # Made with the umask's permissions, not mkdtemp's 0700: a fresh output *is* this folder (see commit).
        folder = out_dir.parent / f"{STAGING_PREFIX}{out_dir.name}-{os.getpid()}-{secrets.token_hex(6)}"
        folder.mkdir()
        return cls(Staging(out_dir, folder, clean, not out_dir.exists()))

    @property
    def staging_spec(self) -> Staging:
        return Staging(self.out_dir, self.staging, self.clean, self.tree)

    def _staged(self, path: str) -> Path:
        """Where ``path`` is staged: at its own place in a first build, else flat (see the module doc)."""
        return self.staging / path if self.tree else self.staging / _flat_name(path)

    def add(self, path: str, data: bytes, *, type_: str | None = None, immutable: bool = False) -> None:
        """Stage ``data`` for ``path`` (relative, already checked to be inside the output)."""
        self.note(path, *self.stage(path, data, type_=type_, immutable=immutable))

    def stage(self, path: str, data: bytes, *, type_: str | None = None, immutable: bool = False) -> tuple[Record, bool]:
        """Write ``data`` into the staging folder unless the output already has it; change no state.

        Safe to call from worker processes: they stage files and hand back (record, staged)
        for the parent to :meth:`note`.
        """
        digest = hashlib.sha256(data).hexdigest()
        record = Record(sha256=digest, size=len(data), type=type_ or content_type(path), cache="immutable" if immutable else "revalidate")
        if self._published(path, digest, data):
            return record, False
        staged = self._staged(path)
        if self.tree:
            staged.parent.mkdir(parents=True, exist_ok=True)
        staged.write_bytes(data)
        return record, True

    def _published(self, path: str, digest: str, data: bytes) -> bool:
        """Whether the output already holds ``data`` at ``path``: by the manifest, or with --clean by its bytes."""
        target = self.out_dir / path
        if self.clean:
            try:
                st = target.lstat()
                return stat.S_ISREG(st.st_mode) and st.st_size == len(data) and target.read_bytes() == data
            except OSError:
                return False
        old = self.previous.get(path)
        return old is not None and old.sha256 == digest and _size(target) == len(data)

    def note(self, path: str, record: Record, staged: bool) -> None:
        """Record a staged (or unchanged) output, in the process that will commit."""
        self.records[path] = record
        if staged:
            self.staged.append(path)

    def commit(self) -> CommitResult:
        """Publish the staged files.  A first build renames its staging folder into place (one step);
        any other commit first writes its journal (what moves, what goes) durably, so that if it is
        interrupted, the next build finishes it (:func:`finish_interrupted`)."""
        result = CommitResult(written=len(self.staged), unchanged=len(self.records) - len(self.staged))
        if self.tree and not self.out_dir.exists() and len(self.staged) == len(self.records):
            write_atomically(self.staging / MANIFEST, manifest_text(self.records))
            self.staging.rename(self.out_dir)
        else:
            stale = self._stale()
            if self.staged or stale or self.records != self.previous or not (self.out_dir / MANIFEST).is_file():
                write_atomically(self.staging / MANIFEST, manifest_text(self.records))
            journal = Journal(out=str(self.out_dir), tree=self.tree, moves=self.staged, remove=stale)
            write_atomically(self.staging / JOURNAL, msgspec.json.encode(journal), durable=True)
            _replay(self.staging, journal)
            result.removed = len(stale)
            result.removed_paths = stale
        self.records, self.previous, self.staged = {}, {}, []  # in the manifest now; the build goes on to record its state
        return result

    def _stale(self) -> list[str]:
        if not self.clean:
            return sorted(p for p in self.previous if p not in self.records)
        present = (p.relative_to(self.out_dir).as_posix() for p in self.out_dir.rglob("*") if p.is_file() or p.is_symlink())
        return sorted(p for p in present if p not in self.records and p != MANIFEST)

    def abort(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


class Journal(msgspec.Struct, frozen=True):
    """A commit's plan, written into its staging folder before the first file moves."""

    out: str
    tree: bool  # files are staged at their own paths (else under :func:`_flat_name`)
    moves: list[str]
    remove: list[str]


JOURNAL = ".sonicgen-commit.json"


def finish_interrupted(out_dir: Path) -> int:
    """Finish the commits into ``out_dir`` that builds now gone began and did not end (roll
    forward: their journal says what was left to move); how many files that moved or removed.
    Call it holding the site's build lock, before anything reads the output."""
    done = 0
    for staging in _abandoned(out_dir):
        try:
            journal = msgspec.json.decode((staging / JOURNAL).read_bytes(), type=Journal)
        except FileNotFoundError:
            continue  # it had not begun to commit: the output is as the build before left it
        except msgspec.DecodeError:
            continue  # written through a temporary file: a damaged journal is not this writer's
        if Path(journal.out) == out_dir:
            done += _replay(staging, journal)
    return done


def _replay(staging: Path, journal: Journal) -> int:
    """Move what is still staged into place, remove what goes, the manifest last; how many files
    that moved or removed.  What an interrupted run of it did already, it does not do again."""
    out = Path(journal.out)
    done = 0
    made: set[str] = set()  # folders by name: a Path per folder of a large site costs much memory
    for path in journal.moves:
        source = staging / path if journal.tree else staging / _flat_name(path)
        if not os.path.lexists(source):
            continue  # moved before the commit was interrupted
        target = out / path
        folder = path.rpartition("/")[0]
        if folder not in made:
            _real_folder(out, folder)
            made.add(folder)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        source.replace(target)
        done += 1
    for path in journal.remove:
        target = out / path
        if target.is_symlink() or target.is_file():  # not a folder the moves made where a link stood
            target.unlink()
            done += 1
        _remove_empty_parents(target, out)
    if (staging / MANIFEST).is_file():
        (staging / MANIFEST).replace(out / MANIFEST)
    shutil.rmtree(staging, ignore_errors=True)
    return done


def _real_folder(out: Path, folder: str) -> None:
    """Make ``out/folder`` a folder of the output, replacing a symbolic link on the way by a real
    folder: the output is written into, never through a link to elsewhere."""
    current = out
    for part in folder.split("/") if folder else ():
        current = current / part
        if current.is_symlink():
            current.unlink()
        current.mkdir(exist_ok=True)


def _flat_name(path: str) -> str:
    return hashlib.blake2b(path.encode(), digest_size=16).hexdigest()


def _abandoned(out_dir: Path) -> list[Path]:
    """The staging folders beside ``out_dir`` whose build's process is gone."""
    found = []
    for folder in out_dir.parent.glob(f"{STAGING_PREFIX}{out_dir.name}-*"):
        owner = _owner(folder.name[len(STAGING_PREFIX) + len(out_dir.name) + 1 :])
        if owner is None or not process_alive(owner):
            found.append(folder)
    return found


def _owner(suffix: str) -> int | None:
    """The process id a staging folder's name carries (``<pid>-<random>``); None in a name from
    before names carried one."""
    pid, _, rest = suffix.partition("-")
    return int(pid) if pid.isdigit() and rest else None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def _remove_empty_parents(path: Path, stop: Path) -> None:
    parent = path.parent
    while parent != stop and parent.is_relative_to(stop):
        try:
            parent.rmdir()
        except OSError:
            return
        parent = parent.parent
