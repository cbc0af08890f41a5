"""``sonicgen content`` and moving collections between stores; a SQLite-backed site builds the same site."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path

from conftest import SITES, post, run, run_process, tree_digest

from sonicgen.config import load_config
from sonicgen.errors import Problems
from sonicgen.sources import open_store
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
