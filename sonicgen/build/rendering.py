"""Render a site whose inputs changed: site graph, outputs, plan, parallel rendering, recording.

Imported by :mod:`sonicgen.build.pipeline` only once a build has something to do.
"""

from __future__ import annotations

import sqlite3
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import msgspec
from jinja2 import Environment

from sonicgen.build.incremental import doc_shape, doc_versions
from sonicgen.build.pipeline import BuildOptions, BuildResult, Outcome, Run, cache_warning, fail, manifest_stat
from sonicgen.build.plan import Plan, Resolve, full_plan, plan_build, plan_recorded
from sonicgen.build.progress import Progress
from sonicgen.build.record import Reads, record_build
from sonicgen.build.recorded import Recorded, definable, recorded_definitions
from sonicgen.build.render_cache import RenderCache, renderer_fingerprint
from sonicgen.build.signature import next_change, others_digest
from sonicgen.config import Config
from sonicgen.content.facts import Facts, Memo, definition, digest, fingerprint
from sonicgen.content.graph import Doc, SiteGraph, SummaryFn, build_graph
from sonicgen.content.markup import MarkdownRenderer, create_markdown, pygments_css
from sonicgen.content.models import Entry
from sonicgen.content.outputs import BuildSummary, File, Output, Page
from sonicgen.content.rendered import Rendered
from sonicgen.content.urls import UrlError, base_path
from sonicgen.errors import BuildError, PluginError, Problem, Problems
from sonicgen.hooks.loader import SitePlugins
from sonicgen.output.writer import OutputWriter, Record
from sonicgen.parallel import available_cores, fork_map, map_in_workers, slices
from sonicgen.render.assets import Assets, site_static, theme_assets
from sonicgen.render.templates import PageRenderer, TemplateFailure, check_named_templates, create_environment, template_fact


def resolver(facts: Facts, env: Environment, assets: Assets, renderer: str) -> Callable[[str], str | None]:
    """Current facts of every key, including those the render layer records."""
    assets_fact = digest(fingerprint(dict(assets.routes)) or "")
    templates: dict[str, str] = {}

    def resolve(key: str) -> str | None:
        if key.startswith("tpl:"):
            name = key[4:]
            if name not in templates:
                templates[name] = template_fact(env, name)
            return templates[name]
        if key == "markdown":
            return renderer
        if key == "assets":
            return assets_fact
        return facts(key)

    return resolve


def markdown_renderer(config: Config, plugins: SitePlugins) -> MarkdownRenderer:
    """The Markdown renderer, with ``markdown:highlight`` handlers and ``markdown:setup`` changes."""
    registry = plugins.registry
    highlighter = None
    if "markdown:highlight" in registry:

        def highlighter(code: str, lang: str, attrs: str) -> str | None:
            return registry.first("markdown:highlight", code=code, lang=lang, attrs=attrs)

    parser = create_markdown(config.site.markdown, base_path(config.site.base_url), highlighter)
    md = registry.pipe("markdown:setup", parser, config=config)
    return MarkdownRenderer(md, config.site.markdown.toc_levels)


PAGES_PER_WORKER = 150
"""Below this many outputs per worker, forking costs more than it saves."""


def _collect_outputs(graph: SiteGraph, plugins: SitePlugins) -> tuple[list[Output], list[Output]]:
    """Every output the plugins make, and those among them that plugins other than the built-in ones made."""
    registry = plugins.registry
    builtin = plugins.builtin_names()
    outputs: list[Output] = []
    foreign: list[Output] = []
    for plugin, result in registry.collect("site:outputs", site=graph):
        made = checked_outputs(plugin, "site:outputs", result)
        outputs.extend(made)
        foreign.extend(made if plugin not in builtin else ())
    for plugin, result in registry.collect("outputs:complete", site=graph, outputs=list(outputs)):
        made = checked_outputs(plugin, "outputs:complete", result)
        outputs.extend(made)
        foreign.extend(made if plugin not in builtin else ())
    return outputs, foreign


