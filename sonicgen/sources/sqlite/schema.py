"""The layout of ``content.db`` and the migrations that keep it in step with site.yaml.

Each ``source: sqlite`` collection is one table: a column per schema field, plus system
columns.  ``slug`` and ``body`` keep their plain names (both are reserved field names);
every other system column starts with ``_`` (``_id``, ``_path``, ``_extra``, ``_template``,
``_draft``, ``_expires``, ``_created``, ``_updated``, ``_version``), a prefix that field names
of sqlite collections may not use, so no field can ever collide with one.  ``_id`` is an
``INTEGER PRIMARY KEY``: the row id the full-text index points at, stable across VACUUM.

Two kinds of migrations are recorded in ``_migrations`` (see :mod:`sonicgen.db.migrations`):

* fixed ones for sonicgen's own tables (``0001_changes``, ``0002_schema``, ``0003_transfers``),
  checksummed, so an applied migration edited later is caught;
* migrations derived from site.yaml, one per collection per change, with ids
  ``schema:<collection>:<nnnn>`` numbered per collection.  Each is planned *inside* the
  write transaction that applies it, from the database as it is at that moment, so two
  processes that start with the same change apply it once (the second finds nothing to
  do) and ids never collide.  ``_schema`` records the declared type of every column, which
  is what later changes are compared with.

Destructive changes are refused, naming the table, column and rows and saying how to
proceed: removing a field whose column still holds values, changing a field's type when
stored values do not satisfy the new type, and tables changed by hand.  A removed field
whose column is empty is dropped.  A table whose collection left site.yaml (or moved to
``source: files``) is kept untouched and listed by :func:`status`.

Migrations are plain SQL statements rather than sqlite-utils calls because each must run
inside one transaction (sqlite-utils' helpers execute at once, and the 3.x releases that
pyproject allows commit any open transaction in ``executescript``), be shown by a dry run
before it runs, and be checksummed.  sqlite-utils inspects the tables, and the full-text
index follows its layout (an external-content FTS5 table kept in sync by insert, delete and
update triggers), so ``sqlite-utils search content.db posts word`` works on content.db.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite_utils

from sonicgen.config import CollectionConfig, Config, FieldSpec
from sonicgen.content.fields import FieldError, check_value, describe
from sonicgen.db.connect import DatabaseError, open_db, retry_busy, write_transaction
from sonicgen.db.migrations import LEDGER, Migration, run_and_record
from sonicgen.db.migrations import migrate as migrate_fixed
from sonicgen.db.migrations import status as fixed_status
from sonicgen.sources.base import StoreError

FIXED = (
    Migration(
        "0001_changes",
        "change feed of every write (seq, collection, slug, op, version)",
        (
            "CREATE TABLE _changes (\n"
            "    seq INTEGER PRIMARY KEY AUTOINCREMENT,\n"
            "    collection TEXT NOT NULL,\n"
            "    slug TEXT NOT NULL,\n"
            "    op TEXT NOT NULL CHECK (op IN ('save', 'delete')),\n"
            "    version INTEGER,\n"
            "    at TEXT NOT NULL\n"
            ")",
        ),
    ),
    Migration(
        "0002_schema",
        "declared type of every collection column",
        (
            "CREATE TABLE _schema (\n"
            "    collection TEXT NOT NULL,\n"
            "    field TEXT NOT NULL,\n"
            "    type TEXT NOT NULL,\n"
            "    PRIMARY KEY (collection, field)\n"
            ")",
        ),
    ),
    Migration(
        "0003_transfers",
        "each row as the last import or export left it, to tell rows edited since",
        (
            "CREATE TABLE _transfers (\n"
            "    collection TEXT NOT NULL,\n"
            "    slug TEXT NOT NULL,\n"
            "    digest TEXT NOT NULL,\n"
            "    PRIMARY KEY (collection, slug)\n"
            ")",
        ),
    ),
)
DERIVED_PREFIX = "schema:"
SQL_TYPES = {"integer": "INTEGER", "boolean": "INTEGER", "number": "REAL"}
FTS_TYPES = {"string", "text", "markdown"}
SYSTEM_HEAD = (("_id", "INTEGER", False, True), ("slug", "TEXT", True, False))
SYSTEM_TAIL = (
    ("body", "TEXT", True, False),
    ("_path", "TEXT", True, False),
    ("_extra", "TEXT", True, False),
    ("_template", "TEXT", False, False),
    ("_draft", "INTEGER", False, False),
    ("_expires", "TEXT", False, False),
    ("_created", "TEXT", True, False),
    ("_updated", "TEXT", True, False),
    ("_version", "INTEGER", True, False),
)
_DEFAULTS = {"body": "''", "_path": "''", "_extra": "'{}'"}


class MigrationRefused(StoreError):
    """site.yaml asks for a change that would lose data or that sonicgen cannot make safely."""

    def __init__(self, label: str, reasons: Sequence[str]) -> None:
        self.reasons = list(reasons)
        super().__init__(f"{label}: nothing was changed:\n" + "\n".join(f"  - {r}" for r in self.reasons))


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str:
    """``value`` as a SQL literal, for statements that must be complete text (checksummed, shown by a dry run)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NULL"  # what SQLite stores for NaN anyway
        if math.isinf(value):
            return "9e999" if value > 0 else "-9e999"
        return repr(value)
    text = str(value)
    if "\x00" in text:
        return f"CAST(X'{text.encode().hex()}' AS TEXT)"
    return "'" + text.replace("'", "''") + "'"


