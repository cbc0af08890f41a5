"""``sonicgen`` commands. Each parses its options, calls the library, prints the result.

Expected failures (bad input) print one line per problem and exit 1; nothing the user
did ever shows a traceback.
"""

from __future__ import annotations

import errno
import gc
import os
import signal
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from sonicgen.build import BuildOptions, BuildResult, build
from sonicgen.build.explain import explain
from sonicgen.cli.content import content_commands, migrate_command
from sonicgen.cli.display import STDOUT, UNTOUCHED, Display, echo
from sonicgen.config import load_config
from sonicgen.db.connect import is_locked
from sonicgen.errors import BuildError, SonicgenError
from sonicgen.hooks.loader import SitePlugins, load_plugins
from sonicgen.hooks.reference import hook_reference, plugin_info, registrations
from sonicgen.render.theme import builtin_themes
from sonicgen.version import __version__

F = TypeVar("F", bound=Callable[..., Any])
CONFIG_NAME = "site.yaml"


def _config_option(fn: F) -> F:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="SONICGEN_CONFIG",
        default=CONFIG_NAME,
        show_default=True,
        help="Site configuration file; the site root is its folder.",
    )(fn)


def _run(display: Display, action: Callable[[], None], failed: str = "build failed") -> None:
    """Run ``action``; turn expected errors into messages and exit 1."""
    try:
        action()
    except BuildError as exc:
        display.failure(exc.problems, failed, UNTOUCHED if failed == "build failed" else "nothing was changed")
        sys.exit(1)
    except SonicgenError as exc:
        display.close()
        display.error(str(exc))
        sys.exit(1)
    except KeyboardInterrupt:
        display.close()
        display.error(f"interrupted; {UNTOUCHED}")
        sys.exit(130)
    except Exception as exc:
        _unexpected(display, exc)


_OS_ERRORS: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("no space left on device", "free some space and run the command again"),
    errno.EDQUOT: ("disk quota exceeded", "free some space and run the command again"),
    errno.EACCES: ("permission denied", "check the folder's owner and permissions"),
    errno.EPERM: ("operation not permitted", "check the folder's owner and permissions"),
    errno.EROFS: ("read-only file system", "write somewhere writable (for a build, --out DIR) or remount it read-write"),
}


def _shown(name: object) -> str:
    """A file name from an OSError as the user knows it: relative to the working folder when inside it."""
    text = os.fsdecode(name) if isinstance(name, (str, bytes)) else str(name)
    if text == STDOUT:
        return "the standard output"
    try:
        here = Path.cwd()
    except OSError:  # the working folder was removed
        return text
    path = Path(text)
    return path.relative_to(here).as_posix() if path.is_absolute() and path.is_relative_to(here) else text


def environment_message(exc: OSError) -> str | None:
    """The one line for an OSError the machine caused, not sonicgen (a full disk, permissions, a
    read-only file system), naming the file and what to do; None for any other OSError."""
    known = _OS_ERRORS.get(exc.errno or 0)
    if known is None:
        return None
    reason, fix = known
    where = _shown(exc.filename) if exc.filename is not None else None
    if where is not None and exc.filename2 is not None:
        where += f" → {_shown(exc.filename2)}"
    if where is None:
        return f"{reason}: {fix}"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"{reason} writing {where}: {fix}"
    return f"{reason}: {where}: {fix}"


def _output_gone() -> NoReturn:
    """Whoever read the output stopped reading (``sonicgen why /x/ | head``): end quietly, as Unix tools
    do. Standard output goes to devnull first, so that flushing it at exit cannot fail again (the
    Python documentation's "Note on SIGPIPE")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (captured): nothing to flush into a pipe
        pass
    sys.exit(1)


def _unexpected(display: Display, exc: BaseException) -> NoReturn:
    """An exception no layer turned into a message: the machine's doing (exit 1), or a bug (exit 2)."""
    if isinstance(exc, BrokenPipeError):
        _output_gone()
    message = None
    if isinstance(exc, OSError):
        message = environment_message(exc)
    elif isinstance(exc, sqlite3.OperationalError) and is_locked(exc):
        message = f"a database sonicgen uses is locked by another process ({exc}); run the command again once that process has finished"
    display.close()
    if message is not None:
        display.error(message)
        sys.exit(1)
    if os.environ.get("SONICGEN_DEBUG"):
        raise exc
    display.error(
        f"internal error ({type(exc).__name__}: {exc}); a bug in sonicgen; set SONICGEN_DEBUG=1 for the traceback and please report it."
    )
    sys.exit(2)


def _load_site_plugins(config_path: Path) -> SitePlugins:
    config, _ = load_config(config_path)
    return load_plugins(config)


