"""``sonicgen content ...``: inspect content and move collections between stores, from the terminal."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from sonicgen.cli.display import Display, echo
from sonicgen.config import Config, load_config
from sonicgen.errors import Problems
from sonicgen.sources import Query, Store, StoreError, collection_config, open_store
from sonicgen.sources.sqlite.schema import apply, status
from sonicgen.sources.transfer import Kind, transfer

Runner = Callable[[Display, Callable[[], None], str], None]


def _plain(value: Any) -> Any:
    """JSON-friendly values: dates as ISO text, everything else as is."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _filters(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise StoreError(f"--filter {pair!r}: write it as FIELD=VALUE")
        out[name] = value
    return out


def content_commands(run: Runner, config_option: Callable[[Any], Any]) -> click.Group:
    """The ``content`` command group; ``run`` turns expected errors into messages and exit codes."""

    @click.group("content")
    def content() -> None:
        """List, show, export and import content in either store."""

    def with_store(config_path: Path, collection: str, action: Callable[[Config, Store], None], failed: str) -> None:
        display = Display()

        def go() -> None:
            config, _ = load_config(config_path)
            store = open_store(config, collection)
            try:
                action(config, store)
            finally:
                store.close()

        run(display, go, failed)

    @content.command("ls")
    @config_option
    @click.argument("collection")
    @click.option("--filter", "filters", multiple=True, metavar="FIELD=VALUE", help="Only entries whose field has this value.")
    @click.option("--sort", help="Sort such as -date,title (default: the collection's sort).")
    @click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
    @click.option("--cursor", help="The cursor printed after the previous page.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def ls(
        config_path: Path, collection: str, filters: tuple[str, ...], sort: str | None, limit: int, cursor: str | None, as_json: bool
    ) -> None:
        """List the entries of COLLECTION with their versions."""

        def action(config: Config, store: Store) -> None:
            problems = Problems()
            page = store.list(collection, Query(filters=_filters(filters), sort=sort, limit=limit, cursor=cursor), problems)
            spec = config.site.collections[collection]
            if as_json:
                items = [{"slug": s.entry.slug, "version": s.version, "fields": _plain(dict(s.entry.fields))} for s in page.items]
                echo(json.dumps({"data": items, "meta": {"total": page.total, "cursor": page.cursor}}, ensure_ascii=False))
            else:
                for stored in page.items:
                    fields = stored.entry.fields
                    when = fields.get(spec.date_field)
                    echo(f"{stored.entry.slug}\t{fields.get(spec.title_field, '')}\t{_plain(when) or '-'}\t{stored.version[:12]}")
                more = f"; next page: --cursor {page.cursor}" if page.cursor else ""
                click.echo(f"{len(page.items)} of {page.total} entries{more}", err=True)
            if problems.errors:  # the readable entries are listed; the others are named, and the command fails
                display = Display()
                display.problems(problems.errors)
                unread = len({p.source for p in problems.errors})
                what = "1 entry" if unread == 1 else f"{unread} entries"
                display.error(
                    f"{what} of {collection} could not be read and {'is' if unread == 1 else 'are'} not listed; fix the problems above"
                )
                sys.exit(1)

        with_store(config_path, collection, action, "cannot list")

    @content.command("show")
    @config_option
    @click.argument("collection")
    @click.argument("slug")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def show(config_path: Path, collection: str, slug: str, as_json: bool) -> None:
        """Show one entry: its fields, version, source and body."""

        def action(config: Config, store: Store) -> None:
            stored = store.get(collection, slug)
            entry = stored.entry
            data = {
                "slug": entry.slug,
                "version": stored.version,
                "source": entry.source.path,
                "fields": _plain(dict(entry.fields)),
                "extra": _plain(dict(entry.extra)),
            }
            if as_json:
                echo(json.dumps({**data, "body": entry.load_body()}, ensure_ascii=False))
                return
            for key, value in data.items():
                echo(f"{key}: {json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value}")
            echo("")
            echo(entry.load_body(), nl=False)

        with_store(config_path, collection, action, "cannot show")

    def move(config_path: Path, collection: str, source: str | None, target: str | None, verb: str, force: bool, mirror: bool) -> None:
        display = Display()

        def go() -> None:
            config, _ = load_config(config_path)
            configured = collection_config(config, collection).source
            origin: Kind = "sqlite" if (source or configured) == "sqlite" else "files"
            destination: Kind = "sqlite" if (target or configured) == "sqlite" else "files"
            done = transfer(config, collection, origin, destination, force=force, mirror=mirror)
            counts = f"{done.new} new, {done.updated} updated, {done.unchanged} unchanged"
            theirs, ours = ("row", "file") if destination == "sqlite" else ("file", "row")
            others = f"{done.others} {theirs}{'' if done.others == 1 else 's'} with no {ours} "
            others += "removed (--mirror)" if mirror else "kept (use --mirror to remove them)"
            display.info(f"{verb} {done.copied} entries of {collection}: {done.source} → {done.target} ({counts}); {others}")
            if destination != configured:
                display.info(f"set `source: {destination}` on collection {collection} in {config.source} to build from it")

        run(display, go, f"{verb.lower().removesuffix('ed')} failed")

    force_option = click.option(
        "--force", is_flag=True, help="Overwrite (or with --mirror delete) database rows edited since the last import or export."
    )
    mirror_option = click.option("--mirror", is_flag=True, help="Also remove the target's entries that the source does not have.")

    @content.command("export")
    @config_option
    @click.argument("collection")
    @click.option("--to", "target", type=click.Choice(["files", "sqlite"]), required=True, help="The store to copy into.")
    @force_option
    @mirror_option
    def export(config_path: Path, collection: str, target: str, force: bool, mirror: bool) -> None:
        """Copy COLLECTION from the store it uses into the other store (entries there are replaced; others are kept unless --mirror)."""
        move(config_path, collection, None, target, "Exported", force, mirror)

    @content.command("import")
    @config_option
    @click.argument("collection")
    @click.option("--from", "source", type=click.Choice(["files", "sqlite"]), required=True, help="The store to copy from.")
    @force_option
    @mirror_option
    def import_(config_path: Path, collection: str, source: str, force: bool, mirror: bool) -> None:
        """Copy COLLECTION from the other store into the one it uses (entries there are replaced; others are kept unless --mirror)."""
        move(config_path, collection, source, None, "Imported", force, mirror)

    return content


