"""One build from start to finish: configuration, plugins, the check that anything changed,
then content, handed to :mod:`sonicgen.build.rendering`.

Every stage collects problems instead of stopping at the first; the build stops before
writing if any error was found, so the previous output stays untouched.
"""

from __future__ import annotations

import gc
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from sonicgen.build.incremental import settings_fingerprint
from sonicgen.build.progress import Progress, Silent
from sonicgen.build.render_cache import RenderCache, renderer_fingerprint
from sonicgen.build.signature import Signature, input_roots, input_signature, is_due
from sonicgen.build.sources import SourceMemory
from sonicgen.build.state import open_state, state_path
from sonicgen.config import Config, load_config
from sonicgen.content.fields import check_defaults
from sonicgen.content.outputs import BuildSummary
from sonicgen.db.connect import DatabaseError
from sonicgen.errors import BuildError, PluginError, Problem, Problems, Severity
from sonicgen.hooks.loader import SitePlugins, load_plugins
from sonicgen.hooks.registry import Tracer
from sonicgen.output.writer import MANIFEST
from sonicgen.parallel import available_cores
from sonicgen.render.theme import theme_dir
from sonicgen.sources import read_entries
from sonicgen.sources.files.reader import load_data

if TYPE_CHECKING:
    from sonicgen.build.rendering import Kept

Keep = Callable[["Kept"], None]


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


@dataclass
class BuildResult:
    summary: BuildSummary
    warnings: list[Problem] = field(default_factory=list)


def fail(problems: Problems, *, strict: bool = False) -> None:
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
    for folder in input_roots(config):  # static files, templates, data, plugins, the theme
        if out.is_relative_to(folder):
            where = folder.relative_to(config.root) if folder.is_relative_to(config.root) else folder
            raise BuildError([Problem(str(out), f"output directory is inside {where}/, which the build reads; choose another --out")])
    return out


def open_render_cache(config: Config, plugins: SitePlugins, problems: Problems) -> RenderCache | None:
    """The Markdown cache in the build state; a build still works (slower) when it cannot be opened."""
    try:
        conn = open_state(config)
    except (DatabaseError, sqlite3.DatabaseError) as exc:
        cache_warning(config, problems, str(exc))
        return None
    try:
        return RenderCache(conn, renderer_fingerprint(config, plugins), state_path(config))
    except sqlite3.DatabaseError as exc:  # damage beyond the header shows on the first read
        conn.close()
        cache_warning(config, problems, str(exc))
        return None


def cache_warning(config: Config, problems: Problems, damage: str) -> None:
    where = str(state_path(config).relative_to(config.root))
    problems.warn(where, f"{damage}; building without the render cache (delete .sonicgen/ to start afresh)")


def build(
    config_path: Path, options: BuildOptions | None = None, progress: Progress | None = None, *, keep: Keep | None = None
) -> BuildResult:
    """Build the site configured at ``config_path``; raise BuildError on failure.

    A failing plugin becomes a problem like any other, pointing at the line of its code.
    ``keep`` gets what a good build rendered with (:mod:`sonicgen.build.resident` builds on it):
    such a build always loads the site, even when nothing changed.
    """
    try:
        with fewer_collections():
            return _build(config_path, options, progress, keep)
    except PluginError as exc:
        raise BuildError([exc.problem(config_path.resolve().parent)]) from exc


YOUNG_OBJECTS = 50_000
"""Allocations between runs of the cycle collector during a build (Python's default is 700)."""


@contextmanager
def fewer_collections() -> Iterator[None]:
    """A build makes hundreds of thousands of objects that live until it ends, and the cycle collector
    walked them 584 times in a one-post rebuild of 10,000 pages (0.2 s; 6 times and 0.04 s after this)."""
    before = gc.get_threshold()
    gc.set_threshold(YOUNG_OBJECTS, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _build(config_path: Path, options: BuildOptions | None, progress: Progress | None, keep: Keep | None) -> BuildResult:
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
    fail(problems)
    registry = plugins.registry
    registry.tracer = options.hook_tracer
    config = registry.pipe("config:loaded", config)
    out_dir = _output_dir(config, options)
    registry.notify("build:start", config=config, drafts=options.drafts, future=options.future)
    theme = theme_dir(config)

    progress.stage("Reading content")
    check_defaults(config.site.collections, config.source, config.line_of, problems)
    cache = open_render_cache(config, plugins, problems)
    try:  # the state database stays open until the build ends, however it ends
        settings = settings_fingerprint(config, plugins, (options.drafts, options.future), out_dir)
        signature = input_signature(config)
        run = Run(config, options, plugins, problems, progress, now, started, out_dir, theme, cache, settings, signature, keep)
        unchanged = None if keep is not None else _nothing_changed(run)
        if unchanged is not None:
            registry.notify("build:done", summary=unchanged.summary, config=config)
            return unchanged
        # Imported only now: a build with nothing to do never loads Jinja, markdown-it or Pygments.
        from sonicgen.build import rendering

        markdown = rendering.markdown_renderer(config, plugins)
        memory = SourceMemory(cache.conn, config) if cache is not None else None
        read = read_entries(config, problems, memory, options.jobs or available_cores())
        if cache is not None and memory is not None and memory.damage is not None:
            cache.damage = cache.damage or memory.damage
        entries = [registry.pipe("content:loaded", e, config=config, subject=e.source.path) for e in read]
        data = load_data(config, problems)
        fail(problems)
        return rendering.render_site(run, markdown, entries, data)
    finally:
        if cache is not None:
            cache.conn.close()


@dataclass
class Run:
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
    keep: Keep | None = None


class Outcome(msgspec.Struct):
    """What a good build leaves for a build that finds nothing changed: its counts and warnings."""

    pages: int
    files: int
    warnings: list[tuple[str, str, int | None, str | None]]


def manifest_stat(out_dir: Path) -> str:
    try:
        st = (out_dir / MANIFEST).stat()
    except OSError:
        return ""
    return f"{st.st_size}:{st.st_mtime_ns}"


def _nothing_changed(run: Run) -> BuildResult | None:
    """The last good build's result when no input, setting or scheduled time changed since; else None."""
    cache = run.cache
    if cache is None or cache.damage is not None or run.options.clean or not run.signature.trusted:
        return None
    try:
        meta = dict(cache.conn.execute("SELECT name, value FROM meta").fetchall())
    except sqlite3.DatabaseError:
        return None
    if (
        meta.get("inputs") != run.signature.digest
        or meta.get("settings") != run.settings
        or meta.get("manifest") != manifest_stat(run.out_dir)
        or is_due(meta.get("next_change"), run.now)
        or "outcome" not in meta
    ):
        return None
    try:
        outcome = msgspec.json.decode(meta["outcome"], type=Outcome)
    except msgspec.DecodeError:
        return None
    warnings = [Problem(source, message, line, field, Severity.WARNING) for source, message, line, field in outcome.warnings]
    if run.options.strict and warnings:
        return None  # let the planner's build report them and fail
    return nothing_to_do(run.out_dir, outcome.pages, outcome.files, warnings, run.started)


def nothing_to_do(out_dir: Path | str, pages: int, files: int, warnings: list[Problem], started: float) -> BuildResult:
    """The result of a build that found no input changed: the last good build's counts and warnings."""
    summary = BuildSummary(output_dir=str(out_dir), pages=pages, files=files, inputs_unchanged=True)
    summary.unchanged, summary.warnings = pages + files, len(warnings)
    summary.seconds = time.perf_counter() - started
    return BuildResult(summary, warnings)
