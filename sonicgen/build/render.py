"""Rendering a build's stale outputs and the Markdown bodies they need, in this process or in
worker processes (:mod:`sonicgen.parallel`).

A worker gets the inputs its parent read (configuration file, options, the clock, the entries
and data files) and makes the same site from them: configuration and plugins when it starts,
the site graph, outputs and templates on its first page.  It refuses to render when the
settings it loaded are not its parent's (site.yaml or a plugin changed during the build).
Each output's slice comes back with what it read, so the output does not depend on which
process rendered it or how many there were.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from sonicgen.build.collector import YOUNG_OBJECTS
from sonicgen.build.configure import Configured, configure
from sonicgen.build.options import BuildOptions
from sonicgen.build.progress import Progress
from sonicgen.build.reads import Reads
from sonicgen.build.render_cache import RenderCache
from sonicgen.build.site import Site, assemble, markdown_renderer
from sonicgen.build.state import BuildState
from sonicgen.content.facts import Memo, definition, is_definable
from sonicgen.content.models import BodyUnavailable, Entry
from sonicgen.content.outputs import Output, Page
from sonicgen.errors import BuildError, PluginError, Problem, Problems, SonicgenError
from sonicgen.hooks.registry import HookCall, Tracer
from sonicgen.hooks.slow import SlowHookWatch
from sonicgen.output.writer import OutputWriter, Record, Staging
from sonicgen.parallel import WorkerPool, available_cores, slices
from sonicgen.render.templates import TemplateFailure

PAGES_PER_WORKER = 150
"""Below this many outputs per process, starting workers costs more than it saves."""

SHARED = 200
"""Items per slice of work that the build's own process shares with its workers."""

WORKER_MODULES = ("sonicgen.build.render",)
"""What a worker process imports before it is started (once, in the server that forks them)."""


