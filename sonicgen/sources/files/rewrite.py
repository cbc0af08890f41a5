"""Give a content file new front-matter values while changing as little of its text as possible.

Hand-written files carry comments, key order, quoting and layout that their authors care
about, so a save through the API must not reformat them.  YAML is edited with ruamel.yaml's
round-trip mode, and only the top-level keys whose values changed are taken from its output:
every other line is copied from the original byte for byte (ruamel re-emits some untouched
values differently, e.g. fractional timestamps or block-scalar indentation).  TOML is edited
with tomlkit, which keeps whatever it is not told to change.  The body is written as given.

Values are compared as the build reads them (PyYAML, YAML 1.1; tomllib), and new values are
written so those readers get them back unchanged: strings that YAML 1.1 would read as
something else (``yes``, ``1:30``) are quoted, floats always carry a '.'.  The caller still
re-reads the result to prove it (see ``FilesStore.save``).
"""

from __future__ import annotations

import codecs
import io
import math
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import tomlkit
import tomlkit.exceptions
import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError as RuamelError
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString
from ruamel.yaml.tokens import CommentToken

from sonicgen.content.frontmatter import FrontMatterError, Parsed, parse

_STR_TAG = "tag:yaml.org,2002:str"
_RESOLVER = yaml.resolver.Resolver()


class RewriteError(ValueError):
    """The file cannot be rewritten faithfully; the message says why (the caller adds the file)."""


def same(a: Any, b: Any) -> bool:
    """Equal as values *and* as kinds: ``1`` is not ``1.0`` or ``True``, a date is not a datetime,
    and aware datetimes must also agree on their offset, so a change of kind is a change."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, datetime) or isinstance(b, datetime):
        return isinstance(a, datetime) and isinstance(b, datetime) and a == b and a.utcoffset() == b.utcoffset()
    if isinstance(a, date) or isinstance(b, date):
        return isinstance(a, date) and isinstance(b, date) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return type(a) is type(b) and a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def front_matter(data: bytes) -> dict[str, Any]:
    """The front-matter values of a file as the build reads them."""
    return _decode(data)[1].data


def render(original: bytes | None, front: Mapping[str, Any], body: str) -> bytes:
    """The bytes of a file holding ``front`` and ``body``: ``original`` edited in its own format,
    BOM and line endings, or (None) a new file with YAML front matter."""
    if original is None:
        return _join(["---", *_dump_new(front), "---"], body, True).encode()
    text, parsed, bom, crlf = _decode(original)
    lines = text.split("\n")
    if parsed.format == "none":
        out = _join(["---", *_dump_new(front), "---"], body, True) if front else body
    else:
        close = parsed.body_line - 2
        raw_lines = lines[1:close]
        edit = _rewrite_toml if parsed.format == "toml" else _rewrite_yaml
        out = _join([lines[0], *edit(raw_lines, parsed.data, front), lines[close]], body, len(lines) > close + 1)
    if crlf:
        out = out.replace("\n", "\r\n")
    return (codecs.BOM_UTF8 if bom else b"") + out.encode()


def _decode(data: bytes) -> tuple[str, Parsed, bool, bool]:
    """Text (newlines normalised), parsed front matter, whether it had a BOM and CRLF line endings."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RewriteError("not valid UTF-8; fix or re-save the file as UTF-8 first") from None
    first, newline, _ = text.partition("\n")
    crlf = bool(newline) and first.endswith("\r")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    try:
        parsed = parse(text)
    except FrontMatterError as exc:
        raise RewriteError(f"line {exc.line}: {exc.message}; fix the file by hand first") from None
    if any(not isinstance(key, str) for key in parsed.data):
        raise RewriteError("front-matter keys must be text to be rewritten")
    return text, parsed, data.startswith(codecs.BOM_UTF8), crlf


def _join(head: list[str], body: str, newline_after: bool) -> str:
    return "\n".join(head) + ("\n" + body if body or newline_after else "")


def _changed(current: Mapping[str, Any], front: Mapping[str, Any]) -> list[str]:
    return [key for key, value in front.items() if key not in current or not same(current[key], value)]


def _merge(
    node: MutableMapping[Any, Any], current: Mapping[str, Any], front: Mapping[str, Any], convert: Callable[[Any, Any], Any]
) -> None:
    """Make ``node`` (a round-trip mapping) hold ``front``, touching only what differs from ``current``;
    ``convert(new, old)`` makes a new value in the style of the one it replaces."""
    for key in [k for k in node if k not in front]:
        del node[key]
    for key in _changed(current, front):
        value, old, existing = front[key], current.get(key), node.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping) and isinstance(existing, MutableMapping):
            _merge(existing, old, value, convert)
        else:
            node[key] = convert(value, existing)


