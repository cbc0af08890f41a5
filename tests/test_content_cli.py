"""``sonicgen content`` and moving collections between stores; a SQLite-backed site builds the same site."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from conftest import SITES, post, run, run_process, tree_digest

from sonicgen.config import load_config
from sonicgen.content.models import Entry, SourceRef
from sonicgen.errors import Problems
from sonicgen.sources import open_store
from sonicgen.sources.sqlite.store import SqliteStore
from sonicgen.sources.transfer import with_source

GOLDEN = SITES / "golden"


def golden_copy(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    shutil.copytree(GOLDEN, site, ignore=shutil.ignore_patterns("dist", ".sonicgen", "content.db"))
    return site


def set_source(site: Path, collection: str, kind: str) -> None:
    """Add ``source: kind`` to one collection of the fixture's site.yaml."""
    text = (site / "site.yaml").read_text()
    text, count = re.subn(rf"(\n  {collection}:\n)", rf"\1    source: {kind}\n", text)
    assert count == 1
    (site / "site.yaml").write_text(text)


def snapshot(site: Path, collection: str, kind: str) -> dict[str, tuple[dict, dict, str, str]]:
    config, _ = load_config(site / "site.yaml")
    store = open_store(with_source(config, collection, kind), collection)
    problems = Problems()
    try:
        return {e.slug: (dict(e.fields), dict(e.extra), e.load_body(), e.path) for e in store.entries(collection, problems)}
    finally:
        store.close()
        assert not problems.items, problems.items


def collections(site: Path) -> list[str]:
    config, _ = load_config(site / "site.yaml")
    return [name for name, spec in config.site.collections.items() if spec.source == "files"]


def test_export_and_import_round_trip_losslessly(tmp_path):
    site = golden_copy(tmp_path)
    for collection in collections(site):
        before = snapshot(site, collection, "files")
        result = run(site, "content", "export", collection, "--to", "sqlite")
        assert result.exit_code == 0, result.output
        assert f"Exported {len(before)} entries of {collection}: files → sqlite" in result.output
        assert snapshot(site, collection, "sqlite") == before  # value-for-value fields, byte-for-byte bodies

        shutil.rmtree(site / "content" / collection)
        result = run(site, "content", "import", collection, "--from", "sqlite")
        assert result.exit_code == 0, result.output
        assert snapshot(site, collection, "files") == before


def test_a_site_built_from_sqlite_is_identical_to_the_same_site_from_files(tmp_path):
    files_site = golden_copy(tmp_path / "a")
    assert run(files_site, "build").exit_code == 0
    sqlite_site = golden_copy(tmp_path / "b")
    for collection in collections(sqlite_site):
        assert run(sqlite_site, "content", "export", collection, "--to", "sqlite").exit_code == 0
        shutil.rmtree(sqlite_site / "content" / collection)
        set_source(sqlite_site, collection, "sqlite")
    result = run(sqlite_site, "build")
    assert result.exit_code == 0, result.output
    expected, got = tree_digest(files_site / "dist"), tree_digest(sqlite_site / "dist")
    assert sorted(got) == sorted(expected)
    assert [path for path in expected if expected[path] != got[path]] == []


def test_ls_and_show(tmp_path):
    site = golden_copy(tmp_path)
    collection = collections(site)[0]
    listing = run(site, "content", "ls", collection, "--limit", "2", "--json")
    assert listing.exit_code == 0, listing.output
    data = json.loads(listing.output.splitlines()[0])
    assert len(data["data"]) == 2 and data["meta"]["total"] >= 2 and data["meta"]["cursor"]
    slug = data["data"][0]["slug"]
    shown = run(site, "content", "show", collection, slug, "--json")
    assert json.loads(shown.output.splitlines()[0])["slug"] == slug
    text = run(site, "content", "show", collection, slug)
    assert text.output.startswith(f"slug: {slug}\nversion: {data['data'][0]['version']}\n")
    missing = run(site, "content", "show", collection, "no-such-entry")
    assert missing.exit_code == 1 and "no-such-entry" in missing.output
    unknown = run(site, "content", "ls", "nope")
    assert unknown.exit_code == 1 and "no collection named 'nope'" in unknown.output


def test_migrate_status_dry_run_apply_and_refusal(tmp_path):
    site = golden_copy(tmp_path)
    assert "content.db: does not exist yet" in run(site, "migrate", "--status").output
    assert run(site, "content", "export", "notes", "--to", "sqlite").exit_code == 0
    set_source(site, "notes", "sqlite")
    status = run(site, "migrate", "--status").output
    assert re.search(r"^applied  schema:notes:0001  notes: create the table", status, re.M), status  # text, never emoji

    config = (site / "site.yaml").read_text()
    (site / "site.yaml").write_text(config.replace("    fields:\n", "    fields:\n      mood: {type: string}\n", 1))  # notes come first
    dry = run(site, "migrate", "--dry-run")
    assert dry.exit_code == 0 and "would apply  schema:notes:0002  notes: add column mood" in dry.output
    assert "pending  schema:notes:0002" in run(site, "migrate", "--status").output
    assert "applied  schema:notes:0002" in run(site, "migrate").output
    assert "content.db: up to date" in run(site, "migrate").output

    (site / "site.yaml").write_text(config.replace("      rating: {type: integer, default: 3, min: 1, max: 5}\n", ""))  # has data
    refused = run(site, "migrate")
    assert refused.exit_code == 1
    assert "rating" in refused.output and "Traceback" not in refused.output


