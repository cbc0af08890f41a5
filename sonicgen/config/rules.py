"""Cross-field rules of ``site.yaml`` that a type alone cannot express, and derived defaults."""

from __future__ import annotations

import re
import string
import zoneinfo
from collections.abc import Callable
from pathlib import PurePosixPath, PureWindowsPath
from urllib.parse import urlsplit

import msgspec

from sonicgen.config.convert import Checker
from sonicgen.config.schema import CollectionConfig, SiteConfig, TaxonomyConfig
from sonicgen.safeyaml import KeyPath

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
ENTRY_VARIABLES = {"slug", "path", "year", "month", "day", "collection"}
FIELD_VARIABLE_TYPES = {"string", "select", "integer", "date", "datetime", "reference"}
BUILTIN_SORT_KEYS = {"slug", "path"}
# Names a field of a ``source: sqlite`` collection cannot take: SQLite's own row id aliases,
# FTS5's reserved columns, and the unprefixed system columns (compared case-insensitively,
# as SQLite compares column names). sonicgen's other system columns start with '_'.
SQLITE_RESERVED_FIELDS = {"slug", "body", "rowid", "oid", "_rowid_", "rank"}
ErrorFn = Callable[[KeyPath, str], None]


def variables(pattern: str) -> list[str]:
    """The ``{name}`` placeholders of a permalink pattern."""
    return [name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None]


def resolve(site: SiteConfig) -> SiteConfig:
    """Fill defaults that depend on names (permalinks, titles, taxonomy fields)."""
    base = site.base_url if site.base_url.endswith("/") else site.base_url + "/"
    collections = {}
    for name, c in site.collections.items():
        has_date = c.date_field in c.fields
        collections[name] = msgspec.structs.replace(
            c,
            title=c.title or name.replace("-", " ").replace("_", " ").title(),
            directory=c.directory or name,
            permalink=c.permalink or f"/{name}/{{slug}}/",
            list_permalink=c.list_permalink if c.list_permalink is not None else f"/{name}/",
            sort=c.sort or (f"-{c.date_field}" if has_date else c.title_field),
        )
    taxonomies = {}
    for name, t in site.taxonomies.items():
        field = t.field or name
        members = t.collections
        if members is None:
            members = [n for n, c in collections.items() if field in c.fields]
        taxonomies[name] = msgspec.structs.replace(
            t,
            title=t.title or name.replace("-", " ").replace("_", " ").title(),
            field=field,
            permalink=t.permalink or f"/{name}/{{term}}/",
            collections=members,
        )
    return msgspec.structs.replace(site, base_url=base, collections=collections, taxonomies=taxonomies)


