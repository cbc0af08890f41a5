"""``sonicgen init`` and ``sonicgen new``: write new sites and entries, never over existing work."""

from __future__ import annotations

import asyncio
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from sonicgen.config import load_config
from sonicgen.content.models import Entry, SourceRef
from sonicgen.content.urls import is_slug, slugify
from sonicgen.errors import SonicgenError
from sonicgen.hooks.loader import load_plugins
from sonicgen.render.theme import builtin_themes_dir

STARTER = Path(__file__).parent / "starter"


class ScaffoldError(SonicgenError):
    pass


def scaffold_site(directory: Path, *, title: str, theme: str, copy_theme: bool = False, force: bool = False) -> list[Path]:
    """Copy the starter site into ``directory``; refuse a non-empty folder unless ``force``."""
    if directory.exists() and not directory.is_dir():
        raise ScaffoldError(f"{directory} exists and is not a folder")
    if directory.is_dir() and any(directory.iterdir()) and not force:
        raise ScaffoldError(f"{directory} is not empty; pick an empty folder or pass --force to write into it")
    written = []
    for source in sorted(STARTER.rglob("*")):
        if source.is_dir() or "__pycache__" in source.parts:
            continue
        target = directory / source.relative_to(STARTER)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.name == "site.yaml":
            text = (
                source.read_text("utf-8").replace("__TITLE__", yaml.safe_dump(title, default_style='"').strip()).replace("__THEME__", theme)
            )
            target.write_text(text, "utf-8")
        else:
            shutil.copyfile(source, target)
        written.append(target)
    if copy_theme:
        destination = directory / "themes" / theme
        shutil.copytree(builtin_themes_dir() / theme, destination, dirs_exist_ok=force)
        written.extend(p for p in destination.rglob("*") if p.is_file())
    return written


def new_entry(
    config_path: Path, collection: str, title: str, *, draft: bool = False, now: datetime | None = None
) -> tuple[Path, list[str]]:
    """Write ``content/<collection>/<slug>.md`` with the schema's defaults; return it and the required fields left empty.

    The entry passes through the ``content:save`` hook first (plugins may change or refuse
    it) and ``content:saved`` is told once it is on disk.
    """
    config, _ = load_config(config_path)
    spec = config.site.collections.get(collection)
    if spec is None:
        known = ", ".join(config.site.collections) or "none"
        raise ScaffoldError(f"{config.source}: no collection named {collection!r} (collections: {known})")
    if spec.source != "files":
        raise ScaffoldError(
            f"collection {collection!r} is stored in SQLite; write Markdown files in content/{collection}/ "
            f"and run `sonicgen content import {collection} --from files`, or use the write API"
        )
    slug = slugify(title)
    if not slug:
        raise ScaffoldError(f"cannot make a URL slug from {title!r}; use a title with letters or digits")
    moment = (now or datetime.now(ZoneInfo(config.site.timezone))).replace(microsecond=0)
    front: dict[str, Any] = {}
    missing = []
    for name, field in spec.fields.items():
        if name == spec.title_field:
            front[name] = title
        elif name == spec.date_field and field.type in ("date", "datetime"):
            front[name] = moment if field.type == "datetime" else moment.date()
        elif field.default is not None:
            front[name] = field.default
        elif field.required:
            front[name] = None
            missing.append(name)
    if spec.title_field not in spec.fields:
        front.setdefault("title", title)
    folder = config.content_dir / (spec.directory or collection)
    draft_entry = Entry(collection, slug, front, "", SourceRef(_rel(folder / f"{slug}.md", config.root)), "", draft=draft)
    registry = load_plugins(config).registry
    entry = asyncio.run(registry.apipe("content:save", draft_entry, config=config, action="create", subject=draft_entry.source.path))
    if not is_slug(entry.slug):
        raise ScaffoldError(f"a content:save plugin changed the slug to {entry.slug!r}, which is not URL-safe")
    path = folder / f"{entry.slug}.md"
    if path.exists():
        raise ScaffoldError(f"{path} already exists; choose another title or edit that file")
    data = {**entry.fields, **entry.extra}
    if entry.draft:
        data[spec.draft_field] = True
    text = "---\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True) + "---\n\n" + entry.load_body()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as fh:  # "x": never overwrite, even in a race
        fh.write(text)
    rel = _rel(path, config.root)
    asyncio.run(registry.anotify("content:saved", entry=entry, config=config, action="create", path=rel, subject=rel))
    return path, [name for name in missing if entry.fields.get(name) is None]


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()
