"""``sonicgen why URL``: the inputs one output read when it was last rendered, from the build state."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from urllib.parse import urlsplit

from sonicgen.build.state import BuildState, state_path
from sonicgen.config import Config
from sonicgen.content import deps
from sonicgen.content.urls import UrlError, base_path, output_path
from sonicgen.errors import SonicgenError


@dataclass(frozen=True)
class Explanation:
    path: str
    inputs: list[tuple[str, str]]  # (key, in words), grouped by kind


def _path(config: Config, url: str) -> str:
    """An output path from a URL (``/posts/``), an absolute URL of the site, or an output path relative
    to the output folder (``posts/index.html``, ``posts/``), which the base URL's sub-path does not prefix."""
    parts = urlsplit(url)
    route = parts.path or "/"
    if not parts.scheme and not parts.netloc and not route.startswith("/"):
        route = "/" + route
    else:
        prefix = base_path(config.site.base_url)
        if route.startswith(prefix):
            route = "/" + route[len(prefix) :]
    try:
        return output_path(route)
    except UrlError as exc:
        raise SonicgenError(f"{url}: {exc}") from None


def explain(config: Config, url: str) -> Explanation:
    """The recorded inputs of the output at ``url``; SonicgenError when there are none to show."""
    where = state_path(config.root)
    if not where.exists():
        raise SonicgenError(f"{where.relative_to(config.root)}: no build state yet; run `sonicgen build` first")
    path = _path(config, url)
    state = BuildState.open(config.root)
    try:
        keys = state.inputs_of(path)
        if keys is None and not path.endswith("/index.html"):  # posts/ written as posts or /posts
            folder = state.inputs_of(f"{path}/index.html")
            path, keys = (f"{path}/index.html", folder) if folder is not None else (path, keys)
        known = state.output_paths() if keys is None else []
    finally:
        state.close()
    if state.damage is not None:
        raise SonicgenError(state.damage if state.locked else f"{state.damage}; delete .sonicgen/ and build again")
    if keys is None:
        close = difflib.get_close_matches(path, known, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise SonicgenError(
            f"{url}: the last build recorded no inputs for {path} (theme assets and static files are copied, not rendered){hint}"
        )
    found = sorted((deps.parse(key) for key in keys), key=deps.Dep.sort_key)
    return Explanation(path, [(dep.key, dep.describe()) for dep in found])
