"""One build, its stages in order: configure → survey → plan → assemble → render → write → record.

One-shot builds and resident builds (:mod:`sonicgen.build.resident`) both go through
:func:`run_build`; a resident build hands it what its last good build kept (the site in memory,
its render cache and build state), which the stages use where the change set allows.

Every stage collects problems instead of stopping at the first; the build stops before writing
if any error was found, so the previous output stays untouched.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from sonicgen.build.changes import Input, What, classify, input_stats
from sonicgen.build.collector import fewer_collections
from sonicgen.build.configure import Configured, configure
from sonicgen.build.options import BuildOptions, BuildResult
from sonicgen.build.plan import Case, Outcome, Plan, find_stale, plan
from sonicgen.build.progress import Progress, Silent
from sonicgen.build.settings import doc_shape, versions
from sonicgen.build.signature import Signature, input_signature, next_change
from sonicgen.build.state import STATE_DIR, BuildRecord, BuildState, InputStat, Recorded, Resolve
from sonicgen.build.survey import Survey, published, read, survey
from sonicgen.content.fields import check_defaults
from sonicgen.content.models import BodyUnavailable, Entry
from sonicgen.content.outputs import BuildSummary
from sonicgen.content.published import doc_id
from sonicgen.errors import BuildError, PluginError, Problem, Problems, Severity
from sonicgen.hooks.slow import SlowHookWatch
from sonicgen.lock import SiteLock
from sonicgen.output.writer import finish_interrupted, manifest_stat
from sonicgen.parallel import available_cores
from sonicgen.sources import load_data

if TYPE_CHECKING:  # the heavy stages are imported when a build has something to render
    from sonicgen.build.reads import Reads
    from sonicgen.build.render import SiteInputs, WorkerSite
    from sonicgen.build.render_cache import RenderCache
    from sonicgen.build.site import Site
    from sonicgen.output.writer import CommitResult, OutputWriter
    from sonicgen.parallel import WorkerPool


@dataclass
class Kept:
    """What a good build leaves for the next build in the same process, with its build state open."""

    run: Configured
    site: Site
    cache: RenderCache  # over ``cache.state``, which stays open until :meth:`close`
    inputs: dict[str, InputStat]  # the input files as it saw them
    build: str  # its id in the build state: another process's build since makes the site stale
    warnings: list[Problem]  # what reading and assembling the site warned about
    definitions: dict[str, str | None]  # each definable output's, as it recorded them

    def close(self) -> None:
        self.cache.state.close()


@dataclass
class Built:
    result: BuildResult
    kept: Kept | None  # what the next build in this process may use


def build(config_path: Path, options: BuildOptions | None = None, progress: Progress | None = None) -> BuildResult:
    """Build the site configured at ``config_path``; raise BuildError on failure."""
    built = run_build(config_path, options or BuildOptions(), progress or Silent())
    if built.kept is not None:
        built.kept.close()
    return built.result


def run_build(config_path: Path, options: BuildOptions, progress: Progress, *, kept: Kept | None = None) -> Built:
    """Run the stages.  ``kept`` is what the last good build in this process left, used where the
    change set allows (its configuration, while site.yaml and the local plugins are unchanged).
    What the result keeps holds the build state open (:meth:`Kept.close`); a failed build keeps
    nothing and closes it.  A failing plugin becomes a problem pointing at its code."""
    signature = None
    state = kept.cache.state if kept is not None else None
    lock = None
    started = time.perf_counter()
    try:
        with fewer_collections():
            now = options.now or datetime.now(UTC)
            progress.stage("Loading configuration")
            if kept is not None:
                signature = input_signature(kept.run.config)
                if configuration_changed(kept, signature.files):
                    kept, signature = None, None  # site.yaml or a local plugin: load them again
            run = replace(kept.run, now=now, problems=Problems()) if kept is not None else configure(config_path, options, now)
            lock = SiteLock(run.config.root / STATE_DIR)  # not before: no site, no lock file
            lock.acquire(wait=options.wait, waiting=progress.note)
            finished = finish_interrupted(run.out_dir)
            if finished:
                progress.note(f"{run.out_dir}: finished writing the output of a build that was interrupted ({finished} files)")
            if state is None:
                state = BuildState.open(run.config.root)
            with SlowHookWatch(run.plugins.registry, run.config.site.slow_hook_seconds, progress.note):
                built = _stages(_Build(run, options, progress, state, started), kept, signature)
    except (PluginError, BodyUnavailable) as exc:
        if state is not None:
            state.close()
        problem = exc.problem(config_path.resolve().parent) if isinstance(exc, PluginError) else exc.problem
        raise BuildError([problem]) from exc
    except BaseException:
        if state is not None:
            state.close()
        raise
    finally:
        if lock is not None:
            lock.release()
    if built.kept is None:
        state.close()
    return built


@dataclass
class _Build:
    """What every stage of one build shares."""

    run: Configured
    options: BuildOptions
    progress: Progress
    state: BuildState
    started: float

    @property
    def problems(self) -> Problems:
        return self.run.problems


def configuration_changed(kept: Kept, now: dict[str, tuple[int, int]]) -> bool:
    """Whether site.yaml or a local plugin changed since the kept build: its configuration is stale then."""
    before = kept.inputs
    changed = {path for path in before.keys() | now.keys() if path not in before or path not in now or before[path][:2] != now[path]}
    return any(classify(kept.run.config, path) in (Input.CONFIG, Input.PLUGIN) for path in changed)


def _stages(b: _Build, kept: Kept | None, signature: Signature | None) -> Built:
    """The stages, in order."""
    run, options, state = b.run, b.options, b.state
    run.plugins.registry.notify("build:start", config=run.config, drafts=options.drafts, future=options.future)
    b.progress.stage("Reading content")
    check_defaults(run.config.site.collections, run.config.source, run.config.line_of, b.problems)
    damage = _Damage(state, b.problems)
    recorded = state.recorded()
    if kept is not None and recorded.build != kept.build:
        kept = None  # another process built the site since: what is kept is not what the output holds
    signature = signature or input_signature(run.config)
    workers = _Workers(run, options, many=len(signature.files) > WORKERS_WORTH)
    try:
        found = survey(
            run,
            state,
            recorded,
            signature,
            options,
            kept.site.entries if kept is not None else None,
            kept.inputs if kept is not None else None,
            workers,
            b.problems,
        )
        b.problems.check()
        the_plan = plan(state, found.changes, strict=options.strict)
        if the_plan.nothing:
            return _unchanged(b, recorded, signature, found, the_plan, kept)
        writer = _writer(run, options)
        try:
            site, cache, assembled = _assemble(b, the_plan, found, kept, writer, workers)
            warnings = list(b.problems.warnings)
            resolve = _resolver(site, run.renderer)
            recorded_here = kept.definitions if kept is not None and not assembled else None
            done = _render(b, the_plan, site, cache, resolve, workers, writer, recorded_here)
        finally:
            writer.abort()
        damage.check()
    finally:
        workers.close()
    the_plan = done.plan
    summary = BuildSummary(output_dir=str(run.out_dir), plan=the_plan.case.value, assembled=assembled, kept=done.kept)
    summary.pages, summary.files = site.pages, len(site.outputs) - site.pages  # every output is rendered or kept
    summary.stale = {path: the_plan.stale[path] for path in done.reads.by_path if path in the_plan.stale}
    summary.written, summary.unchanged, summary.removed = done.committed.written, done.committed.unchanged, done.committed.removed
    build_id, inputs = _record(b, the_plan, site, cache, done.reads, resolve, signature, found, summary)
    damage.check()
    summary.markdown_cached, summary.markdown_rendered, summary.markdown_fetched = cache.hits, cache.misses, cache.fetched
    summary.warnings = len(b.problems.warnings)
    summary.seconds = time.perf_counter() - b.started
    run.plugins.registry.notify("build:done", summary=summary, config=run.config)
    result = BuildResult(summary, b.problems.warnings)
    if not (state.usable and damage.silent):
        return Built(result, None)
    return Built(result, Kept(run, site, cache, inputs, build_id, warnings, the_plan.definitions))


WORKERS_WORTH = 300
"""Input files beyond which a build that renders everything starts its workers while it reads the site."""


def _writer(run: Configured, options: BuildOptions) -> OutputWriter:
    from sonicgen.output.writer import OutputWriter

    return OutputWriter.open(run.out_dir, clean=options.clean)


def _resolver(site: Site, renderer: str) -> Resolve:
    from sonicgen.build.site import resolver

    return resolver(site, renderer)


class _Workers:
    """The worker processes of one build, one fewer than its jobs (the build's own process works
    too): none with one job; otherwise started when first needed (or while the site is read, when
    many outputs of a large site will render), handed the site's inputs once, and stopped with the
    build.  Rendering's modules are imported only when they start."""

    def __init__(self, run: Configured, options: BuildOptions, *, many: bool) -> None:
        self.run = run
        self.options = options
        self.jobs = options.jobs or available_cores()
        self.many = many  # a large site: worth starting early
        self._pool: WorkerPool[WorkerSite] | None = None
        self._adopted = False

    def early(self) -> None:
        """Get ready, in the background, when a large site (or any site, with ``--jobs``) may render
        much: start the server that forks the workers (it imports what they need)."""
        from sonicgen.build.render import WORKER_MODULES
        from sonicgen.parallel import start_server

        if self.jobs > 1 and (self.many or self.options.jobs):
            start_server(WORKER_MODULES)

    def pool(self) -> WorkerPool[WorkerSite] | None:
        """The workers, started now if they were not; None with one job."""
        from sonicgen.build.render import WORKER_MODULES, WorkerSite, worker_setup
        from sonicgen.parallel import WorkerPool

        if self.jobs < 2:
            return None
        if self._pool is None:  # the build's own process renders too
            self._pool = WorkerPool(self.jobs - 1, WorkerSite, (worker_setup(self.run, self.options),), WORKER_MODULES)
        return self._pool

    def for_site(self, inputs: SiteInputs) -> WorkerPool[WorkerSite] | None:
        """The workers, each handed ``inputs`` (once: each then makes its copy of the site, while this
        process goes on)."""
        from sonicgen.build.render import adopt

        pool = self.pool()
        if pool is not None and not self._adopted:
            pool.tell_each(adopt, inputs)
            self._adopted = True
        return pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