# YAML ------------------------------------------------------------------------------------------


class _Representer(RoundTripRepresenter):
    """Round-trip representer for new values: floats that YAML 1.1 readers read back as floats
    (``1e+20`` is text there), datetimes in ISO 8601 form with a 'T' like most front matter."""

    def represent_plain_float(self, data: float) -> ScalarNode:
        text = repr(data)
        if math.isfinite(data) and "e" in text and "." not in text.split("e")[0]:
            mantissa, exponent = text.split("e")
            return self.represent_scalar("tag:yaml.org,2002:float", f"{mantissa}.0e{exponent}")
        return self.represent_float(data)

    def represent_plain_datetime(self, data: datetime) -> ScalarNode:
        return self.represent_scalar("tag:yaml.org,2002:timestamp", data.isoformat())


_Representer.add_representer(float, _Representer.represent_plain_float)
_Representer.add_representer(datetime, _Representer.represent_plain_datetime)


def _yaml(mapping_indent: int = 2, sequence_offset: int = 2) -> YAML:
    y = YAML()
    y.Representer = _Representer
    y.preserve_quotes = True
    y.width = 1 << 16  # never re-wrap long lines
    y.indent(mapping=mapping_indent, sequence=sequence_offset + 2, offset=sequence_offset)
    return y


def _yaml_text(value: str) -> str:
    """``value`` styled so that it reads back as the same text: a literal block for readable
    multi-line text, double quotes where a plain scalar would be read as something else."""
    lines = value.split("\n")
    if len(lines) > 1 and not value[:1].isspace() and all(line.isprintable() and line == line.rstrip() for line in lines):
        return LiteralScalarString(value)
    if _RESOLVER.resolve(yaml.ScalarNode, value, (True, False)) != _STR_TAG:
        return DoubleQuotedScalarString(value)
    return value


def _to_yaml(value: Any) -> Any:
    if isinstance(value, str):
        return _yaml_text(value)
    if isinstance(value, Mapping):
        node = CommentedMap()
        for key, item in value.items():
            node[_yaml_text(key) if isinstance(key, str) else key] = _to_yaml(item)
        return node
    if isinstance(value, (list, tuple)):
        seq = CommentedSeq([_to_yaml(item) for item in value])
        if all(not isinstance(item, (Mapping, list, tuple)) and not (isinstance(item, str) and "\n" in item) for item in value):
            seq.fa.set_flow_style()
        return seq
    return value


def _yaml_like(value: Any, old: Any) -> Any:
    """``value`` for YAML, a list keeping the block or flow style of the list it replaces."""
    new = _to_yaml(value)
    if isinstance(new, CommentedSeq) and isinstance(old, CommentedSeq):
        if old.fa.flow_style():
            new.fa.set_flow_style()
        else:
            new.fa.set_block_style()
    return new


def _trim_trailing_comments(node: Any) -> None:
    """Keep only the end-of-line comments of the last items of a collection (and of its last
    item, and so on): ruamel attaches the comment lines that follow a value to its last item,
    but they belong before the next key, whose leading lines are copied from the original."""
    while isinstance(node, (CommentedMap, CommentedSeq)) and node:
        last = list(node)[-1] if isinstance(node, CommentedMap) else len(node) - 1
        tokens = node.ca.items.get(last) or []
        for slot, token in enumerate(tokens):
            if isinstance(token, CommentToken) and "\n" in token.value.rstrip("\n"):
                first = token.value.split("\n", 1)[0]
                if first.strip():
                    token.value = first + "\n"
                else:
                    tokens[slot] = None
        node = node[last]


def _dump(y: YAML, node: CommentedMap) -> list[str]:
    if not node:
        return []
    out = io.StringIO()
    y.dump(node, out)
    return out.getvalue().rstrip("\n").split("\n")


def _dump_new(front: Mapping[str, Any]) -> list[str]:
    return _dump(_yaml(), _to_yaml(front))


@dataclass(frozen=True)
class _Layout:
    """Where each top-level key sits: the comment/blank lines before it (``gaps``), its own lines
    (``spans``), the lines before the first key (``head``) and after the last (``tail``)."""

    head: int
    gaps: dict[str, tuple[int, int]]
    spans: dict[str, tuple[int, int]]
    tail: int


def _last_line(node: yaml.Node) -> int:
    """The last line a value occupies (block collections end at their last item, not at the next key)."""
    if isinstance(node, yaml.CollectionNode) and not node.flow_style and node.value:
        last = node.value[-1]
        return _last_line(last[1] if isinstance(node, yaml.MappingNode) else last)
    mark = node.end_mark
    return int(mark.line) if mark.column > 0 else int(mark.line) - 1