def type_key(spec: FieldSpec) -> str:
    """What decides how a field is stored: its type, and for lists the type of the items."""
    return f"list<{spec.items}>" if spec.type == "list" else spec.type


def sql_type(key: str) -> str:
    return SQL_TYPES.get(key, "TEXT")


def encode(value: Any, key: str) -> Any:
    """A validated field value as stored: JSON text for lists, ISO text for dates, 0/1 for booleans."""
    if value is None:
        return None
    if key.startswith("list<"):
        return json.dumps([v.isoformat() if isinstance(v, date) else v for v in value], ensure_ascii=False)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, date):  # date and datetime: isoformat keeps a datetime naive or aware, exactly
        return value.isoformat()
    return value


def decode(stored: Any, key: str) -> Any:
    """A stored value as raw input for :func:`check_value` (which turns ISO text back into dates)."""
    if stored is None:
        return None
    if key.startswith("list<"):
        try:
            value = json.loads(stored) if isinstance(stored, str) else stored
        except ValueError:
            value = None
        if not isinstance(value, list):
            raise FieldError(f'expected a list stored as JSON text such as ["a", "b"], got {describe(stored)}')
        return value
    if key == "boolean" and type(stored) is int and stored in (0, 1):
        return bool(stored)
    if key == "number" and isinstance(stored, float) and stored.is_integer():
        return int(stored)  # a REAL column returns 3 as 3.0; give it back as a Markdown file's `3` reads
    return stored


def field_types(collection: CollectionConfig) -> dict[str, str]:
    return {name: type_key(spec) for name, spec in collection.fields.items()}


def fts_columns(types: Mapping[str, str]) -> list[str]:
    """The columns the full-text index covers: text-like fields and the body."""
    return [name for name, key in types.items() if key in FTS_TYPES] + ["body"]


def create_table(name: str, types: Mapping[str, str]) -> str:
    def declare(column: str, kind: str, not_null: bool, pk: bool) -> str:
        extra = " PRIMARY KEY" if pk else " NOT NULL UNIQUE" if column == "slug" else " NOT NULL" if not_null else ""
        default = f" DEFAULT {_DEFAULTS[column]}" if column in _DEFAULTS else ""
        return f"{q(column)} {kind}{extra}{default}"

    columns = [
        *(declare(*c) for c in SYSTEM_HEAD),
        *(f"{q(f)} {sql_type(k)}" for f, k in types.items()),
        *(declare(*c) for c in SYSTEM_TAIL),
    ]
    return f"CREATE TABLE {q(name)} (\n    " + ",\n    ".join(columns) + "\n)"


def fts_names(name: str) -> tuple[str, str, str, str]:
    """The index table and its three triggers; ':' cannot occur in a collection name, so these never clash."""
    return (f"{name}:fts", f"{name}:fts:insert", f"{name}:fts:delete", f"{name}:fts:update")