def _assemble(
    b: _Build, the_plan: Plan, found: Survey, kept: Kept | None, writer: OutputWriter, workers: _Workers
) -> tuple[Site, RenderCache, bool]:
    """The site to render: the kept one with the edited entries in place when the plan allows (and the
    plugins' own outputs come out the same), else read and assembled.  True when it was assembled."""
    from sonicgen.build.render import SiteInputs, workers_for
    from sonicgen.build.render_cache import RenderCache
    from sonicgen.build.site import assemble, edit

    run, options = b.run, b.options
    if the_plan.case is Case.EDITS and kept is not None and found.edited and edit(kept.site, found.edited, run.plugins.others()):
        kept.cache.start_build()
        b.problems.extend(kept.warnings)  # the edits changed no front matter: what was read and assembled warns alike
        return kept.site, kept.cache, False
    everyone = found.read or read(run, b.state, None, b.problems)
    data = load_data(run.config, b.problems)
    b.problems.check()
    cache = RenderCache(b.state, everyone.markdown, run.renderer)
    # Every output renders, or a template, data or settings changed (many may): if that is worth
    # workers, they make their copies of the site while this process makes its own.
    likely = the_plan.case is Case.EVERYTHING or not found.changes.entries_only
    if likely and workers.many and workers_for(options.jobs, 2 * len(everyone.entries)) > 1:
        workers.for_site(SiteInputs(cache.epoch, everyone.entries, data, writer.staging_spec))
    b.progress.stage("Assembling the site")
    site = assemble(
        run.config,
        run.plugins,
        run.theme,
        everyone.entries,
        data,
        bodies=cache,
        markdown=everyone.markdown,
        problems=b.problems,
        now=run.now,
        drafts=options.drafts,
        future=options.future,
    )
    return site, cache, True


