"""The build: config → plugins → content → site graph → outputs → render → atomic write."""

from sonicgen.build.pipeline import BuildOptions, BuildResult, build

__all__ = ["BuildOptions", "BuildResult", "build"]
