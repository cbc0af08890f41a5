"""Locate a theme: the site's ``themes/<name>`` first, then the themes shipped with sonicgen."""

from __future__ import annotations

from pathlib import Path

from sonicgen.config import Config
from sonicgen.errors import BuildError, Problem

_PACKAGE = Path(__file__).resolve().parent.parent  # sonicgen/


def builtin_themes_dir() -> Path:
    """Themes inside an installed wheel, or the repository's ``themes/`` in a source checkout."""
    packaged = _PACKAGE / "themes"
    return packaged if packaged.is_dir() else _PACKAGE.parent / "themes"


def builtin_themes() -> list[str]:
    root = builtin_themes_dir()
    return sorted(p.name for p in root.iterdir() if (p / "templates").is_dir()) if root.is_dir() else []


def theme_dir(config: Config) -> Path:
    name = config.site.theme
    for candidate in (config.root / "themes" / name, builtin_themes_dir() / name):
        if (candidate / "templates").is_dir():
            return candidate
    available = ", ".join(builtin_themes()) or "none"
    raise BuildError(
        [
            Problem(
                config.source,
                f"theme {name!r} not found in themes/{name}/templates or among the built-in themes ({available})",
                config.line_of("theme"),
                "theme",
            )
        ]
    )