@dataclass
class _Done:
    plan: Plan  # as it went: a build state that fails while planning makes it "everything"
    reads: Reads
    committed: CommitResult
    kept: int  # outputs whose last file stands


def _render(
    b: _Build,
    the_plan: Plan,
    site: Site,
    cache: RenderCache,
    resolve: Resolve,
    workers: _Workers,
    writer: OutputWriter,
    recorded: dict[str, str | None] | None,
) -> _Done:
    """Find what is stale, render it (on every core when there is much), and commit the output;
    ``recorded``: the definitions the last good build recorded, when this process holds them."""
    from sonicgen.build.render import PAGES_PER_WORKER, SiteInputs, render_bodies, render_outputs, workers_for

    run, options, state, progress = b.run, b.options, b.state, b.progress
    progress.stage("Planning")
    inputs = SiteInputs(cache.epoch, site.entries, site.published.data, writer.staging_spec)
    touched = [site.published.by_id[d.doc].entry for d in the_plan.docs if d.doc in site.published.by_id]
    if the_plan.case is Case.COMPARE and workers_for(options.jobs, len(touched)) > 1 and cache.missing(touched):
        pool = workers.for_site(inputs)  # the plan compares the changed docs' summaries: their bodies on every core first
        if pool is not None:
            render_bodies(touched, cache, pool, run.config.root, progress)
    # The output is as the last build left it unless its manifest changed: no output's file need be looked for.
    present = writer.previous.__contains__ if the_plan.output else None
    find_stale(the_plan, state, site.outputs, site.foreign, resolve, present, recorded)
    if not state.usable and the_plan.case is not Case.EVERYTHING:
        the_plan = Plan(Case.EVERYTHING, why="no build state", docs=the_plan.docs)
        find_stale(the_plan, state, site.outputs, site.foreign, resolve, writer.previous.__contains__)
    everything = the_plan.case is Case.EVERYTHING
    stale, definitions = the_plan.stale, the_plan.definitions
    kept = [] if everything else [path for path in definitions if path not in stale]
    for path in kept:
        writer.note(path, writer.previous[path], False)
    # Membership, not a call per output: a one-post rebuild of a large site does little else.
    items = list(site.outputs.items()) if everything else [(p, o) for p, o in site.outputs.items() if p in stale or p not in definitions]
    # A doc's page and its JSON document side by side: the second finds the body in the cache's memory.
    items.sort(key=lambda item: str(item[1].source))  # str: a plugin may have given another type
    # Most pages render: their bodies first, on every core.  A few: workers cost more than they save.
    many = everything or sum(1 for path, _ in items if path in definitions) > 2 * PAGES_PER_WORKER
    pool = workers.for_site(inputs) if many and workers_for(options.jobs, len(items)) > 1 else None
    if pool is not None:
        render_bodies([doc.entry for doc in site.published.docs()], cache, pool, run.config.root, progress)
    progress.stage("Rendering", len(items))
    rendered = render_outputs(site, items, writer, pool, run.config.root, progress, options.hook_tracer, define=everything)
    definitions.update(rendered.definitions)
    cache.finish()  # even if the build fails: these renderings stay valid for the next one
    b.problems.extend(rendered.failures)
    b.problems.check(strict=options.strict)
    progress.stage("Writing")
    committed = writer.commit()
    return _Done(the_plan, rendered.reads, committed, len(kept))


