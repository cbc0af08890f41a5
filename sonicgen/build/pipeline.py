"""One build from start to finish.

Every stage collects problems instead of stopping at the first; the build stops before
writing if any error was found, so the previous output stays untouched.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from sonicgen.build.incremental import doc_versions, resolver, settings_fingerprint
from sonicgen.build.parallel import available_cores, fork_map, slices
from sonicgen.build.plan import Plan, Resolve, full_plan, plan_build
from sonicgen.build.progress import Progress, Silent
from sonicgen.build.record import record_build
from sonicgen.build.render_cache import RenderCache, renderer_fingerprint
from sonicgen.build.signature import Signature, input_signature, next_change
from sonicgen.build.sources import SourceMemory
from sonicgen.build.state import open_state, state_path
from sonicgen.config import Config, load_config
from sonicgen.content.facts import Facts, Memo, definition
from sonicgen.content.fields import check_defaults
from sonicgen.content.graph import Doc, SiteGraph, build_graph
from sonicgen.content.markup import MarkdownRenderer, Rendered, create_markdown, pygments_css
from sonicgen.content.models import Entry
from sonicgen.content.outputs import BuildSummary, File, Output, Page
from sonicgen.content.urls import UrlError, base_path
from sonicgen.db.connect import DatabaseError
from sonicgen.errors import BuildError, PluginError, Problem, Problems, Severity
from sonicgen.hooks.loader import SitePlugins, load_plugins
from sonicgen.hooks.registry import Tracer
from sonicgen.output.writer import MANIFEST, OutputWriter, Record
from sonicgen.render.assets import site_static, theme_assets
from sonicgen.render.templates import PageRenderer, TemplateFailure, check_named_templates, create_environment
from sonicgen.render.theme import theme_dir
from sonicgen.sources.files import load_data
from sonicgen.store import read_entries


@dataclass(frozen=True)
class BuildOptions:
    drafts: bool = False
    future: bool = False
    base_url: str | None = None
    out: Path | None = None
    clean: bool = False
    strict: bool = False
    now: datetime | None = None
    hook_tracer: Tracer | None = None
    jobs: int | None = None  # worker processes; None: one per available core


PAGES_PER_WORKER = 150
"""Below this many outputs per worker, forking costs more than it saves."""


@dataclass
class BuildResult:
    summary: BuildSummary
    warnings: list[Problem] = field(default_factory=list)


def _fail(problems: Problems, *, strict: bool = False) -> None:
    if problems.errors:
        raise BuildError(problems.items)
    if strict and problems.warnings:
        raise BuildError([*problems.items, Problem("build", f"{len(problems.warnings)} warning(s) and --strict is set")])


def _output_dir(config: Config, options: BuildOptions) -> Path:
    out = options.out.resolve() if options.out else config.output_dir
    guarded = {config.root: "the site itself", config.content_dir: "the content folder"}
    for place, what in guarded.items():
        if out == place or place.is_relative_to(out) or out.is_relative_to(config.content_dir):
            raise BuildError([Problem(str(out), f"output directory would overwrite {what}; choose another --out")])
    return out


def _collect_outputs(site: SiteGraph, plugins: SitePlugins, problems: Problems) -> list[Output]:
    registry = plugins.registry
    outputs: list[Output] = []
    for plugin, result in registry.collect("site:outputs", site=site):
        outputs.extend(_checked(plugin, "site:outputs", result))
    for plugin, result in registry.collect("outputs:complete", site=site, outputs=list(outputs)):
        outputs.extend(_checked(plugin, "outputs:complete", result))
    return outputs


def _checked(plugin: str, hook: str, result: object) -> list[Output]:
    items = list(result)  # type: ignore[call-overload]
    for item in items:
        if not isinstance(item, (Page, File)):
            raise PluginError(plugin, hook, f"returned {type(item).__name__}; outputs must be sonicgen Page or File objects")
    return items


def _by_path(outputs: list[Output], problems: Problems) -> dict[str, Output]:
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


def _render_cache(config: Config, plugins: SitePlugins, problems: Problems) -> RenderCache | None:
    """The Markdown cache in the build state; a build still works (slower) when it cannot be opened."""
    try:
        conn = open_state(config)
    except (DatabaseError, sqlite3.DatabaseError) as exc:
        _cache_warning(config, problems, str(exc))
        return None
    try:
        return RenderCache(conn, renderer_fingerprint(config, plugins), state_path(config))
    except sqlite3.DatabaseError as exc:  # damage beyond the header shows on the first read
        conn.close()
        _cache_warning(config, problems, str(exc))
        return None


def _cache_warning(config: Config, problems: Problems, damage: str) -> None:
    where = str(state_path(config).relative_to(config.root))
    problems.warn(where, f"{damage}; building without the render cache (delete .sonicgen/ to start afresh)")


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
                cache.keep(key, render(entry.body))
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
        return record, written, tuple(sorted(map(sys.intern, site.recorder)))  # one string per key, however many pages read it
    finally:
        read, site.recorder = site.recorder, None
        site.release(read)  # renderings are the cache's to keep: a worker's memory stays bounded


def _render_all(
    items: list[tuple[str, Output]],
    renderer: PageRenderer,
    writer: OutputWriter,
    summary: BuildSummary,
    jobs: int,
    root: Path,
    progress: Progress,
) -> tuple[list[Problem], dict[str, tuple[str, ...]]]:
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
    read: dict[str, tuple[str, ...]] = {}
    for _, result in results:
        if isinstance(result, BuildError):
            raise result
        for staged in result:
            if isinstance(staged, Problem):
                failures.append(staged)
                continue
            n, record, written, keys = staged
            path, output = items[n]
            writer.note(path, record, written)
            read[path] = keys if jobs == 1 else tuple(map(sys.intern, keys))  # one copy of each key, not one per worker batch
            if isinstance(output, Page):
                summary.pages += 1
            else:
                summary.files += 1
        progress.advance(len(result))
    return failures, read


def build(config_path: Path, options: BuildOptions | None = None, progress: Progress | None = None) -> BuildResult:
    """Build the site configured at ``config_path``; raise BuildError on failure.

    A failing plugin becomes a problem like any other, pointing at the line of its code.
    """
    try:
        return _build(config_path, options, progress)
    except PluginError as exc:
        raise BuildError([exc.problem(config_path.resolve().parent)]) from exc


def _build(config_path: Path, options: BuildOptions | None, progress: Progress | None) -> BuildResult:
    options = options or BuildOptions()
    progress = progress or Silent()
    started = time.perf_counter()
    now = options.now or datetime.now(UTC)

    progress.stage("Loading configuration")
    config, problems = load_config(config_path, overrides={"base_url": options.base_url}, keep_going=True)
    try:
        plugins = load_plugins(config)
    except BuildError as exc:  # plugin settings are part of site.yaml: report both at once
        raise BuildError([*problems.items, *exc.problems]) from None
    _fail(problems)
    registry = plugins.registry
    registry.tracer = options.hook_tracer
    config = registry.pipe("config:loaded", config)
    out_dir = _output_dir(config, options)
    registry.notify("build:start", config=config, drafts=options.drafts, future=options.future)
    theme = theme_dir(config)

    progress.stage("Reading content")
    check_defaults(config.site.collections, config.source, config.line_of, problems)
    highlighter = None
    if "markdown:highlight" in registry:

        def highlighter(code: str, lang: str, attrs: str) -> str | None:
            return registry.first("markdown:highlight", code=code, lang=lang, attrs=attrs)

    parser = create_markdown(config.site.markdown, base_path(config.site.base_url), highlighter)
    md = registry.pipe("markdown:setup", parser, config=config)
    markdown = MarkdownRenderer(md, config.site.markdown.toc_levels)
    cache = _render_cache(config, plugins, problems)
    try:  # the state database stays open until the build ends, however it ends
        settings = settings_fingerprint(config, plugins, (options.drafts, options.future), out_dir)
        run = _Run(config, options, plugins, problems, progress, now, started, out_dir, theme, cache, settings, input_signature(config))
        unchanged = _nothing_changed(run)
        if unchanged is not None:
            registry.notify("build:done", summary=unchanged.summary, config=config)
            return unchanged
        memory = SourceMemory(cache.conn, config) if cache is not None else None
        read = read_entries(config, problems, memory)
        if cache is not None and memory is not None and memory.damage is not None:
            cache.damage = cache.damage or memory.damage
        entries = [registry.pipe("content:loaded", e, config=config, subject=e.source.path) for e in read]
        data = load_data(config, problems)
        _fail(problems)
        return _render_site(run, markdown, entries, data)
    finally:
        if cache is not None:
            cache.conn.close()


@dataclass
class _Run:
    """What every stage of one build shares."""

    config: Config
    options: BuildOptions
    plugins: SitePlugins
    problems: Problems
    progress: Progress
    now: datetime
    started: float
    out_dir: Path
    theme: Path
    cache: RenderCache | None
    settings: str
    signature: Signature


class _Outcome(msgspec.Struct):
    """What a good build leaves for a build that finds nothing changed: its counts and warnings."""

    pages: int
    files: int
    warnings: list[tuple[str, str, int | None, str | None]]


def _manifest_stat(out_dir: Path) -> str:
    try:
        st = (out_dir / MANIFEST).stat()
    except OSError:
        return ""
    return f"{st.st_size}:{st.st_mtime_ns}"


def _nothing_changed(run: _Run) -> BuildResult | None:
    """The last good build's result when no input, setting or scheduled time changed since; else None."""
    cache = run.cache
    if cache is None or cache.damage is not None or run.options.clean or not run.signature.trusted:
        return None
    try:
        meta = dict(cache.conn.execute("SELECT name, value FROM meta").fetchall())
    except sqlite3.DatabaseError:
        return None
    scheduled = meta.get("next_change")
    if (
        meta.get("inputs") != run.signature.digest
        or meta.get("settings") != run.settings
        or meta.get("manifest") != _manifest_stat(run.out_dir)
        or (scheduled and datetime.fromisoformat(scheduled) <= run.now)
        or "outcome" not in meta
    ):
        return None
    try:
        outcome = msgspec.json.decode(meta["outcome"], type=_Outcome)
    except msgspec.DecodeError:
        return None
    warnings = [Problem(source, message, line, field, Severity.WARNING) for source, message, line, field in outcome.warnings]
    if run.options.strict and warnings:
        return None  # let the planner's build report them and fail
    summary = BuildSummary(output_dir=str(run.out_dir), pages=outcome.pages, files=outcome.files, inputs_unchanged=True)
    summary.unchanged, summary.warnings = outcome.pages + outcome.files, len(warnings)
    summary.seconds = time.perf_counter() - run.started
    return BuildResult(summary, warnings)


