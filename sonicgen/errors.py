"""Problems and exceptions every layer reports through.

A :class:`Problem` is one line a user reads: where (file, line, field) and what is wrong.
Layers collect problems instead of raising on the first one, so a build lists every
mistake at once; :class:`BuildError` carries the list up to the CLI, which prints it and
exits 1 without a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One located complaint about the user's input."""

    source: str
    message: str
    line: int | None = None
    field: str | None = None
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        what = self.message if not self.field else f"{self.field}: {self.message}"
        prefix = "warning: " if self.severity is Severity.WARNING else ""
        return f"{where}: {prefix}{what}"

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


@dataclass
class Problems:
    """An ordered collection of problems, shared by one stage of the build."""

    items: list[Problem] = field(default_factory=list)

    def error(self, source: str | Path, message: str, *, line: int | None = None, field: str | None = None) -> None:
        self.items.append(Problem(str(source), message, line, field))

    def warn(self, source: str | Path, message: str, *, line: int | None = None, field: str | None = None) -> None:
        self.items.append(Problem(str(source), message, line, field, Severity.WARNING))

    def extend(self, problems: Iterable[Problem]) -> None:
        self.items.extend(problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if not p.is_error]

    def check(self, *, strict: bool = False) -> None:
        """Raise a :class:`BuildError` with every problem if any is an error (with ``strict``, a warning too)."""
        if self.errors:
            raise BuildError(self.items)
        if strict and self.warnings:
            raise BuildError([*self.items, Problem("build", f"{len(self.warnings)} warning(s) and --strict is set")])

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class SonicgenError(Exception):
    """Base of every error sonicgen expects and explains; anything else is a bug."""


class BuildError(SonicgenError):
    """The input has problems; nothing was published."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class PluginError(SonicgenError):
    """A plugin's hook handler failed, or a plugin broke a hook's contract."""

    def __init__(
        self, plugin: str, hook: str, message: str, *, subject: str | None = None, file: str | None = None, line: int | None = None
    ) -> None:
        self.plugin = plugin
        self.hook = hook
        self.subject = subject
        self.file = file
        self.line = line
        where = f" while processing {subject}" if subject else ""
        super().__init__(f"plugin {plugin!r}, hook {hook!r}{where}: {message}")

    def problem(self, root: Path) -> Problem:
        """As a build problem pointing at the plugin's code (relative to the site when it lives there)."""
        source = f"plugin {self.plugin!r}"
        if self.file:
            path = Path(self.file)
            source = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        return Problem(source, str(self), self.line)


class HookRegistrationError(SonicgenError):
    """A handler was registered for an unknown hook or with a signature the hook cannot call."""
