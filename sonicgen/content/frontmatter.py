"""Split a content file into front matter and body: YAML between ``---`` or TOML between ``+++``."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

from sonicgen.safeyaml import KeyPath, LoadedYaml, YamlError, load


class FrontMatterError(Exception):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass
class Parsed:
    """Front matter values, their lines, and the body with the line it starts on."""

    data: dict[str, Any]
    lines: dict[KeyPath, int] = field(default_factory=dict)
    body: str = ""
    body_line: int = 1
    format: str = "yaml"


_TOML_KEY = re.compile(r"^[ \t]*([A-Za-z0-9_-]+)[ \t]*=", re.MULTILINE)


def _split(text: str, fence: str) -> tuple[str, str, int]:
    """Return (front matter, body, line of body) for text that starts with ``fence``."""
    lines = text.split("\n")
    for index in range(1, len(lines)):
        if lines[index].rstrip() == fence:
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :]), index + 2
    raise FrontMatterError(f"front matter opened with '{fence}' on line 1 is never closed; add a line '{fence}' after it", 1)


def body_at(text: str, body_line: int) -> str:
    """The body of ``text`` that :func:`parse` found starting on ``body_line``, without parsing again."""
    parts = text.split("\n", body_line - 1)
    return parts[-1] if len(parts) == body_line else ""


def parse(text: str) -> Parsed:
    """Parse ``text`` (already decoded, BOM removed, newlines normalised)."""
    first = text.split("\n", 1)[0].rstrip()
    if first == "---":
        raw, body, body_line = _split(text, "---")
        try:
            loaded = load(raw, first_line=2)
        except YamlError as exc:  # a value at fault is named by its field (date: ...), as field errors are
            raise FrontMatterError(exc.message if exc.field else f"front matter: {exc.message}", exc.line) from None
        return Parsed(_mapping(loaded), loaded.lines, body, body_line)
    if first == "+++":
        raw, body, body_line = _split(text, "+++")
        try:
            data = tomllib.loads(raw)
        except tomllib.TOMLDecodeError as exc:
            match = re.search(r"line (\d+)", str(exc))
            line = int(match.group(1)) + 1 if match else raw.count("\n") + 2
            raise FrontMatterError(f"front matter: invalid TOML: {str(exc).split(' (at')[0]}", line) from None
        lines: dict[KeyPath, int] = {(): 2}
        for match in _TOML_KEY.finditer(raw):
            lines.setdefault((match.group(1),), raw.count("\n", 0, match.start()) + 2)
        return Parsed(data, lines, body, body_line, "toml")
    return Parsed({}, {}, text, 1, "none")


def _mapping(loaded: LoadedYaml) -> dict[str, Any]:
    if loaded.value is None:
        return {}
    if not isinstance(loaded.value, dict):
        kind = "a list" if isinstance(loaded.value, list) else "a single value"
        raise FrontMatterError(f"front matter must be a mapping of fields (key: value), not {kind}", loaded.lines.get((), 2))
    return loaded.value