def _record(
    b: _Build,
    the_plan: Plan,
    site: Site,
    cache: RenderCache,
    reads: Reads,
    resolve: Resolve,
    signature: Signature,
    found: Survey,
    summary: BuildSummary,
) -> tuple[str, dict[str, InputStat]]:
    """Remember the build in the build state for the next one; its id, and the input files as it saw them."""
    run, options = b.run, b.options
    b.progress.stage("Recording")
    everything = the_plan.case is Case.EVERYTHING
    if everything:
        cache.prune()
    now_inputs = input_stats(signature)
    before = found.inputs if found.inputs is not None else ({} if everything else now_inputs)
    warnings = [(w.source, w.message, w.line, w.field) for w in b.problems.warnings]
    build_id = uuid.uuid4().hex
    meta = {
        "settings": run.settings,
        "inputs": signature.digest,
        "racy": "1" if signature.racy else "",
        "next_change": next_change(site.entries, run.now, future=options.future),
        "manifest": manifest_stat(run.out_dir),
        "outcome": msgspec.json.encode(Outcome(summary.pages, summary.files, warnings)).decode(),
        "build": build_id,  # a resident build tells by it whether another process built the site since
    }
    b.state.record(
        BuildRecord(
            meta=meta,
            everything=everything,
            changed=the_plan.changed,
            docs=_docs_to_record(the_plan, site.entries, run, options),
            removed_docs=[d.doc for d in the_plan.docs if d.what is What.REMOVED],
            inputs={path: stat for path, stat in now_inputs.items() if before.get(path) != stat},
            removed_inputs=sorted(before.keys() - now_inputs.keys()),
            reads=reads,
            definitions=the_plan.definitions,
            resolve=resolve,
            same_outputs=the_plan.case is Case.EDITS,  # defined as recorded: the same outputs
        )
    )
    return build_id, now_inputs


