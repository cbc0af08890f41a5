"""The flat-file source: ``content/<collection>/**/*.md`` and data files.

Every file is checked completely and every problem recorded; a broken file never stops
the others from loading.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sonicgen.config import Config
from sonicgen.config.schema import CollectionConfig, FieldSpec
from sonicgen.content.fields import FieldError, aware, check_value, validate_fields
from sonicgen.content.frontmatter import FrontMatterError, body_at, parse
from sonicgen.content.models import BodyUnavailable, Entry, Pickled, SourceRef, content_hash
from sonicgen.content.urls import is_slug, slugify
from sonicgen.errors import Problem, Problems
from sonicgen.safeyaml import YamlError, load
from sonicgen.walk import Links, files

CONTENT_SUFFIXES = (".md", ".markdown")
DATA_SUFFIXES = (".yaml", ".yml", ".json")


def decode(data: bytes, source: str, problems: Problems) -> str | None:
    """UTF-8 text with BOM removed and newlines normalised, or None after recording why not."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        problems.error(source, f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8", line=line)
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass(frozen=True, slots=True)
class BodyOnDisk(Pickled):
    """An entry's body left in its file (a :class:`~sonicgen.content.models.StoredBody`): read
    again on each use, and refused if the file is no longer the one the entry was read from."""

    path: str
    content_hash: str
    line: int  # where the body starts, as the entry's ``source.line``
    digest: str

    def load(self) -> str:
        try:
            data = Path(self.path).read_bytes()
        except OSError as exc:
            raise BodyUnavailable(Problem(self.path, f"cannot be read again ({exc.strerror}); build again")) from None
        if content_hash(data) != self.content_hash:
            raise BodyUnavailable(Problem(self.path, "changed while sonicgen was using it; build again to pick up the change"))
        text = decode(data, self.path, Problems())
        return body_at(text, self.line) if text is not None else ""  # decoded before: the hash says these are those bytes


def defer_body(entry: Entry, path: Path) -> Entry:
    """``entry`` with its body left in ``path``, the file it was just read from."""
    return dataclasses.replace(entry, body=BodyOnDisk(str(path), entry.content_hash, entry.source.line, entry.body_digest()))


def relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _hidden(name: str) -> bool:
    return name.startswith((".", "_"))


def _walk_names(directory: Path, suffixes: tuple[str, ...] | None, links: Links) -> Iterator[str]:
    """Files under ``directory`` (with one of ``suffixes``, or all) in a stable order, skipping
    hidden and ``_``-prefixed names (and never descending into such folders), following symbolic
    links as ``links`` says."""
    for path in files(directory, links, _hidden):
        # Text, not Paths: making a Path costs more than the stat that tells a file has not changed.
        if suffixes is None or os.path.splitext(path)[1].lower() in suffixes:  # noqa: PTH122
            yield path


def _walk(directory: Path, suffixes: tuple[str, ...] | None, links: Links) -> Iterator[Path]:
    return map(Path, _walk_names(directory, suffixes, links))


def collection_dir(config: Config, name: str, collection: CollectionConfig) -> Path:
    """The folder that holds the files of collection ``name``."""
    return config.content_dir / (collection.directory or name)


def content_files(directory: Path, links: Links) -> Iterator[Path]:
    """The entry files of a collection folder, in the stable order the build reads them."""
    return _walk(directory, CONTENT_SUFFIXES, links)


def content_file_names(directory: Path, links: Links) -> Iterator[str]:
    """:func:`content_files` as text: what looks a large collection's files up by their stat needs no Paths."""
    return _walk_names(directory, CONTENT_SUFFIXES, links)


def is_bundle(path: Path, directory: Path) -> bool:
    """``post/index.md``: a leaf bundle whose other files are published with it."""
    return path.stem == "index" and path.parent != directory


def bundle_files(path: Path, directory: Path, links: Links) -> tuple[str, ...]:
    """The files beside a bundle's ``index.md`` (relative to its folder); none for a plain file."""
    if not is_bundle(path, directory):
        return ()
    return tuple(f.relative_to(path.parent).as_posix() for f in _walk(path.parent, None, links) if f.suffix.lower() not in CONTENT_SUFFIXES)


def path_slug(path: Path, directory: Path) -> str:
    """The slug a file has when its front matter names none: its name, or its folder's for a bundle."""
    rel = path.relative_to(directory).with_suffix("")
    name = rel.parent.name if is_bundle(path, directory) else rel.name
    return name if is_slug(name) else slugify(name) or "entry"


