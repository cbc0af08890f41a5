"""The Store contract, run against both stores: whatever passes here behaves identically."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from conftest import write_tree

from sonicgen.config import load_config
from sonicgen.content.models import Entry, SourceRef
from sonicgen.errors import Problems
from sonicgen.sources import ANY, Conflict, NotFound, Query, Store, StoreError, open_store

CONFIG = """\
title: Store contract
base_url: https://store.example/
timezone: UTC
collections:
  posts:
    source: {source}
    permalink: /posts/{{slug}}/
    sort: -date
    fields:
      title: {{type: string, required: true}}
      date: {{type: datetime}}
      day: {{type: date}}
      tags: {{type: list}}
      rating: {{type: integer}}
      score: {{type: number}}
      featured: {{type: boolean, default: false}}
      kind: {{type: select, options: [note, essay], default: note}}
"""


@pytest.fixture(params=["files", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    write_tree(tmp_path, {"site.yaml": CONFIG.format(source=request.param), "content/posts/.keep": ""})
    config, _ = load_config(tmp_path / "site.yaml")
    opened = open_store(config, "posts")
    yield opened
    opened.close()


def entry(slug: str, title: str = "A title", body: str = "Body.\n", **fields: object) -> Entry:
    return Entry("posts", slug, {"title": title, **fields}, body, SourceRef(""), "")


def test_save_then_get_round_trips_every_field_type_and_the_body_exactly(store: Store):
    body = "# Heading\n\nÜnïcödé, trailing spaces  \n\n```py\nx = 1\n```\n\n\n"
    original = entry(
        "round-trip",
        "Round: trip — “quotes”",
        body,
        date=datetime(2024, 5, 17, 9, 30, tzinfo=UTC),
        day=date(2024, 5, 18),
        tags=["a", "b c"],
        rating=7,
        score=2.5,
        featured=True,
        kind="essay",
    )
    original = dataclasses.replace(original, extra={"custom_key": {"nested": [1, 2]}, "note": "kept"})
    saved = store.save(original, expected=None)
    got = store.get("posts", "round-trip")
    assert got.version == saved.version
    assert got.entry.body == body
    assert dict(got.entry.fields) == {
        "title": "Round: trip — “quotes”",
        "date": datetime(2024, 5, 17, 9, 30, tzinfo=UTC),
        "day": date(2024, 5, 18),
        "tags": ["a", "b c"],
        "rating": 7,
        "score": 2.5,
        "featured": True,
        "kind": "essay",
    }
    assert dict(got.entry.extra) == {"custom_key": {"nested": [1, 2]}, "note": "kept"}


def test_defaults_apply_and_missing_optional_fields_are_none(store: Store):
    store.save(entry("plain"))
    fields = store.get("posts", "plain").entry.fields
    assert fields["featured"] is False and fields["kind"] == "note"
    assert fields["rating"] is None and fields["tags"] == []


def test_create_refuses_an_existing_slug_and_updates_check_the_version(store: Store):
    first = store.save(entry("x", "One"), expected=None)
    with pytest.raises(Conflict) as info:
        store.save(entry("x", "Again"), expected=None)
    assert info.value.current == first.version
    second = store.save(entry("x", "Two"), expected=first.version)
    assert second.version != first.version
    with pytest.raises(Conflict) as stale:
        store.save(entry("x", "Three"), expected=first.version)
    assert stale.value.current == second.version
    assert store.get("posts", "x").entry.fields["title"] == "Two"
    third = store.save(entry("x", "Four"), expected=ANY)
    assert store.get("posts", "x").version == third.version


def test_delete_checks_the_version_and_missing_entries_are_not_found(store: Store):
    saved = store.save(entry("gone"))
    with pytest.raises(Conflict):
        store.delete("posts", "gone", expected="not-the-version")
    store.delete("posts", "gone", expected=saved.version)
    with pytest.raises(NotFound):
        store.get("posts", "gone")
    with pytest.raises(NotFound):
        store.delete("posts", "gone")
    with pytest.raises(NotFound):
        store.save(entry("gone"), expected=saved.version)  # updating what no longer exists


@pytest.mark.parametrize("slug", ["../escape", "a/b", "Has Space", "", "dot.", "UPPER", "a\x00b", "ü"])
def test_unsafe_slugs_are_rejected(store: Store, slug: str):
    with pytest.raises(StoreError, match="slug"):
        store.save(entry(slug))


def test_invalid_entries_are_rejected_naming_the_field(store: Store):
    with pytest.raises(StoreError, match="rating"):
        store.save(entry("bad", rating="many"))
    with pytest.raises(StoreError, match="title"):
        store.save(Entry("posts", "untitled", {}, "", SourceRef(""), ""))
    with pytest.raises(NotFound):
        store.get("posts", "bad")


def test_list_sorts_filters_and_pages_with_cursors(store: Store):
    for n in range(1, 8):
        store.save(entry(f"p{n}", f"Post {n}", date=datetime(2024, 1, n, tzinfo=UTC), tags=["even"] if n % 2 == 0 else ["odd"]))
    store.save(entry("undated", "No date"))
    everything = store.list("posts", Query(limit=100))
    assert [s.entry.slug for s in everything.items] == ["p7", "p6", "p5", "p4", "p3", "p2", "p1", "undated"]  # -date, missing last
    assert everything.total == 8 and everything.cursor is None

    by_title = store.list("posts", Query(sort="title", limit=3))
    assert [s.entry.fields["title"] for s in by_title.items] == ["No date", "Post 1", "Post 2"]
    assert by_title.cursor is not None

    even = store.list("posts", Query(filters={"tags": "even"}, sort="date"))
    assert [s.entry.slug for s in even.items] == ["p2", "p4", "p6"] and even.total == 3

    first = store.list("posts", Query(limit=3))
    store.save(entry("p0", "Inserted", date=datetime(2023, 12, 1, tzinfo=UTC)))  # sorts after all dated posts
    store.delete("posts", "p4")  # the first item of the next page disappears
    rest: list[str] = []
    cursor = first.cursor
    while cursor is not None:
        page = store.list("posts", Query(limit=3, cursor=cursor))
        rest += [s.entry.slug for s in page.items]
        cursor = page.cursor
    assert [s.entry.slug for s in first.items] + rest == ["p7", "p6", "p5", "p3", "p2", "p1", "p0", "undated"]

    with pytest.raises(StoreError, match="unknown field"):
        store.list("posts", Query(sort="nope"))
    with pytest.raises(StoreError, match="cursor"):
        store.list("posts", Query(cursor="garbage!"))


def test_change_feed_reports_writes_in_order(store: Store):
    head = max([c.seq for c in store.changes()], default=0)
    a = store.save(entry("a"))
    store.save(entry("b"))
    a2 = store.save(entry("a", "A again"), expected=a.version)
    store.delete("posts", "b")
    changes = store.changes(since=head)
    assert [(c.slug, c.op) for c in changes] == [("a", "save"), ("b", "save"), ("a", "save"), ("b", "delete")]
    assert [c.seq for c in changes] == sorted({c.seq for c in changes})
    assert changes[2].version == a2.version and changes[3].version is None
    assert store.changes(since=changes[-1].seq) == []


def test_entries_for_the_build_match_what_was_saved(store: Store):
    store.save(entry("one", "One", date=datetime(2024, 2, 1, tzinfo=UTC)))
    store.save(entry("two", "Two"))
    problems = Problems()
    built = {e.slug: e for e in store.entries("posts", problems)}
    assert not problems.items
    assert set(built) == {"one", "two"}
    assert built["one"].fields["title"] == "One" and built["one"].date == datetime(2024, 2, 1, tzinfo=UTC)
    assert built["two"].body == "Body.\n"