def checked_outputs(plugin: str, hook: str, result: object) -> list[Output]:
    items = list(result)  # type: ignore[call-overload]
    for item in items:
        if not isinstance(item, (Page, File)):
            raise PluginError(plugin, hook, f"returned {type(item).__name__}; outputs must be sonicgen Page or File objects")
    return items


def outputs_by_path(outputs: list[Output], problems: Problems) -> dict[str, Output]:
    """Map output paths to outputs; two outputs at one path is an error naming both."""
    paths: dict[str, Output] = {}
    for output in outputs:
        try:
            path = output.path
        except UrlError as exc:
            problems.error(output.source, str(exc))
            continue
        other = paths.get(path)
        if other is not None:
            problems.error(output.source, f"writes {path}, which {other.source} also writes; change one of their permalinks")
            continue
        paths[path] = output
    return paths


def _dedupe(failures: list[Problem]) -> list[Problem]:
    """One line per distinct template problem, with how many pages it affected."""
    groups: dict[tuple[str, int | None, str], list[Problem]] = {}
    for problem in failures:
        key = (problem.source, problem.line, problem.message.split(" (while rendering", 1)[0])
        groups.setdefault(key, []).append(problem)
    out = []
    for group in groups.values():
        first = group[0]
        if len(group) > 1:
            first = Problem(first.source, f"{first.message} and {len(group) - 1} more page(s)", first.line, first.field)
        out.append(first)
    return out