def read_entry(
    config: Config, name: str, collection: CollectionConfig, path: Path, problems: Problems, *, data: bytes | None = None
) -> Entry | None:
    """The entry in ``path`` (whose bytes are ``data`` when the caller already read them), or None
    after recording every problem; the one place a file becomes an Entry, for builds and stores."""
    source = relative(path, config.root)
    directory = collection_dir(config, name, collection)
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            problems.error(source, f"cannot read: {exc.strerror}")
            return None
    text = decode(data, source, problems)
    if text is None:
        return None
    try:
        parsed = parse(text)
    except FrontMatterError as exc:
        problems.error(source, exc.message, line=exc.line)
        return None
    before = len(problems.errors)

    def line_of(key: str) -> int | None:
        return parsed.lines.get((key,), 1)

    fields, extra = validate_fields(parsed.data, collection, source=source, line_of=line_of, problems=problems)
    slug = extra["slug"] if "slug" in extra else path_slug(path, directory)
    if not isinstance(slug, str) or not slug.strip():
        problems.error(source, "slug must be text", line=line_of("slug"), field="slug")
    elif not is_slug(slug):
        problems.error(
            source,
            f"{slug!r} is not a URL-safe slug; use lowercase letters, digits and '-' (e.g. {slugify(slug)!r})",
            line=line_of("slug"),
            field="slug",
        )
    tz = ZoneInfo(config.site.timezone)
    draft = _system(extra, collection.draft_field, "boolean", source, line_of, problems, fields)
    expires = _system(extra, collection.expires_field, "datetime", source, line_of, problems, fields)
    template = extra.get("template")
    if template is not None and not isinstance(template, str):
        problems.error(source, "template must be a template file name", line=line_of("template"), field="template")
        template = None
    if len(problems.errors) > before:
        return None
    date_value = fields.get(collection.date_field)
    bundle = is_bundle(path, directory)
    rel = path.relative_to(directory)
    folder = (rel.parent.parent if bundle else rel.parent).as_posix()
    return Entry(
        collection=name,
        slug=slug,
        fields=fields,
        body=parsed.body,
        source=SourceRef(source, parsed.body_line, {str(k[0]): v for k, v in parsed.lines.items() if len(k) == 1}),
        content_hash=content_hash(data),
        path=folder if folder != "." else "",
        extra={k: v for k, v in extra.items() if k not in ("slug", "template", collection.draft_field, collection.expires_field)},
        date=aware(date_value, tz) if isinstance(date_value, (date, datetime)) else None,
        expires=aware(expires, tz),
        draft=bool(draft),
        template=template,
        bundle_files=bundle_files(path, directory, config.links) if bundle else (),
    )


def _system(extra: dict[str, Any], key: str, kind: str, source: str, line_of: Any, problems: Problems, fields: dict[str, Any]) -> Any:
    """Read a system key (draft, expires) from the schema fields or, if undeclared, from extra."""
    if key in fields:
        return fields[key]
    if key not in extra or extra[key] is None:
        return None
    try:
        return check_value(extra[key], FieldSpec(type=kind))  # type: ignore[arg-type]
    except FieldError as exc:
        problems.error(source, str(exc), line=line_of(key), field=key)
        return None


def load_data(config: Config, problems: Problems) -> dict[str, Any]:
    """Data files under the data directory as a nested mapping: ``data/team/people.yaml`` → ``data.team.people``."""
    root = config.data_dir
    data: dict[str, Any] = {}
    for path in _walk(root, DATA_SUFFIXES, config.links):
        source = relative(path, config.root)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            problems.error(source, f"cannot read: {exc.strerror}")
            continue
        text = decode(raw, source, problems)
        if text is None:
            continue
        try:
            value = json.loads(text) if path.suffix == ".json" else load(text).value
        except json.JSONDecodeError as exc:
            problems.error(source, f"invalid JSON: {exc.msg}", line=exc.lineno)
            continue
        except YamlError as exc:
            problems.error(source, exc.message, line=exc.line)
            continue
        except RecursionError:
            problems.error(source, "nested too deeply; flatten the structure")
            continue
        node = data
        *parents, leaf = path.relative_to(root).with_suffix("").parts
        for part in parents:
            node = node.setdefault(part, {})
        if leaf in node:
            problems.error(source, f"two data files are both named {leaf!r} in the same folder")
            continue
        node[leaf] = value
    return data