def _render_site(run: _Run, markdown: MarkdownRenderer, entries: list[Entry], data: Mapping[str, Any]) -> BuildResult:
    config, options, plugins, cache, problems, progress = run.config, run.options, run.plugins, run.cache, run.problems, run.progress
    registry = plugins.registry
    render_body = cache.through(lambda body: markdown.render(body)) if cache is not None else lambda entry: markdown.render(entry.body)
    site = build_graph(
        config,
        entries,
        render_markdown=render_body,
        data=data,
        problems=problems,
        now=run.now,
        drafts=options.drafts,
        future=options.future,
    )
    _fail(problems)
    registry.notify("site:collected", site=site)

    outputs = _collect_outputs(site, plugins, problems)
    style = config.site.markdown
    generated = {"pygments.css": pygments_css(style.highlight_style, style.highlight_style_dark).encode()} if style.highlight else {}
    assets = theme_assets(run.theme, config.root, generated)
    outputs += assets.files
    outputs += site_static(config.dir(config.site.static_dir), config.root, problems)
    by_path = _by_path(outputs, problems)
    _fail(problems)

    env = create_environment([config.dir(config.site.templates_dir)], run.theme / "templates", site, assets, markdown, plugins.extensions)
    registry.notify("render:env", env=env, config=config)
    check_named_templates(env, site, problems)
    _fail(problems)
    renderer = PageRenderer(
        env,
        site,
        config.root,
        context_hook=lambda context, page: registry.pipe("render:context", context, page=page, subject=page.route),
        html_hook=lambda html, page: registry.pipe("render:html", html, page=page, subject=page.route),
    )

    writer = OutputWriter(run.out_dir, clean=options.clean)
    renderer_fp = cache.fingerprint if cache is not None else renderer_fingerprint(config, plugins)
    planned = _definitions(by_path)
    facts = Facts(site, cache.key if cache is not None else Entry.body_digest)
    resolve = resolver(facts, env, assets, renderer_fp)
    versions = doc_versions(site, renderer_fp)
    plan = _plan(cache, run.settings, options, writer, planned, versions, facts, resolve)
    if plan.fresh:
        plan.versions = versions

    summary = BuildSummary(output_dir=str(run.out_dir))
    items = [(path, o) for path, o in by_path.items() if path not in planned or plan.is_stale(path)]
    kept = [path for path in planned if not plan.is_stale(path)]
    for path in kept:
        writer.note(path, writer.previous[path], False)
    stale_pages = sum(1 for path, _ in items if path in planned)
    everything = plan.fresh or stale_pages > 2 * PAGES_PER_WORKER
    if everything and cache is not None:  # most pages render: find the bodies to render and render them in parallel first
        fresh = cache.missing(list(site.docs()))
        markdown_jobs = _workers(options.jobs, len(fresh))
        if markdown_jobs > 1:
            progress.stage("Rendering Markdown", len(fresh))
            _prerender(fresh, markdown_jobs, cache, markdown.render, config.root, progress)
    jobs = _workers(options.jobs, len(items)) if everything else 1  # a few pages: forking costs more than it saves
    try:
        progress.stage("Rendering", len(items))
        failures, read = _render_all(items, renderer, writer, summary, jobs, config.root, progress)
        if cache is not None:
            cache.finish()  # even if the build fails: these renderings stay valid for the next one
            if cache.damage is not None:
                _cache_warning(config, problems, cache.damage)
        problems.extend(_dedupe(failures))
        _fail(problems, strict=options.strict)
        progress.stage("Writing")
        committed = writer.commit()
    finally:
        writer.abort()

    summary.kept = len(kept)
    summary.stale = {path: plan.stale[path] for path in read if path in plan.stale}
    summary.pages += sum(1 for path in kept if isinstance(by_path[path], Page))
    summary.files += sum(1 for path in kept if not isinstance(by_path[path], Page))
    summary.written, summary.unchanged, summary.removed = committed.written, committed.unchanged, committed.removed
    if cache is not None:
        if everything:
            cache.prune()
        warnings = [(w.source, w.message, w.line, w.field) for w in problems.warnings]
        meta = {
            "settings": run.settings,
            "inputs": run.signature.digest if run.signature.trusted else "",
            "next_change": next_change(entries, run.now, future=options.future),
            "manifest": _manifest_stat(run.out_dir),
            "outcome": msgspec.json.encode(_Outcome(summary.pages, summary.files, warnings)).decode(),
        }
        rendered = {path: (planned[path], read[path]) for path in read if path in planned}
        _record(cache, config, problems, plan, rendered, planned, resolve, meta)
        summary.markdown_cached, summary.markdown_rendered = cache.hits, cache.misses
    summary.warnings = len(problems.warnings)
    summary.seconds = time.perf_counter() - run.started
    plugins.registry.notify("build:done", summary=summary, config=config)
    return BuildResult(summary, problems.warnings)


