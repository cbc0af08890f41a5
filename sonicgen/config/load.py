"""Read ``site.yaml``, apply ``SONICGEN_*`` environment overrides, validate, resolve defaults."""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from sonicgen.config.convert import Checker, convert, dotted
from sonicgen.config.rules import check_rules, resolve
from sonicgen.config.schema import SiteConfig
from sonicgen.errors import BuildError, Problem, Problems
from sonicgen.safeyaml import KeyPath, LoadedYaml, YamlError, load, load_scalar
from sonicgen.walk import Links

ENV_PREFIX = "SONICGEN_"
# Variables that configure the CLI itself rather than site.yaml.
_NOT_CONFIG = {"SONICGEN_CONFIG", "SONICGEN_DEBUG"}


@dataclass(frozen=True)
class Config:
    """A validated site configuration and where it came from."""

    site: SiteConfig
    root: Path
    path: Path
    loaded: LoadedYaml

    @property
    def source(self) -> str:
        return self.path.name if self.path.parent == self.root else str(self.path)

    def dir(self, relative: str) -> Path:
        return (self.root / relative).resolve()

    @cached_property
    def links(self) -> Links:
        """How the site's folders treat symbolic links (see :mod:`sonicgen.walk`)."""
        return Links(self.root, self.site.follow_symlinks)

    # Cached: reading a site asks for the content folder once per file, and resolving costs a syscall per part.
    @cached_property
    def content_dir(self) -> Path:
        return self.dir(self.site.content_dir)

    @cached_property
    def data_dir(self) -> Path:
        return self.dir(self.site.data_dir)

    @cached_property
    def output_dir(self) -> Path:
        return self.dir(self.site.output_dir)

    def line_of(self, *path: str | int) -> int | None:
        return self.loaded.line_of(tuple(path))


def _env_overrides(environ: Mapping[str, str]) -> dict[tuple[str, ...], tuple[str, Any]]:
    out: dict[tuple[str, ...], tuple[str, Any]] = {}
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or name in _NOT_CONFIG:
            continue
        path = tuple(part for part in name[len(ENV_PREFIX) :].lower().split("__") if part)
        if not path:
            continue
        try:
            value = load_scalar(raw) if raw.strip() else ""
        except YamlError:
            value = raw
        out[path] = (name, value)
    return out


def _apply(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = data
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[path[-1]] = value


def load_config(
    path: Path, *, environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None, keep_going: bool = False
) -> tuple[Config, Problems]:
    """Load and validate a site configuration, raising :class:`BuildError` listing every error.

    Warnings (unknown keys, for instance) come back with the config for the caller to show
    or, under ``--strict``, to fail on.  With ``keep_going``, errors come back too, with the
    config minus its invalid values, so that plugin settings can be checked in the same run.
    """
    problems = Problems()
    source = path.name
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise BuildError([_missing(path)]) from None
    except UnicodeDecodeError as exc:
        problems.error(source, f"not valid UTF-8 (byte {exc.start}); save the file as UTF-8")
        raise BuildError(problems) from None
    except OSError as exc:
        problems.error(source, f"cannot read: {exc.strerror}")
        raise BuildError(problems) from None
    try:
        loaded = load(text)
    except YamlError as exc:
        problems.error(source, exc.reason, line=exc.line, field=exc.field)
        raise BuildError(problems) from None
    data = loaded.value if loaded.value is not None else {}
    if not isinstance(data, dict):
        problems.error(source, "must be a mapping of settings (key: value)", line=1)
        raise BuildError(problems) from None

    env = _env_overrides(os.environ if environ is None else environ)
    for key_path, (_, value) in env.items():
        _apply(data, key_path, value)
    for key, value in (overrides or {}).items():
        if value is not None:
            _apply(data, (key,), value)

    checker = Checker(source, loaded, problems)
    site = convert(data, SiteConfig, checker)
    checkable = site if site is not None else _salvage(data, checker)
    resolved = resolve(checkable) if checkable is not None else None
    if resolved is not None:
        check_rules(resolved, checker)
    _relocate_env_problems(problems, env)
    if resolved is None or (problems.errors and not keep_going):
        raise BuildError(problems.items)
    return Config(resolved, path.parent.resolve(), path.resolve(), loaded), problems


def _salvage(data: dict[str, Any], checker: Checker) -> SiteConfig | None:
    """The config with its invalid values dropped (defaults in their place), or None.

    Rule checks then still run on everything that is valid, so one pass lists every problem.
    """
    data = copy.deepcopy(data)
    failed = checker.failed
    for _ in range(8):  # dropping a required key invalidates its parent; a few rounds settle it
        for path in failed:
            if not _drop(data, path):
                return None
        quiet = Checker(checker.source, checker.loaded, Problems())
        site = convert(data, SiteConfig, quiet)
        if site is not None:
            return site
        failed = quiet.failed
    return None


def _drop(data: dict[str, Any], path: KeyPath) -> bool:
    """Remove the value at ``path`` (a whole list for an item in it); False when the root itself is bad."""
    keys = list(path)
    for index, key in enumerate(keys):
        if isinstance(key, int):
            keys = keys[:index]
            break
    if not keys:
        return False
    parent: Any = data
    for key in keys[:-1]:
        if not isinstance(parent, dict) or key not in parent:
            return True  # already dropped with an outer value
        parent = parent[key]
    if not isinstance(parent, dict):
        return _drop(data, tuple(keys[:-1]))
    if keys[-1] in parent:
        del parent[keys[-1]]
        return True
    return _drop(data, tuple(keys[:-1]))  # a required key is missing: drop what should hold it


def _missing(path: Path) -> Problem:
    return Problem(str(path), "no site configuration here; run `sonicgen init DIR` to create a site, or pass --config PATH")


def _relocate_env_problems(problems: Problems, env: dict[tuple[str, ...], tuple[str, Any]]) -> None:
    """Point problems caused by environment overrides at the variable, not at site.yaml."""
    by_field = {dotted(path): name for path, (name, _) in env.items()}
    for index, problem in enumerate(problems.items):
        name = by_field.get(problem.field or "")
        if name:
            problems.items[index] = type(problem)(f"environment {name}", problem.message, None, problem.field, problem.severity)