def fts_create(name: str, columns: Sequence[str]) -> list[str]:
    """An external-content FTS5 index kept in sync by triggers (sqlite-utils' layout, keyed by ``_id``)."""
    fts, insert, delete, update = (q(n) for n in fts_names(name))
    cols = ", ".join(q(c) for c in columns)
    new = ", ".join(f"new.{q(c)}" for c in columns)
    old = ", ".join(f"old.{q(c)}" for c in columns)
    add = f'INSERT INTO {fts} (rowid, {cols}) VALUES (new."_id", {new});'
    remove = f"INSERT INTO {fts} ({fts}, rowid, {cols}) VALUES ('delete', old.\"_id\", {old});"
    table = q(name)
    return [
        f'CREATE VIRTUAL TABLE {fts} USING fts5 ({cols}, content={table}, content_rowid="_id")',
        f"CREATE TRIGGER {insert} AFTER INSERT ON {table} BEGIN\n    {add}\nEND",
        f"CREATE TRIGGER {delete} AFTER DELETE ON {table} BEGIN\n    {remove}\nEND",
        f"CREATE TRIGGER {update} AFTER UPDATE ON {table} BEGIN\n    {remove}\n    {add}\nEND",
    ]


def fts_drop(name: str) -> list[str]:
    fts, *triggers = fts_names(name)
    return [*(f"DROP TRIGGER IF EXISTS {q(t)}" for t in triggers), f"DROP TABLE IF EXISTS {q(fts)}"]


def fts_rebuild(name: str) -> str:
    fts = q(fts_names(name)[0])
    return f"INSERT INTO {fts} ({fts}) VALUES ('rebuild')"


# --- reading the database as it is ------------------------------------------------------------


def _database(conn: sqlite3.Connection) -> sqlite_utils.Database:
    import sqlite_utils  # here, not at the top: it imports numpy when present, which every build would pay for

    return sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)


def _tables(conn: sqlite3.Connection) -> set[str]:
    return set(_database(conn).table_names())


def _recorded(conn: sqlite3.Connection) -> dict[str, dict[str, str]]:
    """The column types sonicgen recorded for each collection table."""
    if "_schema" not in _tables(conn):
        return {}
    out: dict[str, dict[str, str]] = {}
    for row in conn.execute("SELECT collection, field, type FROM _schema ORDER BY rowid"):
        out.setdefault(row[0], {})[row[1]] = row[2]
    return out


def _ledger(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    if "_migrations" not in _tables(conn):
        return []
    return list(conn.execute("SELECT id, description, checksum, applied_at FROM _migrations ORDER BY rowid"))


def layout_problems(conn: sqlite3.Connection, name: str, types: Mapping[str, str]) -> list[str]:
    """How table ``name`` differs from the layout sonicgen gives a collection with these field types."""
    table = _database(conn).table(name)
    actual = {c.name: c for c in table.columns}
    has_slug = "slug" in actual
    expected = [*SYSTEM_HEAD, *((f, sql_type(k), False, False) for f, k in types.items()), *SYSTEM_TAIL]
    problems = []
    for column, kind, not_null, pk in expected:
        found = actual.pop(column, None)
        if found is None:
            problems.append(f"column {column!r} is missing")
        elif (found.type or "").upper() != kind:
            problems.append(f"column {column!r} is {found.type or 'untyped'}, expected {kind}")
        elif bool(found.is_pk) != pk or (not pk and bool(found.notnull) != not_null):
            want = "the primary key" if pk else "NOT NULL" if not_null else "nullable"
            problems.append(f"column {column!r} should be {want}")
    problems += [f"column {column!r} is not a field of the collection" for column in actual]
    if has_slug and not any(i.unique and i.columns == ["slug"] for i in table.indexes):
        problems.append("column 'slug' is not UNIQUE")
    return problems


def _fts_current(conn: sqlite3.Connection, name: str, columns: Sequence[str]) -> bool:
    wanted = fts_create(name, columns)
    names = fts_names(name)
    found = dict(conn.execute(f"SELECT name, sql FROM sqlite_master WHERE name IN ({', '.join('?' * len(names))})", names).fetchall())
    return [found.get(n) for n in names] == wanted


# --- planning ---------------------------------------------------------------------------------


@dataclass
class _Plan:
    statements: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)


def _record_types(name: str, types: Mapping[str, str]) -> list[str]:
    return [
        f"INSERT OR REPLACE INTO _schema (collection, field, type) VALUES ({literal(name)}, {literal(f)}, {literal(k)})"
        for f, k in types.items()
    ]


