"""A build after edits to entry bodies alone is planned as "edited docs": it takes the output
definitions from the build state and compares the edited docs' facts alone.

Every build here is a new ``sonicgen build`` (no resident process); each test checks both how
the build planned (``build -v`` says) and that the output equals a clean build's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import age_sources, post, run, tree_digest
from test_resident import BEYOND_A_BODY, COLLECTOR, EAGER_WORDS, POSTS, STOP_FLAG, bravo, clean_build, edit


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


EDITED = "Plan: edited docs"


def test_a_body_edit_takes_the_definitions_from_the_build_state(built, tmp_path):
    site = built()
    edit(site, "content/posts/b.md", bravo(body="Second body.\n\nA new paragraph."))
    output = build(site)
    assert EDITED in output
    assert "Re-rendered 4 of" in output  # the page, its JSON and the two feeds
    assert "A new paragraph." in (site / "dist/posts/2024/b/index.html").read_text("utf-8")
    assert tree_digest(site / "dist") == clean_build(site, tmp_path)
    # ...and records them again: so does the next one.
    edit(site, "content/posts/c.md", post("Charlie", date="2024-01-03T10:00:00Z", tags=["y"], body="Third body, edited."))
    assert EDITED in build(site)
    assert tree_digest(site / "dist") == clean_build(site, tmp_path)


BEYOND = {
    **BEYOND_A_BODY,
    "data file": lambda site: edit(site, "content/_data/menu.yaml", "- Home\n"),
}


@pytest.mark.parametrize("what", BEYOND)
def test_edits_beyond_a_body_fingerprint_every_output(built, tmp_path, what):
    site = built()
    BEYOND[what](site)
    output = build(site)
    assert "Plan: compared" in output or "Plan: everything" in output, output
    assert tree_digest(site / "dist") == clean_build(site, tmp_path), what


def test_inputs_saved_too_recently_to_trust_are_fingerprinted_until_they_age(built, tmp_path):
    site = built()
    (site / "templates").mkdir()
    (site / "templates/entry.html").write_text('{% extends "theme:entry.html" %}', "utf-8")  # not aged: its stat is racy
    build(site)
    edit(site, "content/posts/b.md", bravo(body="Edited."))  # ages the template too, which the last build could not trust
    assert "Plan: compared" in build(site)
    edit(site, "content/posts/b.md", bravo(body="Edited again."))
    assert EDITED in build(site)  # the last build recorded stats it could trust
    assert tree_digest(site / "dist") == clean_build(site, tmp_path)


def test_another_plugins_outputs_are_fingerprinted_again(built, tmp_path):
    site = built({"plugins/words.py": EAGER_WORDS})  # its output holds the bodies' word counts
    edit(site, "content/posts/b.md", bravo(body="Second body has five words."))
    assert EDITED in build(site)
    assert (site / "dist/words.txt").read_text("utf-8") == "2 5 2"
    assert tree_digest(site / "dist") == clean_build(site, tmp_path)


def test_a_plugin_handling_site_collected_makes_every_output_fingerprinted(built, tmp_path):
    site = built({"plugins/collector.py": COLLECTOR})
    edit(site, "content/posts/b.md", bravo(body="Second body, edited."))
    assert "Plan: compared" in build(site)
    assert tree_digest(site / "dist") == clean_build(site, tmp_path)


LENGTHS = """
from functools import partial
from sonicgen import Plugin
from sonicgen.content.outputs import File

def text(lengths):
    return " ".join(map(str, lengths))

def setup(ctx):
    def outputs(site):  # the word counts are in the definition: a body edit defines the file anew
        lengths = tuple(len(doc.entry.load_body().split()) for doc in site.collections["posts"].docs)
        return [File("/lengths.txt", partial(text, lengths), "lengths plugin")]
    ctx.hook("site:outputs", outputs)

plugin = Plugin(name="lengths", version="1.0.0", setup=setup)
"""


def test_the_plan_after_body_edits_looks_only_at_the_edited_docs(built, tmp_path):
    site = built({"plugins/lengths.py": LENGTHS, "plugins/flag.py": STOP_FLAG})
    manifest = site / "dist/.sonicgen-manifest.json"
    listed = json.loads(manifest.read_text("utf-8"))
    del listed["files"]["posts/2024/a/index.html"]  # the output no longer holds it, as far as sonicgen knows
    manifest.write_text(json.dumps(listed), "utf-8")
    edit(site, "content/posts/b.md", bravo(body="Second body has five words."))
    output = build(site)
    assert EDITED in output
    assert "the body of posts/b changed (e.g. " in output
    assert "lengths.txt: its route, templates or context changed" in output
    assert "flag.txt: made by a function sonicgen cannot fingerprint" in output
    assert "posts/2024/a/index.html: its file is missing from the output" in output
    assert (site / "dist/lengths.txt").read_text("utf-8") == "2 5 2"
    assert tree_digest(site / "dist") == clean_build(site, tmp_path)


KEYED = """
from sonicgen import Plugin
from sonicgen.content.outputs import File

def setup(ctx):
    def outputs(site):
        count = lambda: str(len(site.collections["posts"].docs))  # a closure: only its key tells what it makes
        return [File("/count.txt", count, "count plugin", key="count"), File("/loose.txt", lambda: "loose", "count plugin")]

    ctx.hook("site:outputs", outputs)

plugin = Plugin(name="count", version="1.0.0", setup=setup)
"""


def test_a_file_made_by_a_function_with_a_key_is_made_again_only_when_what_it_read_changed(built, tmp_path):
    site = built({"plugins/count.py": KEYED})
    edit(site, "content/posts/b.md", bravo(body="Second body, edited."))
    output = build(site)
    assert "count.txt" not in output  # it read the list of posts, which a body edit leaves as it was
    assert "loose.txt: made by a function sonicgen cannot fingerprint" in output  # no key: made every time
    edit(site, "content/posts/d.md", post("Delta", date="2024-01-04T10:00:00Z", body="Fourth."))
    output = build(site)
    assert "count.txt: the docs of collection 'posts' changed" in output or "× the docs of collection 'posts' changed" in output
    assert (site / "dist/count.txt").read_text("utf-8") == "4"
    assert tree_digest(site / "dist") == clean_build(site, tmp_path)
