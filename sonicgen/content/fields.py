"""Validate and normalise entry field values against a collection's schema.

Each check returns the normalised value or raises :class:`FieldError` with a message that
says what was expected; the caller adds file, line and field name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sonicgen.config.schema import CollectionConfig, FieldSpec
from sonicgen.errors import Problems

SYSTEM_KEYS = frozenset({"slug", "draft", "expires", "template"})


class FieldError(ValueError):
    pass


def describe(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "text", list: "a list", dict: "a mapping"}
    kind = names.get(type(value), type(value).__name__)
    if isinstance(value, (bool, int, float)) or (isinstance(value, str) and len(value) < 40):
        return f"{kind} ({value!r})"
    return kind


def _string(value: Any, spec: FieldSpec) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise FieldError(f"expected text, got {describe(value)}")
    text = str(value)
    if spec.type == "string" and "\n" in text.strip():
        raise FieldError("expected a single line of text (use type 'text' for several lines)")
    if spec.min_length is not None and len(text) < spec.min_length:
        raise FieldError(f"must be at least {spec.min_length} characters long (is {len(text)})")
    if spec.max_length is not None and len(text) > spec.max_length:
        raise FieldError(f"must be at most {spec.max_length} characters long (is {len(text)})")
    if spec.pattern is not None and not re.fullmatch(spec.pattern, text):
        raise FieldError(f"must match the pattern {spec.pattern!r}")
    return text


def _number(value: Any, spec: FieldSpec) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FieldError(f"expected a number, got {describe(value)}")
    if spec.type == "integer" and not isinstance(value, int):
        if not float(value).is_integer():
            raise FieldError(f"expected a whole number, got {value!r}")
        value = int(value)
    if spec.min is not None and value < spec.min:
        raise FieldError(f"must be at least {spec.min:g} (is {value})")
    if spec.max is not None and value > spec.max:
        raise FieldError(f"must be at most {spec.max:g} (is {value})")
    return value


def _boolean(value: Any, spec: FieldSpec) -> bool:
    if not isinstance(value, bool):
        raise FieldError(f"expected true or false, got {describe(value)}")
    return value


def _date(value: Any, spec: FieldSpec) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            try:
                return datetime.fromisoformat(value.strip()).date()
            except ValueError:
                pass
    raise FieldError(f"expected a date like 2024-05-17, got {describe(value)}")


def _datetime(value: Any, spec: FieldSpec) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            pass
    raise FieldError(f"expected a date and time like 2024-05-17T09:30:00, got {describe(value)}")


def _select(value: Any, spec: FieldSpec) -> str:
    options = spec.options or []
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or str(value) not in options:
        raise FieldError(f"must be one of {', '.join(options)}; got {describe(value)}")
    return str(value)


def _reference(value: Any, spec: FieldSpec) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FieldError(f"expected the slug of an entry in {spec.collection!r}, got {describe(value)}")
    return value.strip()


def _image(value: Any, spec: FieldSpec) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FieldError(f"expected an image path or URL, got {describe(value)}")
    if value.strip().lower().startswith(("javascript:", "data:text")):
        raise FieldError("image URLs may not use the javascript: or data:text schemes")
    return value.strip()


def _list(value: Any, spec: FieldSpec) -> list[Any]:
    if isinstance(value, str) and spec.items in ("string", "select", "reference"):
        value = [value]
    if not isinstance(value, list):
        raise FieldError(f"expected a list, got {describe(value)}")
    if spec.min_items is not None and len(value) < spec.min_items:
        raise FieldError(f"needs at least {spec.min_items} items (has {len(value)})")
    if spec.max_items is not None and len(value) > spec.max_items:
        raise FieldError(f"may have at most {spec.max_items} items (has {len(value)})")
    check = CHECKS[spec.items]
    out = []
    for index, item in enumerate(value):
        try:
            out.append(check(item, spec))
        except FieldError as exc:
            raise FieldError(f"item {index + 1}: {exc}") from None
    return out


CHECKS: dict[str, Callable[[Any, FieldSpec], Any]] = {
    "string": _string,
    "text": _string,
    "markdown": _string,
    "image": _image,
    "number": _number,
    "integer": _number,
    "boolean": _boolean,
    "date": _date,
    "datetime": _datetime,
    "select": _select,
    "reference": _reference,
    "list": _list,
}


def check_value(value: Any, spec: FieldSpec) -> Any:
    return CHECKS[spec.type](value, spec)


def validate_fields(
    raw: dict[str, Any],
    collection: CollectionConfig,
    *,
    source: str,
    line_of: Callable[[str], int | None],
    problems: Problems,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (schema fields with defaults, unknown keys kept verbatim), recording problems."""
    values: dict[str, Any] = {}
    for name, spec in collection.fields.items():
        if name not in raw or raw[name] is None:
            if spec.required:
                problems.error(source, "required field is missing", line=line_of(name), field=name)
            elif spec.default is not None:
                values[name] = check_value(spec.default, spec)
            elif spec.type == "list":
                values[name] = []
            else:
                values[name] = None
            continue
        try:
            values[name] = check_value(raw[name], spec)
        except FieldError as exc:
            problems.error(source, str(exc), line=line_of(name), field=name)
    extra = {k: v for k, v in raw.items() if k not in collection.fields}
    policy = collection.unknown_fields
    for name in extra:
        if name in SYSTEM_KEYS or policy == "allow":
            continue
        message = f"not a field of this collection (known: {', '.join(collection.fields) or 'none'})"
        if policy == "error":
            problems.error(source, message, line=line_of(name), field=name)
        else:
            problems.warn(source, message, line=line_of(name), field=name)
    return values, extra


def check_defaults(collections: dict[str, CollectionConfig], source: str, line_of: Callable[..., int | None], problems: Problems) -> None:
    """A field's default must itself be a valid value, or every entry would inherit the mistake."""
    for cname, collection in collections.items():
        for name, spec in collection.fields.items():
            if spec.default is None:
                continue
            try:
                check_value(spec.default, spec)
            except FieldError as exc:
                path = ("collections", cname, "fields", name, "default")
                problems.error(source, f"default is invalid: {exc}", line=line_of(*path), field=".".join(path))


def aware(value: date | datetime | None, tz: ZoneInfo) -> datetime | None:
    """``value`` as an aware datetime: dates at midnight, naive times in the site's time zone."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    return value if value.tzinfo else value.replace(tzinfo=tz)
