"""Output definitions taken from the build state when only entry bodies changed since the last good build.

Fingerprinting every output's definition took 0.8 s of a 1.9 s one-post rebuild of 10,000
pages.  A definition is made of the site graph and the outputs the plugins make from it, and
the graph of the entries but their bodies.  So when the last good build recorded the same
settings, the same stat for every input that is not an entry's file (templates, data, static
files, site.yaml, plugins, the theme, the content database), the same docs, and the same shape
for every doc whose version changed (:func:`~sonicgen.build.incremental.doc_shape`), every
output the built-in plugins make is defined as that build recorded it.  Outputs of other
plugins are fingerprinted as always: they may read the bodies.  Anything else, or any doubt,
and the build fingerprints every output.

The same conditions leave every fact as it was but those of the edited docs, so the plan
compares only theirs and finds their readers (:func:`~sonicgen.build.plan.plan_recorded`):
comparing the 20,000 facts of the graph and visiting every output took 0.12 s more of a
one-post rebuild of 10,000 pages.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass

from sonicgen.build.incremental import doc_shape
from sonicgen.build.pipeline import Run
from sonicgen.build.plan import UNKNOWN
from sonicgen.build.signature import is_due
from sonicgen.content.facts import Memo, definition
from sonicgen.content.graph import SiteGraph
from sonicgen.content.outputs import Output, Page
from sonicgen.hooks.registry import HookRegistry

EDITED_DOCS = 64
"""Beyond this many docs with a new version, the build fingerprints every output: the shortcut is for edits."""


def watches_the_site(others: HookRegistry) -> bool:
    """Whether ``others`` (handlers of plugins other than the built-in ones) see the whole site or its
    outputs: such a handler may keep state of its own or change what the built-in plugins made."""
    return "site:collected" in others or "outputs:complete" in others


def definable(by_path: Mapping[str, Output]) -> list[tuple[str, Output]]:
    """The outputs that have a definition: pages and generated files, not files copied as they are."""
    return [(path, o) for path, o in by_path.items() if isinstance(o, Page) or callable(o.data)]


@dataclass
class Recorded:
    """Output definitions from the build state, and what the plan needs besides them."""

    definitions: dict[str, str | None]  # each definable output's definition (None: cannot be fingerprinted)
    edited: dict[str, str]  # doc id -> version, for each doc edited since the last good build
    redefined: list[str]  # outputs of other plugins whose definition is not the recorded one


def recorded_definitions(
    run: Run, others: str, graph: SiteGraph, versions: Mapping[str, str], by_path: Mapping[str, Output], foreign: set[str]
) -> Recorded | None:
    """Each definable output's definition, the built-in plugins' from the build state; None unless
    the edits since the last good build were to entry bodies alone (see the module doc).
    ``others`` is the digest of every input but the entries' files (:func:`~sonicgen.build.signature.others_digest`)."""
    cache = run.cache
    if cache is None or cache.damage is not None or run.options.clean or not others or watches_the_site(run.plugins.others()):
        return None
    try:
        names = ("settings", "others", "next_change")
        meta = dict(cache.conn.execute("SELECT name, value FROM meta WHERE name IN (?, ?, ?)", names).fetchall())
        if meta.get("settings") != run.settings or meta.get("others") != others:
            return None
        if is_due(meta.get("next_change"), run.now):
            return None  # a scheduled post is due, or an expiry: what is published changes
        stored = {doc: (version, shape) for doc, version, shape in cache.conn.execute("SELECT id, version, shape FROM docs")}
        if stored.keys() != versions.keys():
            return None
        edited = {doc: version for doc, version in versions.items() if stored[doc][0] != version}
        if len(edited) > EDITED_DOCS:
            return None
        for doc_id in edited:
            doc = graph.get(*doc_id.split("/", 1))
            shape = stored[doc_id][1]
            if doc is None or not shape or doc_shape(doc._entry) != shape:
                return None
        recorded = dict(cache.conn.execute("SELECT path, definition FROM outputs").fetchall())
    except sqlite3.DatabaseError:
        return None  # the planner finds the damage and reports it
    outputs = definable(by_path)
    if recorded.keys() != {path for path, _ in outputs}:
        return None
    memo: Memo = {}
    definitions = {
        path: definition(output, memo) if path in foreign else None if recorded[path] == UNKNOWN else recorded[path]
        for path, output in outputs
    }
    redefined = [path for path in foreign if path in definitions and definitions[path] != recorded[path]]
    return Recorded(definitions, edited, redefined)
