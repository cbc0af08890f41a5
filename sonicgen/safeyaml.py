"""Safe YAML loading with line numbers and limits.

PyYAML's safe loader still accepts alias "bombs" (a few lines that expand to millions of
nodes when anything walks them) and recurses without bound on deep nesting.  We compose
the node graph first, measure its expanded size and depth, then construct plain Python
values, and keep each mapping key's line so validation can point at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

# libyaml's parser when PyYAML was built with it (several times faster); the same safe constructors either way.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_NODES = 200_000
MAX_DEPTH = 64

KeyPath = tuple[str | int, ...]


def dotted(path: KeyPath) -> str:
    """A key path as users write it in messages: ``params.launch``, ``menu[0].title``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class YamlError(Exception):
    """A YAML document that cannot be loaded, with the 1-based line where that is known.

    ``field`` is the dotted key path of the value at fault when one is known; ``message``
    starts with it (``date: ...``), so callers that print only the message still name the
    field, and ``reason`` is the rest for callers that report the field on its own.
    """

    def __init__(self, message: str, line: int | None = None, path: KeyPath = ()) -> None:
        self.reason = message
        self.line = line
        self.field = dotted(path) or None
        self.message = f"{self.field}: {message}" if self.field else message
        super().__init__(self.message)


@dataclass
class LoadedYaml:
    """Plain values plus the line each key path was written on."""

    value: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, path: KeyPath, default: int | None = None) -> int | None:
        """The line of the deepest known prefix of ``path``."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return default


def _measure(node: yaml.Node, first_line: int) -> None:
    """Reject documents whose expanded tree is too large or too deep (alias bombs)."""
    sizes: dict[int, int] = {}

    def size(n: yaml.Node, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise YamlError(f"nesting deeper than {MAX_DEPTH} levels; flatten the structure", n.start_mark.line + first_line)
        known = sizes.get(id(n))
        if known is not None:
            return known
        total = 1
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                total += size(k, depth + 1) + size(v, depth + 1)
        elif isinstance(n, yaml.SequenceNode):
            for item in n.value:
                total += size(item, depth + 1)
        if total > MAX_NODES:
            raise YamlError(
                f"document expands to more than {MAX_NODES:,} values (through aliases?); remove the repeated '*alias' references",
                n.start_mark.line + first_line,
            )
        sizes[id(n)] = total
        return total

    size(node, 0)


def _record_lines(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int], first_line: int) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlError("mapping keys must be plain values", key_node.start_mark.line + first_line)
            key = key_node.value
            line = key_node.start_mark.line + first_line
            if key in seen:
                raise YamlError(f"duplicate key {key!r} (first on line {seen[key]})", line)
            seen[key] = line
            lines[(*path, key)] = line
            _record_lines(value_node, (*path, key), lines, first_line)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + first_line
            _record_lines(item, (*path, index), lines, first_line)


_OPENERS = (yaml.FlowSequenceStartToken, yaml.FlowMappingStartToken, yaml.BlockSequenceStartToken, yaml.BlockMappingStartToken)
_CLOSERS = (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken, yaml.BlockEndToken)


def _too_deep_line(text: str, first_line: int) -> int | None:
    """Where nesting first passes the limit, found by the (non-recursive) scanner after the composer overflowed."""
    depth = 0
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(token, _OPENERS):
                depth += 1
                if depth > MAX_DEPTH:
                    return int(token.start_mark.line) + first_line
            elif isinstance(token, _CLOSERS):
                depth -= 1
    except yaml.YAMLError:
        return None
    return None


def load(text: str, *, first_line: int = 1) -> LoadedYaml:
    """Load one YAML document from ``text``; ``first_line`` is where the text starts in its file.

    The fast parser reads valid documents; a document it rejects is parsed again by PyYAML's
    own, whose error marks point at the line that is wrong rather than where parsing stopped.
    """
    if _Loader is yaml.SafeLoader:
        return _load(text, first_line, yaml.SafeLoader)
    try:
        return _load(text, first_line, _Loader)
    except YamlError:
        return _load(text, first_line, yaml.SafeLoader)


def _load(text: str, first_line: int, loader_class: type[yaml.SafeLoader]) -> LoadedYaml:
    loader = loader_class(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + first_line if mark else None
            raise YamlError(f"invalid YAML: {exc.problem or exc.context}", line) from None
        except yaml.YAMLError as exc:
            raise YamlError(f"invalid YAML: {exc}") from None
        except RecursionError:
            raise YamlError(f"nesting deeper than {MAX_DEPTH} levels; flatten the structure", _too_deep_line(text, first_line)) from None
        if node is None:
            return LoadedYaml(None)
        lines: dict[KeyPath, int] = {(): node.start_mark.line + first_line}
        _measure(node, first_line)
        _record_lines(node, (), lines, first_line)
        try:
            value = loader.construct_document(node)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            raise YamlError(f"invalid YAML: {exc.problem}", mark.line + first_line if mark else None) from None
        except (ValueError, TypeError, KeyError, AttributeError):
            # A well-formed scalar PyYAML's constructors cannot make a value of: an impossible date
            # (2024-02-30) or a value under an explicit tag that does not fit it (!!int abc).
            error = _unconstructible(loader, node, first_line)
            if error is None:
                raise
            raise error from None
        return LoadedYaml(value, lines)
    finally:
        loader.dispose()


def _unconstructible(loader: yaml.SafeLoader, root: yaml.Node, first_line: int) -> YamlError | None:
    """The first scalar (in document order) that cannot be constructed, as a located error naming its key."""
    constructors = type(loader).yaml_constructors
    stack: list[tuple[yaml.Node, KeyPath]] = [(root, ())]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            stack.extend(reversed([(child, (*path, k.value)) for k, v in node.value for child in (k, v)]))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed([(item, (*path, index)) for index, item in enumerate(node.value)]))
        elif isinstance(node, yaml.ScalarNode):
            construct = constructors.get(node.tag) or constructors.get(None)
            try:
                if construct is not None:
                    construct(loader, node)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                line = node.start_mark.line + first_line
                if node.tag == "tag:yaml.org,2002:timestamp":
                    detail = f" ({exc})" if isinstance(exc, ValueError) else ""
                    message = (
                        f"{node.value!r} is not a real date{detail}; write a real date such as YYYY-MM-DD "
                        "(or YYYY-MM-DDTHH:MM:SS with a time), or quote it to keep it as text"
                    )
                else:
                    tag = node.tag.removeprefix("tag:yaml.org,2002:")
                    message = f"{node.value!r} is not a valid !!{tag} value; fix it or remove the '!!{tag}' tag"
                return YamlError(message, line, path)
    return None


def load_scalar(text: str) -> Any:
    """Parse one scalar the way YAML would (used for environment overrides)."""
    return load(text).value