def _docs_to_record(the_plan: Plan, entries: list[Entry], run: Configured, options: BuildOptions) -> Iterator[tuple[str, str, str]]:
    """(entry id, version, shape) of the entries new or changed (every entry after a build that rendered everything)."""
    if the_plan.case is not Case.EVERYTHING:
        wanted = {d.doc for d in the_plan.docs if d.what is not What.REMOVED}
        entries = [e for e in entries if doc_id(e.collection, e.slug) in wanted]
    current = versions(entries, run.renderer, run.config, published(run, options))
    return ((doc, version, doc_shape(entry)) for entry, (doc, version) in zip(entries, current, strict=True))


def _unchanged(b: _Build, recorded: Recorded, signature: Signature, found: Survey, the_plan: Plan, kept: Kept | None) -> Built:
    """The last good build's result, as a build with nothing to do; the input files' stat is recorded
    again where it changed without their content (a file saved unchanged, one no longer too recent to trust)."""
    run = b.run
    outcome = the_plan.outcome
    assert outcome is not None
    if found.inputs is not None:
        now = input_stats(signature)
        changed = {path: stat for path, stat in now.items() if found.inputs.get(path) != stat}
        if changed or recorded.inputs != signature.digest:
            b.state.keep_inputs({"inputs": signature.digest, "racy": "1" if signature.racy else ""}, changed)
            if kept is not None:
                kept.inputs = now
    warnings = [Problem(source, message, line, field, Severity.WARNING) for source, message, line, field in outcome.warnings]
    summary = BuildSummary(output_dir=str(run.out_dir), pages=outcome.pages, files=outcome.files, inputs_unchanged=True)
    summary.plan = the_plan.case.value
    summary.unchanged, summary.warnings = outcome.pages + outcome.files, len(warnings)
    summary.seconds = time.perf_counter() - b.started
    run.plugins.registry.notify("build:done", summary=summary, config=run.config)
    return Built(BuildResult(summary, warnings), kept)


class _Damage:
    """Warns once when the build state fails: the build goes on without it, and says so."""

    def __init__(self, state: BuildState, problems: Problems) -> None:
        self.state = state
        self.problems = problems
        self.silent = True
        self.check()

    def check(self) -> None:
        if self.silent and self.state.damage is not None:
            self.silent = False
            why = f"{self.state.damage}; building without the render cache (delete .sonicgen/ to start afresh)"
            self.problems.warn(self.state.label, why)
