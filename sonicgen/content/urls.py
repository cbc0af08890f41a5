"""Slugs, permalinks and the mapping from URLs to output paths.

Output paths are derived only from URLs that pass :func:`output_path`, which refuses
anything that could leave the output directory, so traversal is impossible by construction.
"""

from __future__ import annotations

import posixpath
import re
from datetime import date
from functools import lru_cache
from typing import Any

from slugify import slugify as _slugify

from sonicgen.config.rules import variables

_SAFE_SEGMENT = re.compile(r"^[A-Za-z0-9._~@+-][A-Za-z0-9._~@+=,-]*$")
_NORMAL = re.compile(r"/(?:(?!\.\.?(?:/|$))[A-Za-z0-9._~@+-][A-Za-z0-9._~@+=,-]*/)*(?:(?!\.\.?$)[A-Za-z0-9._~@+-][A-Za-z0-9._~@+=,-]*)?")
"""A URL that :func:`normalize` would return unchanged (the common case, checked in one match)."""
_SLUG = re.compile(r"^[a-z0-9]+(?:[-_.][a-z0-9]+)*$")


class UrlError(ValueError):
    pass


def slugify(text: str) -> str:
    """Lowercase ASCII slug (``"Héllo, World!"`` → ``"hello-world"``)."""
    return _slugify(str(text), allow_unicode=False)


def is_slug(text: str) -> bool:
    return bool(_SLUG.fullmatch(text))  # fullmatch: '$' alone would accept a trailing newline


def expand_permalink(pattern: str, values: dict[str, Any]) -> str:
    """Fill a permalink pattern; each value becomes a safe URL segment (``path`` may hold '/')."""

    def segment(name: str, value: Any) -> str:
        if isinstance(value, date):
            return value.isoformat()
        if name == "path":
            return "/".join(slugify(p) or p for p in str(value).split("/"))
        text = str(value)
        return text if is_slug(text) else slugify(text)

    filled = {name: segment(name, values[name]) for name in permalink_fields(pattern) if name in values}
    url = pattern.format_map(filled)
    return normalize(url)


@lru_cache(maxsize=256)
def permalink_fields(pattern: str) -> frozenset[str]:
    """:func:`~sonicgen.config.rules.variables` of a pattern, found once: a site has a few patterns and thousands of URLs."""
    return frozenset(variables(pattern))


def normalize(url: str) -> str:
    """Collapse duplicate slashes and refuse '.', '..' and unsafe characters."""
    if _NORMAL.fullmatch(url):
        return url
    if not url.startswith("/"):
        raise UrlError(f"URL {url!r} must start with '/'")
    trailing = url.endswith("/")
    parts = [p for p in url.split("/") if p]
    for part in parts:
        if part in (".", "..") or not _SAFE_SEGMENT.fullmatch(part):
            raise UrlError(f"URL {url!r} has an unsafe segment {part!r}")
    joined = "/" + "/".join(parts)
    return joined + "/" if trailing and parts else joined if parts else "/"


def output_path(url: str) -> str:
    """The file (relative, POSIX) that serves ``url``: pretty URLs get ``index.html``."""
    url = normalize(url)
    rel = url.lstrip("/")
    if url.endswith("/"):
        rel = rel + "index.html"
    # normalize refused '.' and '..' segments; normpath would change anything else that could escape
    if rel.startswith("/") or posixpath.normpath(rel) != rel:
        raise UrlError(f"URL {url!r} does not map to a file inside the output directory")
    return rel


def page_url(base: str, number: int) -> str:
    """URL of page ``number`` of a paginated list rooted at ``base``."""
    if number <= 1:
        return base
    return f"{base.rstrip('/')}/page/{number}/"


def base_path(base_url: str) -> str:
    """The path part of the site's base URL, always ending in '/' (``https://x.org/docs`` → ``/docs/``)."""
    rest = base_url.split("://", 1)[-1]
    path = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
    return path if path.endswith("/") else path + "/"
