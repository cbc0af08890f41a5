"""A site built again and again in one process, as ``sonicgen build --watch`` does.

The last good build's graph, outputs, their definitions and the compiled templates stay in
memory.  When the only inputs that changed since are existing entries' files, each changed in
its body alone (the same entry otherwise, after ``content:loaded``), the graph takes the new
entries in place and the plan compares those docs' facts alone: a one-post edit re-renders the
outputs that read it without reading, assembling or fingerprinting the rest of the site.

Anything else goes through the whole planner, in the same process with its imports warm, and
its result is kept in turn: a file added, moved or deleted; front matter; templates, data,
static files, site.yaml or plugin code; the clock reaching a scheduled post; another process
building the site meanwhile; a plugin other than the built-in ones handling ``site:collected``
or ``outputs:complete``, or making outputs that differ after the edit.  Either way the output
equals a clean build's, byte for byte (``tests/test_incremental_invariant.py``).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from sonicgen.build.incremental import doc_shape, doc_versions
from sonicgen.build.pipeline import BuildOptions, BuildResult, build, fewer_collections, manifest_stat, nothing_to_do, open_render_cache
from sonicgen.build.plan import UNFINGERPRINTED, plan_edits
from sonicgen.build.progress import Progress, Silent
from sonicgen.build.recorded import watches_the_site
from sonicgen.build.render_cache import RenderCache
from sonicgen.build.rendering import Kept, Site, body_renderers, checked_outputs, doc_shapes, finish, outputs_by_path, resolver
from sonicgen.build.signature import changed_files, input_signature, is_due
from sonicgen.config import Config
from sonicgen.content.facts import Facts, Memo, definition
from sonicgen.content.graph import SummaryFn
from sonicgen.content.models import Entry
from sonicgen.content.outputs import Output
from sonicgen.errors import BuildError, PluginError, Problems
from sonicgen.hooks.registry import HookRegistry
from sonicgen.output.writer import OutputWriter
from sonicgen.sources.files.reader import read_entry


class ResidentBuild:
    """Builds one site again and again, keeping what the last good build rendered with.

    A failed build keeps nothing: the next one goes through the whole planner.  Not for two
    threads at once.
    """

    def __init__(self, config_path: Path, options: BuildOptions | None = None) -> None:
        self._config_path = config_path
        self._options = options or BuildOptions()
        self._kept: Kept | None = None
        self._summaries: dict[str, str] = {}
        self.body_edits = 0  # builds that took the body-edit path, for tests and benchmarks

    def build(self, progress: Progress | None = None) -> BuildResult:
        """Build the site; raise BuildError on failure, like :func:`sonicgen.build.build`."""
        progress = progress or Silent()
        kept, self._kept = self._kept, None
        if kept is not None:
            try:
                with fewer_collections():
                    result = _body_edits(kept, progress, self._summaries)
            except PluginError as exc:
                raise BuildError([exc.problem(self._config_path.resolve().parent)]) from exc
            if result is not None:
                if result.summary.inputs_unchanged:
                    self._kept = kept  # built on nothing, so still the last good build
                else:
                    self.body_edits += 1
                return result
        self._summaries.clear()  # the renderer may change: keep only what the next edits use
        result = build(self._config_path, self._options, progress, keep=self._keep)
        self._options = replace(self._options, clean=False)  # --clean empties the output once, not on every edit
        return result

    @property
    def config(self) -> Config | None:
        """The configuration the last good build used; None after a failed one."""
        return self._kept.run.config if self._kept is not None else None

    def _keep(self, kept: Kept) -> None:
        self._kept = kept


def _body_edits(kept: Kept, progress: Progress, summaries: dict[str, str]) -> BuildResult | None:
    """Build again after edits to entry bodies alone, on what ``kept`` holds; None when that cannot
    be sure to give a clean build's output, and then ``kept`` may have been changed: build afresh."""
    before, site = kept.run, kept.site
    config, registry = before.config, before.plugins.registry
    started = time.perf_counter()
    now = before.options.now or datetime.now(UTC)
    others = before.plugins.others()
    if not kept.meta or is_due(kept.meta.get("next_change"), now):
        return None
    if watches_the_site(others):
        return None  # a handler may keep state of its own, or see the outputs as they were
    signature = input_signature(config)
    changed = changed_files(before.signature, signature)
    edits = _read_edits(config, registry, site.entries, changed)
    if edits is None:
        return None
    problems = Problems()
    problems.extend(kept.result.warnings)  # the edits changed no front matter: what was read and assembled warns alike
    cache = open_render_cache(config, before.plugins, problems)
    if cache is None:
        return None
    try:
        recorded = dict(cache.conn.execute("SELECT name, value FROM meta").fetchall())
        if any(recorded.get(name) != value for name, value in kept.meta.items()):
            return None  # another process built the site since
        if recorded.get("manifest") != manifest_stat(before.out_dir):
            return None  # something else changed the output
        run = replace(before, problems=problems, progress=progress, now=now, started=started, cache=cache, signature=signature)
        if not changed:
            return _unchanged(kept, started)
        graph = site.graph
        graph.render_markdown, summarize = body_renderers(cache, site.markdown)
        graph.summarize = _remembered(summarize or graph.summarize, cache, summaries)
        touched = []
        for index, entry in edits:
            site.entries[index] = entry
            doc = graph._by_key.get(entry.key)
            if doc is not None:  # else unpublished (a draft, say): no output shows it
                doc._entry, doc._rendered, doc._summary = entry, None, None
                touched.append(doc)
        foreign = _foreign_outputs(others, site)  # with the new entries: they may read the bodies
        if foreign is None:
            return None
        site.by_path.update(foreign)
        resolve = resolver(Facts(graph, cache.key), site.env, site.assets, cache.fingerprint)
        plan = plan_edits(cache.conn, doc_versions(touched, cache.fingerprint, config), resolve)
        plan.shapes = doc_shapes(graph, plan.versions)
        plan.stale.update((path, UNFINGERPRINTED) for path, text in site.planned.items() if text is None)
        return finish(run, site, plan, resolve, OutputWriter(run.out_dir))
    except sqlite3.DatabaseError:
        return None  # the whole planner reports the damage and builds without the state
    finally:
        cache.conn.close()


