"""Plan an incremental build: which outputs are stale, and why.

The build state remembers, for every output, its definition (route, templates, context or
generator, see :func:`~sonicgen.content.facts.definition`) and the facts it read while it was
rendered.  An output is re-rendered when it is new, its definition changed, its file is gone
from the output, or one of its facts changed; everything else keeps its previous file.
Facts are compared, never pages: a doc whose entry and settings did not change (its
*version*) is not even looked at.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from sonicgen.build.state import as_json, decode_deps, encode_fact

Resolve = Callable[[str], str | None]
"""The current fact of a key; None when it cannot be known."""

UNFINGERPRINTED = "made by a function sonicgen cannot fingerprint"

UNKNOWN = "?"
"""Stored for a fact that cannot be known: it never equals a current fact, so its readers always re-render."""


@dataclass
class Plan:
    """What to render, and what the build state must learn once the build succeeds."""

    stale: dict[str, str]  # output path -> why it is rendered
    changed: dict[str, str] = field(default_factory=dict)  # fact key -> its value now (UNKNOWN if unknowable)
    versions: dict[str, str] = field(default_factory=dict)  # doc id -> version, for docs new or changed
    shapes: dict[str, str] = field(default_factory=dict)  # doc id -> shape, for the same docs
    removed_docs: list[str] = field(default_factory=list)
    fresh: bool = False  # nothing usable was recorded: every output renders


def full_plan(paths: Iterable[str], why: str) -> Plan:
    return Plan(dict.fromkeys(paths, why), fresh=True)


def plan_build(
    conn: sqlite3.Connection,
    paths: Mapping[str, str | None],
    versions: Mapping[str, str],
    resolve: Resolve,
    present: Callable[[str], bool],
    prepare: Callable[[list[str]], object],
) -> Plan:
    """Compare what the last successful build recorded with the site as it is now.

    ``paths`` maps each planned output to its definition (None: cannot be fingerprinted);
    ``versions`` maps each published doc to its version; ``present`` says whether an
    output's previous file is still in place.  ``prepare`` gets the ids of the docs whose
    facts are about to be compared (their summaries may take rendering their bodies).
    """
    plan = Plan({})
    stored_versions = dict(conn.execute("SELECT id, version FROM docs").fetchall())
    touched = [doc for doc, version in versions.items() if stored_versions.get(doc) != version]
    plan.versions = {doc: versions[doc] for doc in touched}
    plan.removed_docs = [doc for doc in stored_versions if doc not in versions]
    prepare(touched)
    for doc in [*touched, *plan.removed_docs]:
        _compare(plan, conn.execute("SELECT key, value FROM facts WHERE doc = ?", (doc,)), resolve)
    _compare(plan, conn.execute("SELECT key, value FROM facts WHERE doc IS NULL"), resolve)

    stale_readers = _readers(conn, plan.changed)
    recorded: set[str] = set()
    for path, before in conn.execute("SELECT path, definition FROM outputs"):
        if path not in paths:
            continue
        recorded.add(path)
        why = _unread_reason(paths[path], paths[path] != before, present(path)) or stale_readers.get(path)
        if why is not None:
            plan.stale[path] = why
    plan.stale.update((path, "new") for path in paths if path not in recorded)
    return plan


def _unread_reason(definition: str | None, redefined: bool, present: bool) -> str | None:
    """Why an output renders whatever it read, if it must."""
    if definition is None:
        return UNFINGERPRINTED
    if redefined:
        return "its route, templates or context changed"
    if not present:
        return "its file is missing from the output"
    return None


def plan_edits(conn: sqlite3.Connection, versions: Mapping[str, str], resolve: Resolve) -> Plan:
    """The plan when only the docs in ``versions`` (doc id -> version) were edited, none added or
    removed, and nothing else changed: their facts' readers, found without visiting other outputs."""
    plan = Plan({}, versions=dict(versions))
    for doc in versions:
        _compare(plan, conn.execute("SELECT key, value FROM facts WHERE doc = ?", (doc,)), resolve)
    plan.stale.update(_readers(conn, plan.changed))
    return plan