def workers_for(asked: int | None, tasks: int) -> int:
    """How many processes to render in (the build's own and its workers): ``--jobs`` as given; by
    default one per core, but only as many as the work is worth."""
    if asked is not None:
        return max(1, min(asked, tasks))
    return max(1, min(available_cores(), tasks // PAGES_PER_WORKER))


class Staged(NamedTuple):
    """One output rendered and staged."""

    path: str
    record: Record  # for the manifest
    written: bool  # False: the output already held these bytes
    keys: tuple[str, ...]  # what it read
    definition: str | None  # when asked for: its definition (None: unknowable), or "" for a file copied as it is


class Rendering(NamedTuple):
    """What rendering a build's outputs gave."""

    failures: list[Problem]  # one per distinct template problem
    reads: Reads
    definitions: dict[str, str | None]  # of the outputs rendered, when asked for


@dataclass
class Batch:
    """What rendering a slice of outputs gave."""

    staged: list[Staged] = field(default_factory=list)
    failures: list[Problem] = field(default_factory=list)  # template problems: the build goes on to find them all
    fatal: Problem | None = None  # a plugin failed: the build stops at once
    traced: list[HookCall] = field(default_factory=list)


def render_one(path: str, output: Output, site: Site, writer: OutputWriter, memo: Memo | None) -> Staged:
    """Render and stage one output, recording the keys of everything it read (and with ``memo``, its definition)."""
    recorder = site.recorder
    text: str | None = ""  # not asked for, or a file copied as it is
    if memo is not None and is_definable(output):
        text = definition(output, memo)
    recorder.start()
    try:
        if isinstance(output, Page):
            record, written = writer.stage(path, site.renderer.render(output).encode("utf-8"))
        else:
            record, written = writer.stage(path, output.bytes(), type_=output.content_type, immutable=bool(output.meta.get("immutable")))
        return Staged(path, record, written, tuple(map(sys.intern, recorder.keys or ())), text)  # interned: each key pickles once
    finally:
        recorder.stop()
        site.published.release_bodies()  # renderings are the cache's to keep: memory stays bounded


def render_batch(site: Site, writer: OutputWriter, items: Iterable[tuple[str, Output]], root: Path, memo: Memo | None) -> Batch:
    batch = Batch()
    try:
        for path, output in items:
            try:
                batch.staged.append(render_one(path, output, site, writer, memo))
            except TemplateFailure as failure:
                batch.failures.append(failure.problem)
    except PluginError as exc:
        batch.fatal = exc.problem(root)
    except BodyUnavailable as exc:
        batch.fatal = exc.problem
    return batch


def render_outputs(
    site: Site,
    items: list[tuple[str, Output]],
    writer: OutputWriter,
    pool: WorkerPool[WorkerSite] | None,
    root: Path,
    progress: Progress,
    tracer: Tracer | None = None,
    *,
    define: bool = False,
) -> Rendering:
    """Render and stage ``items``, in ``pool``'s workers when there is one; with ``define``, make each
    output's definition as it renders (where it renders: a build that renders everything needs them
    only to record them).  ``tracer`` is told of the hook calls workers made."""
    reads = Reads()
    failures: list[Problem] = []
    definitions: dict[str, str | None] = {}

    def take(batch: Batch) -> None:
        if batch.fatal is not None:
            raise BuildError([batch.fatal])
        failures.extend(batch.failures)
        if tracer is not None:
            for call in batch.traced:
                tracer(call)
        for staged in batch.staged:
            writer.note(staged.path, staged.record, staged.written)
            reads.add(staged.path, staged.keys)
            if define and staged.definition != "":
                definitions[staged.path] = staged.definition
        progress.advance(len(batch.staged) + len(batch.failures))

    memo: Memo | None = {} if define else None

    def here(part: tuple[list[str], bool]) -> Batch:
        return render_batch(site, writer, ((path, site.outputs[path]) for path in part[0]), root, memo)

    # Small slices when this process renders too: a worker's answers wait in its pipe while it does.
    parts = [([items[n][0] for n in part], define) for part in slices(len(items), 1 + (pool.size if pool else 0), largest=SHARED)]
    done = pool.map(render_paths, parts, local=here) if pool is not None else enumerate(map(here, parts))
    for _, batch in done:
        take(batch)
    return Rendering(dedupe(failures), reads, definitions)


def dedupe(failures: list[Problem]) -> list[Problem]:
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


def render_bodies(entries: list[Entry], cache: RenderCache, pool: WorkerPool[WorkerSite], root: Path, progress: Progress) -> None:
    """Render the bodies of ``entries`` the cache lacks, in ``pool``'s workers and in this process, and store them."""
    fresh = cache.missing(entries)
    if not fresh:
        return
    progress.stage("Rendering Markdown", len(fresh))
    parts = [[fresh[n] for n in part] for part in slices(len(fresh), 1 + pool.size, largest=SHARED)]
    for _, made in pool.map(render_entries, parts, local=lambda part: make_bodies(cache, part, root)):
        if isinstance(made, Problem):
            raise BuildError([made])
        cache.made.update(made)
        progress.advance(len(made))


def make_bodies(cache: RenderCache, entries: list[Entry], root: Path) -> list[str] | Problem:
    """Render and store the bodies of ``entries``; their render cache keys, or what stopped it."""
    keys = []
    try:
        for entry in entries:
            key = cache.key(entry)
            cache.make(key, entry)
            keys.append(key)
    except PluginError as exc:  # a markdown:highlight handler failed
        return exc.problem(root)
    except BodyUnavailable as exc:
        return exc.problem
    cache.flush()
    return keys


# In a worker process --------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker loads its parent's configuration from, once."""

    config_path: Path
    options: BuildOptions  # without the hook tracer, which stays in the parent
    trace: bool  # send hook calls back to the parent's tracer
    now: datetime
    settings: str  # the parent's settings fingerprint
    renderer: str  # and its renderer's


@dataclass(frozen=True)
class SiteInputs:
    """What a worker makes its parent's site from (handed to every worker once per build)."""

    epoch: int  # of the parent's render cache
    entries: list[Entry]
    data: Mapping[str, Any]
    staging: Staging


class WorkerSite:
    """A worker's copy of its parent's site: the configuration and plugins when it starts (all a
    worker reading files needs), the site's inputs when handed them (:func:`adopt`), the site itself
    on the first page it renders."""

    def __init__(self, setup: WorkerSetup) -> None:
        # Like its parent's build, a worker makes many objects that live until the build ends.
        gc.set_threshold(YOUNG_OBJECTS, 20, 20)
        self.setup = setup
        self.traced: list[HookCall] = []
        self.configured = configure(setup.config_path, setup.options, setup.now)
        run = self.configured
        self.config = run.config
        if setup.trace:
            run.plugins.registry.tracer = self.traced.append
        if run.settings != setup.settings or run.renderer != setup.renderer:
            raise SonicgenError(f"{run.config.source}: site.yaml or a plugin changed while the site was built; build again")
        # The worker's lifetime: its stderr is its build's, where the build's own warnings go.
        SlowHookWatch(run.plugins.registry, run.config.site.slow_hook_seconds, _to_stderr).start()
        self.markdown = markdown_renderer(run.config, run.plugins)
        self.memo: Memo = {}  # fingerprints of what many outputs share, for their definitions
        self._inputs: SiteInputs | None = None
        self._cache: RenderCache | None = None
        self._writer: OutputWriter | None = None
        self._site: Site | None = None

    def adopt(self, inputs: SiteInputs) -> None:
        """Take the inputs of the site to render from now on, and make it (its pages come soon)."""
        if self._cache is not None:
            self._cache.state.close()
        self._inputs, self._site, self.memo = inputs, None, {}
        self._cache = RenderCache(BuildState.open(self.config.root), self.markdown, self.configured.renderer, epoch=inputs.epoch)
        self._writer = OutputWriter(inputs.staging)
        self.site()

    @property
    def cache(self) -> RenderCache:
        assert self._cache is not None, "adopt() hands a worker its site's inputs first"
        return self._cache

    @property
    def writer(self) -> OutputWriter:
        assert self._writer is not None, "adopt() hands a worker its site's inputs first"
        return self._writer

    def site(self) -> Site:
        if self._site is None:
            assert self._inputs is not None, "adopt() hands a worker its site's inputs first"
            run, inputs, options = self.configured, self._inputs, self.setup.options
            self._site = assemble(
                run.config,
                run.plugins,
                run.theme,
                list(inputs.entries),
                inputs.data,
                bodies=self.cache,
                markdown=self.markdown,
                problems=Problems(),  # the parent reports them
                now=self.setup.now,
                drafts=options.drafts,
                future=options.future,
            )
            gc.freeze()  # the site lives as long as the worker: collections need not walk it
        return self._site


def adopt(worker: WorkerSite, inputs: SiteInputs) -> None:
    """A worker's task, for every worker: the inputs of the site it renders from now on."""
    worker.adopt(inputs)


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def render_paths(worker: WorkerSite, task: tuple[list[str], bool]) -> Batch:
    """A worker's task: render and stage the outputs at the paths given (making their definitions too, if asked)."""
    paths, define = task
    site = worker.site()
    missing = [path for path in paths if path not in site.outputs]
    if missing:
        raise SonicgenError(f"{missing[0]}: not among the outputs a worker process made; the site changed while it was built, build again")
    memo = worker.memo if define else None
    batch = render_batch(site, worker.writer, ((path, site.outputs[path]) for path in paths), worker.config.root, memo)
    worker.cache.flush()
    batch.traced, worker.traced[:] = list(worker.traced), []
    return batch


def render_entries(worker: WorkerSite, entries: list[Entry]) -> list[str] | Problem:
    """A worker's task: render and store the bodies of ``entries``; their render cache keys."""
    return make_bodies(worker.cache, entries, worker.config.root)


def worker_setup(run: Configured, options: BuildOptions) -> WorkerSetup:
    return WorkerSetup(
        run.config_path, replace(options, hook_tracer=None), options.hook_tracer is not None, run.now, run.settings, run.renderer
    )