def test_a_broken_content_db_fails_the_build_cleanly_and_is_left_alone(tmp_path):
    site = golden_copy(tmp_path)
    set_source(site, "notes", "sqlite")
    (site / "content.db").write_text("these are my notes, not a database\n")
    result = run(site, "build")
    assert result.exit_code == 1
    assert "content.db: not a SQLite database" in result.output and "Traceback" not in result.output
    assert (site / "content.db").read_text() == "these are my notes, not a database\n"
    assert not (site / "dist").exists()


def test_ls_lists_the_readable_files_and_names_the_others_with_exit_1(make_site):
    """An entry that cannot be read (here an impossible date, 2024-02-30) is a problem with its file,
    line and field, never silently missing from the list."""
    site = make_site(
        {
            "content/posts/good.md": post("Good"),
            "content/posts/feb30.md": "---\ntitle: Feb 30\ndate: 2024-02-30\n---\n\nBody.\n",
        }
    )
    proc = run_process(site, "content", "ls", "posts")
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith("good\tGood\t2024-01-01T10:00:00+00:00\t")
    lines = proc.stderr.splitlines()
    assert lines[0] == "1 of 1 entries"
    assert lines[1].startswith("content/posts/feb30.md:3: date: '2024-02-30' is not a real date (day is out of range for month)")
    assert lines[2] == "error: 1 entry of posts could not be read and is not listed; fix the problems above"
    assert "Traceback" not in proc.stderr


def test_ls_reports_a_sqlite_row_with_invalid_json_in_a_list_column_and_lists_the_others(make_site):
    site = make_site({f"content/posts/{slug}.md": post(slug.upper(), tags=["x"]) for slug in ("a", "b", "c", "d")})
    assert run(site, "content", "export", "posts", "--to", "sqlite").exit_code == 0
    set_source(site, "posts", "sqlite")
    with sqlite3.connect(site / "content.db") as conn:
        conn.execute("""UPDATE posts SET tags = '["x", ' WHERE slug = 'd'""")
    conn.close()
    proc = run_process(site, "content", "ls", "posts")
    assert proc.returncode == 1, proc.stderr
    assert sorted(line.split("\t")[0] for line in proc.stdout.splitlines()) == ["a", "b", "c"]
    assert "3 of 3 entries" in proc.stderr
    assert (
        "content.db: table posts, row 4 (slug 'd'): tags: "
        """expected a list stored as JSON text such as ["a", "b"], got text ('["x", ')"""
    ) in proc.stderr.splitlines()
    assert "error: 1 entry of posts could not be read and is not listed" in proc.stderr


def sqlite_store(site: Path, collection: str = "posts") -> SqliteStore:
    """The collection's rows as the write API reaches them, whatever site.yaml says its source is."""
    config, _ = load_config(site / "site.yaml")
    return SqliteStore(with_source(config, collection, "sqlite"))


def rows(site: Path) -> dict[str, str]:
    with sqlite3.connect(site / "content.db") as conn:
        found = dict(conn.execute("SELECT slug, title FROM posts").fetchall())
    conn.close()
    return found