def _fix_hint(label: str, statement: str) -> str:
    return f"sqlite3 {label} '{statement}'"


def _plan_removed(conn: sqlite3.Connection, label: str, name: str, column: str, plan: _Plan) -> None:
    table, col = q(name), q(column)
    count, first = conn.execute(f"SELECT count(*), min(_id) FROM {table} WHERE {col} IS NOT NULL").fetchone()
    if count:
        slug = conn.execute(f"SELECT slug FROM {table} WHERE _id = ?", (first,)).fetchone()[0]
        clear = f"UPDATE {table} SET {col} = NULL"
        plan.refusals.append(
            f"table {name!r}, column {column!r}: the field was removed from site.yaml but {count} row(s) still hold values "
            f"(first: row {first}, slug {slug!r}). Put the field back under collections.{name}.fields, or, to discard "
            f"the values, run {_fix_hint(label, clear)} and migrate again"
        )
        return
    plan.statements += [
        f"ALTER TABLE {table} DROP COLUMN {col}",
        f"DELETE FROM _schema WHERE collection = {literal(name)} AND field = {literal(column)}",
    ]
    plan.changes.append(f"drop empty column {column}")


def _plan_retyped(conn: sqlite3.Connection, label: str, name: str, column: str, old: str, spec: FieldSpec, plan: _Plan) -> None:
    """Allow a type change only if every stored value is valid under the new type; convert them."""
    new = type_key(spec)
    table, col = q(name), q(column)
    rows = conn.execute(f"SELECT _id, slug, {col} FROM {table} WHERE {col} IS NOT NULL ORDER BY _id").fetchall()
    updates: list[tuple[int, Any]] = []
    failures: list[tuple[int, str, str]] = []
    for row_id, slug, stored in rows:
        try:
            value = encode(check_value(decode(stored, old), spec), new)
        except FieldError as exc:
            failures.append((row_id, slug, str(exc)))
            continue
        if type(value) is not type(stored) or value != stored:
            updates.append((row_id, value))
    if failures:
        row_id, slug, reason = failures[0]
        plan.refusals.append(
            f"table {name!r}, column {column!r}: changing the type from {old} to {new} would make {len(failures)} of "
            f"{len(rows)} stored value(s) invalid (first: row {row_id}, slug {slug!r}: {reason}). Keep the old type, "
            "or correct or clear those values (the API, or sqlite3), and migrate again"
        )
        return
    target = col
    if sql_type(old) != sql_type(new):
        # SQLite cannot change a column's type in place: add the new column beside it, copy, swap.
        target = q(f"{column}:{new}")
        plan.statements += [f"ALTER TABLE {table} ADD COLUMN {target} {sql_type(new)}", f"UPDATE {table} SET {target} = {col}"]
    plan.statements += [f"UPDATE {table} SET {target} = {literal(value)} WHERE _id = {row_id}" for row_id, value in updates]
    if target != col:
        plan.statements += [f"ALTER TABLE {table} DROP COLUMN {col}", f"ALTER TABLE {table} RENAME COLUMN {target} TO {col}"]
    plan.statements += _record_types(name, {column: new})
    plan.changes.append(f"change {column} from {old} to {new}" + (f" ({len(updates)} value(s) converted)" if updates else ""))


