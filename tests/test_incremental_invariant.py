"""The incremental-build invariant: an incremental build gives byte-identical output to a clean one.

A Hypothesis state machine edits a small real site (two collections, a taxonomy, small
pagination, a data file, site templates that extend the theme's): entries are created,
edited (body, title, tags, date, draft), renamed and deleted, templates and the data file
change or disappear, and site.yaml changes (title, base URL, page size, Markdown options,
plugins switched off and on).  The rules only ever make valid sites.  After every step the
site is built in place, keeping ``.sonicgen/`` and the previous ``dist/`` (with one or two
workers, as the last ``use_workers`` step chose; in a fresh process each time, or in one
resident build that keeps the site in memory, as the last ``build_mode`` step chose), and a
copy of its sources is built from scratch; both builds must succeed and their outputs, manifest
included, must be byte-identical.

``SONICGEN_INVARIANT_STEPS`` is the total number of steps (default 500, about a minute on two
cores), run as examples of up to 20 steps each:
``SONICGEN_INVARIANT_STEPS=5000 pytest tests/test_incremental_invariant.py`` looks harder.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from conftest import age_sources, run, tree_digest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test
from pygments.plugin import find_plugin_lexers

from sonicgen.build import BuildOptions
from sonicgen.build.resident import ResidentBuild

STEPS_PER_EXAMPLE = 20
MAX_ENTRIES = 12
COLLECTIONS = ("posts", "notes")
SLUGS = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu", "nu", "omicron")
TITLES = ("Hello", "Second post", "Zebra crossing", "Ünïcode & <b>markup</b>", 'Quotes "and" colons: yes')
TAGS = ("alpha", "beta", "code", "news")
DATES = (
    "2023-05-01T09:00:00Z",
    "2024-01-01T10:00:00Z",
    "2024-06-15T12:30:00+02:00",
    "2024-06-15T10:30:00Z",  # the same instant as the one above: an equal datetime, shown differently
    "2099-01-01T00:00:00Z",  # in the future: left out of the build until it moves back
)
CODE = "```python\ndef double(x):\n    return x * 2\n```\n"
BODIES = (
    "Plain text.",
    "Plain text.\n\nThe same summary, more body.",  # listings show the summary: they must stay right either way
    "Shared body: the same text in several entries.",
    f"Some code:\n\n{CODE}",
    "## Intro\n\nSome *text*.\n\n### Detail\n\nMore, with a [link](/posts/).",
    "The summary.\n\n<!--more-->\n\nThe rest of it.",
    "The summary.\n\n<!--more-->\n\nAnother rest.",
    "A footnote.[^1]\n\n[^1]: The note.",
    "```js\nconst a = 1;\n```\n\n```nosuchlang\nplain\n```\n\nAfter the code.",
    "",
)
LITERALS = ("Entry footer one", "Entry footer two", "List banner")
MOTTOS = ("Build fast", "Build right", "Ünïcode motto")
SITE_TITLES = ("Test Site", "Another Title")
STYLES = ("default", "monokai", "friendly")
BASE_URLS = ("https://test.example/", "https://test.example/sub/")
PLUGINS = ("feeds", "sitemap", "json-api")


@dataclass
class Item:
    """One entry as the machine wrote it."""

    title: str
    tags: list[str]
    body: str
    date: str | None = None  # posts only
    draft: bool = False

    def text(self) -> str:
        lines = ["---", f"title: {json.dumps(self.title, ensure_ascii=False)}"]
        if self.date is not None:
            lines.append(f"date: {self.date}")
        if self.tags:
            lines.append(f"tags: {json.dumps(self.tags)}")
        if self.draft:
            lines.append("draft: true")
        return "\n".join([*lines, "---", "", self.body, ""])


@dataclass
class Settings:
    """The parts of site.yaml the machine changes."""

    title: str = SITE_TITLES[0]
    base_url: str = BASE_URLS[0]
    page_size: int = 2
    highlight: bool = True
    highlight_style: str = STYLES[0]
    typographer: bool = False
    heading_anchors: bool = True
    disabled: frozenset[str] = frozenset()

    def text(self) -> str:
        plugins = "".join(f"\n  {name}: false" for name in sorted(self.disabled)) or " {}"
        return f"""\