def _plugin_command_group(site: SitePlugins, name: str) -> click.Group | None:
    commands = site.extensions.commands.get(name)
    if not commands:
        return None
    description = next((p.plugin.description for p in site.plugins if p.plugin.name == name), "")
    return click.Group(name, commands=commands, help=description or f"Commands of the {name} plugin.")


class _SiteCommands(click.Group):
    """Built-in commands, then each plugin's commands as ``sonicgen <plugin> <command>``.

    Plugin commands need the site's plugins, so they are looked up (from ``site.yaml`` or
    ``SONICGEN_CONFIG``) only when a name is not a built-in command.
    """

    @staticmethod
    def _config_path() -> Path:
        return Path(os.environ.get("SONICGEN_CONFIG", CONFIG_NAME))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or not self._config_path().is_file():
            return command
        group: click.Group | None = None

        def action() -> None:
            nonlocal group
            group = _plugin_command_group(_load_site_plugins(self._config_path()), cmd_name)

        _run(Display(), action, "cannot load the plugins")
        return group

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = super().list_commands(ctx)
        if not self._config_path().is_file():
            return names
        try:
            site = _load_site_plugins(self._config_path())
        except SonicgenError:
            return names  # help still works on a broken site; running a command shows the problems
        return names + sorted(n for n in site.extensions.commands if n not in names)


@click.group(cls=_SiteCommands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sonicgen")
def cli() -> None:
    """sonicgen: Markdown and YAML in, a static site and JSON API out."""


@cli.command("build")
@_config_option
@click.option("--drafts", "-D", is_flag=True, help="Include entries marked draft.")
@click.option("--future", "-F", is_flag=True, help="Include entries dated in the future.")
@click.option("--base-url", "-b", metavar="URL", help="Override base_url (e.g. for a preview deployment).")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), help="Output directory (default: output_dir, dist/).")
@click.option("--clean", is_flag=True, help="Also remove files in the output directory that sonicgen did not write.")
@click.option("--strict", is_flag=True, help="Fail the build on warnings.")
@click.option("-v", "--verbose", count=True, help="Show stages; -vv also traces every hook call.")
@click.option("-q", "--quiet", is_flag=True, help="Print only problems.")
@click.option("--debug-hooks", is_flag=True, help="Trace every hook call with its plugin, priority and duration.")
@click.option("--jobs", "-j", type=click.IntRange(1, 256), help="Worker processes for rendering (default: one per available core).")
@click.option("--watch", "-w", is_flag=True, help="Build again after every change to the site's inputs, until Ctrl+C.")
@click.option("--no-wait", is_flag=True, help="Fail at once when another build of the site is running, instead of waiting for it.")
def build_command(
    config_path: Path,
    drafts: bool,
    future: bool,
    base_url: str | None,
    out: Path | None,
    clean: bool,
    strict: bool,
    verbose: int,
    quiet: bool,
    debug_hooks: bool,
    jobs: int | None,
    watch: bool,
    no_wait: bool,
) -> None:
    """Build the site into the output directory."""
    display = Display(-1 if quiet else verbose)
    tracer = display.hook_call if debug_hooks or verbose >= 2 else None
    options = BuildOptions(
        drafts=drafts,
        future=future,
        base_url=base_url,
        out=out,
        clean=clean,
        strict=strict,
        hook_tracer=tracer,
        jobs=jobs,
        wait=not no_wait,
    )

    if watch:
        _watch(config_path, options, display)
        return

    def action() -> None:
        result = build(config_path, options, display)
        display.close()
        display.problems(result.warnings)
        display.summary(result.summary)

    _run(display, action)


def _watch(config_path: Path, options: BuildOptions, display: Display) -> None:
    """``build --watch``: every build's summary or problems as it ends, until Ctrl+C or SIGTERM (exit 0)."""
    from sonicgen.dev.watch import watch

    def report(outcome: BuildResult | SonicgenError) -> None:
        display.close()
        if isinstance(outcome, BuildError):
            display.failure(outcome.problems)
        elif isinstance(outcome, SonicgenError):  # e.g. a file changed while the build read it: the next build takes it
            display.error(f"{outcome}; {UNTOUCHED}")
        else:
            display.problems(outcome.warnings)
            display.summary(outcome.summary)

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # a service manager's stop request ends the watch as Ctrl+C does

    def action() -> None:
        signal.signal(signal.SIGTERM, stop)
        try:
            watch(config_path, options, report, progress=display, ready=lambda: display.info("Watching for changes; press Ctrl+C to stop."))
        except KeyboardInterrupt:
            display.close()
            display.info("Stopped watching.")

    _run(display, action)