def _plan_collection(
    conn: sqlite3.Connection, label: str, name: str, collection: CollectionConfig, recorded: dict[str, str] | None
) -> _Plan:
    """What it takes to bring table ``name`` in line with site.yaml, from the database as it is now."""
    declared = field_types(collection)
    plan = _Plan()
    exists = name in _tables(conn)
    if not exists:
        leftovers = conn.execute("SELECT count(*) FROM sqlite_master WHERE name IN (?, ?, ?, ?)", fts_names(name)).fetchone()[0]
        plan.statements += [
            *(fts_drop(name) if leftovers else []),  # an index left behind by a table dropped by hand
            create_table(name, declared),
            f"DELETE FROM _schema WHERE collection = {literal(name)}",
            *_record_types(name, declared),
            *fts_create(name, fts_columns(declared)),
        ]
        plan.changes.append(f"create the table ({', '.join(declared) or 'no fields'}) with a full-text index")
        return plan
    rename = _fix_hint(label, f"ALTER TABLE {q(name)} RENAME TO {q(name + '_old')}")
    if recorded is None:
        problems = layout_problems(conn, name, declared)
        if problems:
            plan.refusals.append(
                f"table {name!r} exists but sonicgen did not create it, and it differs from collections.{name} in site.yaml: "
                f"{'; '.join(problems)}. Rename it ({rename}), let sonicgen create the table, then copy the rows across"
            )
            return plan
        plan.statements += _record_types(name, declared)
        plan.changes.append("adopt the existing table, whose layout matches site.yaml")
        recorded = declared
    else:
        problems = layout_problems(conn, name, recorded)
        if problems:
            plan.refusals.append(
                f"table {name!r} was changed outside sonicgen: {'; '.join(problems)}. Restore it from a backup, or rename it "
                f"({rename}), let sonicgen create a fresh table and copy the rows across"
            )
            return plan
    columns = fts_columns(declared)
    rebuild_fts = not _fts_current(conn, name, columns)
    if rebuild_fts:
        plan.statements += fts_drop(name)  # the triggers name the columns about to change
    for column in recorded:
        if column not in declared:
            _plan_removed(conn, label, name, column, plan)
    for column, key in declared.items():
        if column in recorded and recorded[column] != key:
            _plan_retyped(conn, label, name, column, recorded[column], collection.fields[column], plan)
    for column, key in declared.items():
        if column not in recorded:
            plan.statements += [f"ALTER TABLE {q(name)} ADD COLUMN {q(column)} {sql_type(key)}", *_record_types(name, {column: key})]
            note = " (required: existing rows are reported until it is filled in)" if collection.fields[column].required else ""
            plan.changes.append(f"add column {column}{note}")
    if rebuild_fts:
        plan.statements += [*fts_create(name, columns), fts_rebuild(name)]
        plan.changes.append(f"rebuild the full-text index on {', '.join(columns)}")
    return plan


def _next_id(ledger: Sequence[sqlite3.Row], name: str) -> str:
    prefix = f"{DERIVED_PREFIX}{name}:"
    return f"{prefix}{sum(1 for row in ledger if row['id'].startswith(prefix)) + 1:04d}"


def _derived(conn: sqlite3.Connection, label: str, name: str, collection: CollectionConfig) -> tuple[Migration | None, list[str]]:
    plan = _plan_collection(conn, label, name, collection, _recorded(conn).get(name))
    if plan.refusals or not plan.statements:
        return None, plan.refusals
    return Migration(_next_id(_ledger(conn), name), f"{name}: " + "; ".join(plan.changes), tuple(plan.statements)), []


def sqlite_collections(config: Config) -> dict[str, CollectionConfig]:
    return {name: c for name, c in config.site.collections.items() if c.source == "sqlite"}


def db_path(config: Config) -> Path:
    return config.dir(config.site.content_db)


# --- public: plan, apply, status --------------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    """A migration recorded in ``_migrations``."""

    id: str
    description: str
    applied_at: str


@dataclass(frozen=True)
class MigrationStatus:
    """What ``sonicgen migrate --status`` shows."""

    database: str
    exists: bool
    applied: list[Applied]
    pending: list[Migration]
    refused: list[str]
    notes: list[str]


def connect(config: Config) -> sqlite3.Connection:
    """Open content.db the careful way; its problems become StoreErrors naming the file."""
    label = config.site.content_db
    try:
        return open_db(db_path(config), synchronous="FULL", label=label)
    except DatabaseError as exc:
        raise StoreError(str(exc)) from None
    except OSError as exc:
        raise StoreError(f"{label}: cannot open: {exc.strerror}; content_db in site.yaml must name a SQLite file") from None


@contextmanager
def _inspect(config: Config) -> Iterator[sqlite3.Connection]:
    """A connection for planning; an empty in-memory one if content.db does not exist, so that
    a status or dry run never creates the file."""
    conn = connect(config) if db_path(config).exists() else sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def _snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """One read transaction, so that a plan never mixes the database before and after another
    process's migration (the recorded types from before, the columns from after)."""
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")


