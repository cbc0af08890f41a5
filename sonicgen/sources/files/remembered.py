"""Content files as a build last read them, in a form the build state can keep between runs.

With them a build stats every file and reads only those whose stat changed (see
:meth:`~sonicgen.sources.files.store.FilesStore.remember`).  Encoded with msgspec, never pickle: the
build state must not be able to run code.  Dates and times keep their exact type and offset
as extension types; a value of any other kind makes the file not worth remembering (it is
simply read again next time).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import msgspec

from sonicgen.content.models import Entry, SourceRef
from sonicgen.errors import Problem, Severity
from sonicgen.sources.files.reader import BodyOnDisk

RECORD_FORMAT = 2
"""Of the records; 2: bodies are left in their files."""

_DATETIME, _DATE, _TIME, _TUPLE = 1, 2, 3, 4


class Unrememberable(Exception):
    """A value the codec cannot keep exactly."""


def _enc(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, datetime):
        return msgspec.msgpack.Ext(_DATETIME, value.isoformat().encode())
    if isinstance(value, date):
        return msgspec.msgpack.Ext(_DATE, value.isoformat().encode())
    if isinstance(value, time):
        return msgspec.msgpack.Ext(_TIME, value.isoformat().encode())
    if isinstance(value, list):
        return [_enc(v) for v in value]
    if isinstance(value, tuple):
        return msgspec.msgpack.Ext(_TUPLE, _encoder.encode([_enc(v) for v in value]))
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _enc(v) for k, v in value.items()}
    raise Unrememberable(type(value).__name__)


def _ext(code: int, data: memoryview) -> Any:
    if code == _DATETIME:
        return datetime.fromisoformat(bytes(data).decode())
    if code == _DATE:
        return date.fromisoformat(bytes(data).decode())
    if code == _TIME:
        return time.fromisoformat(bytes(data).decode())
    if code == _TUPLE:
        return tuple(_decoder.decode(data))
    raise msgspec.DecodeError(f"unknown extension type {code}")


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(ext_hook=_ext)


def _entry(entry: Entry) -> list[Any]:
    source = entry.source
    return [
        entry.collection,
        entry.slug,
        _enc(dict(entry.fields)),
        entry.body_digest(),  # the body stays in the file (see BodyOnDisk)
        [source.path, source.line, dict(source.field_lines)],
        entry.content_hash,
        entry.path,
        _enc(dict(entry.extra)),
        _enc(entry.date),
        _enc(entry.expires),
        entry.draft,
        entry.template,
        list(entry.bundle_files),
    ]


def encode(values: tuple[Any, ...]) -> bytes:
    """One file's record from the fields of ``_File`` in order (path, size, mtime_ns, bundle,
    read_ns, version, slug, entry, problems); raises Unrememberable for values the codec cannot keep exactly."""
    path, size, mtime_ns, bundle, read_ns, version, slug, entry, problems = values
    issues = [[p.source, p.message, p.line, p.field, p.severity.value] for p in problems]
    row = [str(path), size, mtime_ns, list(bundle), read_ns, version, slug, _entry(entry) if entry else None, issues]
    return _encoder.encode(row)


def decode(data: bytes) -> tuple[Any, ...]:
    """The arguments of ``_File`` back from :func:`encode` (raises msgspec.DecodeError, ValueError on damage)."""
    path, size, mtime_ns, bundle, read_ns, version, slug, raw, issues = _decoder.decode(data)
    entry = None
    if raw is not None:
        collection, slug_, fields, digest, (spath, line, lines), chash, epath, extra, edate, expires, draft, template, files = raw
        entry = Entry(
            collection,
            slug_,
            fields,
            BodyOnDisk(path, chash, line, digest),
            SourceRef(spath, line, lines),
            chash,
            epath,
            extra,
            edate,
            expires,
            draft,
            template,
            tuple(files),
        )
    problems = tuple(Problem(s, m, line, f, Severity(v)) for s, m, line, f, v in issues)
    return path, size, mtime_ns, tuple(bundle), read_ns, version, slug, entry, problems
