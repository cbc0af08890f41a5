"""The SQLite store: the entries of every ``source: sqlite`` collection, in one content.db.

A row becomes an Entry through the same checks a Markdown file's front matter goes through
(:func:`~sonicgen.content.fields.validate_fields`, the system keys, dates made aware in the
site's time zone), so both sources give identical Entries for identical content.  Every
write is one ``BEGIN IMMEDIATE`` transaction that checks the expected version, writes the
row and appends to ``_changes``; the ``seq`` of that change is the entry's new version.
The table layout and its migrations are in :mod:`sonicgen.sources.sqlite.schema`.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from sonicgen.config import CollectionConfig, Config, FieldSpec
from sonicgen.content.fields import FieldError, aware, check_value, validate_fields
from sonicgen.content.models import BodyUnavailable, Entry, SourceRef, StoredBody
from sonicgen.content.urls import is_slug, slugify
from sonicgen.db.connect import retry_busy, write_transaction
from sonicgen.errors import Problems
from sonicgen.sources.base import ANY, Change, Conflict, Listing, NotFound, Query, SourceMemory, Stored, StoreError
from sonicgen.sources.query import run_query
from sonicgen.sources.sqlite.schema import connect, decode, encode, ensure_schema, q, sqlite_collections, type_key

_BOOKKEEPING = ("_id", "_version", "_created", "_updated")
_DATETIME = FieldSpec(type="datetime")
_BOOLEAN = FieldSpec(type="boolean")
_SYSTEM = ("body", "_path", "_extra", "_template", "_draft", "_expires")
_EVERYTHING = Query()


def dump_extra(extra: Mapping[str, Any]) -> str:
    """Unknown keys as JSON, losslessly: dates and datetimes are tagged (``{"$date": ...}``), and a
    mapping that could be mistaken for a tag is wrapped in ``{"$dict": ...}``."""

    def tag(value: Any, where: str) -> Any:
        if isinstance(value, datetime):
            return {"$datetime": value.isoformat()}
        if isinstance(value, date):
            return {"$date": value.isoformat()}
        if isinstance(value, Mapping):
            bad = next((k for k in value if not isinstance(k, str)), None)
            if bad is not None:
                raise ValueError(f"{where}: keys must be text, got {bad!r}")
            out = {k: tag(v, f"{where}.{k}") for k, v in value.items()}
            return {"$dict": out} if len(out) == 1 and next(iter(out)).startswith("$") else out
        if isinstance(value, (list, tuple)):
            return [tag(v, f"{where}[{n}]") for n, v in enumerate(value)]
        if value is None or isinstance(value, (str, int, float)):
            return value
        raise ValueError(f"{where}: cannot store a {type(value).__name__} value")

    return json.dumps({k: tag(v, k) for k, v in extra.items()}, ensure_ascii=False)


def load_extra(text: str) -> dict[str, Any]:
    """The inverse of :func:`dump_extra`; raises ValueError (or TypeError) for text it did not write."""

    def untag(value: Any) -> Any:
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, inner),) = value.items()
                if key == "$date":
                    return date.fromisoformat(inner)
                if key == "$datetime":
                    return datetime.fromisoformat(inner)
                if key == "$dict":
                    return {k: untag(v) for k, v in inner.items()}
            return {k: untag(v) for k, v in value.items()}
        if isinstance(value, list):
            return [untag(v) for v in value]
        return value

    value = untag(json.loads(text))
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value


def _digest(columns: Mapping[str, Any]) -> str:
    """What a row holds (slug, fields, body, system columns; not its id, version or times), the same for
    a row as read and the values written into it: NULLs are left out (a field added since changes
    nothing) and whole REALs count as integers (a REAL column gives 3 back as 3.0)."""
    held = {
        name: int(value) if isinstance(value, float) and value.is_integer() else value
        for name, value in columns.items()
        if value is not None and name not in _BOOKKEEPING
    }
    return hashlib.sha256(json.dumps(held, sort_keys=True, ensure_ascii=False, default=repr).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class RowState:
    """One row as an import or export sees it: where it is (for messages), its version, what it holds
    now, and what it held when the last import or export wrote or read it (None: none did)."""

    where: str
    version: str
    digest: str
    transferred: str | None

    @property
    def edited(self) -> bool:
        """Changed in the database (by the write API or by hand) since the last import or export."""
        return self.digest != self.transferred


def _path_problem(path: Any) -> str | None:
    if not isinstance(path, str):
        return "expected a folder path as text"
    if path and any(part in ("", ".", "..") or "\\" in part or "\x00" in part for part in path.split("/")):
        return f"{path!r} is not a safe sub-folder path (use names separated by '/', without '.' or '..')"
    return None


class SqliteStore:
    """Entries of the sqlite collections, in the content.db that site.yaml names.

    Opening applies pending migrations (see :mod:`sonicgen.sources.sqlite.schema`). One
    connection per store, used under a lock, so a store may be shared between threads.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.label = config.site.content_db
        self.collections = sqlite_collections(config)
        self._tz = ZoneInfo(config.site.timezone)
        self._lock = threading.RLock()
        self._conn = connect(config)
        try:
            with self._sqlite_errors():
                ensure_schema(self._conn, config)
        except BaseException:
            self._conn.close()
            raise

    # --- reading ---------------------------------------------------------------------------

    def entries(self, collection: str, problems: Problems, memory: SourceMemory | None = None) -> Iterator[Entry]:
        """Every valid entry of the table; ``memory`` is not needed (rows are read in one query)."""
        spec = self._collection(collection)
        for row in self._rows(collection, spec):
            entry = self._entry(collection, spec, row, problems)
            if entry is not None:
                yield entry

    def list(self, collection: str, query: Query = _EVERYTHING, problems: Problems | None = None) -> Listing:
        spec = self._collection(collection)
        items = []
        for row in self._rows(collection, spec):
            entry = self._entry(collection, spec, row, Problems() if problems is None else problems)
            if entry is not None:
                items.append(Stored(entry, str(row["_version"])))
        return run_query(items, spec, query)

    def get(self, collection: str, slug: str) -> Stored:
        spec = self._collection(collection)
        rows = self._rows(collection, spec, slug)
        if not rows:
            raise NotFound(f"{self.label}: no entry {slug!r} in table {collection!r}")
        problems = Problems()
        entry = self._entry(collection, spec, rows[0], problems)
        if entry is None:
            listed = "; ".join(str(p) for p in problems.errors)
            raise StoreError(f"{listed} (correct the row, or save the entry again through sonicgen)")
        return Stored(entry, str(rows[0]["_version"]))

    def row_states(self, collection: str) -> dict[str, RowState]:
        """Every row of ``collection`` by slug, readable or not, with what the last import or export saw of it."""
        spec = self._collection(collection)
        columns = self._columns(spec)
        sql = (
            f"SELECT {', '.join(f'r.{q(c)}' for c in columns)}, t.digest AS _transferred FROM {q(collection)} r "
            "LEFT JOIN _transfers t ON t.collection = ? AND t.slug = r.slug ORDER BY r._id"
        )
        with self._lock, self._sqlite_errors():
            rows = self._conn.execute(sql, (collection,)).fetchall()
        return {
            row["slug"]: RowState(
                f"{self.label}: table {collection}, row {row['_id']} (slug {row['slug']!r})",
                str(row["_version"]),
                _digest({c: row[c] for c in columns}),
                row["_transferred"],
            )
            for row in rows
        }

    def digest_of(self, entry: Entry) -> str:
        """The :attr:`RowState.digest` of the row ``entry`` would be saved as (StoreError when it is invalid)."""
        return _digest({"slug": entry.slug, **self._values(entry, self._collection(entry.collection))})

    def mark_transferred(self, collection: str, digests: Mapping[str, str]) -> None:
        """Remember what rows held when an import or export wrote or read them (slug → digest)."""
        self._collection(collection)
        sql = "INSERT OR REPLACE INTO _transfers (collection, slug, digest) VALUES (?, ?, ?)"

        def write() -> None:
            with write_transaction(self._conn) as conn:
                conn.executemany(sql, [(collection, slug, digest) for slug, digest in digests.items()])

        with self._lock, self._sqlite_errors():
            retry_busy(write)

    def changes(self, since: int = 0) -> builtins.list[Change]:
        names = list(self.collections)
        if not names:
            return []
        wanted = ", ".join("?" * len(names))
        sql = f"SELECT seq, collection, slug, op, version FROM _changes WHERE seq > ? AND collection IN ({wanted}) ORDER BY seq"
        with self._lock, self._sqlite_errors():
            rows = self._conn.execute(sql, (since, *names)).fetchall()
        return [Change(r["seq"], r["collection"], r["slug"], r["op"], None if r["version"] is None else str(r["version"])) for r in rows]

    def _columns(self, spec: CollectionConfig) -> builtins.list[str]:
        return ["_id", "slug", *spec.fields, *_SYSTEM, "_version"]

    def _rows(self, name: str, spec: CollectionConfig, slug: str | None = None) -> builtins.list[sqlite3.Row]:
        sql = f"SELECT {', '.join(map(q, self._columns(spec)))} FROM {q(name)}"
        with self._lock, self._sqlite_errors():
            if slug is None:
                return self._conn.execute(sql + " ORDER BY _id").fetchall()
            return self._conn.execute(sql + " WHERE slug = ?", (slug,)).fetchall()

    def _entry(self, name: str, spec: CollectionConfig, row: sqlite3.Row, problems: Problems) -> Entry | None:
        """The row as an Entry, or None after reporting every problem with the table, row id and field."""
        source = f"{self.label}: table {name}, row {row['_id']} (slug {row['slug']!r})"
        before = len(problems.errors)
        raw: dict[str, Any] = {}
        undecodable = set()
        for field_name, field_spec in spec.fields.items():
            try:
                raw[field_name] = decode(row[field_name], type_key(field_spec))
            except FieldError as exc:
                problems.error(source, str(exc), field=field_name)
                undecodable.add(field_name)
        try:
            stored_extra = load_extra(row["_extra"])
        except (ValueError, TypeError, AttributeError) as exc:
            problems.error(source, f"unknown keys must be a JSON object ({exc})", field="_extra")
            stored_extra = {}
        checked = spec
        if undecodable:  # already reported: do not report them again as missing
            checked = msgspec.structs.replace(spec, fields={k: v for k, v in spec.fields.items() if k not in undecodable})
        fields, extra = validate_fields({**stored_extra, **raw}, checked, source=source, line_of=lambda _: None, problems=problems)
        slug = row["slug"]
        if not isinstance(slug, str) or not is_slug(slug):
            problems.error(source, f"{slug!r} is not a URL-safe slug; use lowercase letters, digits and '-'", field="slug")
        path_problem = _path_problem(row["_path"])
        if path_problem:
            problems.error(source, path_problem, field="_path")
        if not isinstance(row["body"], str):
            problems.error(source, "expected the body as text", field="body")
        template = row["_template"]
        if template is not None and not isinstance(template, str):
            problems.error(source, "template must be a template file name", field="_template")
        # draft and expires are schema fields when declared, system columns otherwise (as in front matter)
        declared = spec.fields
        draft = fields.get(spec.draft_field) if spec.draft_field in declared else self._system(row, "_draft", _BOOLEAN, source, problems)
        expires = (
            fields.get(spec.expires_field) if spec.expires_field in declared else self._system(row, "_expires", _DATETIME, source, problems)
        )
        if len(problems.errors) > before:
            return None
        date_value = fields.get(spec.date_field)
        system = ("slug", "template", spec.draft_field, spec.expires_field)
        content = json.dumps([row[c] for c in self._columns(spec)[1:-1]], ensure_ascii=False, default=repr)
        return Entry(
            collection=name,
            slug=slug,
            fields=fields,
            body=row["body"],
            source=SourceRef(f"{self.label}:{name}/{slug}"),
            content_hash=hashlib.sha256(content.encode()).hexdigest(),
            path=row["_path"],
            extra={k: v for k, v in extra.items() if k not in system},
            date=aware(date_value, self._tz) if isinstance(date_value, date) else None,
            expires=aware(expires, self._tz) if isinstance(expires, date) else None,
            draft=bool(draft),
            template=template,
        )

    @staticmethod
    def _system(row: sqlite3.Row, column: str, spec: FieldSpec, source: str, problems: Problems) -> Any:
        value = decode(row[column], "boolean") if spec.type == "boolean" else row[column]
        if value is None:
            return None
        try:
            return check_value(value, spec)
        except FieldError as exc:
            problems.error(source, str(exc), field=column)
            return None

    # --- writing ---------------------------------------------------------------------------

    def save(self, entry: Entry, *, expected: str | None = ANY, transferred: bool = False) -> Stored:
        """See :class:`~sonicgen.sources.base.Store`; ``transferred``: an import or export writes the row, and
        remembers what it wrote in the same transaction (see :meth:`row_states`)."""
        spec = self._collection(entry.collection)
        values = self._values(entry, spec)
        with self._lock, self._sqlite_errors():
            return retry_busy(partial(self._save, entry.collection, spec, entry.slug, values, expected, transferred))

    def delete(self, collection: str, slug: str, *, expected: str | None = ANY) -> None:
        self._collection(collection)
        with self._lock, self._sqlite_errors():
            retry_busy(partial(self._delete, collection, slug, expected))

    def _save(
        self, name: str, spec: CollectionConfig, slug: str, values: dict[str, Any], expected: str | None, transferred: bool = False
    ) -> Stored:
        table = q(name)
        now = datetime.now(UTC).isoformat()
        with write_transaction(self._conn) as conn:
            current = conn.execute(f"SELECT _id, _version FROM {table} WHERE slug = ?", (slug,)).fetchone()
            self._check(name, slug, None if current is None else str(current["_version"]), expected)
            if transferred:
                digest = _digest({"slug": slug, **values})
                conn.execute("INSERT OR REPLACE INTO _transfers (collection, slug, digest) VALUES (?, ?, ?)", (name, slug, digest))
            seq = self._record(name, slug, "save")
            values = {**values, "_updated": now, "_version": seq}
            if current is None:
                values = {"slug": slug, **values, "_created": now}
                columns = ", ".join(map(q, values))
                conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(values))})", tuple(values.values()))
            else:
                assignments = ", ".join(f"{q(c)} = ?" for c in values)
                conn.execute(f"UPDATE {table} SET {assignments} WHERE _id = ?", (*values.values(), current["_id"]))
            row = conn.execute(f"SELECT {', '.join(map(q, self._columns(spec)))} FROM {table} WHERE slug = ?", (slug,)).fetchone()
        problems = Problems()
        entry = self._entry(name, spec, row, problems)
        if entry is None:  # validated before writing, so only a bug gets here
            raise StoreError("; ".join(str(p) for p in problems.errors))
        return Stored(entry, str(seq))

    def _delete(self, name: str, slug: str, expected: str | None) -> None:
        with write_transaction(self._conn) as conn:
            current = conn.execute(f"SELECT _version FROM {q(name)} WHERE slug = ?", (slug,)).fetchone()
            if current is None:
                raise NotFound(f"{self.label}: no entry {slug!r} in table {name!r}")
            self._check(name, slug, str(current["_version"]), expected)
            self._record(name, slug, "delete")
            conn.execute(f"DELETE FROM {q(name)} WHERE slug = ?", (slug,))
            conn.execute("DELETE FROM _transfers WHERE collection = ? AND slug = ?", (name, slug))

    def _check(self, name: str, slug: str, current: str | None, expected: str | None) -> None:
        """Optimistic concurrency: the writer must have read the version that is there now."""
        if expected is ANY:
            return
        if expected is None:
            if current is not None:
                raise Conflict(f"{self.label}: {name}/{slug} already exists (version {current}); update it with that version", current)
            return
        if current is None:
            raise NotFound(f"{self.label}: no entry {slug!r} in table {name!r} (it was deleted after version {expected})")
        if current != expected:
            message = f"{self.label}: {name}/{slug} changed since version {expected} (now {current}); read it again and retry"
            raise Conflict(message, current)

    def _record(self, name: str, slug: str, op: str) -> int:
        """Append to the change feed; the new seq is the entry's version."""
        now = datetime.now(UTC).isoformat()
        cursor = self._conn.execute("INSERT INTO _changes (collection, slug, op, at) VALUES (?, ?, ?, ?)", (name, slug, op, now))
        seq = cursor.lastrowid
        assert seq is not None
        if op == "save":
            self._conn.execute("UPDATE _changes SET version = seq WHERE seq = ?", (seq,))
        return seq

    def _values(self, entry: Entry, spec: CollectionConfig) -> dict[str, Any]:
        """The columns to write for ``entry``, after the checks a Markdown file would get."""
        if not isinstance(entry.slug, str) or not is_slug(entry.slug):
            suggestion = slugify(str(entry.slug)) or "my-entry"
            advice = f"use lowercase letters, digits and '-' (e.g. {suggestion!r})"
            raise StoreError(f"{self.label}: {entry.collection}: slug {entry.slug!r} is not URL-safe; {advice}")
        where = f"{self.label}: {entry.collection}/{entry.slug}"
        problems = Problems()
        fields, extra = validate_fields({**entry.extra, **entry.fields}, spec, source=where, line_of=lambda _: None, problems=problems)
        system = {"slug": "slug", "template": "template", spec.draft_field: "draft", spec.expires_field: "expires"}
        for key in extra:
            if key in system:
                problems.error(where, f"a system key, not an unknown field; set the entry's {system[key]} instead", field=key)
        path_problem = _path_problem(entry.path)
        if path_problem:
            problems.error(where, path_problem, field="path")
        body: object = None
        try:
            body = entry.load_body() if isinstance(entry.body, (str, StoredBody)) else None
        except BodyUnavailable as exc:
            problems.extend([exc.problem])
        if not isinstance(body, str):
            problems.error(where, "expected the body as text", field="body")
        if entry.template is not None and not isinstance(entry.template, str):
            problems.error(where, "template must be a template file name", field="template")
        if entry.expires is not None and not isinstance(entry.expires, datetime):
            problems.error(where, "expected a datetime", field="expires")
        try:
            extra_json = dump_extra(extra)
        except ValueError as exc:
            problems.error(where, f"unknown key {exc}", field="extra")
            extra_json = "{}"
        if problems.errors:
            raise StoreError("; ".join(str(p) for p in problems.errors))
        declared_draft = spec.draft_field in spec.fields
        declared_expires = spec.expires_field in spec.fields
        return {
            **{name: encode(fields[name], type_key(field_spec)) for name, field_spec in spec.fields.items()},
            "body": body,
            "_path": entry.path,
            "_extra": extra_json,
            "_template": entry.template,
            "_draft": None if declared_draft else int(bool(entry.draft)),
            "_expires": None if declared_expires or entry.expires is None else entry.expires.isoformat(),
        }

    # --- plumbing --------------------------------------------------------------------------

    def _collection(self, name: str) -> CollectionConfig:
        spec = self.collections.get(name)
        if spec is None:
            other = self.config.site.collections.get(name)
            if other is not None:
                raise StoreError(f"{self.config.source}: collection {name!r} is stored as {other.source}, not in {self.label}")
            known = ", ".join(self.collections) or "none"
            raise StoreError(f"{self.config.source}: no sqlite collection named {name!r} (sqlite collections: {known})")
        return spec

    @contextmanager
    def _sqlite_errors(self) -> Iterator[None]:
        """SQLite's own errors as StoreErrors naming the database (never a traceback)."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            hint = (
                "; site.yaml and the database disagree (was it migrated by another process?): open the store again"
                if "no such" in str(exc)
                else ""
            )
            raise StoreError(f"{self.label}: {exc}{hint}") from None
        except sqlite3.Error as exc:
            raise StoreError(f"{self.label}: {exc}; if the database is damaged, restore it from a backup") from None

    def close(self) -> None:
        with self._lock:
            self._conn.close()
