"""Terminal output: problems one per line, a progress bar on terminals, a closing summary.

Rich honours ``NO_COLOR`` and drops colour and live display when output is not a TTY. It is
imported only when something is styled: a build that prints one plain line starts faster.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from functools import cached_property
from typing import TYPE_CHECKING

import click

from sonicgen.content.outputs import BuildSummary
from sonicgen.errors import Problem
from sonicgen.hooks.registry import HookCall

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

UNTOUCHED = "the previous output was left untouched"

REASONS_SHOWN = 10
"""Distinct reasons ``build -v`` lists for re-rendering; ``-vv`` lists all."""


def echo(message: str, *, nl: bool = True) -> None:
    """``click.echo`` to stdout, naming stdout in the OSError when writing fails: a write to a full
    disk or a closed pipe carries no file name, and the message must say what could not be written."""
    try:
        click.echo(message, nl=nl)
    except OSError as exc:
        if exc.filename is None:
            exc.filename = STDOUT
        raise


STDOUT = "<stdout>"


class Display:
    def __init__(self, verbosity: int = 0) -> None:
        self.verbosity = verbosity
        self._progress: Progress | None = None
        self._task: int | None = None

    @cached_property
    def err(self) -> Console:
        from rich.console import Console

        return Console(stderr=True, highlight=False, emoji=False)

    def problems(self, problems: Iterable[Problem]) -> None:
        """One line per problem, grouped by file in line order (reading order for the fixer)."""
        for problem in sorted(problems, key=lambda p: (p.source, p.line or 0)):
            style = "red" if problem.is_error else "yellow"
            self.err.print(str(problem), style=style, markup=False, soft_wrap=True)

    def hook_call(self, call: HookCall) -> None:
        """One line per hook handler call and per dispatch (``--debug-hooks``), on stderr."""
        who = f"{call.plugin}:{call.name} (priority {call.priority})" if call.plugin is not None else "all handlers"
        where = f" [{call.subject}]" if call.subject else ""
        self.err.print(f"hook {call.hook} {who} {call.seconds * 1000:.3f} ms{where}", style="dim", markup=False, soft_wrap=True)

    def failure(self, problems: list[Problem], failed: str = "build failed", consequence: str = UNTOUCHED) -> None:
        """The problems of a failed command, one per line, then what failed and what it left."""
        self.close()
        self.problems(problems)
        errors = sum(1 for p in problems if p.is_error)
        self.error(f"{failed} with {errors or len(problems)} problem(s); {consequence}")

    def error(self, message: str) -> None:
        self.err.print(f"error: {message}", style="red", markup=False, soft_wrap=True)

    def info(self, message: str) -> None:
        if self.verbosity >= 0:
            echo(message)

    # Progress protocol used by the build.
    def stage(self, name: str, total: int | None = None) -> None:
        if self.verbosity > 0:
            self.err.print(f"· {name}" + (f" ({total})" if total else ""), style="dim", markup=False)
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        if total and total > 200 and self.verbosity >= 0 and self.err.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=self.err, transient=True
            )
            self._progress.start()
            self._task = self._progress.add_task(name, total=total)

    def advance(self, count: int = 1) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, count)  # type: ignore[arg-type]

    def note(self, message: str) -> None:
        if self.verbosity >= 0:
            self.err.print(message, style="dim", markup=False, soft_wrap=True)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def summary(self, s: BuildSummary) -> None:
        self.info(
            f"Built {s.pages} pages and {s.files} files in {s.seconds:.2f} s: "
            f"{s.written} written, {s.unchanged} unchanged, {s.removed} removed, "
            f"{s.warnings} warning{'s' if s.warnings != 1 else ''} → {s.output_dir}"
        )
        if self.verbosity > 0:
            fetched = f" ({s.markdown_fetched} renderings and summaries read from the build state)" if s.markdown_fetched else ""
            self.info(f"Markdown: {s.markdown_rendered} rendered, {s.markdown_cached} from the cache{fetched}")
            if s.inputs_unchanged:
                self.info("Nothing to do: no input file, setting or scheduled date changed since the last build")
                return
            how = "the site read and assembled" if s.assembled else "the edits taken into the site in memory"
            self.info(f"Plan: {s.plan}, {how}")
            self.info(f"Re-rendered {len(s.stale)} of {len(s.stale) + s.kept} pages and generated files; {s.kept} were up to date")
            reasons = Counter(s.stale.values())
            example = {why: path for path, why in sorted(s.stale.items(), reverse=True)}
            shown = reasons.most_common() if self.verbosity > 1 else reasons.most_common(REASONS_SHOWN)
            for why, count in shown:
                self.info(f"  {count} × {why} (e.g. {example[why]})" if count > 1 else f"  {example[why]}: {why}")
            if len(reasons) > len(shown):
                self.info(f"  … and {len(reasons) - len(shown)} more reasons (-vv lists them all)")