def _definitions(by_path: Mapping[str, Output]) -> dict[str, str | None]:
    """Each rendered output's definition (files copied as they are have none); the memo dies here."""
    memo: Memo = {}
    return {path: definition(o, memo) for path, o in by_path.items() if isinstance(o, Page) or callable(o.data)}


def _plan(
    cache: RenderCache | None,
    settings: str,
    options: BuildOptions,
    writer: OutputWriter,
    planned: Mapping[str, str | None],
    versions: Mapping[str, str],
    facts: Facts,
    resolve: Resolve,
) -> Plan:
    """What to render: everything without usable build state, else only what is stale."""
    if cache is None or cache.damage is not None:
        return full_plan(planned, "no build state")
    if options.clean:
        return full_plan(planned, "--clean")
    try:
        recorded = cache.conn.execute("SELECT value FROM meta WHERE name = 'settings'").fetchone()
        if recorded is None or not writer.previous:
            return full_plan(planned, "first build")
        if recorded[0] != settings:
            return full_plan(planned, "sonicgen, plugins, build options or site.yaml settings changed")
        # The manifest says what the output holds: a file deleted behind sonicgen's back comes back with --clean.
        return plan_build(cache.conn, planned, versions, facts.doc, resolve, writer.previous.__contains__)
    except sqlite3.DatabaseError as exc:
        cache.damage = str(exc)
        return full_plan(planned, "no build state")


def _record(
    cache: RenderCache,
    config: Config,
    problems: Problems,
    plan: Plan,
    rendered: Mapping[str, tuple[str | None, tuple[str, ...]]],
    planned: Mapping[str, str | None],
    resolve: Resolve,
    meta: Mapping[str, str],
) -> None:
    """Remember this build for the next; a state that cannot be written costs the next build time, never this one."""
    if cache.damage is not None:
        return
    try:
        record_build(cache.conn, plan, rendered, planned, resolve, meta)
    except sqlite3.DatabaseError as exc:
        _cache_warning(config, problems, str(exc))
