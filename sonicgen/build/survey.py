"""A build's survey: what changed since the last good build, as a change set
(:mod:`sonicgen.build.changes`), reading the entries where finding that out takes them.

Nothing is read when no input file changed.  A resident build whose changed files are all
entries it knows reads those files alone; otherwise every entry is read (a file whose stat did
not change since the last build is not read again: the build state remembers it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sonicgen.build.changes import ChangeSet, DocChange, FileChange, What, doc_changes, file_changes
from sonicgen.build.configure import Configured
from sonicgen.build.options import BuildOptions
from sonicgen.build.settings import doc_shape, versions
from sonicgen.build.signature import Signature, is_due
from sonicgen.build.state import BuildState, InputStat, Recorded
from sonicgen.content.models import Entry
from sonicgen.content.published import is_published
from sonicgen.errors import Problems
from sonicgen.output.writer import MANIFEST, manifest_stat
from sonicgen.sources import Parallel, entry_at, read_entries

if TYPE_CHECKING:
    from sonicgen.content.markup import MarkdownRenderer


class Workers(Protocol):
    """The build's worker processes, as the survey uses them."""

    def early(self) -> None:
        """Get them ready now: many outputs may render."""

    def pool(self) -> Parallel | None:
        """Start them (if there are any to start) and give them."""


@dataclass
class Read:
    """Every entry, after ``content:loaded``, and the Markdown renderer made before them."""

    markdown: MarkdownRenderer
    entries: list[Entry]


@dataclass
class Survey:
    changes: ChangeSet
    read: Read | None  # every entry, when they were read to find what changed
    edited: dict[int, Entry]  # a resident build's edits read alone: index in the kept entries -> new entry
    inputs: dict[str, InputStat] | None  # the input files as the last good build saw them, when they were compared


def survey(
    run: Configured,
    state: BuildState,
    recorded: Recorded,
    signature: Signature,
    options: BuildOptions,
    kept_entries: list[Entry] | None,
    kept_inputs: dict[str, InputStat] | None,
    workers: Workers,
    problems: Problems,
) -> Survey:
    """What changed since the last good build.  ``kept_entries`` and ``kept_inputs`` are what a
    resident build's last good build read and saw; ``workers`` read many files, when there are."""
    everything = why_everything(run, state, recorded, options)
    if everything is not None:
        workers.early()  # every output renders: the workers get ready while the site is read
        return Survey(ChangeSet(everything=everything), read(run, state, workers.pool, problems), {}, None)
    before = kept_inputs
    if before is None and (recorded.inputs != signature.digest or recorded.racy):
        before = state.input_stats()
    files = file_changes(run.config, before, signature) if before is not None else ()
    base = ChangeSet(
        files=files,
        clock=is_due(recorded.next_change, run.now),
        output=recorded.manifest != manifest_stat(run.out_dir),
        watched=watches_the_site(run),
    )
    if not files:
        return Survey(base, None, {}, before)
    if not base.entries_only:
        workers.early()  # a template, data or settings: many outputs may render
    if kept_entries is not None and base.entries_only:
        edits = read_edits(run, kept_entries, files, options)
        if edits is not None:
            docs, edited = edits
            return Survey(replace(base, docs=docs), None, edited, before)
    everyone = read(run, state, workers.pool, problems)
    current = dict(versions(everyone.entries, run.renderer, run.config, published(run, options)))
    docs = doc_changes(state.docs(), everyone.entries, current, complete=True)
    return Survey(replace(base, docs=docs), everyone, {}, before)


def why_everything(run: Configured, state: BuildState, recorded: Recorded, options: BuildOptions) -> str | None:
    """Why no change set smaller than "everything" can be trusted, if none can."""
    if not state.usable:
        return "no build state"
    if options.clean:
        return "--clean"
    if not recorded.settings or not (run.out_dir / MANIFEST).is_file():
        return "first build"
    if recorded.settings != run.settings:
        return "sonicgen, plugins, build options or site.yaml settings changed"
    return None


def watches_the_site(run: Configured) -> bool:
    """Whether plugins other than the built-in ones see the whole site or its outputs: such a handler
    may keep state of its own or change what the built-in plugins made."""
    others = run.plugins.others()
    return "site:collected" in others or "outputs:complete" in others


def read(run: Configured, state: BuildState, parallel: Callable[[], Parallel | None] | None, problems: Problems) -> Read:
    """Every entry (a file whose stat did not change since the last build is not read again), after
    ``content:loaded``; and before them, the Markdown renderer (``markdown:setup`` comes first)."""
    from sonicgen.build.site import markdown_renderer  # here: a build with nothing to read never loads markdown-it

    registry, config = run.plugins.registry, run.config
    markdown = markdown_renderer(config, run.plugins)
    entries = read_entries(config, problems, state, parallel)
    return Read(markdown, [registry.pipe("content:loaded", e, config=config, subject=e.source.path) for e in entries])


def read_edits(
    run: Configured, entries: list[Entry], files: tuple[FileChange, ...], options: BuildOptions
) -> tuple[tuple[DocChange, ...], dict[int, Entry]] | None:
    """The changes of entries' files read alone: each doc's change and the new entries (by index in
    ``entries``); None when a file is not one of those entries' now, is not an entry now, or holds
    another entry than before (every entry is then read)."""
    config, registry = run.config, run.plugins.registry
    root = f"{config.root}/"
    by_file = {root + entry.source.path: n for n, entry in enumerate(entries)}
    is_out = published(run, options)
    docs: list[DocChange] = []
    edited: dict[int, Entry] = {}
    for change in files:
        n = by_file.get(change.path)
        if n is None:
            return None  # not an entry's file the site read (a new one, one from SQLite...)
        old = entries[n]
        new = entry_at(config, old.collection, Path(change.path), Problems())
        if new is None:
            return None  # reading every entry reports what is wrong with it
        if new.content_hash == old.content_hash:
            continue  # touched, or only read again because its stat was too recent to trust
        new = registry.pipe("content:loaded", new, config=config, subject=new.source.path)
        if new.key != old.key:
            return None
        [(doc, after), (_, before)] = versions([new, old], run.renderer, config, is_out)
        if after == before:
            continue
        shape = doc_shape(new)
        docs.append(DocChange(doc, What.BODY if shape and shape == doc_shape(old) else What.FRONT_MATTER, after))
        edited[n] = new
    return tuple(docs), edited


def published(run: Configured, options: BuildOptions) -> Callable[[Entry], bool]:
    """Whether an entry is published in this build (drafts, dates to come, expiry)."""

    def is_out(entry: Entry) -> bool:
        return is_published(entry, now=run.now, drafts=options.drafts, future=options.future)

    return is_out
