"""The SQLite store beyond the shared contract: connection settings, full-text search,
migrations derived from site.yaml, bad databases, and concurrent writers.

Everything runs on real SQLite files under tmp_path; nothing is mocked.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlite_utils
from conftest import REPO, write_tree

from sonicgen.config import Config, load_config
from sonicgen.content.models import Entry, SourceRef
from sonicgen.db.connect import DatabaseError, open_db
from sonicgen.db.migrations import Migration, migrate
from sonicgen.errors import BuildError, Problems
from sonicgen.sources import Conflict, StoreError
from sonicgen.sources.files.store import FilesStore
from sonicgen.sources.sqlite.schema import MigrationRefused, apply, create_table, field_types, migration_plan, status
from sonicgen.sources.sqlite.store import SqliteStore

FIELDS = """\
      title: {type: string, required: true}
      date: {type: datetime}
      rating: {type: integer}
      tags: {type: list}
"""


def site_yaml(fields: str = FIELDS, extra_collections: str = "") -> str:
    return (
        "title: SQLite store\n"
        "base_url: https://sqlite.example/\n"
        "timezone: Europe/Berlin\n"
        "collections:\n"
        "  posts:\n"
        "    source: sqlite\n"
        "    fields:\n" + fields + extra_collections
    )


@pytest.fixture
def site(tmp_path: Path) -> Path:
    write_tree(tmp_path, {"site.yaml": site_yaml()})
    return tmp_path


def configure(site: Path, text: str | None = None) -> Config:
    if text is not None:
        (site / "site.yaml").write_text(text, "utf-8")
    return load_config(site / "site.yaml")[0]


@pytest.fixture
def store(site: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore(configure(site))
    yield opened
    opened.close()


def entry(slug: str, title: str = "A title", body: str = "Body.\n", **fields: object) -> Entry:
    return Entry("posts", slug, {"title": title, **fields}, body, SourceRef(""), "")


def raw(site: Path) -> sqlite3.Connection:
    """A plain connection for looking at (or tampering with) content.db the way a user could."""
    conn = sqlite3.connect(site / "content.db", isolation_level=None)
    conn.row_factory = sqlite3.Row
    return conn


def digest(site: Path) -> str:
    """Every schema object and row of content.db (all connections must be closed)."""
    conn = sqlite3.connect(site / "content.db")
    try:
        return hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()
    finally:
        conn.close()


def file_bytes(site: Path) -> bytes:
    return (site / "content.db").read_bytes()


def search(site: Path, words: str) -> list[str]:
    conn = raw(site)
    try:
        rows = conn.execute(
            'SELECT posts.slug FROM posts JOIN "posts:fts" f ON f.rowid = posts._id WHERE "posts:fts" MATCH ? ORDER BY posts.slug', (words,)
        )
        return [r[0] for r in rows]
    finally:
        conn.close()


# --- connection settings and full-text search -------------------------------------------------


def test_connection_uses_wal_full_sync_and_a_busy_timeout(store: SqliteStore, site: Path):
    conn = store._conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000
    other = raw(site)
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # persistent, for every connection
    other.close()


def test_full_text_index_finds_body_and_title_words_and_follows_edits_and_deletes(store: SqliteStore, site: Path):
    first = store.save(entry("zoo", "Animals", "The quick zebra jumps."))
    store.save(entry("other", "Elsewhere", "Nothing to see."))
    assert search(site, "zebra") == ["zoo"]
    assert search(site, "animals") == ["zoo"]
    store.save(entry("zoo", "Animals", "A slow okapi walks."), expected=first.version)
    assert search(site, "zebra") == []
    assert search(site, "okapi") == ["zoo"]
    # the index follows sqlite-utils' layout, so its tools work on content.db too
    assert [r["slug"] for r in sqlite_utils.Database(site / "content.db")["posts"].search("okapi")] == ["zoo"]
    store.delete("posts", "zoo")
    assert search(site, "okapi") == [] and search(site, "animals") == []
    assert search(site, "nothing") == ["other"]


# --- the same Entry from both sources -----------------------------------------------------------


def test_a_row_and_a_markdown_file_with_the_same_content_give_the_same_entry(tmp_path: Path):
    more = ("day: {type: date}", "score: {type: number}", "weight: {type: number}", "featured: {type: boolean, default: false}")
    fields = FIELDS + "".join(f"      {line}\n" for line in more)
    markdown = textwrap.dedent("""\
        ---
        title: Same
        date: 2024-05-17T09:30:00
        day: 2024-05-18
        rating: 4
        tags: [a, b]
        score: 2.5
        weight: 3
        draft: true
        expires: 2030-01-01T00:00:00+00:00
        template: special.html
        mood: {deep: [1, 2024-01-01]}
        ---
        Body **text**.
        """)
    files_site = write_tree(tmp_path / "files", {"site.yaml": site_yaml(fields).replace("source: sqlite", "source: files")})
    (files_site / "content/posts/guides").mkdir(parents=True)
    (files_site / "content/posts/guides/same.md").write_text(markdown, "utf-8")
    problems = Problems()
    from_file = next(FilesStore(configure(files_site)).entries("posts", problems))
    assert not problems.errors

    sqlite_site = write_tree(tmp_path / "sqlite", {"site.yaml": site_yaml(fields)})
    opened = SqliteStore(configure(sqlite_site))
    db_problems = Problems()
    try:
        opened.save(from_file)
        from_db = next(opened.entries("posts", db_problems))
    finally:
        opened.close()
    assert [(p.field, p.message, p.severity) for p in db_problems] == [(p.field, p.message, p.severity) for p in problems]
    assert [p.field for p in problems] == ["mood"]  # both warn about the unknown key, and keep it
    assert from_db.date == datetime.fromisoformat("2024-05-17T09:30:00+02:00")  # naive: the site's time zone
    assert from_db.fields["date"] == datetime(2024, 5, 17, 9, 30)  # the field itself stays naive, as written
    assert from_db.path == "guides" and from_db.draft and from_db.template == "special.html"
    assert type(from_db.fields["weight"]) is int and type(from_db.fields["score"]) is float  # 3 stays 3, not 3.0
    assert from_db.source.path == "content.db:posts/same"
    ignore = {"source": SourceRef(""), "content_hash": ""}
    assert dataclasses.replace(from_db, **ignore) == dataclasses.replace(from_file, body=from_file.load_body(), **ignore)


# --- migrations derived from site.yaml ----------------------------------------------------------


def ledger(site: Path) -> list[tuple[str, str]]:
    conn = raw(site)
    try:
        return [(r["id"], r["description"]) for r in conn.execute("SELECT id, description FROM _migrations ORDER BY rowid")]
    finally:
        conn.close()


def test_a_new_field_is_added_without_losing_data(site: Path):
    opened = SqliteStore(configure(site))
    opened.save(entry("a", "Alpha", rating=1, tags=["x"], date=datetime(2024, 1, 2, 3, 4, tzinfo=UTC)))
    opened.save(entry("b", "Beta"))
    before = {s.entry.slug: dict(s.entry.fields) for s in opened.list("posts").items}
    opened.close()

    config = configure(site, site_yaml(FIELDS + "      subtitle: {type: string}\n      weight: {type: number, default: 1.5}\n"))
    opened = SqliteStore(config)
    after = {s.entry.slug: dict(s.entry.fields) for s in opened.list("posts").items}
    assert after == {slug: {**fields, "subtitle": None, "weight": 1.5} for slug, fields in before.items()}
    opened.save(entry("b", "Beta", subtitle="A searchable gnu"))
    assert opened.get("posts", "b").entry.fields["subtitle"] == "A searchable gnu"
    opened.close()
    assert search(site, "gnu") == ["b"]  # the new text field joined the full-text index
    assert ledger(site)[-1] == (
        "schema:posts:0002",
        "posts: add column subtitle; add column weight; rebuild the full-text index on title, subtitle, body",
    )
    assert migration_plan(config) == []  # nothing left to do: opening again changes nothing


def test_a_new_collection_gets_its_table_and_existing_data_stays(site: Path):
    opened = SqliteStore(configure(site))
    opened.save(entry("kept", "Kept"))
    opened.close()
    notes = "  notes:\n    source: sqlite\n    fields:\n      text: {type: text}\n"
    opened = SqliteStore(configure(site, site_yaml(extra_collections=notes)))
    opened.save(Entry("notes", "n1", {"text": "hello"}, "", SourceRef(""), ""))
    assert opened.get("notes", "n1").entry.fields == {"text": "hello"}
    assert opened.get("posts", "kept").entry.fields["title"] == "Kept"
    opened.close()
    assert [i for i, _ in ledger(site)] == ["0001_changes", "0002_schema", "0003_transfers", "schema:posts:0001", "schema:notes:0001"]


def test_removing_a_field_that_holds_values_is_refused_and_changes_nothing(site: Path):
    opened = SqliteStore(configure(site))
    opened.save(entry("a", rating=3))
    opened.save(entry("b", rating=4))
    opened.save(entry("c"))
    opened.close()
    before, before_bytes = digest(site), file_bytes(site)
    without_rating = FIELDS.replace("      rating: {type: integer}\n", "")
    config = configure(site, site_yaml(without_rating))
    with pytest.raises(MigrationRefused) as info:
        SqliteStore(config)
    message = str(info.value)
    assert message.startswith("content.db: nothing was changed:")
    assert "table 'posts', column 'rating'" in message and "2 row(s) still hold values (first: row 1, slug 'a')" in message
    assert "Put the field back under collections.posts.fields" in message
    assert """sqlite3 content.db 'UPDATE "posts" SET "rating" = NULL'""" in message
    assert "Traceback" not in message
    assert digest(site) == before and file_bytes(site) == before_bytes

    conn = raw(site)
    conn.execute('UPDATE "posts" SET "rating" = NULL')  # the way out the message gives
    conn.close()
    opened = SqliteStore(config)
    assert opened.get("posts", "a").entry.fields == {"title": "A title", "date": None, "tags": []}
    opened.close()
    assert ledger(site)[-1] == ("schema:posts:0002", "posts: drop empty column rating")


def test_a_type_change_is_refused_when_stored_values_do_not_fit_and_converts_them_when_they_do(site: Path):
    opened = SqliteStore(configure(site))
    opened.save(entry("a", rating=5))
    opened.save(entry("b", rating=1))
    opened.close()
    before = digest(site)
    with pytest.raises(MigrationRefused) as info:
        SqliteStore(configure(site, site_yaml(FIELDS.replace("rating: {type: integer}", "rating: {type: boolean}"))))
    message = str(info.value)
    assert "table 'posts', column 'rating': changing the type from integer to boolean would make 2 of 2 stored value(s) invalid" in message
    assert "(first: row 1, slug 'a': expected true or false, got an integer (5))" in message
    assert digest(site) == before

    opened = SqliteStore(configure(site, site_yaml(FIELDS.replace("rating: {type: integer}", "rating: {type: string}"))))
    assert [opened.get("posts", s).entry.fields["rating"] for s in ("a", "b")] == ["5", "1"]
    opened.close()
    conn = raw(site)
    assert conn.execute("SELECT type FROM pragma_table_info('posts') WHERE name = 'rating'").fetchone()[0] == "TEXT"
    assert [r[0] for r in conn.execute("SELECT typeof(rating) FROM posts")] == ["text", "text"]
    conn.close()
    assert ledger(site)[-1] == (
        "schema:posts:0002",
        "posts: change rating from integer to string (2 value(s) converted); rebuild the full-text index on title, rating, body",
    )
    assert search(site, "5") == ["a"]  # a string field is searchable


def test_status_and_dry_run_show_pending_migrations_without_changing_anything(site: Path):
    config = configure(site)
    fresh = status(config)
    assert not fresh.exists and fresh.applied == [] and fresh.refused == []
    assert [m.id for m in fresh.pending] == ["0001_changes", "0002_schema", "0003_transfers", "schema:posts:0001"]
    assert [m.id for m in apply(config, dry_run=True)] == ["0001_changes", "0002_schema", "0003_transfers", "schema:posts:0001"]
    assert not (site / "content.db").exists()  # neither status nor a dry run creates the database

    assert [m.id for m in apply(config)] == ["0001_changes", "0002_schema", "0003_transfers", "schema:posts:0001"]
    assert apply(config) == []  # idempotent
    done = status(config)
    assert done.exists and done.pending == []
    assert [a.id for a in done.applied] == ["0001_changes", "0002_schema", "0003_transfers", "schema:posts:0001"]

    config = configure(site, site_yaml(FIELDS + "      summary: {type: text, required: true}\n"))
    before = digest(site)
    planned = apply(config, dry_run=True)
    assert [(m.id, m.description) for m in planned] == [
        (
            "schema:posts:0002",
            "posts: add column summary (required: existing rows are reported until it is filled in); "
            "rebuild the full-text index on title, summary, body",
        )
    ]
    assert 'ALTER TABLE "posts" ADD COLUMN "summary" TEXT' in planned[0].statements
    assert status(config).pending == planned
    assert digest(site) == before
    assert [m.id for m in apply(config)] == ["schema:posts:0002"]
    assert status(config).pending == []


def test_status_lists_refusals_and_tables_no_longer_in_site_yaml(site: Path):
    notes = "  notes:\n    source: sqlite\n    fields:\n      text: {type: text}\n"
    opened = SqliteStore(configure(site, site_yaml(extra_collections=notes)))
    opened.save(Entry("notes", "n1", {"text": "hello"}, "", SourceRef(""), ""))
    opened.save(entry("a", rating=2))
    opened.close()
    config = configure(site, site_yaml(FIELDS.replace("      rating: {type: integer}\n", "")))
    report = status(config)
    assert len(report.refused) == 1 and "column 'rating'" in report.refused[0]
    assert report.notes == [
        "table 'notes' (1 row(s)) is not a sqlite collection in site.yaml; it is kept as it is. "
        """Drop it (sqlite3 content.db 'DROP TABLE "notes"') if you no longer need it"""
    ]
    with pytest.raises(MigrationRefused):
        migration_plan(config)


def test_a_migration_failing_on_its_second_statement_is_rolled_back(site: Path):
    apply(configure(site))
    before = digest(site)
    conn = open_db(site / "content.db", label="content.db")
    broken = Migration("0100_broken", "create a table, then fail", ('CREATE TABLE "half" (x)', "INSERT INTO no_such_table VALUES (1)"))
    with pytest.raises(DatabaseError) as info:
        migrate(conn, [broken], "content.db")
    conn.close()
    assert str(info.value) == (
        "content.db: migration 0100_broken (create a table, then fail) failed and was rolled back, "
        "leaving the database unchanged: no such table: no_such_table"
    )
    assert digest(site) == before


def test_a_derived_migration_failing_half_way_is_rolled_back(site: Path):
    apply(configure(site))
    conn = raw(site)
    conn.execute('CREATE INDEX "notes:fts" ON posts (slug)')  # squats the name the new index needs
    conn.close()
    before = digest(site)
    notes = "  notes:\n    source: sqlite\n    fields:\n      text: {type: text}\n"
    with pytest.raises(StoreError) as info:
        SqliteStore(configure(site, site_yaml(extra_collections=notes)))
    assert str(info.value) == (
        "content.db: migration schema:notes:0001 (notes: create the table (text) with a full-text index) failed and was "
        "rolled back, leaving the database unchanged: there is already an index named notes:fts"
    )
    assert digest(site) == before  # the table it had created is gone again


def test_an_applied_migration_that_was_edited_is_detected(site: Path):
    apply(configure(site))
    conn = raw(site)
    conn.execute("UPDATE _migrations SET checksum = 'edited' WHERE id = '0001_changes'")
    conn.close()
    with pytest.raises(StoreError, match=r"content.db: migration 0001_changes \(change feed .*\) was changed after it was applied"):
        SqliteStore(configure(site))
    with pytest.raises(StoreError, match="was changed after it was applied"):
        status(configure(site))


# --- bad input ------------------------------------------------------------------------------------


def test_a_content_db_that_is_not_sqlite_is_refused_and_left_alone(site: Path):
    (site / "content.db").write_text("these are my notes, not a database\n" * 10, "utf-8")
    before = file_bytes(site)
    with pytest.raises(StoreError) as info:
        SqliteStore(configure(site))
    assert str(info.value) == "content.db: not a SQLite database; move it aside (nothing was changed) or point site.yaml at the right file"
    assert file_bytes(site) == before
    assert sorted(p.name for p in site.iterdir()) == ["content.db", "site.yaml"]


def test_a_corrupted_database_is_reported_and_not_overwritten(site: Path):
    opened = SqliteStore(configure(site))
    for n in range(200):
        opened.save(entry(f"post-{n}", f"Post {n}", f"Paragraph {n}. " * 80))
    opened.close()
    data = bytearray(file_bytes(site))
    page = 4096
    assert not (site / "content.db-wal").exists() and len(data) > 40 * page
    middle = len(data) // page // 2
    data[middle * page : (middle + 4) * page] = b"\xde\xad\xbe\xef" * page  # four pages of garbage
    (site / "content.db").write_bytes(bytes(data))
    with pytest.raises(StoreError) as info:
        SqliteStore(configure(site))
    message = str(info.value)
    assert message.startswith("content.db: ") and "restore it from a backup (nothing was changed)" in message
    assert file_bytes(site) == bytes(data)


def test_a_content_db_that_is_a_folder_is_refused(site: Path):
    (site / "content.db").mkdir()
    with pytest.raises(StoreError) as info:
        SqliteStore(configure(site))
    assert str(info.value) == "content.db: cannot open: Is a directory; content_db in site.yaml must name a SQLite file"


def test_a_site_without_sqlite_collections_gets_no_database(site: Path):
    config = configure(site, site_yaml().replace("source: sqlite", "source: files"))
    assert apply(config) == [] and migration_plan(config) == [] and status(config).pending == []
    assert not (site / "content.db").exists()


def test_a_hand_made_table_that_disagrees_with_the_schema_is_refused(site: Path):
    conn = raw(site)
    conn.execute("CREATE TABLE posts (id INTEGER PRIMARY KEY, title INTEGER, date TEXT, rating INTEGER, tags TEXT)")
    conn.execute("INSERT INTO posts (title) VALUES (1)")
    conn.close()
    before = digest(site)
    with pytest.raises(MigrationRefused) as info:
        SqliteStore(configure(site))
    message = str(info.value)
    assert "table 'posts' exists but sonicgen did not create it" in message
    assert "column '_id' is missing; column 'slug' is missing; column 'title' is INTEGER, expected TEXT" in message
    assert "column 'id' is not a field of the collection" in message
    assert """Rename it (sqlite3 content.db 'ALTER TABLE "posts" RENAME TO "posts_old"')""" in message
    assert digest(site) == before


def test_a_hand_made_table_without_a_unique_slug_is_refused(site: Path):
    config = configure(site)
    layout = create_table("posts", field_types(config.site.collections["posts"]))
    conn = raw(site)
    conn.execute(layout.replace("NOT NULL UNIQUE", "NOT NULL"))
    conn.executemany("INSERT INTO posts (slug, title, _created, _updated, _version) VALUES (?, 'Twin', '', '', 1)", [("twin",), ("twin",)])
    conn.close()
    with pytest.raises(MigrationRefused) as info:
        SqliteStore(config)
    assert "table 'posts' exists but sonicgen did not create it" in str(info.value)
    assert "differs from collections.posts in site.yaml: column 'slug' is not UNIQUE" in str(info.value)


def test_a_hand_made_table_with_exactly_the_right_layout_is_adopted(site: Path):
    config = configure(site)
    conn = raw(site)
    conn.execute(create_table("posts", field_types(config.site.collections["posts"])))
    conn.execute(
        "INSERT INTO posts (slug, title, body, _created, _updated, _version) VALUES ('imported', 'Imported', 'An aardvark.', '', '', 1)"
    )
    conn.close()
    opened = SqliteStore(config)
    assert opened.get("posts", "imported").entry.fields["title"] == "Imported"
    opened.close()
    assert ledger(site)[-1] == (
        "schema:posts:0001",
        "posts: adopt the existing table, whose layout matches site.yaml; rebuild the full-text index on title, body",
    )
    assert search(site, "aardvark") == ["imported"]


def test_a_table_changed_by_hand_after_sonicgen_created_it_is_refused(site: Path):
    apply(configure(site))
    conn = raw(site)
    conn.execute("ALTER TABLE posts RENAME COLUMN rating TO stars")
    conn.close()
    with pytest.raises(MigrationRefused) as info:
        SqliteStore(configure(site))
    assert "table 'posts' was changed outside sonicgen: column 'rating' is missing; column 'stars' is not a field" in str(info.value)


def test_rows_with_wrong_values_are_reported_with_table_row_and_field_while_others_load(store: SqliteStore, site: Path):
    store.save(entry("good", "Good", rating=3))
    conn = raw(site)
    insert = "INSERT INTO posts (slug, title, rating, tags, _created, _updated, _version) VALUES (?, ?, ?, ?, '', '', 99)"
    conn.execute(insert, ("bad", "Bad", "many", None))
    conn.execute(insert, ("badtags", "Tags", None, "a, b"))
    conn.execute(insert, ("Bad Slug", "Slug", None, None))
    conn.close()
    problems = Problems()
    assert [e.slug for e in store.entries("posts", problems)] == ["good"]
    assert [str(p) for p in problems] == [
        "content.db: table posts, row 2 (slug 'bad'): rating: expected a number, got text ('many')",
        "content.db: table posts, row 3 (slug 'badtags'): tags: "
        """expected a list stored as JSON text such as ["a", "b"], got text ('a, b')""",
        "content.db: table posts, row 4 (slug 'Bad Slug'): slug: 'Bad Slug' is not a URL-safe slug; use lowercase letters, digits and '-'",
    ]
    assert [p.field for p in problems] == ["rating", "tags", "slug"]
    assert [s.entry.slug for s in store.list("posts").items] == ["good"]
    with pytest.raises(StoreError, match=r"table posts, row 2 \(slug 'bad'\): rating: expected a number"):
        store.get("posts", "bad")


def test_unsafe_slugs_are_refused_with_a_suggestion(store: SqliteStore):
    with pytest.raises(StoreError) as info:
        store.save(entry("Hello World"))
    assert str(info.value) == (
        "content.db: posts: slug 'Hello World' is not URL-safe; use lowercase letters, digits and '-' (e.g. 'hello-world')"
    )


def test_duplicate_slugs_are_impossible(store: SqliteStore, site: Path):
    first = store.save(entry("once"), expected=None)
    with pytest.raises(Conflict) as info:
        store.save(entry("once"), expected=None)
    assert info.value.current == first.version
    assert str(info.value) == f"content.db: posts/once already exists (version {first.version}); update it with that version"
    conn = raw(site)
    with pytest.raises(sqlite3.IntegrityError, match=r"UNIQUE constraint failed: posts\.slug"):
        conn.execute("INSERT INTO posts (slug, title, _created, _updated, _version) VALUES ('once', 'x', '', '', 1)")
    conn.close()


def test_invalid_values_are_refused_before_anything_is_written(store: SqliteStore):
    head = store.changes()
    with pytest.raises(StoreError) as info:
        store.save(entry("x", rating="many", tags="not-a-list-but-fine", date="yesterday"))
    assert str(info.value) == (
        "content.db: posts/x: date: expected a date and time like 2024-05-17T09:30:00, got text ('yesterday'); "
        "content.db: posts/x: rating: expected a number, got text ('many')"
    )
    with pytest.raises(StoreError, match=re.escape("posts/y: path: '../up' is not a safe sub-folder path")):
        store.save(dataclasses.replace(entry("y"), path="../up"))
    with pytest.raises(StoreError, match="posts/z: draft: a system key, not an unknown field; set the entry's draft instead"):
        store.save(dataclasses.replace(entry("z"), extra={"draft": True}))
    assert store.changes() == head


def test_unknown_keys_round_trip_losslessly(store: SqliteStore):
    extra = {
        "when": date(2024, 1, 1),
        "at": datetime(2024, 1, 1, 12, tzinfo=UTC),
        "$date": "not a tag",
        "nested": {"$dict": {"x": [1, None]}},
    }
    store.save(dataclasses.replace(entry("extra"), extra=extra))
    assert dict(store.get("posts", "extra").entry.extra) == extra


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("content_db: ../outside.db", "content_db: must stay inside the site folder (no '..')"),
        ("content_db: /var/content.db", "content_db: must be a file path relative to the site folder"),
        ("content_db: dist/content.db", "content_db: must not be inside dist/"),
    ],
)
def test_content_db_must_stay_inside_the_site_and_out_of_the_output(site: Path, setting: str, message: str):
    with pytest.raises(BuildError, match=re.escape(message)):
        configure(site, site_yaml() + setting + "\n")


def test_sqlite_field_names_cannot_clash_with_system_columns(site: Path):
    with pytest.raises(BuildError) as info:
        configure(site, site_yaml(FIELDS + "      _path: {type: string}\n      Body: {type: text}\n      Title: {type: string}\n"))
    text = str(info.value)
    assert "collections.posts.fields._path: '_path' is reserved in a sqlite collection" in text
    assert "collections.posts.fields.Body: 'Body' is reserved in a sqlite collection" in text
    assert "collections.posts.fields.Title: differs from field 'title' only by case" in text


def test_content_db_setting_moves_the_database(site: Path):
    config = configure(site, site_yaml() + "content_db: data/site.db\n")
    opened = SqliteStore(config)
    saved = opened.save(entry("moved"))
    opened.close()
    assert (site / "data/site.db").is_file() and not (site / "content.db").exists()
    assert saved.entry.source.path == "data/site.db:posts/moved"


# --- concurrency -----------------------------------------------------------------------------------

WORKER = """\
import json, sys, time
from pathlib import Path
from sonicgen.config import load_config
from sonicgen.content.models import Entry, SourceRef
from sonicgen.sources import ANY, open_store
import sonicgen.sources.sqlite.store  # imported before the start line, like everything else

