"""A site built again and again in one process, as ``sonicgen build --watch`` and the dev server do.

Each build goes through the same stages and planner as a one-shot build
(:func:`~sonicgen.build.pipeline.run_build`); what the last good build kept (its site in memory,
its render cache and build state) is handed in, and the planner's cases decide how much of it
serves.  Entries edited in their bodies alone are read alone and put in place in the kept site;
anything else reads and assembles the site again, in this process with its imports warm.  Either
way the output equals a clean build's, byte for byte (``tests/test_incremental_invariant.py``).

A change to site.yaml or a local plugin loads the configuration and plugins again; an
installed plugin's code is loaded once.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from sonicgen.build.options import BuildOptions, BuildResult
from sonicgen.build.pipeline import Kept, run_build
from sonicgen.build.progress import Progress, Silent
from sonicgen.config import Config


class ResidentBuild:
    """Builds one site again and again, keeping what the last good build rendered with.

    A failed build keeps nothing: the next one reads the site again.  Builds asked for from
    several threads take turns.
    """

    def __init__(self, config_path: Path, options: BuildOptions | None = None) -> None:
        self._config_path = config_path
        self._options = options or BuildOptions()
        self._kept: Kept | None = None
        self._lock = threading.Lock()

    def build(self, progress: Progress | None = None) -> BuildResult:
        """Build the site; raise BuildError on failure, like :func:`sonicgen.build.build`."""
        with self._lock:
            kept, self._kept = self._kept, None
            built = run_build(self._config_path, self._options, progress or Silent(), kept=kept)
            self._kept = built.kept
            self._options = replace(self._options, clean=False)  # --clean empties the output once, not on every edit
            return built.result

    @property
    def config(self) -> Config | None:
        """The configuration the last good build used; None after a failed one."""
        kept = self._kept
        return kept.run.config if kept is not None else None

    def close(self) -> None:
        """Let go of what the last build kept (its build state is closed)."""
        with self._lock:
            if self._kept is not None:
                self._kept.close()
                self._kept = None
