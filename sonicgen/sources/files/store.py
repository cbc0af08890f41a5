"""The flat-file store: entries are Markdown files under ``content/<collection>/``.

Reading goes through :func:`sonicgen.sources.files.reader.read_entry`, the code the build uses, so
the store and the build never disagree about a file.  An index (path → stat, entry), built
on first use and refreshed by stat, spares ``get`` from re-reading every file; a file whose
mtime is too recent to trust is read again.  A version is the sha256 of the file's bytes.

Writes hold an exclusive lock (a thread lock plus ``flock`` on ``.sonicgen/files.lock``)
from the version check until the change is recorded, so two writers in any processes cannot
both pass the check; the file is replaced atomically, and an existing file keeps its format,
comments and unknown keys (:mod:`sonicgen.sources.files.rewrite`).  New entries go to
``<collection dir>/<entry.path>/<slug>.md``; an existing entry stays in its file whatever
``entry.path`` says.

Bundles (``post/index.md``) are read, updated and deleted like other entries.  Deleting one
removes ``index.md`` only (and the folder, if nothing else is left in it): the other files
are the author's, and the store never deletes what it cannot restore.
"""

from __future__ import annotations

import builtins
import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from dataclasses import fields as dataclass_fields
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import msgspec

from sonicgen.atomic import sync_folder, write_atomically
from sonicgen.config import Config
from sonicgen.config.schema import CollectionConfig
from sonicgen.content.fields import aware, validate_fields
from sonicgen.content.models import BodyUnavailable, Entry, Pickled, content_hash
from sonicgen.content.urls import is_slug, slugify
from sonicgen.errors import Problem, Problems
from sonicgen.parallel import slices
from sonicgen.sources.base import (
    ANY,
    RACY_NS,
    Change,
    Conflict,
    Listing,
    NotFound,
    Parallel,
    Query,
    SourceMemory,
    Stored,
    StoreError,
    collection_config,
)
from sonicgen.sources.files.changelog import ChangeLog, Pending, Snapshot
from sonicgen.sources.files.reader import (
    bundle_files,
    collection_dir,
    content_file_names,
    content_files,
    defer_body,
    is_bundle,
    path_slug,
    read_entry,
    relative,
)
from sonicgen.sources.files.remembered import RECORD_FORMAT, Unrememberable, decode, encode
from sonicgen.sources.query import run_query
from sonicgen.version import __version__

STATE_DIR = ".sonicgen"
LOCK_FILE = "files.lock"
CHANGES_DB = "changes.db"


def _rewrite() -> ModuleType:
    """The front-matter rewriter, imported on first write: ruamel.yaml and tomlkit cost every build time it does not need."""
    from sonicgen.sources.files import rewrite

    return rewrite


DEFAULT_QUERY = Query()

PARALLEL_READS = 3000
"""Below this many files to read, forking workers costs more than reading in one process."""


def _racy(mtime_ns: int, checked_ns: int) -> bool:
    return mtime_ns >= checked_ns - RACY_NS


@dataclass(frozen=True, slots=True)
class _File(Pickled):
    """One content file as last read (``path`` as text: a large site holds thousands): its stat,
    bundle listing, version, the slug it claims (its name's when it is invalid), and the entry
    or the problems that stopped it."""

    path: str
    size: int
    mtime_ns: int
    bundle: tuple[str, ...]
    read_ns: int
    version: str
    slug: str
    entry: Entry | None
    problems: tuple[Problem, ...]

    def same_stat(self, st: os.stat_result, bundle: tuple[str, ...]) -> bool:
        return (self.size, self.mtime_ns, self.bundle) == (st.st_size, st.st_mtime_ns, bundle)

    def unchanged(self, st: os.stat_result, bundle: tuple[str, ...]) -> bool:
        return self.same_stat(st, bundle) and not _racy(st.st_mtime_ns, self.read_ns)


@dataclass
class _Index:
    """The files of one collection in build order, and which file holds each slug (the first, as in a build)."""

    files: dict[str, _File]
    slugs: dict[str, _File]

    @classmethod
    def of(cls, files: dict[str, _File]) -> _Index:
        slugs: dict[str, _File] = {}
        for file in files.values():
            slugs.setdefault(file.slug, file)
        return cls(files, slugs)

    def put(self, file: _File) -> None:
        self.files[file.path] = file
        holder = self.slugs.get(file.slug)
        if holder is None or holder.path == file.path:
            self.slugs[file.slug] = file


