"""Typed conversion of loaded YAML that reports every problem, not just the first.

``msgspec.convert`` stops at the first mismatch.  We walk the target type ourselves —
structs, ``dict[str, T]`` and ``list[T]`` — converting each leaf with msgspec, so one run
lists all wrong values, missing keys and unknown keys with their dotted path and line.
The same walker validates plugin config sections.
"""

from __future__ import annotations

import typing
from typing import Any, TypeVar

import msgspec

from sonicgen.errors import Problems
from sonicgen.safeyaml import KeyPath, LoadedYaml, dotted

T = TypeVar("T")


def _type_name(value: object) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
        type(None): "nothing (null)",
    }.get(type(value), type(value).__name__)


class Checker:
    """Walks a value against a type, recording problems against one source file."""

    def __init__(self, source: str, loaded: LoadedYaml, problems: Problems, *, base: KeyPath = ()) -> None:
        self.source = source
        self.loaded = loaded
        self.problems = problems
        self.base = base
        self.failed: list[KeyPath] = []

    def _line(self, path: KeyPath) -> int | None:
        return self.loaded.line_of(path)

    def error_at(self, path: KeyPath, message: str) -> None:
        self.failed.append(path)
        self.problems.error(self.source, message, line=self._line(path), field=dotted(path))

    def check(self, value: Any, typ: Any, path: KeyPath) -> bool:
        """Return True when ``value`` converts to ``typ``; record a problem for each mismatch."""
        if isinstance(typ, type) and issubclass(typ, msgspec.Struct):
            return self._check_struct(value, typ, path)
        origin = typing.get_origin(typ)
        if origin is dict:
            if not isinstance(value, dict):
                self.error_at(path, f"expected a mapping, got {_type_name(value)}")
                return False
            _, value_type = typing.get_args(typ)
            return all([self.check(v, value_type, (*path, str(k))) for k, v in value.items()])
        if origin is list:
            if not isinstance(value, list):
                self.error_at(path, f"expected a list, got {_type_name(value)}")
                return False
            (item_type,) = typing.get_args(typ)
            return all([self.check(v, item_type, (*path, i)) for i, v in enumerate(value)])
        try:
            msgspec.convert(value, typ)
        except msgspec.ValidationError as exc:
            message = str(exc).split(" - at `", 1)[0]
            self.error_at(path, message[0].lower() + message[1:])
            return False
        return True

    def _check_struct(self, value: Any, typ: type[msgspec.Struct], path: KeyPath) -> bool:
        if not isinstance(value, dict):
            self.error_at(path, f"expected a mapping, got {_type_name(value)}")
            return False
        fields = {f.encode_name: f for f in msgspec.structs.fields(typ)}
        ok = True
        for key in value:
            if key not in fields:
                known = ", ".join(sorted(fields))
                self.problems.warn(
                    self.source,
                    f"unknown key (ignored); known keys here: {known}",
                    line=self._line((*path, key)),
                    field=dotted((*path, key)),
                )
        for name, info in fields.items():
            if name in value:
                ok = self.check(value[name], info.type, (*path, name)) and ok
            elif info.default is msgspec.NODEFAULT and info.default_factory is msgspec.NODEFAULT:
                self.error_at((*path, name), "required key is missing")
                ok = False
        return ok


def convert(value: Any, typ: type[T], checker: Checker, path: KeyPath = ()) -> T | None:
    """Convert ``value`` to ``typ``, or return None after recording every problem."""
    if not checker.check(value, typ, path):
        return None
    return msgspec.convert(value, typ)
