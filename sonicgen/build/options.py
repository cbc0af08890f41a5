"""What a build is asked to do, and what it reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sonicgen.content.outputs import BuildSummary
from sonicgen.errors import Problem
from sonicgen.hooks.registry import Tracer


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
    wait: bool = True  # for another build of the site to finish (False: fail at once)


@dataclass
class BuildResult:
    summary: BuildSummary
    warnings: list[Problem] = field(default_factory=list)