def _own(entry: Entry) -> Entry:
    """A caller's copy with its body read now (builds leave bodies on disk): it stays the entry
    of the version handed out with it, whatever happens to the file later."""
    try:
        return replace(entry, body=entry.load_body())
    except BodyUnavailable as exc:
        raise StoreError(str(exc)) from None


class FilesStore:
    """The Store of every collection whose source is ``files`` (safe to share between threads)."""

    def __init__(self, config: Config, parallel: Callable[[], Parallel | None] | None = None) -> None:
        self.config = config
        self.parallel = parallel  # starts the workers that read many files no earlier process remembered (see _refresh)
        self._state = config.root / STATE_DIR
        self._mutex = threading.RLock()
        self._indexes: dict[str, _Index] = {}
        self._recalled: dict[str, dict[str, _File]] = {}
        self._changelog: ChangeLog | None = None

    # Reading for a build ----------------------------------------------------------------------

    def entries(self, collection: str, problems: Problems, memory: SourceMemory | None = None) -> Iterator[Entry]:
        """Every entry of ``collection``; with ``memory``, a file whose stat did not change since the
        build that kept it is not read again, and what this build read is kept for the next."""
        reading = self._reading(collection)
        if memory is not None:
            self._recall(collection, memory.recalled_sources(collection, reading))
        with self._mutex:
            files = builtins.list(self._refresh(collection).files.values())
        if memory is not None:
            memory.keep_sources(collection, reading, *self._news(collection))
        for file in files:
            problems.extend(file.problems)
        return iter([file.entry for file in files if file.entry is not None])

    def _reading(self, collection: str) -> str:
        """How a file of ``collection`` becomes a record: the records' format, sonicgen's version, the
        time zone and the collection's settings; records made otherwise are read again."""
        spec = msgspec.json.encode(self._spec(collection)).decode()
        text = f"{RECORD_FORMAT}\n{__version__}\n{self.config.site.timezone}\n{spec}"
        return hashlib.sha256(text.encode()).hexdigest()

    def _recall(self, collection: str, records: Iterable[bytes]) -> None:
        """Start from files a previous process read (see :mod:`sonicgen.sources.files.remembered`).
        Damaged records are ignored."""
        files: dict[str, _File] = {}
        for data in records:
            try:
                file = _File(*decode(data))
            except (msgspec.DecodeError, ValueError, TypeError):
                continue
            files[file.path] = file
        with self._mutex:
            self._indexes[collection] = _Index.of(files)
            self._recalled[collection] = dict(files)

    def _news(self, collection: str) -> tuple[Iterator[tuple[str, bytes]], list[str]]:
        """Records of the files read since :meth:`_recall` (path, record; encoded as they are
        consumed) and the paths that are gone."""
        with self._mutex:
            index = self._indexes.get(collection)
            before = self._recalled.get(collection, {})
            now = dict(index.files) if index is not None else {}
        gone = [path for path in before if path not in now]
        return self._encoded(file for path, file in now.items() if before.get(path) is not file), gone

    @staticmethod
    def _encoded(files: Iterable[_File]) -> Iterator[tuple[str, bytes]]:
        for file in files:
            try:
                yield file.path, encode(tuple(getattr(file, f.name) for f in dataclass_fields(file)))
            except Unrememberable:
                continue

    def list(self, collection: str, query: Query = DEFAULT_QUERY, problems: Problems | None = None) -> Listing:
        spec = self._spec(collection)
        with self._mutex:
            index = self._refresh(collection)
            holders = builtins.list(index.slugs.values())
        if problems is not None:
            for file in index.files.values():
                problems.extend(file.problems)
        listing = run_query((Stored(f.entry, f.version) for f in holders if f.entry is not None), spec, query)
        return replace(listing, items=[Stored(_own(stored.entry), stored.version) for stored in listing.items])

    def get(self, collection: str, slug: str) -> Stored:
        self._spec(collection)
        with self._mutex:
            found = self._lookup(collection, slug)
        if found is None:
            raise NotFound(f"no entry {slug!r} in collection {collection!r}")
        if found.entry is None:
            raise StoreError(_unreadable(found))
        return Stored(_own(found.entry), found.version)

    # Writing ---------------------------------------------------------------------------------

    def save(self, entry: Entry, *, expected: str | None = ANY) -> Stored:
        """Create or update ``entry``; see :class:`~sonicgen.sources.base.Store`.  The body's line
        endings are normalised to ``\\n`` (an existing file keeps its own on disk)."""
        spec = self._spec(entry.collection)
        if not isinstance(entry.slug, str) or not is_slug(entry.slug):
            example = slugify(str(entry.slug)) or "my-entry"
            raise StoreError(f"{entry.slug!r} is not a URL-safe slug; use lowercase letters, digits and '-' (e.g. {example!r})")
        body = entry.load_body().replace("\r\n", "\n").replace("\r", "\n")
        with self._exclusive():
            found = self._lookup(entry.collection, entry.slug)
            current = self._read(Path(found.path)) if found is not None else None
            path = Path(found.path) if found is not None and current is not None else self._new_path(entry, spec)
            rel = relative(path, self.config.root)
            fields, extra = self._validate(entry, spec, rel)
            _check(expected, content_hash(current) if current is not None else None, entry.collection, entry.slug)
            if current is None and path.exists():
                raise StoreError(f"{rel}: a file is already there and holds another entry; choose another slug or path")
            try:
                raw = _rewrite().front_matter(current) if current is not None else {}
                before = read_entry(self.config, entry.collection, spec, path, Problems(), data=current) if current is not None else None
                data = _rewrite().render(current, self._front(entry, spec, fields, extra, raw, before), body)
            except _rewrite().RewriteError as exc:
                raise StoreError(f"{rel}: {exc}") from None
            saved, problems = self._verify(entry, spec, path, data, fields, extra, body)
            log = self._log()  # opened before writing, so a database that cannot be opened changes nothing
            started = time.time_ns()
            try:
                written = write_atomically(path, data, durable=True)
            except OSError as exc:
                raise StoreError(f"{rel}: cannot write: {exc.strerror or exc}; the file was left as it was") from None
            size, mtime, version = written.st_size, written.st_mtime_ns, saved.content_hash
            self._put(entry.collection, _File(str(path), size, mtime, saved.bundle_files, started, version, saved.slug, saved, problems))
            snapshot = Snapshot(entry.collection, rel, saved.slug, size, mtime, version, started)
            log.apply([Pending(entry.collection, saved.slug, "save", version)], upserts=[snapshot])
        return Stored(saved, version)

    def delete(self, collection: str, slug: str, *, expected: str | None = ANY) -> None:
        """Remove the entry's file (a bundle's ``index.md`` only; see the module docstring)."""
        spec = self._spec(collection)
        with self._exclusive():
            found = self._lookup(collection, slug)
            where = Path(found.path) if found is not None else None
            current = self._read(where) if where is not None else None
            if found is None or where is None or current is None:
                raise NotFound(f"no entry {slug!r} in collection {collection!r}")
            _check(expected, content_hash(current), collection, slug)
            rel = relative(where, self.config.root)
            log = self._log()
            try:
                where.unlink()
            except OSError as exc:
                raise StoreError(f"{rel}: cannot delete: {exc.strerror}; nothing was changed") from None
            sync_folder(where.parent)
            if is_bundle(where, collection_dir(self.config, collection, spec)):
                with suppress(OSError):
                    where.parent.rmdir()  # only succeeds when nothing else is left
            index = self._indexes[collection]
            del index.files[found.path]
            self._indexes[collection] = index = _Index.of(index.files)
            other = index.slugs.get(slug)  # a duplicate that the build will now use
            change = Pending(collection, slug, "save", other.version) if other is not None else Pending(collection, slug, "delete", None)
            log.apply([change], removals=[(collection, rel)])

    # Change feed -----------------------------------------------------------------------------

    def changes(self, since: int = 0) -> builtins.list[Change]:
        """Changes after ``since``, once edits made outside the store are recorded; the first scan
        of a site records each file already there as a save."""
        with self._exclusive():
            log = self._log()
            self._scan(log)
            return log.since(since)

    def close(self) -> None:
        with self._mutex:
            if self._changelog is not None:
                self._changelog.close()
                self._changelog = None

    # Internals -------------------------------------------------------------------------------

    def _spec(self, collection: str) -> CollectionConfig:
        spec = collection_config(self.config, collection)
        if spec.source != "files":
            raise StoreError(f"collection {collection!r} is stored in {spec.source}, not in files; use open_store() to reach it")
        return spec

    def _file(self, collection: str, spec: CollectionConfig, directory: Path, name: str, known: _File | None) -> _File | None:
        return _read_file(self.config, collection, spec, directory, name, known)

    def _refresh(self, collection: str) -> _Index:
        spec = self._spec(collection)
        old = self._indexes.get(collection)
        directory = collection_dir(self.config, collection, spec)
        names = builtins.list(content_file_names(directory, self.config.links))
        known = [old.files.get(name) if old is not None else None for name in names]
        unknown = [n for n, file in enumerate(known) if file is None]
        got: dict[int, _File | None] = {}
        pool = self.parallel() if self.parallel is not None and len(unknown) >= PARALLEL_READS else None
        if pool is not None:
            # Only files never read before go to workers: a known file costs one stat, less than sending it back.
            parts = slices(len(unknown), pool.size)
            tasks = [(collection, [names[unknown[k]] for k in part]) for part in parts]
            for part, fresh in pool.map(read_files, tasks):
                got.update(zip([unknown[k] for k in parts[part]], fresh, strict=True))
        files: dict[str, _File] = {}
        for n, name in enumerate(names):
            file = got[n] if n in got else self._file(collection, spec, directory, name, known[n])
            if file is not None:
                files[name] = file
        self._indexes[collection] = index = _Index.of(files)
        return index

    def _lookup(self, collection: str, slug: str) -> _File | None:
        """The file holding ``slug``: one stat when the index knows it and it still holds it, else a rescan."""
        index = self._indexes.get(collection)
        known = index.slugs.get(slug) if index is not None else None
        if known is not None:
            spec = self._spec(collection)
            file = self._file(collection, spec, collection_dir(self.config, collection, spec), known.path, known)
            if file is not None and file.slug == slug:
                self._put(collection, file)
                return file
        return self._refresh(collection).slugs.get(slug)

    def _put(self, collection: str, file: _File) -> None:
        index = self._indexes.get(collection)
        if index is not None:
            index.put(file)

    def _read(self, path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"{relative(path, self.config.root)}: cannot read: {exc.strerror}") from None

    def _new_path(self, entry: Entry, spec: CollectionConfig) -> Path:
        """Where a new entry's file goes (``entry.path`` under the collection's folder), refusing unsafe folder names."""
        parts = [part for part in entry.path.split("/") if part] if entry.path else []
        unsafe = [part for part in parts if not is_slug(part)]
        if unsafe:
            raise StoreError(f"path {entry.path!r}: folder {unsafe[0]!r} is not URL-safe; use lowercase letters, digits and '-'")
        if entry.slug == "index" and parts:
            raise StoreError("slug 'index' inside a folder would turn the folder into a bundle; choose another slug")
        return collection_dir(self.config, entry.collection, spec).joinpath(*parts, f"{entry.slug}.md")

    @staticmethod
    def _validate(entry: Entry, spec: CollectionConfig, source: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Schema fields (normalised, defaults applied) and the extra keys to keep, or StoreError naming each bad field.

        Keys of ``entry.fields`` the schema does not know are kept as extra keys; system keys
        (slug, template, draft, expires) come from the Entry's attributes, not from ``extra``.
        """
        system = {"slug", "template", spec.draft_field, spec.expires_field} - set(spec.fields)
        extra = {k: v for k, v in [*entry.extra.items(), *entry.fields.items()] if k not in spec.fields and k not in system}
        raw = {**extra, **{k: v for k, v in entry.fields.items() if k in spec.fields and v is not None}}
        problems = Problems()
        fields, _ = validate_fields(raw, spec, source=source, line_of=lambda _: None, problems=problems)
        if entry.template is not None and not isinstance(entry.template, str):
            problems.error(source, "must be a template file name", field="template")
        if problems.errors:
            raise StoreError("; ".join(str(p) for p in problems.errors))
        return fields, extra

    def _front(
        self,
        entry: Entry,
        spec: CollectionConfig,
        fields: dict[str, Any],
        extra: dict[str, Any],
        raw: dict[str, Any],
        current: Entry | None,
    ) -> dict[str, Any]:
        """The front matter to write: values that read the same as the file's current ones keep
        their current text (a date written as text, an omitted default), the rest are new."""
        front: dict[str, Any] = {}
        same = _rewrite().same

        def put(key: str, value: Any, unchanged: bool, omit: bool) -> None:
            if unchanged:
                if key in raw:
                    front[key] = raw[key]
            elif not omit:
                front[key] = value

        for name in spec.fields:
            put(
                name,
                fields[name],
                current is not None and same(current.fields.get(name), fields[name]),
                entry.fields.get(name) is None,
            )
        if "slug" in raw:
            front["slug"] = raw["slug"]  # the file was found by this slug: it stays
        put("template", entry.template, current is not None and current.template == entry.template, entry.template is None)
        if spec.draft_field not in spec.fields:
            put(spec.draft_field, entry.draft, current is not None and current.draft == entry.draft, not entry.draft)
        if spec.expires_field not in spec.fields:
            expires = self._expires(entry)
            put(spec.expires_field, expires, current is not None and same(current.expires, expires), expires is None)
        front.update(extra)
        return front

    def _expires(self, entry: Entry) -> Any:
        return aware(entry.expires, ZoneInfo(self.config.site.timezone))

    def _verify(
        self, entry: Entry, spec: CollectionConfig, path: Path, data: bytes, fields: dict[str, Any], extra: dict[str, Any], body: str
    ) -> tuple[Entry, tuple[Problem, ...]]:
        """Read the new bytes back as the build will and insist they hold exactly what was saved."""
        problems = Problems()
        saved = read_entry(self.config, entry.collection, spec, path, problems, data=data)
        if saved is None:
            raise StoreError("; ".join(str(p) for p in problems.errors))
        wanted: dict[str, tuple[Any, Any]] = {
            "slug": (saved.slug, entry.slug),
            "fields": (dict(saved.fields), fields),
            "extra keys": (dict(saved.extra), extra),
            "body": (saved.body, body),
            "template": (saved.template, entry.template),
        }
        if spec.draft_field not in spec.fields:
            wanted[spec.draft_field] = (saved.draft, entry.draft)
        if spec.expires_field not in spec.fields:
            wanted[spec.expires_field] = (saved.expires, self._expires(entry))
        for what, (got, meant) in wanted.items():
            if not _rewrite().same(got, meant):
                raise StoreError(
                    f"{relative(path, self.config.root)}: the {what} would not read back as saved ({got!r} instead of {meant!r}); "
                    "nothing was written"
                )
        return saved, tuple(problems.items)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Hold the store's write lock: across threads (the mutex) and processes (flock)."""
        with self._mutex:
            self._state.mkdir(parents=True, exist_ok=True)
            with (self._state / LOCK_FILE).open("ab") as lock:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
                yield  # closing the file releases the lock

    def _log(self) -> ChangeLog:
        if self._changelog is None:
            self._changelog = ChangeLog(self._state / CHANGES_DB, f"{STATE_DIR}/{CHANGES_DB}")
        return self._changelog

    def _scan(self, log: ChangeLog) -> None:
        """Record as changes the files created, edited or deleted since the last scan or write."""
        known = log.snapshots()
        found: dict[tuple[str, str], Snapshot] = {}
        touched: dict[tuple[str, str], None] = {}
        for name, spec in self.config.site.collections.items():
            if spec.source != "files":
                continue
            directory = collection_dir(self.config, name, spec)
            for path in content_files(directory, self.config.links):
                rel = relative(path, self.config.root)
                old = known.get((name, rel))
                snapshot = self._snapshot(name, spec, path, rel, old)
                if snapshot is None:
                    continue
                found[(name, rel)] = snapshot
                if old is None or (old.hash, old.slug) != (snapshot.hash, snapshot.slug):
                    touched[(name, snapshot.slug)] = None
                    if old is not None:
                        touched[(name, old.slug)] = None
        removals = [key for key in known if key not in found]
        for name, rel in removals:
            touched[(name, known[(name, rel)].slug)] = None
        holders: dict[tuple[str, str], str] = {}
        for snapshot in found.values():
            holders.setdefault((snapshot.collection, snapshot.slug), snapshot.hash)
        pending = [
            Pending(name, slug, "save", holders[(name, slug)], only_if_new=True)
            if (name, slug) in holders
            else Pending(name, slug, "delete", None, only_if_new=True)
            for name, slug in touched
        ]
        upserts = [snapshot for key, snapshot in found.items() if snapshot is not known.get(key)]
        if pending or upserts or removals:
            log.apply(pending, upserts, removals)

    def _snapshot(self, collection: str, spec: CollectionConfig, path: Path, rel: str, old: Snapshot | None) -> Snapshot | None:
        """The file's snapshot: ``old`` when stat shows no change, else hashed (and parsed for its slug if the bytes changed)."""
        started = time.time_ns()
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        if old is not None and (old.size, old.mtime_ns) == (st.st_size, st.st_mtime_ns) and not _racy(st.st_mtime_ns, old.checked_ns):
            return old
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError:
            return old  # unreadable for now: neither a change nor a deletion
        version = content_hash(data)
        if old is not None and old.hash == version:
            slug = old.slug
        else:
            entry = read_entry(self.config, collection, spec, path, Problems(), data=data)
            slug = entry.slug if entry is not None else path_slug(path, collection_dir(self.config, collection, spec))
        return Snapshot(collection, rel, slug, st.st_size, st.st_mtime_ns, version, started)


def _read_file(config: Config, collection: str, spec: CollectionConfig, directory: Path, name: str, known: _File | None) -> _File | None:
    """``known`` if the file ``name`` did not change, else the file read again (None: it is gone)."""
    started = time.time_ns()
    try:
        st = os.stat(name)  # noqa: PTH116 - a Path is made only for a file read again, or a bundle's listing
    except FileNotFoundError:
        return None
    maybe_bundle = os.path.basename(name).startswith("index.")  # noqa: PTH119 - only index files can be bundles
    bundle = bundle_files(Path(name), directory, config.links) if maybe_bundle else ()
    if known is not None and known.unchanged(st, bundle):
        return known
    path = Path(name)
    data: bytes | None
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError:
        data = None  # read_entry tries again and reports why it cannot
    if known is not None and data is not None and known.same_stat(st, bundle) and content_hash(data) == known.version:
        return known  # only too recent to trust by stat, and the bytes prove it unchanged: no need to parse
    problems = Problems()
    entry = read_entry(config, collection, spec, path, problems, data=data)
    if entry is not None:
        entry = defer_body(entry, path)  # bodies stay on disk until something needs one
    version = entry.content_hash if entry is not None else content_hash(data) if data is not None else ""
    slug = entry.slug if entry is not None else path_slug(path, directory)
    return _File(name, st.st_size, st.st_mtime_ns, bundle, started, version, slug, entry, tuple(problems.items))


class HasConfig(Protocol):
    config: Config


def read_files(worker: HasConfig, part: tuple[str, list[str]]) -> list[_File | None]:
    """A worker's task: the files ``part`` names (a collection and file names) read anew."""
    collection, names = part
    config = worker.config
    spec = collection_config(config, collection)
    directory = collection_dir(config, collection, spec)
    return [_read_file(config, collection, spec, directory, name, None) for name in names]


def _check(expected: str | None, version: str | None, collection: str, slug: str) -> None:
    """Optimistic concurrency: ``expected`` is ANY, None (must not exist) or the version the writer read."""
    what = f"{collection}/{slug}"
    if expected is ANY:
        return
    if expected is None:
        if version is not None:
            raise Conflict(f"{what} already exists; read it and save with its version to update it", version)
    elif version is None:
        raise NotFound(f"{what} does not exist (any more); save with expected=None to create it")
    elif expected != version:
        raise Conflict(f"{what} changed since version {expected}; read it again and reapply the change", version)


def _unreadable(file: _File) -> str:
    return "; ".join(str(p) for p in file.problems if p.is_error)
