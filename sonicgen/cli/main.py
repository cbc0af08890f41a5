"""``sonicgen`` commands. Each parses its options, calls the library, prints the result.

Expected failures (bad input) print one line per problem and exit 1; nothing the user
did ever shows a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from sonicgen import __version__
from sonicgen.build import BuildOptions, build
from sonicgen.cli.display import Display
from sonicgen.errors import BuildError, SonicgenError
from sonicgen.render.theme import builtin_themes
from sonicgen.scaffold import ScaffoldError, new_entry, scaffold_site

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


def _run(display: Display, action: Callable[[], None]) -> None:
    """Run ``action``; turn expected errors into messages and exit 1."""
    try:
        action()
    except BuildError as exc:
        display.close()
        display.problems(exc.problems)
        errors = sum(1 for p in exc.problems if p.is_error)
        display.error(f"build failed with {errors or len(exc.problems)} problem(s); the previous output was left untouched")
        sys.exit(1)
    except (SonicgenError, ScaffoldError) as exc:
        display.close()
        display.error(str(exc))
        sys.exit(1)
    except KeyboardInterrupt:
        display.close()
        display.error("interrupted; the previous output was left untouched")
        sys.exit(130)
    except Exception as exc:
        display.close()
        if os.environ.get("SONICGEN_DEBUG"):
            raise
        display.error(
            f"internal error ({type(exc).__name__}: {exc}); a bug in sonicgen; set SONICGEN_DEBUG=1 for the traceback and please report it."
        )
        sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
@click.option("-v", "--verbose", count=True, help="Show stages and warnings in detail.")
@click.option("-q", "--quiet", is_flag=True, help="Print only problems.")
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
) -> None:
    """Build the site into the output directory."""
    display = Display(-1 if quiet else verbose)
    options = BuildOptions(drafts=drafts, future=future, base_url=base_url, out=out, clean=clean, strict=strict)

    def action() -> None:
        result = build(config_path, options, display)
        display.close()
        display.problems(result.warnings)
        display.summary(result.summary)

    _run(display, action)


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
        path, missing = new_entry(config_path, collection, title, draft=draft)
        display.info(f"Created {path}")
        if missing:
            display.info("Fill in the required field(s): " + ", ".join(missing))

    _run(display, action)


def main() -> None:
    cli(prog_name="sonicgen")