@cli.command("why")
@_config_option
@click.argument("url")
def why_command(config_path: Path, url: str) -> None:
    """List what the page or file at URL read when it was last rendered: the inputs whose change re-renders it."""
    display = Display()

    def action() -> None:
        config, _ = load_config(config_path)
        found = explain(config, url)
        display.info(f"{found.path} read {len(found.inputs)} input(s) when it was last rendered:")
        for key, words in found.inputs:
            display.info(f"  {words}  [{key}]")

    _run(display, action, "cannot explain")


@cli.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--theme", type=click.Choice(builtin_themes() or ["default"]), default="default", show_default=True, help="Theme to use.")
@click.option("--copy-theme", is_flag=True, help="Copy the theme into themes/ so you can edit it.")
@click.option("--title", default="My sonicgen site", show_default=True, help="Site title.")
@click.option("--force", is_flag=True, help="Write into a folder that is not empty (existing files of the same name are replaced).")
def init_command(directory: Path, theme: str, copy_theme: bool, title: str, force: bool) -> None:
    """Create a new site in DIRECTORY that builds straight away."""
    display = Display()

    def action() -> None:
        from sonicgen.scaffold import scaffold_site  # only here: it brings asyncio for the content hooks

        written = scaffold_site(directory, title=title, theme=theme, copy_theme=copy_theme, force=force)
        display.info(f"Created a site in {directory} ({len(written)} files).")
        display.info(f"Next: cd {directory} && sonicgen build")

    _run(display, action)


@cli.command("new")
@_config_option
@click.argument("collection")
@click.argument("title")
@click.option("--draft", is_flag=True, help="Mark the entry as a draft.")
def new_command(config_path: Path, collection: str, title: str, draft: bool) -> None:
    """Write a new entry of COLLECTION titled TITLE, with the schema's defaults."""
    display = Display()

    def action() -> None:
        from sonicgen.scaffold import new_entry

        path, missing = new_entry(config_path, collection, title, draft=draft)
        display.info(f"Created {path}")
        if missing:
            display.info("Fill in the required field(s): " + ", ".join(missing))

    _run(display, action, "entry not created")


@cli.group("plugins", invoke_without_command=True)
@_config_option
@click.pass_context
def plugins_group(ctx: click.Context, config_path: Path) -> None:
    """List the site's plugins: source, version, enabled, and what each registered."""
    ctx.obj = config_path
    if ctx.invoked_subcommand is not None:
        return
    display = Display()

    def action() -> None:
        site = _load_site_plugins(config_path)
        for item in site.plugins:
            p = item.plugin
            state = "enabled" if item.enabled else "disabled"
            display.info(f"{p.name} {p.version}  {item.kind}  {item.source}  {state}")
            for line in registrations(site, p.name):
                display.info(f"    {line}")

    _run(display, action, "cannot load the plugins")


@plugins_group.command("info")
@click.argument("name")
@click.pass_obj
def plugins_info(config_path: Path, name: str) -> None:
    """Show plugin NAME's metadata, settings schema, registrations and documentation."""
    display = Display()

    def action() -> None:
        site = _load_site_plugins(config_path)
        item = next((p for p in site.plugins if p.plugin.name == name), None)
        if item is None:
            known = ", ".join(p.plugin.name for p in site.plugins)
            raise SonicgenError(f"no plugin named {name!r}; this site has: {known}")
        display.info(plugin_info(site, item))

    _run(display, action, "cannot load the plugins")


@plugins_group.command("hooks")
def plugins_hooks() -> None:
    """Print the hook reference (Markdown), generated from the hook declarations."""
    echo(hook_reference(), nl=False)


cli.add_command(content_commands(_run, _config_option))
cli.add_command(migrate_command(_run, _config_option))


def _flush_stdout() -> None:
    """Flush stdout here, where a full disk or a reader that went away is handled, not at exit."""
    try:
        sys.stdout.flush()
    except OSError as exc:
        if exc.filename is None:
            exc.filename = STDOUT
        raise


def main() -> None:
    try:
        try:
            cli(prog_name="sonicgen")
        finally:
            _flush_stdout()
    except (OSError, sqlite3.Error) as exc:  # from stdout's last flush, or a plugin's command, which no _run wraps
        _unexpected(Display(), exc)
    finally:
        # The process ends here. A build leaves its site graph as cyclic garbage, and the collector's
        # last pass at exit walks and frees it, a noticeable part of a one-post rebuild of a large site.
        # Frozen, it goes with the process; output is flushed and exit handlers run as always.
        gc.freeze()