site, worker, count, start = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
config, _ = load_config(site / "site.yaml")
errors = []
while time.time() < start:  # spin, so that all processes open the new database at the same moment
    pass
try:
    store = open_store(config, "posts")  # the first open races too: each migration must run once
    for i in range(count):
        slug = f"shared-{(i // 10) % 4}" if i % 10 == 0 else f"w{worker}-{i}"
        try:
            store.save(Entry("posts", slug, {"title": f"{worker}:{i}"}, "Body", SourceRef(""), ""), expected=ANY)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    store.close()
except Exception as exc:
    errors.append(f"{type(exc).__name__}: {exc}")
print(json.dumps(errors))
"""


def run_workers(site: Path, tmp_path: Path, workers: int, count: int) -> None:
    """Start ``workers`` processes that open the store at the same moment and save ``count`` entries each;
    assert that none of them saw an error or printed anything else."""
    script = tmp_path / "worker.py"
    script.write_text(WORKER, "utf-8")
    start = time.time() + 2.0  # every process has imported sonicgen by then
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(site), str(w), str(count), str(start)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0 and err == "", err
        assert "locked" not in out + err
        assert json.loads(out) == []


def test_four_processes_writing_at_once_lose_nothing(site: Path, tmp_path: Path):
    workers, count = 4, 500
    run_workers(site, tmp_path, workers, count)
    conn = raw(site)
    shared_per_worker = count // 10
    distinct = {r["slug"]: r["title"] for r in conn.execute("SELECT slug, title FROM posts WHERE slug NOT LIKE 'shared-%'")}
    assert distinct == {f"w{w}-{i}": f"{w}:{i}" for w in range(workers) for i in range(count) if i % 10}
    assert conn.execute("SELECT count(*) FROM posts WHERE slug LIKE 'shared-%'").fetchone()[0] == 4
    changes = conn.execute("SELECT seq, slug, op, version FROM _changes ORDER BY seq").fetchall()
    assert len(changes) == workers * count and all(c["op"] == "save" and c["version"] == c["seq"] for c in changes)
    assert sum(1 for c in changes if c["slug"].startswith("shared-")) == workers * shared_per_worker
    last = {c["slug"]: c["seq"] for c in changes}
    assert {r["slug"]: r["_version"] for r in conn.execute("SELECT slug, _version FROM posts")} == last
    applied = [r[0] for r in conn.execute("SELECT id FROM _migrations ORDER BY rowid")]
    assert applied == ["0001_changes", "0002_schema", "0003_transfers", "schema:posts:0001"]
    conn.close()


def test_processes_opening_with_the_same_schema_change_apply_it_once(site: Path, tmp_path: Path):
    apply(configure(site))
    configure(site, site_yaml(FIELDS + "      subtitle: {type: string}\n"))
    run_workers(site, tmp_path, 4, 0)
    assert [i for i, _ in ledger(site)] == ["0001_changes", "0002_schema", "0003_transfers", "schema:posts:0001", "schema:posts:0002"]