def plan_recorded(
    conn: sqlite3.Connection,
    edited: Mapping[str, str],
    paths: Mapping[str, str | None],
    redefined: Iterable[str],
    resolve: Resolve,
    present: Callable[[str], bool],
) -> Plan:
    """The plan when ``paths`` (each output's definition) came from the build state, which holds only when
    entry bodies alone changed (:mod:`sonicgen.build.recorded`): no fact but the ``edited`` docs' can differ
    (every other fact is of the entries but their bodies, the settings, or an input whose stat is the
    same), so :func:`plan_edits` finds the readers; outputs that cannot be fingerprinted, that another
    plugin defines anew (``redefined``) or whose file is gone render as :func:`plan_build` would have them."""
    plan = plan_edits(conn, edited, resolve)
    again = set(redefined)
    for path, definition in paths.items():
        why = _unread_reason(definition, path in again, present(path))
        if why is not None:
            plan.stale[path] = why
    return plan


FEW_FACTS = 64
"""Up to this many changed facts, SQLite looks for their encoded ids in every output's deps, and only
the outputs that may hold one are decoded (a one-post edit at 10,000 pages decodes a handful, not 23,000)."""


def _readers(conn: sqlite3.Connection, changed: Mapping[str, str]) -> dict[str, str]:
    """The outputs that read any of the ``changed`` facts (by key): path -> why it is stale."""
    if not changed:
        return {}
    keys = dict(conn.execute("SELECT id, key FROM facts WHERE key IN (SELECT value FROM json_each(?))", (as_json(changed),)))
    if not keys:
        return {}
    if len(keys) <= FEW_FACTS:  # a candidate may only look like one (bytes of another number): decoding tells
        where = " OR ".join(["instr(deps, ?) > 0"] * len(keys))
        rows = conn.execute(f"SELECT path, deps FROM outputs WHERE {where}", [encode_fact(fact) for fact in keys])
    else:
        rows = conn.execute("SELECT path, deps FROM outputs")
    found: dict[str, str] = {}
    for path, deps in rows:
        read = keys.keys() & decode_deps(deps)
        if read:
            found[path] = f"{describe(min(keys[fact] for fact in read))} changed"
    return found


def _compare(plan: Plan, recorded: Iterable[tuple[str, str]], resolve: Resolve) -> None:
    """Note in ``plan`` each recorded fact whose current value differs."""
    for key, value in recorded:
        resolved = resolve(key)
        if resolved is None or resolved != value:
            plan.changed[key] = UNKNOWN if resolved is None else resolved


def describe(key: str) -> str:
    """A recorded key in words, for ``build -v`` and ``--explain``."""
    kind, _, name = key.partition(":")
    if kind == "d":
        doc, _, what = name.partition(":")
        if what.startswith("f:"):
            field_name = what[2:]
            return f"all fields of {doc}" if field_name == "*" else f"field {field_name!r} of {doc}"
        return {"body": f"the body of {doc}", "route": f"the URL of {doc}", "entry": f"the source of {doc}"}.get(
            what, f"the {what} of {doc}"
        )
    if kind == "n":
        return f"the neighbours (prev/next) of {name}"
    if kind == "dt":
        return f"the terms of {name}"
    if kind == "c":
        return f"the docs of collection {name!r}"
    if kind == "cc":
        return f"the settings of collection {name!r}"
    if kind == "t":
        term, _, what = name.rpartition(":")
        return f"the {'name' if what == 'name' else 'docs'} of term {term}"
    if kind == "x":
        return f"the terms of taxonomy {name!r}"
    if kind == "xc":
        return f"the settings of taxonomy {name!r}"
    if kind == "s":
        return f"site setting {name!r}"
    if kind == "data":
        return "all data files" if name == "*" else f"data file {name!r}"
    if kind == "tpl":
        return f"template {name}"
    if key == "markdown":
        return "the Markdown renderer settings"
    if key == "assets":
        return "the theme's assets"
    return key