title: {json.dumps(self.title)}
base_url: {self.base_url}
timezone: UTC
theme: default
markdown:
  highlight: {json.dumps(self.highlight)}
  highlight_style: {self.highlight_style}
  typographer: {json.dumps(self.typographer)}
  heading_anchors: {json.dumps(self.heading_anchors)}
collections:
  posts:
    permalink: /posts/{{year}}/{{slug}}/
    sort: -date
    page_size: {self.page_size}
    fields:
      title: {{type: string, required: true}}
      date: {{type: datetime, required: true}}
      tags: {{type: list}}
  notes:
    permalink: /notes/{{slug}}/
    sort: title
    page_size: {self.page_size}
    fields:
      title: {{type: string, required: true}}
      tags: {{type: list}}
taxonomies:
  tags: {{}}
plugins:{plugins}
"""


def template(name: str, literal: str) -> str:
    """A site template extending the theme's own, with a literal string and the data file's motto."""
    return (
        f'{{% extends "theme:{name}" %}}\n'
        "{% block content %}\n{{ super() }}\n"
        f'<p class="marker">{literal}</p>\n'
        '{% if site.data.info is defined %}<p class="motto">{{ site.data.info.motto }}</p>{% endif %}\n'
        "{% endblock %}\n"
    )


def code_body(n: int) -> str:
    return f"Paragraph {n}.\n\n```python\nx = {n}\n```\n"


bodies = st.one_of(
    st.sampled_from(BODIES),
    st.integers(0, 9).map(code_body),
    st.text(alphabet="ab *_#`-\n", max_size=30),
)
titles = st.one_of(st.sampled_from(TITLES), st.text(alphabet="abcXYZ é&<>'\"", min_size=1, max_size=12).map(str.strip).filter(bool))
tag_lists = st.lists(st.sampled_from(TAGS), max_size=3, unique=True)


def items(collection: str) -> st.SearchStrategy[Item]:
    """A new entry of ``collection`` (only posts have a date), sometimes a draft."""
    dates = st.sampled_from(DATES) if collection == "posts" else st.none()
    return st.builds(Item, title=titles, tags=tag_lists, body=bodies, date=dates, draft=st.booleans())


config_changes = st.one_of(
    st.tuples(st.just("title"), st.sampled_from(SITE_TITLES)),
    st.tuples(st.just("base_url"), st.sampled_from(BASE_URLS)),
    st.tuples(st.just("page_size"), st.integers(1, 3)),
    st.tuples(st.just("highlight"), st.booleans()),
    st.tuples(st.just("highlight_style"), st.sampled_from(STYLES)),
    st.tuples(st.just("typographer"), st.booleans()),
    st.tuples(st.just("heading_anchors"), st.booleans()),
)


@dataclass
class Stats:
    """What a run exercised, to show that it was not vacuous."""

    builds: int = 0
    from_cache: int = 0
    two_workers: int = 0
    partial: int = 0  # incremental builds that re-rendered some outputs and kept the rest
    body_edits: int = 0  # resident builds that took in body edits without loading the site again
    recorded: int = 0  # builds planned as edited docs (only bodies changed: definitions from the build state)


@dataclass
class Site:
    """The machine's model of the site's sources; the ``write_*`` methods make the folder match it."""

    root: Path
    entries: dict[tuple[str, str], Item] = field(default_factory=dict)
    settings: Settings = field(default_factory=Settings)
    templates: dict[str, str] = field(default_factory=dict)
    motto: str | None = None

    def path(self, key: tuple[str, str]) -> Path:
        collection, slug = key
        return self.root / "content" / collection / f"{slug}.md"

    def write_entry(self, key: tuple[str, str]) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.entries[key].text(), "utf-8")

    def write_config(self) -> None:
        (self.root / "site.yaml").write_text(self.settings.text(), "utf-8")

    def write_template(self, name: str) -> None:
        path = self.root / "templates" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name in self.templates:
            path.write_text(template(name, self.templates[name]), "utf-8")
        else:
            path.unlink(missing_ok=True)

    def write_data(self) -> None:
        path = self.root / "content/_data/info.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.motto is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(f"motto: {json.dumps(self.motto, ensure_ascii=False)}\n", "utf-8")


def _sources_only(root: Path) -> Callable[[str, list[str]], set[str]]:
    """``copytree`` ignore function: leave out the build state and the output at the site's top level."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {n for n in names if n in ("dist", ".sonicgen") or n.startswith(".sonicgen-staging-")} if Path(folder) == root else set()

    return ignore