def _workers(asked: int | None, tasks: int) -> int:
    """``--jobs`` as given; by default one worker per core, but only as many as the work is worth."""
    if asked is not None:
        return max(1, min(asked, tasks))
    return max(1, min(available_cores(), tasks // PAGES_PER_WORKER))


def _plugin_failure(exc: PluginError, root: Path) -> BuildError:
    return BuildError([exc.problem(root)])


def _prerender(docs: list[Doc], jobs: int, cache: RenderCache, render: Callable[[str], Rendered], root: Path, progress: Progress) -> None:
    """Render bodies missing from the cache in worker processes, which store them: nothing later waits on Markdown."""
    parts = slices(len(docs), jobs)

    def work(index: int) -> list[str] | BuildError:
        keys = []
        try:
            for n in parts[index]:
                entry = docs[n]._entry
                key = cache.key(entry)
                cache.make(key, render, entry.body)
                keys.append(key)
        except PluginError as exc:  # a markdown:highlight handler failed
            return _plugin_failure(exc, root)
        cache.flush()
        return keys

    for _, result in fork_map(work, len(parts), jobs):
        if isinstance(result, BuildError):
            raise result
        cache.made.update(result)
        progress.advance(len(result))


def _render_bodies(docs: list[Doc], cache: RenderCache, markdown: MarkdownRenderer, run: Run) -> None:
    """Render the bodies of ``docs`` the cache lacks in worker processes, when there are enough to be worth them
    (else each renders where it is first needed)."""
    fresh = cache.missing(docs)
    jobs = _workers(run.options.jobs, len(fresh))
    if jobs > 1:
        run.progress.stage("Rendering Markdown", len(fresh))
        _prerender(fresh, jobs, cache, markdown.render, run.config.root, run.progress)


Staged = tuple[int, Record, bool, tuple[str, ...]] | Problem


def _render_one(path: str, output: Output, renderer: PageRenderer, writer: OutputWriter) -> tuple[Record, bool, tuple[str, ...]]:
    """Render and stage one output, recording the keys of everything it read."""
    site = renderer.site
    site.recorder = set()
    try:
        if isinstance(output, Page):
            record, written = writer.stage(path, renderer.render(output).encode("utf-8"))
        else:
            record, written = writer.stage(path, output.bytes(), type_=output.content_type, immutable=bool(output.meta.get("immutable")))
        return record, written, tuple(map(sys.intern, site.recorder))  # interned: a batch sent to the parent pickles each key once
    finally:
        read, site.recorder = site.recorder, None
        site.release(read)  # renderings are the cache's to keep: a worker's memory stays bounded


def _render_all(
    items: list[tuple[str, Output]],
    renderer: PageRenderer,
    writer: OutputWriter,
    jobs: int,
    root: Path,
    progress: Progress,
) -> tuple[list[Problem], Reads]:
    """Render and stage ``items`` in ``jobs`` processes (the same slices and results either way);
    return the failures and what each output read."""

    def work(index: int) -> list[Staged] | BuildError:
        out: list[Staged] = []
        try:
            for n in parts[index]:
                path, output = items[n]
                try:
                    out.append((n, *_render_one(path, output, renderer, writer)))
                except TemplateFailure as failure:
                    out.append(failure.problem)
        except PluginError as exc:
            return _plugin_failure(exc, root)
        return out

    parts = slices(len(items), jobs)
    results = fork_map(work, len(parts), jobs) if jobs > 1 else ((index, work(index)) for index in range(len(parts)))
    failures: list[Problem] = []
    reads = Reads()
    for _, result in results:
        if isinstance(result, BuildError):
            raise result
        for staged in result:
            if isinstance(staged, Problem):
                failures.append(staged)
                continue
            n, record, written, keys = staged
            path = items[n][0]
            writer.note(path, record, written)
            reads.add(path, keys)
        progress.advance(len(result))
    return failures, reads


@dataclass
class Site:
    """What a build renders with, from its graph to its templates; a resident build keeps it for the next."""

    entries: list[Entry]
    graph: SiteGraph
    by_path: dict[str, Output]
    planned: dict[str, str | None]  # each output's definition
    foreign: set[str]  # paths of outputs that plugins other than the built-in ones made
    env: Environment
    assets: Assets
    renderer: PageRenderer
    markdown: MarkdownRenderer

    @cached_property
    def pages(self) -> int:
        """How many of the outputs are pages (the rest are files)."""
        return sum(1 for output in self.by_path.values() if isinstance(output, Page))


@dataclass
class Kept:
    """A good build's run, what it rendered with, and its result: all a body edit needs to build again."""

    run: Run
    site: Site
    result: BuildResult
    meta: dict[str, str]  # what it recorded for the next build (see :func:`finish`)


def body_renderers(cache: RenderCache | None, markdown: MarkdownRenderer) -> tuple[Callable[[Entry], Rendered], SummaryFn | None]:
    """How the graph renders a doc's body and summary: through the render cache when there is one."""
    if cache is None:
        return (lambda entry: markdown.render(entry.body)), None
    render = cache.through(lambda body: markdown.render(body))
    return render, cache.summaries(render)


def render_site(run: Run, markdown: MarkdownRenderer, entries: list[Entry], data: Mapping[str, Any]) -> BuildResult:
    """Build the graph and outputs, plan against the build state, render what is stale, record the build."""
    config, options, plugins, cache, problems = run.config, run.options, run.plugins, run.cache, run.problems
    registry = plugins.registry
    render_body, summarize = body_renderers(cache, markdown)
    graph = build_graph(
        config,
        entries,
        render_markdown=render_body,
        summarize=summarize,
        data=data,
        problems=problems,
        now=run.now,
        drafts=options.drafts,
        future=options.future,
    )
    fail(problems)
    registry.notify("site:collected", site=graph)

    outputs, foreign = _collect_outputs(graph, plugins)
    style = config.site.markdown
    generated = {"pygments.css": pygments_css(style.highlight_style, style.highlight_style_dark).encode()} if style.highlight else {}
    assets = theme_assets(run.theme, config.root, generated)
    outputs += assets.files
    outputs += site_static(config.dir(config.site.static_dir), config.root, problems)
    by_path = outputs_by_path(outputs, problems)
    fail(problems)

    env = create_environment([config.dir(config.site.templates_dir)], run.theme / "templates", graph, assets, markdown, plugins.extensions)
    registry.notify("render:env", env=env, config=config)
    check_named_templates(env, graph, problems)
    fail(problems)
    renderer = PageRenderer(
        env,
        graph,
        config.root,
        context_hook=lambda context, page: registry.pipe("render:context", context, page=page, subject=page.route),
        html_hook=lambda html, page: registry.pipe("render:html", html, page=page, subject=page.route),
    )
    made_by_others = {id(o) for o in foreign}
    foreign_paths = {p for p, o in by_path.items() if id(o) in made_by_others}
    renderer_fp = cache.fingerprint if cache is not None else renderer_fingerprint(config, plugins)
    versions = doc_versions(graph.docs(), renderer_fp, config)
    inputs = others_digest(run.signature, config, entries)
    recorded = recorded_definitions(run, inputs, graph, versions, by_path, foreign_paths)
    planned = recorded.definitions if recorded is not None else _definitions(by_path, options.jobs or available_cores())
    site = Site(entries, graph, by_path, planned, foreign_paths, env, assets, renderer, markdown)
    resolve = resolver(Facts(graph, cache.key if cache is not None else Entry.body_digest), env, assets, renderer_fp)

    def prepare(doc_ids: list[str]) -> None:
        """Bodies of the docs the plan compares, which the cache lacks: on all cores when there are many."""
        if cache is not None:
            docs = [graph.get(*doc_id.split("/", 1)) for doc_id in doc_ids]
            _render_bodies([doc for doc in docs if doc is not None], cache, markdown, run)

    writer = OutputWriter(run.out_dir, clean=options.clean)
    plan = _plan(cache, run.settings, options, writer, planned, versions, resolve, prepare, recorded)
    if plan.fresh:
        plan.versions = versions
    plan.shapes = doc_shapes(graph, plan.versions)
    return finish(run, site, plan, resolve, writer)


def finish(run: Run, site: Site, plan: Plan, resolve: Resolve, writer: OutputWriter) -> BuildResult:
    """Render what ``plan`` found stale, commit the output and record the build; hand it to ``run.keep``."""
    config, options, cache, problems, progress = run.config, run.options, run.cache, run.problems, run.progress
    by_path, planned = site.by_path, site.planned
    summary = BuildSummary(output_dir=str(run.out_dir))
    stale = plan.stale
    if plan.fresh:
        items, kept = list(by_path.items()), []
    else:  # membership, not a call per output: a one-post rebuild of a large site does little else
        items = [(path, o) for path, o in by_path.items() if path in stale or path not in planned]
        kept = [path for path in planned if path not in stale]
    # A doc's page and its JSON document side by side: the second finds the body in the cache's memory.
    items.sort(key=lambda item: str(item[1].source))  # str: a plugin may have given another type
    for path in kept:
        writer.note(path, writer.previous[path], False)
    stale_pages = sum(1 for path, _ in items if path in planned)
    everything = plan.fresh or stale_pages > 2 * PAGES_PER_WORKER
    if everything and cache is not None:  # most pages render: their bodies first, in parallel
        _render_bodies(list(site.graph.docs()), cache, site.markdown, run)
    jobs = _workers(options.jobs, len(items)) if everything else 1  # a few pages: forking costs more than it saves
    try:
        progress.stage("Rendering", len(items))
        failures, reads = _render_all(items, site.renderer, writer, jobs, config.root, progress)
        if cache is not None:
            cache.finish()  # even if the build fails: these renderings stay valid for the next one
            if cache.damage is not None:
                cache_warning(config, problems, cache.damage)
        problems.extend(_dedupe(failures))
        fail(problems, strict=options.strict)
        progress.stage("Writing")
        committed = writer.commit()
    finally:
        writer.abort()

    summary.kept = len(kept)
    summary.stale = {path: stale[path] for path in reads.by_path if path in stale}
    summary.pages, summary.files = site.pages, len(by_path) - site.pages  # every output is rendered or kept
    summary.written, summary.unchanged, summary.removed = committed.written, committed.unchanged, committed.removed
    meta: dict[str, str] = {}
    if cache is not None:
        if everything:
            cache.prune()
        warnings = [(w.source, w.message, w.line, w.field) for w in problems.warnings]
        meta = {
            "settings": run.settings,
            "inputs": run.signature.digest if run.signature.trusted else "",
            "others": others_digest(run.signature, config, site.entries),
            "next_change": next_change(site.entries, run.now, future=options.future),
            "manifest": manifest_stat(run.out_dir),
            "outcome": msgspec.json.encode(Outcome(summary.pages, summary.files, warnings)).decode(),
            "build": uuid.uuid4().hex,  # a resident build tells by it whether another process built the site since
        }
        _record(cache, config, problems, plan, reads, planned, resolve, meta)
        summary.markdown_cached, summary.markdown_rendered = cache.hits, cache.misses
    summary.warnings = len(problems.warnings)
    summary.seconds = time.perf_counter() - run.started
    run.plugins.registry.notify("build:done", summary=summary, config=config)
    result = BuildResult(summary, problems.warnings)
    if run.keep is not None:
        run.keep(Kept(run, site, result, meta))
    return result


def doc_shapes(graph: SiteGraph, doc_ids: Iterable[str]) -> dict[str, str]:
    """The shape of each of ``doc_ids`` (docs new or changed), for the build state."""
    docs = (graph.get(*doc_id.split("/", 1)) for doc_id in doc_ids)
    return {doc.id: doc_shape(doc._entry) for doc in docs if doc is not None}


PARALLEL_DEFINITIONS = 10_000
"""Below this many outputs, forking costs more than fingerprinting them in one process."""


def _definitions(by_path: Mapping[str, Output], jobs: int) -> dict[str, str | None]:
    """Each rendered output's definition (files copied as they are have none), in ``jobs`` processes
    for a large site (one process took 0.3–0.6 s of a one-post rebuild of 10,000 pages); the memo dies here."""
    memo: Memo = {}
    outputs = definable(by_path)
    if jobs < 2 or len(outputs) < PARALLEL_DEFINITIONS:
        return {path: definition(o, memo) for path, o in outputs}
    found = map_in_workers(lambda n: definition(outputs[n][1], memo), len(outputs), jobs)  # each worker fills its own memo
    return {path: text for (path, _), text in zip(outputs, found, strict=True)}


def _plan(
    cache: RenderCache | None,
    settings: str,
    options: BuildOptions,
    writer: OutputWriter,
    planned: Mapping[str, str | None],
    versions: Mapping[str, str],
    resolve: Resolve,
    prepare: Callable[[list[str]], object],
    recorded: Recorded | None,
) -> Plan:
    """What to render: everything without usable build state, else only what is stale (found from the
    edited docs alone when the definitions came from the build state)."""
    if cache is None or cache.damage is not None:
        return full_plan(planned, "no build state")
    if options.clean:
        return full_plan(planned, "--clean")
    try:
        last = cache.conn.execute("SELECT value FROM meta WHERE name = 'settings'").fetchone()
        if last is None or not writer.previous:
            return full_plan(planned, "first build")
        if last[0] != settings:
            return full_plan(planned, "sonicgen, plugins, build options or site.yaml settings changed")
        # The manifest says what the output holds: a file deleted behind sonicgen's back comes back with --clean.
        if recorded is not None:
            return plan_recorded(cache.conn, recorded.edited, planned, recorded.redefined, resolve, writer.previous.__contains__)
        return plan_build(cache.conn, planned, versions, resolve, writer.previous.__contains__, prepare)
    except sqlite3.DatabaseError as exc:
        cache.damage = str(exc)
        return full_plan(planned, "no build state")


def _record(
    cache: RenderCache,
    config: Config,
    problems: Problems,
    plan: Plan,
    reads: Reads,
    planned: Mapping[str, str | None],
    resolve: Resolve,
    meta: Mapping[str, str],
) -> None:
    """Remember this build for the next; a state that cannot be written costs the next build time, never this one."""
    if cache.damage is not None:
        return
    try:
        record_build(cache.conn, plan, reads, planned, resolve, meta)
    except sqlite3.DatabaseError as exc:
        cache_warning(config, problems, str(exc))
