"""Static assets: theme files under fingerprinted names, site ``static/`` files as they are."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from sonicgen.content.outputs import File
from sonicgen.content.urls import UrlError, normalize
from sonicgen.errors import Problems
from sonicgen.walk import Links, files

ASSET_ROUTE = "/assets/"


def fingerprint(name: str, data: bytes) -> str:
    """``css/site.css`` → ``css/site.3f2a9c1b0d.css`` (content-addressed, cacheable forever)."""
    digest = hashlib.sha256(data).hexdigest()[:10]
    path = PurePosixPath(name)
    return str(path.with_name(f"{path.stem}.{digest}{path.suffix}"))


@dataclass
class Assets:
    """Logical asset names (``css/site.css``) and the files that serve them."""

    routes: dict[str, str] = field(default_factory=dict)
    files: list[File] = field(default_factory=list)

    def add(self, name: str, data: bytes, source: str) -> None:
        route = ASSET_ROUTE + fingerprint(name, data)
        self.routes[name] = route
        self.files.append(File(route, data, source, meta={"immutable": True}))

    def route(self, name: str) -> str:
        try:
            return self.routes[name.lstrip("/")]
        except KeyError:
            known = ", ".join(sorted(self.routes)) or "none"
            raise KeyError(f"no theme asset named {name!r} (theme assets: {known})") from None


def _files(directory: Path, links: Links) -> Iterator[Path]:
    """The files under ``directory`` but hidden ones, in path order."""
    if directory.is_dir():
        yield from sorted(map(Path, files(directory, links, lambda name: name.startswith("."))))


def theme_assets(theme: Path, links: Links, extra: dict[str, bytes]) -> Assets:
    root = links.root
    assets = Assets()
    for path in _files(theme / "static", links):
        name = path.relative_to(theme / "static").as_posix()
        assets.add(name, path.read_bytes(), _rel(path, root))
    for name, data in extra.items():
        assets.add(name, data, "sonicgen")
    return assets


def site_static(directory: Path, links: Links, problems: Problems) -> list[File]:
    """Files in the site's ``static/`` folder, copied to the same path in the output."""
    root = links.root
    out = []
    for path in _files(directory, links):
        route = "/" + path.relative_to(directory).as_posix()
        try:
            route = normalize(route)
        except UrlError:
            problems.error(
                _rel(path, root), "file name has characters that are unsafe in a URL; rename it (letters, digits, '-', '_', '.')"
            )
            continue
        out.append(File(route, path.read_bytes, _rel(path, root)))
    return out


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
