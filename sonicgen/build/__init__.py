"""The build: configure → survey → plan → assemble → render → write → record (see :mod:`sonicgen.build.pipeline`)."""

from sonicgen.build.options import BuildOptions, BuildResult
from sonicgen.build.pipeline import build

__all__ = ["BuildOptions", "BuildResult", "build"]