def check_rules(site: SiteConfig, checker: Checker) -> None:
    """Record every rule a valid configuration breaks."""

    error = checker.error_at
    url = urlsplit(site.base_url)
    if url.scheme not in ("http", "https") or not url.netloc:
        error(("base_url",), "must be an absolute http(s) URL such as https://example.org/")
    try:
        zoneinfo.ZoneInfo(site.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        error(("timezone",), f"unknown time zone {site.timezone!r}; use an IANA name such as Europe/Paris or UTC")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", site.theme):
        error(("theme",), "must be a theme folder name (letters, digits, '-', '_', '.')")
    low, high = site.markdown.toc_levels
    if low > high:
        error(("markdown", "toc_levels"), "first level must not exceed the second, e.g. [2, 3]")
    _check_content_db(site, error)
    for name, collection in site.collections.items():
        _check_collection(name, collection, site, error)
    for name, taxonomy in site.taxonomies.items():
        _check_taxonomy(name, taxonomy, site, error)


def _check_content_db(site: SiteConfig, error: ErrorFn) -> None:
    """content.db is the source of truth for its collections: keep it inside the site and out of
    the published output (where it would be uploaded for anyone to download)."""
    path = PurePosixPath(site.content_db.replace("\\", "/"))
    if not site.content_db.strip() or path.is_absolute() or PureWindowsPath(site.content_db).is_absolute():
        error(("content_db",), "must be a file path relative to the site folder, such as content.db")
    elif ".." in path.parts:
        error(("content_db",), "must stay inside the site folder (no '..')")
    else:
        for folder in (PurePosixPath(site.output_dir), PurePosixPath(".sonicgen")):
            if folder.parts and path.parts[: len(folder.parts)] == folder.parts:
                error(("content_db",), f"must not be inside {folder.as_posix()}/, which sonicgen rewrites (and publishes, for the output)")


def _check_path_pattern(path: KeyPath, pattern: str, allowed: set[str], error: ErrorFn) -> None:
    if not pattern.startswith("/"):
        error(path, "must start with '/'")
    if not (pattern.endswith("/") or pattern.endswith(".html")):
        error(path, "must end with '/' (pretty URL) or '.html'")
    if ".." in pattern.split("/"):
        error(path, "must not contain '..'")
    try:
        names = variables(pattern)
    except ValueError as exc:
        error(path, f"malformed pattern: {exc}")
        return
    for name in names:
        if name not in allowed:
            error(path, f"unknown variable {{{name}}}; use one of " + ", ".join(f"{{{n}}}" for n in sorted(allowed)))


def _check_collection(name: str, c: CollectionConfig, site: SiteConfig, error: ErrorFn) -> None:
    base = ("collections", name)
    if not NAME.match(name):
        error(base, "collection names use lowercase letters, digits, '-' and '_'")
    field_vars = {f for f, spec in c.fields.items() if spec.type in FIELD_VARIABLE_TYPES}
    _check_path_pattern((*base, "permalink"), c.permalink or "/", ENTRY_VARIABLES | field_vars, error)
    if c.list_permalink:
        _check_path_pattern((*base, "list_permalink"), c.list_permalink, set(), error)
    uses_date = {"year", "month", "day"} & set(variables(c.permalink or ""))
    if uses_date and c.date_field not in c.fields:
        error((*base, "permalink"), f"uses {{{sorted(uses_date)[0]}}} but the collection has no '{c.date_field}' field")
    known = set(c.fields) | BUILTIN_SORT_KEYS | {c.title_field}
    for key in (c.sort or "").split(","):
        key = key.strip().lstrip("-")
        if key and key not in known:
            error((*base, "sort"), f"cannot sort by unknown field {key!r}; known: {', '.join(sorted(known))}")
    if c.source == "sqlite":
        _check_sqlite_collection(name, c, error)
    for field_name, spec in c.fields.items():
        path = (*base, "fields", field_name)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", field_name):
            error(path, "field names are identifiers (letters, digits, '_')")
        if field_name in ("slug", "body", "collection"):
            error(path, f"'{field_name}' is reserved by sonicgen")
        is_select = spec.type == "select" or (spec.type == "list" and spec.items == "select")
        if is_select and not spec.options:
            error((*path, "options"), "a select field needs a list of options")
        is_reference = spec.type == "reference" or (spec.type == "list" and spec.items == "reference")
        if is_reference:
            if not spec.collection:
                error((*path, "collection"), "a reference field names the collection it points to")
            elif spec.collection not in site.collections:
                error((*path, "collection"), f"no collection named {spec.collection!r}")
        if spec.pattern is not None:
            try:
                re.compile(spec.pattern)
            except re.error as exc:
                error((*path, "pattern"), f"invalid regular expression: {exc}")
        if spec.min is not None and spec.max is not None and spec.min > spec.max:
            error((*path, "min"), "min is greater than max")


def _check_sqlite_collection(name: str, c: CollectionConfig, error: ErrorFn) -> None:
    """A sqlite collection is a table: its name and its fields' column names must be usable there."""
    base = ("collections", name)
    if name.lower().startswith("sqlite_"):
        error(base, "SQLite reserves table names starting with 'sqlite_'; rename the collection")
    seen: dict[str, str] = {}
    for field_name in c.fields:
        path = (*base, "fields", field_name)
        folded = field_name.lower()
        if field_name.startswith("_") or (folded in SQLITE_RESERVED_FIELDS and field_name not in ("slug", "body")):
            reserved = ", ".join(sorted(SQLITE_RESERVED_FIELDS))
            error(path, f"{field_name!r} is reserved in a sqlite collection (names starting with '_' and {reserved})")
        elif folded in seen:
            error(path, f"differs from field {seen[folded]!r} only by case; SQLite column names ignore case")
        seen.setdefault(folded, field_name)


def _check_taxonomy(name: str, t: TaxonomyConfig, site: SiteConfig, error: ErrorFn) -> None:
    base = ("taxonomies", name)
    if not NAME.match(name):
        error(base, "taxonomy names use lowercase letters, digits, '-' and '_'")
    _check_path_pattern((*base, "permalink"), t.permalink or "/", {"term"}, error)
    if "term" not in variables(t.permalink or ""):
        error((*base, "permalink"), "must contain {term}")
    for member in t.collections or []:
        c = site.collections.get(member)
        if c is None:
            error((*base, "collections"), f"no collection named {member!r}")
        elif t.field not in c.fields:
            error((*base, "field"), f"collection {member!r} has no field {t.field!r}")
        elif c.fields[t.field or ""].type not in ("list", "string", "select"):
            error((*base, "field"), f"field {t.field!r} of {member!r} must be a list, string or select")
    if not t.collections:
        error(base, f"no collection has a field named {t.field!r}; add it to a collection or set 'field'")