def _read_edits(config: Config, registry: HookRegistry, entries: list[Entry], changed: set[str]) -> list[tuple[int, Entry]] | None:
    """``(index in entries, new entry)`` for each changed file, when every one is an entry's file
    whose body alone changed; else None."""
    if not changed:
        return []
    root = f"{config.root}/"
    by_file = {root + entry.source.path: n for n, entry in enumerate(entries)}
    edits = []
    for path in sorted(changed):
        n = by_file.get(path)
        if n is None:
            return None  # not an entry's file (new, gone, a template, data...), or one from SQLite
        old = entries[n]
        collection = config.site.collections[old.collection]
        if collection.source != "files":
            return None
        new = read_entry(config, old.collection, collection, Path(path), Problems())
        if new is None:
            return None  # the whole planner reports what is wrong with it
        if new.content_hash == old.content_hash:
            continue  # touched, or only read again because its stat was too recent to trust
        new = registry.pipe("content:loaded", new, config=config, subject=new.source.path)
        shape = doc_shape(new)
        if not shape or shape != doc_shape(old):
            return None
        edits.append((n, new))
    return edits


def _foreign_outputs(others: HookRegistry, site: Site) -> dict[str, Output] | None:
    """The outputs of plugins other than the built-in ones, made again: a plugin may read bodies
    while making them.  None unless they are the same outputs as before, each as defined before."""
    made: list[Output] = []
    for plugin, result in others.collect("site:outputs", site=site.graph):
        made.extend(checked_outputs(plugin, "site:outputs", result))
    problems = Problems()
    fresh = outputs_by_path(made, problems)
    memo: Memo = {}
    if problems.errors or fresh.keys() != site.foreign:
        return None
    if any(definition(output, memo) != definition(site.by_path[path], memo) for path, output in fresh.items()):
        return None
    return fresh


def _remembered(summarize: SummaryFn, cache: RenderCache, summaries: dict[str, str]) -> SummaryFn:
    """``summarize`` behind ``summaries`` (render cache key -> summary), which outlive the build and are
    filled with every stored summary at the first miss: a tag's JSON shows the summaries of hundreds of
    docs, and one query for them all takes a fraction of the time of hundreds."""

    def summary(entry: Entry) -> str:
        key = cache.key(entry)
        found = summaries.get(key)
        if found is None:
            if not summaries:
                summaries.update(cache.conn.execute("SELECT key, summary FROM render_cache").fetchall())
            found = summaries.get(key)
            if found is None:
                found = summaries[key] = summarize(entry)
        cache.served.add(key)
        return found

    return summary


def _unchanged(kept: Kept, started: float) -> BuildResult:
    """No input changed since the kept build: its result again, as a build with nothing to do."""
    done = kept.result
    result = nothing_to_do(done.summary.output_dir, done.summary.pages, done.summary.files, done.warnings, started)
    kept.run.plugins.registry.notify("build:done", summary=result.summary, config=kept.run.config)
    return result