def explain(got: Path, expected: Path) -> str:
    """Which output files differ between the incremental (``got``) and clean (``expected``) builds, with a diff of the first."""
    mine, theirs = tree_digest(got), tree_digest(expected)
    only_mine = sorted(set(mine) - set(theirs))
    only_theirs = sorted(set(theirs) - set(mine))
    changed = sorted(p for p in set(mine) & set(theirs) if mine[p] != theirs[p])
    lines = [f"only in the incremental build: {only_mine}", f"only in the clean build: {only_theirs}", f"different: {changed}"]
    for path in [p for p in changed if p != ".sonicgen-manifest.json"][:1] or changed[:1]:
        diff = difflib.unified_diff(
            (expected / path).read_text("utf-8", "replace").splitlines(),
            (got / path).read_text("utf-8", "replace").splitlines(),
            f"clean/{path}",
            f"incremental/{path}",
            lineterm="",
        )
        lines += list(diff)[:60]
    return "\n".join(lines)


class SiteEdits(RuleBasedStateMachine):
    """Random edits to a site's sources, each followed by an incremental and a clean build that must agree."""

    def __init__(self, base: Path, stats: Stats) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="site-edits-", dir=base))
        self.site = Site(self.folder / "site")
        self.stats = stats
        self.jobs = 1
        self.resident: ResidentBuild | None = None  # made on first use, kept while other builds come and go
        self.use_resident = False
        self.aged = False

    def teardown(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    @initialize(
        data=st.data(),
        keys=st.lists(st.tuples(st.sampled_from(COLLECTIONS), st.sampled_from(SLUGS)), max_size=6, unique=True),
        entry_literal=st.sampled_from(LITERALS),
        resident=st.booleans(),
        aged=st.booleans(),
    )
    def make_site(self, data: st.DataObject, keys: list[tuple[str, str]], entry_literal: str, resident: bool, aged: bool) -> None:
        self.build_mode(resident, aged)
        site = self.site
        site.root.mkdir()
        for key in keys:
            site.entries[key] = data.draw(items(key[0]), label=f"{key[0]}/{key[1]}")
            site.write_entry(key)
        site.templates["entry.html"] = entry_literal
        site.motto = MOTTOS[0]
        site.write_config()
        site.write_template("entry.html")
        site.write_data()

    # Entries ---------------------------------------------------------------------------------

    def _pick(self, data: st.DataObject, collection: str | None = None) -> tuple[str, str]:
        keys = sorted(k for k in self.site.entries if collection is None or k[0] == collection)
        return data.draw(st.sampled_from(keys), label="entry")

    def _free_slug(self, data: st.DataObject, collection: str) -> str:
        free = [s for s in SLUGS if (collection, s) not in self.site.entries]
        return data.draw(st.sampled_from(free), label="slug")

    @precondition(lambda self: len(self.site.entries) < MAX_ENTRIES)
    @rule(data=st.data(), collection=st.sampled_from(COLLECTIONS))
    def create_entry(self, data: st.DataObject, collection: str) -> None:
        key = (collection, self._free_slug(data, collection))
        self.site.entries[key] = data.draw(items(collection), label="item")
        self.site.write_entry(key)

    @precondition(lambda self: self.site.entries)
    @rule(data=st.data(), body=bodies)
    def edit_body(self, data: st.DataObject, body: str) -> None:
        key = self._pick(data)
        self.site.entries[key].body = body
        self.site.write_entry(key)

    @precondition(lambda self: self.use_resident and self.site.entries)
    @rule(data=st.data(), body=bodies)
    def edit_body_a_while_ago(self, data: st.DataObject, body: str) -> None:
        """A body edit saved a while before a resident build: the case that build takes in place, which
        a run would otherwise meet only when ``edit_body`` and an aged resident mode happen to coincide."""
        self.edit_body(data, body)
        age_sources(self.site.root)

    @precondition(lambda self: len(self.site.entries) >= 2)
    @rule(data=st.data())
    def copy_body(self, data: st.DataObject) -> None:
        """Two entries with one body share a render-cache key."""
        source = self._pick(data)
        target = data.draw(st.sampled_from(sorted(k for k in self.site.entries if k != source)), label="target")
        self.site.entries[target].body = self.site.entries[source].body
        self.site.write_entry(target)

    @precondition(lambda self: self.site.entries)
    @rule(data=st.data(), title=titles)
    def edit_title(self, data: st.DataObject, title: str) -> None:
        key = self._pick(data)
        self.site.entries[key].title = title
        self.site.write_entry(key)

    @precondition(lambda self: self.site.entries)
    @rule(data=st.data(), tags=tag_lists)
    def edit_tags(self, data: st.DataObject, tags: list[str]) -> None:
        key = self._pick(data)
        self.site.entries[key].tags = tags
        self.site.write_entry(key)

    @precondition(lambda self: any(c == "posts" for c, _ in self.site.entries))
    @rule(data=st.data(), date=st.sampled_from(DATES))
    def edit_date(self, data: st.DataObject, date: str) -> None:
        key = self._pick(data, "posts")
        self.site.entries[key].date = date
        self.site.write_entry(key)

    @precondition(lambda self: self.site.entries)
    @rule(data=st.data())
    def toggle_draft(self, data: st.DataObject) -> None:
        key = self._pick(data)
        self.site.entries[key].draft = not self.site.entries[key].draft
        self.site.write_entry(key)

    @precondition(lambda self: self.site.entries)
    @rule(data=st.data())
    def rename_entry(self, data: st.DataObject) -> None:
        """A new file name is a new slug, so a new URL; the old pages must go."""
        old = self._pick(data)
        new = (old[0], self._free_slug(data, old[0]))
        self.site.path(old).rename(self.site.path(new))
        self.site.entries[new] = self.site.entries.pop(old)

    @precondition(lambda self: self.site.entries)
    @rule(data=st.data())
    def delete_entry(self, data: st.DataObject) -> None:
        key = self._pick(data)
        self.site.path(key).unlink()
        del self.site.entries[key]

    # Templates, data and configuration ------------------------------------------------------

    @rule(name=st.sampled_from(["entry.html", "list.html"]), literal=st.none() | st.sampled_from(LITERALS))
    def edit_template(self, name: str, literal: str | None) -> None:
        """Change a site template's literal text, add it, or remove it (None) so the theme's is used."""
        if literal is None:
            self.site.templates.pop(name, None)
        else:
            self.site.templates[name] = literal
        self.site.write_template(name)

    @rule(motto=st.none() | st.sampled_from(MOTTOS))
    def edit_data(self, motto: str | None) -> None:
        """Change the data file the site templates show, or remove it (None)."""
        self.site.motto = motto
        self.site.write_data()

    @rule(change=config_changes)
    def edit_config(self, change: tuple[str, object]) -> None:
        setattr(self.site.settings, *change)
        self.site.write_config()

    @rule(plugin=st.sampled_from(PLUGINS))
    def toggle_plugin(self, plugin: str) -> None:
        self.site.settings.disabled ^= {plugin}
        self.site.write_config()

    @rule(jobs=st.sampled_from([1, 2]))
    def use_workers(self, jobs: int) -> None:
        """From now on build incrementally with ``jobs`` workers (this step itself rebuilds with no edit)."""
        self.jobs = jobs

    @rule(resident=st.booleans(), aged=st.booleans())
    def build_mode(self, resident: bool, aged: bool) -> None:
        """From now on build in one resident process, or in a fresh one each time.  With ``aged``, files
        are dated 10 s back once written, as if saved a while before the build: their stat is then
        trusted, and a resident build takes in body edits in place (else it reads them all again)."""
        self.use_resident, self.aged = resident, aged

    # The invariant ----------------------------------------------------------------------------

    def _build_resident(self) -> None:
        site = self.site.root
        if self.resident is None:
            self.resident = ResidentBuild(site / "site.yaml", BuildOptions(jobs=self.jobs))
        summary = self.resident.build().summary
        self.stats.body_edits += summary.plan == "edited docs" and not summary.assembled
        self.stats.recorded += summary.plan == "edited docs"
        self.stats.from_cache += summary.markdown_cached
        self.stats.partial += bool(0 < len(summary.stale) < len(summary.stale) + summary.kept)

    def _build_in_a_process(self) -> None:
        incremental = run(self.site.root, "build", "-v", "--jobs", str(self.jobs))
        assert incremental.exit_code == 0, incremental.output
        cached = re.search(r"Markdown: \d+ rendered, (\d+) from the cache", incremental.output)
        assert cached, incremental.output
        self.stats.from_cache += int(cached[1])
        planned = re.search(r"Re-rendered (\d+) of (\d+) pages and generated files", incremental.output)
        unchanged = "Nothing to do: no input file" in incremental.output
        assert planned or unchanged, incremental.output  # the planner's report, or nothing to do at all
        self.stats.partial += bool(planned and 0 < int(planned[1]) < int(planned[2]))
        self.stats.recorded += "Plan: edited docs" in incremental.output

    @invariant()
    def incremental_build_matches_clean_build(self) -> None:
        site = self.site.root
        if self.aged:
            age_sources(self.site.root)
        if self.use_resident:
            self._build_resident()
        else:
            self._build_in_a_process()
        clean = self.folder / "clean"
        shutil.rmtree(clean, ignore_errors=True)
        shutil.copytree(site, clean, ignore=_sources_only(site))
        fresh = run(clean, "build", "--jobs", "1")
        assert fresh.exit_code == 0, fresh.output
        assert not list(site.glob(".sonicgen-staging-*")), "a staging folder was left behind"
        assert tree_digest(site / "dist") == tree_digest(clean / "dist"), explain(site / "dist", clean / "dist")
        self.stats.builds += 1
        self.stats.two_workers += self.jobs == 2


def total_steps() -> int:
    return int(os.environ.get("SONICGEN_INVARIANT_STEPS", "500"))


def test_incremental_builds_match_clean_builds(tmp_path: Path) -> None:
    # Pygments loads installed plugin lexers when it first meets an unknown language; IPython's raise the
    # recursion limit on import, which Hypothesis would warn about if it happened during the run.
    list(find_plugin_lexers())
    steps = total_steps()
    stats = Stats()
    run_state_machine_as_test(
        lambda: SiteEdits(tmp_path, stats),
        settings=settings(
            max_examples=math.ceil(steps / STEPS_PER_EXAMPLE),
            stateful_step_count=min(steps, STEPS_PER_EXAMPLE),
            deadline=None,
            database=None,
            print_blob=True,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    if stats.builds >= 100:  # a run of any size used the render cache and worker processes
        assert stats.from_cache > 0 and stats.two_workers > 0 and stats.partial > 0, stats
        assert stats.body_edits > 0 and stats.recorded > 0, stats