def _layout(lines: list[str], keys: list[str]) -> _Layout | None:
    """The layout of a block mapping whose keys start lines of their own, or None (flow style, odd indents)."""
    try:
        root = yaml.compose("\n".join(lines) + "\n", Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    if root is None:
        return _Layout(len(lines), {}, {}, len(lines))
    if not isinstance(root, yaml.MappingNode) or root.flow_style or len(root.value) != len(keys):
        return None
    gaps: dict[str, tuple[int, int]] = {}
    spans: dict[str, tuple[int, int]] = {}
    previous = -1
    for key, (key_node, value_node) in zip(keys, root.value, strict=True):
        start = int(key_node.start_mark.line)
        if key_node.start_mark.column != 0 or start <= previous:
            return None
        end = max(start, _last_line(value_node))
        gaps[key] = (previous + 1 if spans else start, start)
        spans[key] = (start, end + 1)
        previous = end
    return _Layout(spans[keys[0]][0] if keys else len(lines), gaps, spans, previous + 1)


def _guess_indents(lines: list[str]) -> tuple[int, int]:
    """The mapping indent and sequence-dash offset the file already uses (defaults: 2 and 2)."""
    mapping = offset = None
    try:
        root = yaml.compose("\n".join(lines) + "\n", Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        root = None
    stack = [root] if isinstance(root, yaml.MappingNode) else []
    while stack and (mapping is None or offset is None):
        node = stack.pop(0)
        for key_node, value in node.value:
            column = int(key_node.start_mark.column)
            if isinstance(value, yaml.MappingNode) and not value.flow_style and value.value and mapping is None:
                mapping = int(value.value[0][0].start_mark.column) - column
            if isinstance(value, yaml.SequenceNode) and not value.flow_style and value.value and offset is None:
                offset = int(value.value[0].start_mark.column) - 2 - column
            if isinstance(value, yaml.MappingNode):
                stack.append(value)
    return (mapping if mapping and mapping > 0 else 2), (offset if offset is not None and offset >= 0 else 2)


def _rewrite_yaml(raw_lines: list[str], current: Mapping[str, Any], front: Mapping[str, Any]) -> list[str]:
    y = _yaml(*_guess_indents(raw_lines))
    try:
        doc = y.load("\n".join(raw_lines) + "\n") if raw_lines else None
    except RuamelError as exc:
        raise RewriteError(f"front matter cannot be edited: {exc}") from None
    if doc is None:
        doc = CommentedMap()
    if not isinstance(doc, CommentedMap) or list(doc) != list(current):
        raise RewriteError("front matter uses YAML that cannot be edited safely (keys read differently by YAML 1.1 and 1.2)")
    changed = set(_changed(current, front))
    for key in changed & set(doc):
        _trim_trailing_comments(doc[key])
    _merge(doc, current, front, _yaml_like)
    dumped = _dump(y, doc)
    old, new = _layout(raw_lines, list(current)), _layout(dumped, list(doc))
    if old is None or new is None:
        return dumped
    out = raw_lines[: old.head]
    for key in doc:
        if key in old.spans:
            start, end = old.gaps[key]
            out += raw_lines[start:end]
        source, (start, end) = (dumped, new.spans[key]) if key in changed else (raw_lines, old.spans[key])
        out += source[start:end]
    return out + raw_lines[old.tail :]


# TOML ------------------------------------------------------------------------------------------


def _to_toml(value: Any, old: Any = None) -> Any:
    """``value`` for TOML (tomlkit keeps the style of what it replaces by itself, so ``old`` is not needed)."""
    try:
        return tomlkit.item(value)
    except tomlkit.exceptions.ConvertError:
        raise RewriteError(f"TOML front matter cannot hold {value!r} (it has no null); remove the key or use YAML") from None


def _rewrite_toml(raw_lines: list[str], current: Mapping[str, Any], front: Mapping[str, Any]) -> list[str]:
    raw = "\n".join(raw_lines)
    try:
        doc = tomlkit.parse(raw)
    except tomlkit.exceptions.TOMLKitError as exc:
        raise RewriteError(f"front matter cannot be edited: {exc}") from None
    _merge(doc, current, front, _to_toml)
    text = tomlkit.dumps(doc)
    if text.endswith("\n") and not raw.endswith("\n"):
        text = text[:-1]  # tomlkit ends appended keys with a newline; the closing fence supplies it
    return text.split("\n") if text else []