def database_dump(site: Path) -> str:
    conn = sqlite3.connect(site / "content.db")
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def test_export_refuses_to_overwrite_rows_edited_in_the_database_since_the_last_export_unless_forced(make_site):
    site = make_site({f"content/posts/{slug}.md": post(slug.upper()) for slug in ("a", "b", "c", "d")})
    first = run_process(site, "content", "export", "posts", "--to", "sqlite")
    assert first.returncode == 0, first.stderr
    assert "Exported 4 entries of posts: files → sqlite (4 new, 0 updated, 0 unchanged); 0 rows with no file kept" in first.stdout

    store = sqlite_store(site)  # b edited through the store (as the write API does), c by hand in SQL
    try:
        stored = store.get("posts", "b")
        store.save(dataclasses.replace(stored.entry, fields={**stored.entry.fields, "title": "B from the API"}), expected=stored.version)
    finally:
        store.close()
    with sqlite3.connect(site / "content.db") as conn:
        conn.execute("UPDATE posts SET title = 'C by hand' WHERE slug = 'c'")
    conn.close()
    for slug in ("b", "c", "d"):  # files edited too: the export would overwrite b and c; d was not edited in the database
        (site / f"content/posts/{slug}.md").write_text(post(f"{slug.upper()} from the file"), "utf-8")
    before = database_dump(site)

    refused = run_process(site, "content", "export", "posts", "--to", "sqlite")
    assert refused.returncode == 1, refused.stderr
    lines = refused.stderr.splitlines()
    hint = "copy it to the files first (sonicgen content import posts --from sqlite) or pass --force"
    assert lines[0].startswith("content.db: table posts, row 2 (slug 'b'): changed in the database since the last import or export")
    assert lines[1].startswith("content.db: table posts, row 3 (slug 'c'): changed in the database since the last import or export")
    assert all(line.endswith(f"and the copy would overwrite it; {hint}") for line in lines[:2])
    assert lines[2:] == ["error: export failed with 2 problem(s); nothing was changed"]
    assert database_dump(site) == before  # nothing written, d included

    forced = run_process(site, "content", "export", "posts", "--to", "sqlite", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "(0 new, 3 updated, 1 unchanged)" in forced.stdout
    assert rows(site) == {"a": "A", "b": "B from the file", "c": "C from the file", "d": "D from the file"}
    again = run_process(site, "content", "export", "posts", "--to", "sqlite")
    assert again.returncode == 0 and "(0 new, 0 updated, 4 unchanged)" in again.stdout, again.stderr


def test_an_import_takes_the_database_edits_and_the_next_export_overwrites_nothing_edited(make_site):
    site = make_site({f"content/posts/{slug}.md": post(slug.upper()) for slug in ("a", "b")})
    assert run_process(site, "content", "export", "posts", "--to", "sqlite").returncode == 0
    with sqlite3.connect(site / "content.db") as conn:
        conn.execute("UPDATE posts SET title = 'B edited' WHERE slug = 'b'")
    conn.close()
    imported = run_process(site, "content", "import", "posts", "--from", "sqlite")
    assert imported.returncode == 0, imported.stderr
    assert "Imported 2 entries of posts: sqlite → files (0 new, 1 updated, 1 unchanged); 0 files with no row kept" in imported.stdout
    assert 'title: "B edited"' in (site / "content/posts/b.md").read_text("utf-8")
    exported = run_process(site, "content", "export", "posts", "--to", "sqlite")
    assert exported.returncode == 0 and "(0 new, 0 updated, 2 unchanged)" in exported.stdout, exported.stderr


def test_export_keeps_rows_with_no_file_and_mirror_removes_them_unless_edited_in_the_database(make_site):
    site = make_site({f"content/posts/{slug}.md": post(slug.upper()) for slug in ("a", "b", "c")})
    assert run_process(site, "content", "export", "posts", "--to", "sqlite").returncode == 0
    (site / "content/posts/c.md").unlink()
    kept = run_process(site, "content", "export", "posts", "--to", "sqlite")
    assert kept.returncode == 0, kept.stderr
    assert (
        "Exported 2 entries of posts: files → sqlite (0 new, 0 updated, 2 unchanged); 1 row with no file kept (use --mirror to remove them)"
        in kept.stdout
    )
    assert sorted(rows(site)) == ["a", "b", "c"]

    store = sqlite_store(site)  # a row made in the database: --mirror would delete work no file holds
    try:
        store.save(Entry("posts", "z", {"title": "Z", "date": datetime(2024, 5, 1, tzinfo=UTC)}, "Only here.", SourceRef(""), ""))
    finally:
        store.close()
    refused = run_process(site, "content", "export", "posts", "--to", "sqlite", "--mirror")
    assert refused.returncode == 1
    assert "content.db: table posts, row 4 (slug 'z'): written in the database, not by an import or export" in refused.stderr
    assert "and --mirror would delete it; copy it to the files first" in refused.stderr
    assert "slug 'c'" not in refused.stderr  # exported by the first export and not edited since: no conflict
    assert sorted(rows(site)) == ["a", "b", "c", "z"]

    (site / "content/posts/z.md").write_text(post("Z"), "utf-8")  # z kept as a file: only c goes
    mirrored = run_process(site, "content", "export", "posts", "--to", "sqlite", "--mirror", "--force")
    assert mirrored.returncode == 0, mirrored.stderr
    assert "; 1 row with no file removed (--mirror)" in mirrored.stdout
    assert sorted(rows(site)) == ["a", "b", "z"]


def test_a_failed_import_says_import_failed(make_site):
    site = make_site({"content/posts/a.md": post("A", tags=["x"])})
    assert run_process(site, "content", "export", "posts", "--to", "sqlite").returncode == 0
    with sqlite3.connect(site / "content.db") as conn:
        conn.execute("UPDATE posts SET tags = 'x, y' WHERE slug = 'a'")
    conn.close()
    proc = run_process(site, "content", "import", "posts", "--from", "sqlite")
    assert proc.returncode == 1
    assert "content.db: table posts, row 1 (slug 'a'): tags: expected a list stored as JSON text" in proc.stderr
    assert proc.stderr.splitlines()[-1] == "error: import failed with 1 problem(s); nothing was changed"