def migrate_command(run: Runner, config_option: Callable[[Any], Any]) -> click.Command:
    """``sonicgen migrate``: content.db brought in line with site.yaml (builds and writes do this too)."""

    @click.command("migrate")
    @config_option
    @click.option("--status", "show_status", is_flag=True, help="List applied and pending migrations and refused changes; change nothing.")
    @click.option("--dry-run", is_flag=True, help="List the migrations that would run; change nothing.")
    def migrate(config_path: Path, show_status: bool, dry_run: bool) -> None:
        """Apply pending content.db migrations (new collections and fields); refuse destructive changes."""
        display = Display()

        def go() -> None:
            config, _ = load_config(config_path)
            if show_status:
                state = status(config)
                if not state.exists:
                    display.info(f"{state.database}: does not exist yet")
                for done in state.applied:
                    display.info(f"applied  {done.id}  {done.description}  ({done.applied_at})")
                for migration in state.pending:
                    display.info(f"pending  {migration.id}  {migration.description}")
                for refusal in state.refused:
                    display.info(f"refused  {refusal}")
                for note in state.notes:
                    display.info(f"note     {note}")
                return
            ran = apply(config, dry_run=dry_run)
            verb = "would apply" if dry_run else "applied"
            for migration in ran:
                display.info(f"{verb}  {migration.id}  {migration.description}")
            if not ran:
                display.info(f"{config.site.content_db}: up to date")

        run(display, go, "migration failed")

    return migrate
