"""A build after edits to entry bodies alone takes the output definitions from the build state.

Every build here is a new ``sonicgen build`` (no resident process); each test checks both
which way the definitions came (fingerprinted again or not) and that the output equals a
clean build's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import age_sources, post, run, tree_digest
from test_resident import BEYOND_A_BODY, COLLECTOR, EAGER_WORDS, POSTS, STOP_FLAG, bravo, clean_build, edit

from sonicgen.build import rendering as rendering_module
from sonicgen.build.plan import plan_build


@pytest.fixture
def fingerprinted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many outputs each build fingerprinted the definitions of (one item per build that did)."""
    calls: list[int] = []
    definitions = rendering_module._definitions

    def counted(by_path, jobs):  # type: ignore[no-untyped-def]
        calls.append(len(by_path))
        return definitions(by_path, jobs)

    monkeypatch.setattr(rendering_module, "_definitions", counted)
    return calls


@pytest.fixture
def built(make_site: Callable[..., Path]) -> Callable[..., Path]:
    """A site with three posts (plus ``files``), aged and built once."""

    def make(files: dict[str, str] | None = None) -> Path:
        site = make_site({**POSTS, **(files or {})})
        age_sources(site)
        result = run(site, "build")
        assert result.exit_code == 0, result.output
        return site

    return make


def build(site: Path) -> str:
    result = run(site, "build", "-v")
    assert result.exit_code == 0, result.output
    return result.output


def test_a_body_edit_takes_the_definitions_from_the_build_state(built, fingerprinted, tmp_path):
    site = built()
    fingerprinted.clear()
    edit(site, "content/posts/b.md", bravo(body="Second body.\n\nA new paragraph."))
    output = build(site)
    assert fingerprinted == []
    assert "Re-rendered 4 of" in output  # the page, its JSON and the two feeds
    assert "A new paragraph." in (site / "dist/posts/2024/b/index.html").read_text("utf-8")
    assert tree_digest(site / "dist") == clean_build(site, tmp_path)
    fingerprinted.clear()  # the clean build above fingerprinted its own
    # ...and records them again: so does the next one.
    edit(site, "content/posts/c.md", post("Charlie", date="2024-01-03T10:00:00Z", tags=["y"], body="Third body, edited."))
    build(site)
    assert fingerprinted == []
    assert tree_digest(site / "dist") == clean_build(site, tmp_path)


BEYOND = {
    **BEYOND_A_BODY,
    "data file": lambda site: edit(site, "content/_data/menu.yaml", "- Home\n"),
}


@pytest.mark.parametrize("what", BEYOND)
def test_edits_beyond_a_body_fingerprint_every_output(built, fingerprinted, tmp_path, what):
    site = built()
    fingerprinted.clear()
    BEYOND[what](site)
    output = build(site)
    assert len(fingerprinted) == 1 and fingerprinted[0] > 10, output
    assert tree_digest(site / "dist") == clean_build(site, tmp_path), what


def test_inputs_saved_too_recently_to_trust_are_fingerprinted_until_they_age(built, fingerprinted, tmp_path):
    site = built()
    (site / "templates").mkdir()
    (site / "templates/entry.html").write_text('{% extends "theme:entry.html" %}', "utf-8")  # not aged: its stat is racy
    build(site)
    fingerprinted.clear()
    edit(site, "content/posts/b.md", bravo(body="Edited."))  # ages the template too, which the last build could not trust
    build(site)
    assert len(fingerprinted) == 1
    edit(site, "content/posts/b.md", bravo(body="Edited again."))
    build(site)
    assert len(fingerprinted) == 1  # the last build recorded stats it could trust
    assert tree_digest(site / "dist") == clean_build(site, tmp_path)


def test_another_plugins_outputs_are_fingerprinted_again(built, fingerprinted, tmp_path):
    site = built({"plugins/words.py": EAGER_WORDS})  # its output holds the bodies' word counts
    fingerprinted.clear()
    edit(site, "content/posts/b.md", bravo(body="Second body has five words."))
    build(site)
    assert fingerprinted == []
    assert (site / "dist/words.txt").read_text("utf-8") == "2 5 2"
    assert tree_digest(site / "dist") == clean_build(site, tmp_path)


def test_a_plugin_handling_site_collected_makes_every_output_fingerprinted(built, fingerprinted, tmp_path):
    site = built({"plugins/collector.py": COLLECTOR})
    fingerprinted.clear()
    edit(site, "content/posts/b.md", bravo(body="Second body, edited."))
    build(site)
    assert len(fingerprinted) == 1
    assert tree_digest(site / "dist") == clean_build(site, tmp_path)


LENGTHS = """
from functools import partial
from sonicgen import Plugin
from sonicgen.content.outputs import File

def text(lengths):
    return " ".join(map(str, lengths))

def setup(ctx):
    def outputs(site):  # the word counts are in the definition: a body edit defines the file anew
        lengths = tuple(len(doc.entry.body.split()) for doc in site.collections["posts"].docs)
        return [File("/lengths.txt", partial(text, lengths), "lengths plugin")]
    ctx.hook("site:outputs", outputs)

plugin = Plugin(name="lengths", version="1.0.0", setup=setup)
"""


def test_the_plan_after_body_edits_looks_only_at_the_edited_docs(built, fingerprinted, monkeypatch, tmp_path):
    site = built({"plugins/lengths.py": LENGTHS, "plugins/flag.py": STOP_FLAG})
    planned_in_full: list[int] = []

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        planned_in_full.append(1)
        return plan_build(*args, **kwargs)

    monkeypatch.setattr(rendering_module, "plan_build", counted)
    manifest = site / "dist/.sonicgen-manifest.json"
    listed = json.loads(manifest.read_text("utf-8"))
    del listed["files"]["posts/2024/a/index.html"]  # the output no longer holds it, as far as sonicgen knows
    manifest.write_text(json.dumps(listed), "utf-8")
    fingerprinted.clear()
    edit(site, "content/posts/b.md", bravo(body="Second body has five words."))
    output = build(site)
    assert fingerprinted == [] and planned_in_full == []
    assert "the body of posts/b changed (e.g. " in output
    assert "lengths.txt: its route, templates or context changed" in output
    assert "flag.txt: made by a function sonicgen cannot fingerprint" in output
    assert "posts/2024/a/index.html: its file is missing from the output" in output
    assert (site / "dist/lengths.txt").read_text("utf-8") == "2 5 2"
    assert tree_digest(site / "dist") == clean_build(site, tmp_path)
