"""Plan a build: which outputs to render, and why.

The build state remembers, for every output, its definition (route, templates, context or
generator: :func:`~sonicgen.content.facts.definition`) and the facts it read while it rendered.
An output renders when it is new, its definition changed, its file is gone from the output, or
one of its facts changed; everything else keeps its file.  Facts are compared, never pages, and
a doc whose version did not change is not even looked at.

:func:`plan` reads the change set and decides which case a build is; a resident build takes the
same decisions with the site already in memory:

- **nothing**: no input, setting or scheduled time changed and the output is as the last good
  build left it, whose result stands;
- **edited docs**: entries edited in their bodies alone, and nothing else.  The site graph is
  made of the entries but their bodies, and the built-in plugins' outputs of the graph, so every
  such output is defined as the last build recorded it; no fact but the edited docs' can differ,
  so only theirs are compared and their readers found.  Outputs of other plugins are defined
  again (they may read bodies);
- **compare**: anything else: every output is defined again, and the facts of every changed doc
  and every fact of the site as a whole are compared;
- **everything**: there is nothing usable to compare with (no build state, ``--clean``, the first
  build, or settings every output depends on changed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import dataclass, field
from enum import StrEnum

import msgspec

from sonicgen.build.changes import ChangeSet, DocChange, What
from sonicgen.build.state import UNKNOWN, BuildState, Resolve
from sonicgen.content import deps
from sonicgen.content.facts import Memo, definition, is_definable
from sonicgen.content.outputs import Output

UNFINGERPRINTED = "made by a function sonicgen cannot fingerprint"

EDITED_DOCS = 64
"""Beyond this many docs edited at once, every output is defined again: the edits case is for edits."""


class Case(StrEnum):
    NOTHING = "nothing changed"
    EDITS = "edited docs"
    COMPARE = "compared"
    EVERYTHING = "everything"


class Outcome(msgspec.Struct):
    """What a good build leaves for a build that finds nothing changed: its counts and warnings."""

    pages: int
    files: int
    warnings: list[tuple[str, str, int | None, str | None]]


@dataclass
class Plan:
    """Which case a build is and, once :func:`find_stale` ran, what it renders and what the build
    state must learn when it succeeds."""

    case: Case
    why: str = ""  # for everything: why
    docs: tuple[DocChange, ...] = ()  # the entries that changed
    output: bool = True  # the output may not be as the last good build left it (its manifest changed)
    outcome: Outcome | None = None  # for nothing: the last good build's result
    stale: dict[str, str] = field(default_factory=dict)  # output path -> why it renders
    changed: dict[str, str] = field(default_factory=dict)  # recorded fact key -> its value now (UNKNOWN if unknowable)
    definitions: dict[str, str | None] = field(default_factory=dict)  # every definable output's (None: unknowable)

    @property
    def nothing(self) -> bool:
        return self.case is Case.NOTHING


def plan(state: BuildState, changes: ChangeSet, *, strict: bool = False) -> Plan:
    """The case of a build with ``changes`` since the last good build (see the module doc).  With
    ``strict``, a last result with warnings is not enough: the build reads the site to report them."""
    if changes.everything is not None:
        return Plan(Case.EVERYTHING, why=changes.everything)
    edits_alone = (
        changes.entries_only
        and not changes.clock
        and not changes.watched
        and all(doc.what is What.BODY for doc in changes.docs)
        and len(changes.docs) <= EDITED_DOCS
    )
    if changes.nothing:
        outcome = _outcome(state.recorded().outcome)
        if outcome is not None and not (strict and outcome.warnings):
            return Plan(Case.NOTHING, outcome=outcome)
    return Plan(Case.EDITS if edits_alone else Case.COMPARE, docs=changes.docs, output=changes.output)


def _outcome(text: str) -> Outcome | None:
    try:
        return msgspec.json.decode(text, type=Outcome) if text else None
    except msgspec.DecodeError:
        return None


def definable(outputs: Mapping[str, Output]) -> list[tuple[str, Output]]:
    """The outputs that have a definition: pages and generated files, not files copied as they are."""
    return [(path, o) for path, o in outputs.items() if is_definable(o)]


def find_stale(
    the_plan: Plan,
    state: BuildState,
    outputs: Mapping[str, Output],
    foreign: Set[str],
    resolve: Resolve,
    present: Callable[[str], bool] | None,
    kept: Mapping[str, str | None] | None = None,
) -> None:
    """Fill in ``the_plan``: each definable output's definition, the recorded facts that changed and
    the definable outputs to render (the others, files copied as they are, are always compared by
    their bytes).  ``outputs`` are the site's by path; ``foreign`` the paths of those that plugins
    other than the built-in ones made; ``present`` tells whether an output's last file is in place
    (None: all are, as the last build wrote them).  ``kept``: the definitions of the outputs of a
    kept site (those the last good build recorded), with the edits taken into that site."""
    memo: Memo = {}
    if the_plan.case is Case.EDITS:
        recorded = kept if kept is not None else _recorded(state, outputs)
        if recorded is not None:
            definitions = the_plan.definitions = dict(recorded)
            again = [path for path in foreign if path in recorded]  # files copied as they are have no definition
            for path in again:  # another plugin's output may read bodies while it is made: defined anew
                definitions[path] = definition(outputs[path], memo)
            redefined = {path for path in again if definitions[path] != recorded[path]}
            for doc in the_plan.docs:
                _compare(the_plan, state.facts_of(doc.doc), resolve)
            the_plan.stale.update(_readers(state, the_plan.changed))
            for path, text in definitions.items():
                why = _unread_reason(text, path in redefined, present is None or present(path))
                if why is not None:
                    the_plan.stale[path] = why
            return
        the_plan.case = Case.COMPARE  # the recorded outputs are not this site's: define them all again
    made = definable(outputs)
    if the_plan.case is Case.EVERYTHING:  # definitions are made as the outputs render: they are only recorded
        the_plan.stale = {path: the_plan.why for path, _ in made}
        return
    the_plan.definitions = {path: definition(output, memo) for path, output in made}
    for doc in the_plan.docs:
        _compare(the_plan, state.facts_of(doc.doc), resolve)
    _compare(the_plan, state.facts_of(None), resolve)
    stale_readers = _readers(state, the_plan.changed)
    stored = state.definitions()
    for path, text in the_plan.definitions.items():
        if path not in stored:
            the_plan.stale[path] = "new"
            continue
        why = _unread_reason(text, text != stored[path], present is None or present(path)) or stale_readers.get(path)
        if why is not None:
            the_plan.stale[path] = why


def _recorded(state: BuildState, outputs: Mapping[str, Output]) -> dict[str, str | None] | None:
    """The definitions the last good build recorded, when its outputs are this site's definable outputs."""
    stored = state.definitions()
    made = definable(outputs)
    if stored.keys() != {path for path, _ in made}:
        return None
    return {path: None if stored[path] == UNKNOWN else stored[path] for path, _ in made}


def _unread_reason(text: str | None, redefined: bool, present: bool) -> str | None:
    """Why an output renders whatever it read, if it must."""
    if text is None:
        return UNFINGERPRINTED
    if redefined:
        return "its route, templates or context changed"
    if not present:
        return "its file is missing from the output"
    return None


def _readers(state: BuildState, changed: Mapping[str, str]) -> dict[str, str]:
    """The outputs that read any of the ``changed`` facts: path -> why it renders."""
    if not changed:
        return {}
    return {path: f"{deps.parse(keys[0]).describe()} changed" for path, keys in state.readers(changed).items()}


def _compare(the_plan: Plan, recorded: Iterable[tuple[str, str]], resolve: Resolve) -> None:
    """Note in the plan each recorded fact whose current value differs."""
    for key, value in recorded:
        resolved = resolve(key)
        if resolved is None or resolved != value:
            the_plan.changed[key] = UNKNOWN if resolved is None else resolved
