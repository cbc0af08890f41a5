"""``sonicgen why URL``: the inputs one output read when it was last rendered, from the build state."""

from __future__ import annotations

import difflib
import sqlite3
from dataclasses import dataclass
from urllib.parse import urlsplit

from sonicgen.build.plan import describe
from sonicgen.build.state import as_json, decode_deps, state_path
from sonicgen.config import Config
from sonicgen.content.urls import UrlError, base_path, output_path
from sonicgen.db.connect import DatabaseError, open_db
from sonicgen.errors import SonicgenError


@dataclass(frozen=True)
class Explanation:
    path: str
    inputs: list[tuple[str, str]]  # (key, in words), grouped by kind


def _path(config: Config, url: str) -> str:
    """An output path from a URL, an absolute URL of the site, or an output path itself."""
    parts = urlsplit(url)
    route = parts.path or "/"
    prefix = base_path(config.site.base_url)
    if route.startswith(prefix):
        route = "/" + route[len(prefix) :]
    try:
        return output_path(route)
    except UrlError as exc:
        raise SonicgenError(f"{url}: {exc}") from None


def explain(config: Config, url: str) -> Explanation:
    """The recorded inputs of the output at ``url``; SonicgenError when there are none to show."""
    where = state_path(config)
    if not where.is_file():
        raise SonicgenError(f"{where.relative_to(config.root)}: no build state yet; run `sonicgen build` first")
    path = _path(config, url)
    try:
        conn = open_db(where, label=where.relative_to(config.root).as_posix(), verify=False)
    except DatabaseError as exc:
        raise SonicgenError(str(exc)) from None
    try:
        row = conn.execute("SELECT deps FROM outputs WHERE path = ?", (path,)).fetchone()
        if row is None:
            known = [r[0] for r in conn.execute("SELECT path FROM outputs")]
            close = difflib.get_close_matches(path, known, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise SonicgenError(
                f"{url}: the last build recorded no inputs for {path} (theme assets and static files are copied, not rendered){hint}"
            )
        read = as_json(decode_deps(row[0]))
        keys = [key for (key,) in conn.execute("SELECT key FROM facts WHERE id IN (SELECT value FROM json_each(?))", (read,))]
    except sqlite3.DatabaseError as exc:
        raise SonicgenError(f"{where.relative_to(config.root)}: {exc}; delete .sonicgen/ and build again") from None
    finally:
        conn.close()
    order = ["tpl", "s", "data", "cc", "c", "xc", "x", "t", "d", "n", "dt"]
    keys.sort(key=lambda k: (order.index(k.split(":", 1)[0]) if k.split(":", 1)[0] in order else len(order), k))
    return Explanation(path, [(key, describe(key)) for key in keys])