def _pending(conn: sqlite3.Connection, config: Config) -> tuple[list[Migration], list[str]]:
    """Pending migrations and refused changes, planned from one snapshot of the database."""
    label = config.site.content_db
    refusals: list[str] = []
    try:
        pending = [s.migration for s in fixed_status(conn, FIXED, label) if s.applied_at is None]
        for name, collection in sqlite_collections(config).items():
            migration, refused = _derived(conn, label, name, collection)
            refusals += refused
            if migration is not None:
                pending.append(migration)
    except DatabaseError as exc:
        raise StoreError(str(exc)) from None
    except sqlite3.Error as exc:
        raise StoreError(f"{label}: cannot read the database ({exc}); restore it from a backup (nothing was changed)") from None
    return pending, refusals


def _unused(config: Config) -> bool:
    """No sqlite collection and no database: there is nothing to migrate, and no file to create."""
    return not sqlite_collections(config) and not db_path(config).exists()


def migration_plan(config: Config) -> list[Migration]:
    """The migrations :func:`apply` would run now, in order; raises MigrationRefused for destructive changes."""
    if _unused(config):
        return []
    with _inspect(config) as conn, _snapshot(conn):
        pending, refusals = _pending(conn, config)
    if refusals:
        raise MigrationRefused(config.site.content_db, refusals)
    return pending


def apply(config: Config, *, dry_run: bool = False) -> list[Migration]:
    """Bring content.db in line with site.yaml; return the migrations run (or, with ``dry_run``, to run)."""
    if dry_run or _unused(config):
        return migration_plan(config)
    conn = connect(config)
    try:
        return ensure_schema(conn, config)
    finally:
        conn.close()


def ensure_schema(conn: sqlite3.Connection, config: Config) -> list[Migration]:
    """Apply pending migrations on ``conn``; what the store does each time it opens content.db.

    Everything is checked before anything is changed, so a refused change leaves the
    database exactly as it was; each collection's migration is then re-planned under the
    write lock that applies it.
    """
    label = config.site.content_db
    with _snapshot(conn):
        pending, refusals = _pending(conn, config)
    if refusals:
        raise MigrationRefused(label, refusals)
    if not pending:
        return []
    try:
        applied = migrate_fixed(conn, FIXED, label)
    except DatabaseError as exc:
        raise StoreError(str(exc)) from None
    for name, collection in sqlite_collections(config).items():
        if any(m.id.startswith(f"{DERIVED_PREFIX}{name}:") for m in pending):
            migration = retry_busy(partial(_apply_derived, conn, label, name, collection))
            if migration is not None:
                applied.append(migration)
    return applied


def _apply_derived(conn: sqlite3.Connection, label: str, name: str, collection: CollectionConfig) -> Migration | None:
    migration: Migration | None = None
    try:
        with write_transaction(conn):
            conn.execute(LEDGER)
            migration, refusals = _derived(conn, label, name, collection)
            if refusals:
                raise MigrationRefused(label, refusals)
            if migration is None:
                return None
            run_and_record(conn, migration)
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise  # retry_busy tries again
        raise _failed(label, name, migration, exc) from None
    except sqlite3.Error as exc:
        raise _failed(label, name, migration, exc) from None
    return migration


def _failed(label: str, name: str, migration: Migration | None, exc: sqlite3.Error) -> StoreError:
    what = f"migration {migration.id} ({migration.description})" if migration else f"planning the migration of table {name!r}"
    return StoreError(f"{label}: {what} failed and was rolled back, leaving the database unchanged: {exc}")


def status(config: Config) -> MigrationStatus:
    """Applied and pending migrations, refused changes, and tables site.yaml no longer mentions."""
    label = config.site.content_db
    exists = db_path(config).exists()
    if _unused(config):
        return MigrationStatus(label, exists, [], [], [], [])
    with _inspect(config) as conn, _snapshot(conn):
        pending, refusals = _pending(conn, config)
        applied = [Applied(row["id"], row["description"], row["applied_at"]) for row in _ledger(conn)]
        notes = []
        wanted = sqlite_collections(config)
        tables = _tables(conn)
        for name in _recorded(conn):
            if name not in wanted and name in tables:
                rows = conn.execute(f"SELECT count(*) FROM {q(name)}").fetchone()[0]
                notes.append(
                    f"table {name!r} ({rows} row(s)) is not a sqlite collection in site.yaml; it is kept as it is. "
                    f"Drop it ({_fix_hint(label, f'DROP TABLE {q(name)}')}) if you no longer need it"
                )
    return MigrationStatus(label, exists, applied, pending, refusals, notes)
