"""The flat-file store beyond the shared contract: hand-written files keep their text, writes are
atomic and exclusive, edits made outside the store reach the change feed, bundles work."""

from __future__ import annotations

import dataclasses
import hashlib
import multiprocessing
import os
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import write_tree

from sonicgen.config import Config, load_config
from sonicgen.content.models import BodyUnavailable, Entry, SourceRef
from sonicgen.errors import Problems
from sonicgen.parallel import WorkerPool
from sonicgen.sources import ANY, Conflict, NotFound, Stored, StoreError
from sonicgen.sources.files.rewrite import same
from sonicgen.sources.files.store import FilesStore

CONFIG = """\
title: Files store
base_url: https://files.example/
timezone: UTC
collections:
  posts:
    permalink: /posts/{slug}/
    unknown_fields: allow
    fields:
      title: {type: string, required: true}
      date: {type: datetime}
      day: {type: date}
      tags: {type: list}
      rating: {type: integer}
      summary: {type: text}
"""

HAND_WRITTEN = """\
---
# Written by hand; keep this header.
title: 'Hello: world'   # the title
date: 2024-05-17T09:30:00.5+02:00
tags:
  - one   # first tag
  - two

# Search engines
seo:
    description: "Old description"   # shown by search engines
    keywords: [a, b]
rating: 3
summary: |
  Line one
  line two
legacy: yes
obsolete: true
---
Body *text*  \n\nwith trailing spaces.
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return write_tree(tmp_path, {"site.yaml": CONFIG, "content/posts/.keep": ""})


@pytest.fixture
def config(site: Path) -> Config:
    return load_config(site / "site.yaml")[0]


@pytest.fixture
def store(config: Config) -> Iterator[FilesStore]:
    opened = FilesStore(config)
    yield opened
    opened.close()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def edit(store: FilesStore, slug: str, *, fields: dict[str, object] | None = None, extra: dict[str, object] | None = None) -> Stored:
    """Read ``slug``, change some values, save it back with the version read."""
    got = store.get("posts", slug)
    entry = dataclasses.replace(
        got.entry, fields={**got.entry.fields, **(fields or {})}, extra=extra if extra is not None else got.entry.extra
    )
    return store.save(entry, expected=got.version)


def test_saving_a_hand_written_file_changes_only_the_values_that_changed(site: Path, store: FilesStore):
    path = write_tree(site, {"content/posts/hello.md": HAND_WRITTEN}) / "content/posts/hello.md"
    got = store.get("posts", "hello")
    extra = {k: v for k, v in got.entry.extra.items() if k != "obsolete"}
    extra["seo"] = {**extra["seo"], "description": "New description"}
    extra["added"] = ["x", "yes"]
    saved = edit(store, "hello", fields={"title": "New title", "rating": 4}, extra=extra)

    assert path.read_text("utf-8") == (
        "---\n"
        "# Written by hand; keep this header.\n"
        "title: 'New title'      # the title\n"  # the comment keeps its column
        "date: 2024-05-17T09:30:00.5+02:00\n"
        "tags:\n"
        "  - one   # first tag\n"
        "  - two\n"
        "\n"
        "# Search engines\n"
        "seo:\n"
        '    description: "New description"   # shown by search engines\n'
        "    keywords: [a, b]\n"
        "rating: 4\n"
        "summary: |\n"
        "  Line one\n"
        "  line two\n"
        "legacy: yes\n"
        'added: [x, "yes"]\n'
        "---\n"
        "Body *text*  \n\nwith trailing spaces.\n"
    )
    assert saved.version == sha(path) == store.get("posts", "hello").version
    assert saved.entry.extra["legacy"] is True and saved.entry.extra["added"] == ["x", "yes"]


def test_nested_values_change_in_place_and_comments_after_them_stay_once(site: Path, store: FilesStore):
    text = "---\ntitle: T\ntags:\n- a\n- b\nseo:\n  keywords: [x]  # short\n# About the rating:\n\nrating: 1\n---\n"
    path = write_tree(site, {"content/posts/nested.md": text}) / "content/posts/nested.md"
    got = store.get("posts", "nested")
    edit(store, "nested", fields={"tags": ["a", "b", "c"]}, extra={"seo": {**got.entry.extra["seo"], "robots": "noindex"}})
    assert path.read_text("utf-8") == (
        "---\ntitle: T\ntags:\n- a\n- b\n- c\nseo:\n  keywords: [x]  # short\n  robots: noindex\n# About the rating:\n\nrating: 1\n---\n"
    )


def test_saving_unchanged_values_rewrites_nothing(site: Path, store: FilesStore):
    path = write_tree(site, {"content/posts/hello.md": HAND_WRITTEN}) / "content/posts/hello.md"
    before = path.read_bytes()
    got = store.get("posts", "hello")
    assert store.save(got.entry, expected=got.version).version == got.version
    assert path.read_bytes() == before


def test_toml_front_matter_stays_toml_with_its_comments(site: Path, store: FilesStore):
    toml = (
        '+++\n# TOML, by hand\ntitle = "Toml"  # inline\ntags = ["a", "b"]\nobsolete = 1\n\n[seo]\ndescription = "x" # kept\n+++\nBody.\n'
    )
    path = write_tree(site, {"content/posts/toml.md": toml}) / "content/posts/toml.md"
    got = store.get("posts", "toml")
    extra = {"seo": {"description": "y"}, "stamp": datetime(2024, 6, 1, 8, 0, tzinfo=timezone(timedelta(hours=2)))}
    edit(store, "toml", fields={"title": "Toml 2", "rating": 5}, extra=extra)
    assert path.read_text("utf-8") == (
        '+++\n# TOML, by hand\ntitle = "Toml 2"  # inline\ntags = ["a", "b"]\nrating = 5\nstamp = 2024-06-01T08:00:00+02:00\n\n'
        '[seo]\ndescription = "y" # kept\n+++\nBody.\n'
    )
    assert got.entry.extra["obsolete"] == 1
    with pytest.raises(StoreError, match="TOML"):
        edit(store, "toml", extra={"nothing": None})


@pytest.mark.parametrize("start", ["---\ntitle: Start\n---\n", "+++\ntitle = 'Start'\n+++\n", "Only a body, no front matter.\n"])
def test_values_round_trip_value_for_value_in_every_format(site: Path, store: FilesStore, start: str):
    write_tree(site, {"content/posts/values.md": start})
    fields = {
        "title": "yes",  # a YAML 1.1 boolean if written plainly
        "date": datetime(2024, 5, 17, 9, 30, 15, 250000, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        "day": date(2024, 2, 29),
        "tags": ["1:30", "0777", "null", "2024-01-01", "plain"],
        "rating": 12,
        "summary": "Two lines\nof text\n",
    }
    extra = {
        "naive": datetime(2024, 1, 2, 3, 4, 5),
        "utc": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        "nested": {"list": [1, 2.5, True, False], "deeper": {"when": date(2020, 1, 1), "big": 1e20}},
        "flag": False,
    }
    store.save(Entry("posts", "values", fields, "Body.\n", SourceRef(""), "", extra=extra), expected=ANY)
    back = store.get("posts", "values").entry
    assert same(dict(back.fields), fields)
    assert same(dict(back.extra), extra)
    assert back.fields["date"].utcoffset() == timedelta(hours=5, minutes=30) and back.extra["naive"].tzinfo is None
    text = (site / "content/posts/values.md").read_text("utf-8")
    assert text.startswith("+++\n" if start.startswith("+++") else "---\n")


def test_line_endings_and_byte_order_mark_are_kept(site: Path, store: FilesStore):
    path = write_tree(site, {"content/posts/crlf.md": b"\xef\xbb\xbf---\r\ntitle: CRLF   # c\r\nrating: 1\r\n---\r\nBody\r\nline\r\n"})
    path = path / "content/posts/crlf.md"
    edit(store, "crlf", fields={"rating": 2})
    assert path.read_bytes() == b"\xef\xbb\xbf---\r\ntitle: CRLF   # c\r\nrating: 2\r\n---\r\nBody\r\nline\r\n"


def test_new_entries_go_to_their_folder_as_yaml_front_matter(site: Path, store: FilesStore):
    entry = Entry("posts", "trip", {"title": "Trip", "tags": ["a"]}, "Text.\n", SourceRef(""), "", path="2024/travel")
    saved = store.save(entry, expected=None)
    path = site / "content/posts/2024/travel/trip.md"
    assert path.read_text("utf-8") == "---\ntitle: Trip\ntags: [a]\n---\nText.\n"
    assert saved.entry.path == "2024/travel" and saved.entry.source.path == "content/posts/2024/travel/trip.md"
    assert saved.entry.source.line == 5 and saved.entry.source.line_of("tags") == 3
    with pytest.raises(StoreError, match="path"):
        store.save(dataclasses.replace(entry, slug="other", path="../up"))
    with pytest.raises(StoreError, match="slug"):
        store.save(dataclasses.replace(entry, slug="trip\n"))


def test_files_in_folders_with_any_name_can_be_saved_back(site: Path, store: FilesStore):
    path = write_tree(site, {"content/posts/Old Posts/kept.md": "---\ntitle: Kept\n---\n"}) / "content/posts/Old Posts/kept.md"
    assert edit(store, "kept", fields={"rating": 1}).entry.path == "Old Posts"
    assert path.read_text("utf-8") == "---\ntitle: Kept\nrating: 1\n---\n"


def test_draft_expiry_and_template_are_written_as_their_front_matter_keys(site: Path, store: FilesStore):
    expires = datetime(2030, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=-3)))
    entry = Entry("posts", "special", {"title": "Special"}, "", SourceRef(""), "", draft=True, expires=expires, template="special.html")
    saved = store.save(entry, expected=None)
    path = site / "content/posts/special.md"
    assert path.read_text("utf-8") == "---\ntitle: Special\ntemplate: special.html\ndraft: true\nexpires: 2030-01-01T12:00:00-03:00\n---\n"
    assert (saved.entry.draft, saved.entry.expires, saved.entry.template) == (True, expires, "special.html")
    store.save(dataclasses.replace(saved.entry, draft=False, expires=None, template=None), expected=saved.version)
    assert path.read_text("utf-8") == "---\ntitle: Special\n---\n"


def test_a_file_named_for_one_slug_but_holding_another_is_found_and_kept_in_place(site: Path, store: FilesStore):
    write_tree(site, {"content/posts/2023/draft-name.md": "---\ntitle: Real\nslug: real\n---\nBody\n"})
    edit(store, "real", fields={"title": "Real, edited"})
    assert (site / "content/posts/2023/draft-name.md").read_text("utf-8") == "---\ntitle: Real, edited\nslug: real\n---\nBody\n"
    with pytest.raises(StoreError, match="already there"):  # draft-name.md exists but holds 'real'
        store.save(Entry("posts", "draft-name", {"title": "New"}, "", SourceRef(""), "", path="2023"), expected=None)
    assert [s.entry.slug for s in store.list("posts").items] == ["real"]


def test_a_failed_write_leaves_the_file_byte_identical_and_no_temporary_files(
    site: Path, store: FilesStore, monkeypatch: pytest.MonkeyPatch
):
    path = write_tree(site, {"content/posts/hello.md": HAND_WRITTEN}) / "content/posts/hello.md"
    before = path.read_bytes()
    got = store.get("posts", "hello")
    head = max((c.seq for c in store.changes()), default=0)

    def fail(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(StoreError, match=r"hello\.md: cannot write: No space left on device"):
        store.save(dataclasses.replace(got.entry, fields={**got.entry.fields, "title": "Lost"}), expected=got.version)
    monkeypatch.undo()

    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [".keep", "hello.md"]
    assert store.get("posts", "hello").version == got.version and store.changes(since=head) == []
    edit(store, "hello", fields={"title": "Kept"})
    assert sorted(p.name for p in path.parent.iterdir()) == [".keep", "hello.md"]


def test_edits_made_outside_the_store_show_up_in_the_change_feed(site: Path, config: Config, store: FilesStore):
    for slug in ("kept", "edited", "removed", "same-size", "renamed"):
        store.save(Entry("posts", slug, {"title": slug.title()}, "Body.\n", SourceRef(""), ""), expected=None)
    head = store.changes()[-1].seq
    posts = site / "content/posts"
    (posts / "created.md").write_text("---\ntitle: Made by hand\n---\n", "utf-8")
    (posts / "edited.md").write_text("---\ntitle: Edited by hand\n---\nLonger body.\n", "utf-8")
    (posts / "removed.md").unlink()
    same_size = posts / "same-size.md"
    stat = same_size.stat()
    same_size.write_bytes(same_size.read_bytes().replace(b"Body.", b"Yodb."))  # same size, and the same mtime below
    os.utime(same_size, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    (posts / "renamed.md").write_text("---\ntitle: Renamed\nslug: new-name\n---\nBody.\n", "utf-8")

    changes = store.changes(since=head)
    assert {(c.slug, c.op, c.version) for c in changes} == {
        ("edited", "save", sha(posts / "edited.md")),
        ("removed", "delete", None),
        ("same-size", "save", sha(same_size)),
        ("renamed", "delete", None),
        ("new-name", "save", sha(posts / "renamed.md")),
        ("created", "save", sha(posts / "created.md")),
    }
    assert [c.seq for c in changes] == sorted(c.seq for c in changes) and changes[0].seq > head
    assert store.changes(since=head) == changes  # a second scan finds nothing new
    other = FilesStore(config)  # a fresh store (as in another process) sees the same feed
    try:
        assert other.changes(since=head) == changes
    finally:
        other.close()


def test_a_stale_version_after_an_outside_edit_is_a_conflict(site: Path, store: FilesStore):
    path = write_tree(site, {"content/posts/hello.md": HAND_WRITTEN}) / "content/posts/hello.md"
    got = store.get("posts", "hello")
    path.write_text(HAND_WRITTEN.replace("rating: 3", "rating: 5"), "utf-8")
    edited = path.read_bytes()
    with pytest.raises(Conflict) as info:
        store.save(dataclasses.replace(got.entry, fields={**got.entry.fields, "title": "Mine"}), expected=got.version)
    assert info.value.current == sha(path)
    with pytest.raises(Conflict):
        store.delete("posts", "hello", expected=got.version)
    assert path.read_bytes() == edited
    assert store.get("posts", "hello").entry.fields["rating"] == 5


def test_builds_leave_bodies_in_their_files_and_refuse_one_changed_since(site: Path, store: FilesStore):
    path = write_tree(site, {"content/posts/hello.md": HAND_WRITTEN}) / "content/posts/hello.md"
    [entry] = store.entries("posts", Problems())
    assert entry.load_body() == "Body *text*  \n\nwith trailing spaces.\n"  # read from the file on use
    assert entry.body_digest() == hashlib.sha256(entry.load_body().encode()).hexdigest()
    held = store.get("posts", "hello").entry  # a caller's own copy
    retitled = dataclasses.replace(entry, fields={**entry.fields, "title": "Other"})  # as a content:loaded hook would
    path.write_text(HAND_WRITTEN.replace("Body", "Changed body"), "utf-8")
    assert isinstance(held.body, str) and held.body.startswith("Body *text*")
    assert retitled.body_digest() == entry.body_digest()  # still the file's body, still not in memory
    for deferred in (entry, retitled):
        with pytest.raises(BodyUnavailable, match=r"hello\.md: changed while sonicgen was using it; build again") as failure:
            deferred.load_body()
        assert failure.value.problem.source.endswith("content/posts/hello.md")


def _race(stores: list[FilesStore], version: str, round_: int) -> list[object]:
    """Every store saves a title of its own over ``version`` at the same moment; returns what each got.
    (Titles differ per round too: rewriting identical bytes keeps the version, so it is no conflict.)"""
    barrier = threading.Barrier(len(stores))
    results: list[object] = [None] * len(stores)
    base = stores[0].get("posts", "hello").entry

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            results[n] = stores[n].save(
                dataclasses.replace(base, fields={**base.fields, "title": f"Writer {round_}.{n}"}), expected=version
            )
        except Conflict as exc:
            results[n] = exc

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.parametrize("shared", [True, False], ids=["one-store", "a-store-each"])
def test_writers_racing_with_the_same_version_exactly_one_wins(site: Path, config: Config, store: FilesStore, shared: bool):
    write_tree(site, {"content/posts/hello.md": HAND_WRITTEN})
    stores = [store] * 4 if shared else [store, *(FilesStore(config) for _ in range(3))]
    try:
        for round_ in range(5):
            results = _race(stores, store.get("posts", "hello").version, round_)
            winners = [r for r in results if isinstance(r, Stored)]
            assert len(winners) == 1 and sum(isinstance(r, Conflict) for r in results) == len(stores) - 1
            assert store.get("posts", "hello").version == winners[0].version
            assert all(r.current == winners[0].version for r in results if isinstance(r, Conflict))
    finally:
        for other in stores[1:]:
            if other is not store:
                other.close()


def _save_in_process(root: str, version: str, title: str, barrier: object, queue: object) -> None:
    config = load_config(Path(root) / "site.yaml")[0]
    store = FilesStore(config)
    base = store.get("posts", "hello").entry
    barrier.wait()  # type: ignore[attr-defined]
    try:
        store.save(dataclasses.replace(base, fields={**base.fields, "title": title}), expected=version)
        queue.put("won")  # type: ignore[attr-defined]
    except Conflict:
        queue.put("conflict")  # type: ignore[attr-defined]
    finally:
        store.close()


def test_writers_in_separate_processes_cannot_both_pass_the_version_check(site: Path, store: FilesStore):
    write_tree(site, {"content/posts/hello.md": HAND_WRITTEN})
    version = store.get("posts", "hello").version
    context = multiprocessing.get_context("spawn")
    barrier, queue = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_save_in_process, args=(str(site), version, f"P{n}", barrier, queue)) for n in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert sorted(queue.get(timeout=5) for _ in workers) == ["conflict", "won"]
    assert store.get("posts", "hello").entry.fields["title"] in ("P0", "P1")
    assert [c.op for c in store.changes()] == ["save"]  # the winner's write, recorded once


def test_bundles_are_read_updated_versioned_and_deleted_without_their_files(site: Path, store: FilesStore):
    bundle = {"content/posts/trip/index.md": "---\ntitle: Trip  # by hand\n---\nPhotos.\n", "content/posts/trip/photo.jpg": b"\xff"}
    posts = write_tree(site, bundle) / "content/posts"
    got = store.get("posts", "trip")
    assert got.version == sha(posts / "trip/index.md") and got.entry.bundle_files == ("photo.jpg",) and got.entry.path == ""
    saved = edit(store, "trip", fields={"rating": 5})
    assert (posts / "trip/index.md").read_text("utf-8") == "---\ntitle: Trip  # by hand\nrating: 5\n---\nPhotos.\n"
    assert saved.version == sha(posts / "trip/index.md") and (posts / "trip/photo.jpg").read_bytes() == b"\xff"

    (posts / "trip/map.png").write_bytes(b"\x89")  # the index notices files added beside index.md
    assert store.get("posts", "trip").entry.bundle_files == ("map.png", "photo.jpg")

    store.delete("posts", "trip", expected=saved.version)
    assert sorted(p.name for p in (posts / "trip").iterdir()) == ["map.png", "photo.jpg"]
    with pytest.raises(NotFound):
        store.get("posts", "trip")
    write_tree(posts, {"solo/index.md": "---\ntitle: Solo\n---\n"})
    store.delete("posts", "solo")
    assert not (posts / "solo").exists()  # nothing else was in the folder


def test_invalid_files_are_reported_not_hidden_and_can_be_replaced(site: Path, store: FilesStore):
    write_tree(site, {"content/posts/broken.md": "---\ntitle: Broken\nrating: many\n---\nBody\n"})
    with pytest.raises(StoreError, match=r"content/posts/broken.md:3: rating: expected a number"):
        store.get("posts", "broken")
    assert store.list("posts").total == 0
    problems = Problems()
    assert list(store.entries("posts", problems)) == [] and [p.field for p in problems.errors] == ["rating"]
    with pytest.raises(Conflict):
        store.save(Entry("posts", "broken", {"title": "Fixed"}, "Body\n", SourceRef(""), ""), expected=None)
    store.save(Entry("posts", "broken", {"title": "Fixed", "rating": 1}, "Body\n", SourceRef(""), ""), expected=ANY)
    assert (site / "content/posts/broken.md").read_text("utf-8") == "---\ntitle: Fixed\nrating: 1\n---\nBody\n"


class Reader:
    """A worker's context for a store: the site's configuration (a build's workers have more)."""

    def __init__(self, config: Config) -> None:
        self.config = config


def test_files_read_in_worker_processes_are_the_files_read_in_one(site: Path, config: Config):
    """Same entries, problems and order, with as many files as make the store read them in workers
    (``PARALLEL_READS``); bodies stay in their files."""
    from sonicgen.sources.files.store import PARALLEL_READS

    post = "---\ntitle: Post {n}\ndate: 2024-05-{day:02}T10:00:00+02:00\ntags: [a]\n---\nBody {n}.\n"
    count = PARALLEL_READS + 10
    tree: dict[str, str | bytes] = {f"content/posts/p{n:03}.md": post.format(n=n, day=n % 28 + 1) for n in range(count)}
    tree["content/posts/p005.md"] = "---\ntitle: Broken\nrating: many\n---\n"
    tree["content/posts/trip/index.md"] = "---\ntitle: Trip\n---\nPhotos.\n"
    tree["content/posts/trip/photo.jpg"] = b"\xff"
    write_tree(site, tree)

    def read(store: FilesStore) -> tuple[list[Entry], list[str]]:
        problems = Problems()
        try:
            return list(store.entries("posts", problems)), [str(p) for p in problems.items]
        finally:
            store.close()

    with WorkerPool(3, Reader, (config,)) as pool:
        in_workers = read(FilesStore(config, lambda: pool))
    assert in_workers == read(FilesStore(config))
    entries, problems = in_workers
    assert [e.slug for e in entries][:3] == ["p000", "p001", "p002"] and len(entries) == count
    assert problems == ["content/posts/p005.md:3: rating: expected a number, got text ('many')"]
    assert not any(isinstance(e.body, str) for e in entries)  # left in their files
    assert entries[-1].bundle_files == ("photo.jpg",) and entries[0].load_body() == "Body 0.\n"
    assert entries[1].date == datetime(2024, 5, 2, 8, 0, tzinfo=UTC)
