"""A build's first stage: the site's configuration and plugins, and what follows from them alone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sonicgen.build.options import BuildOptions
from sonicgen.build.settings import renderer_fingerprint, settings_fingerprint
from sonicgen.build.signature import input_roots
from sonicgen.config import Config, load_config
from sonicgen.errors import BuildError, Problem, Problems
from sonicgen.hooks.loader import SitePlugins, load_plugins
from sonicgen.render.theme import theme_dir

_STATE_DIR = ".sonicgen"  # build/state.py's STATE_DIR: configure sits beside state, so it cannot import it


@dataclass
class Configured:
    """A site's configuration and plugins as one build loaded them."""

    config_path: Path
    config: Config
    plugins: SitePlugins
    problems: Problems  # warnings about site.yaml so far
    now: datetime
    out_dir: Path
    theme: Path
    settings: str  # what every output depends on (build/settings.py)
    renderer: str  # what every body's rendering depends on


def configure(config_path: Path, options: BuildOptions, now: datetime) -> Configured:
    """Load site.yaml and the plugins, run ``config:loaded``; raise BuildError listing every problem."""
    config, problems = load_config(config_path, overrides={"base_url": options.base_url}, keep_going=True)
    try:
        plugins = load_plugins(config)
    except BuildError as exc:  # plugin settings are part of site.yaml: report both at once
        raise BuildError([*problems.items, *exc.problems]) from None
    problems.check()
    plugins.registry.tracer = options.hook_tracer
    config = plugins.registry.pipe("config:loaded", config)
    out_dir = output_dir(config, options)
    settings = settings_fingerprint(config, plugins, (options.drafts, options.future), out_dir)
    renderer = renderer_fingerprint(config, plugins)
    return Configured(config_path, config, plugins, problems, now, out_dir, theme_dir(config), settings, renderer)


def output_dir(config: Config, options: BuildOptions) -> Path:
    """Where the build writes: ``--out`` or ``output_dir``, refused before anything is written (or
    deleted: ``--clean`` removes everything else in it) where that would hit what the build reads or keeps."""
    out = options.out.resolve() if options.out else config.output_dir

    def name(place: Path) -> str:
        shown = place.relative_to(config.root).as_posix() if place.is_relative_to(config.root) else str(place)
        return shown if place.is_file() else shown + "/"

    protected = [
        (config.root / _STATE_DIR, f"{_STATE_DIR}/, where sonicgen keeps its build state"),
        (config.content_dir, f"{name(config.content_dir)}, the site's content"),
        (config.root / "themes", "themes/, the site's themes"),
        *((place, f"{name(place)}, which the build reads") for place in input_roots(config)),  # static, templates, data, plugins, theme
    ]
    why = None
    if out == config.root or config.root.is_relative_to(out):
        why = "would overwrite the site itself"
    else:
        for place, what in protected:
            if place.is_relative_to(out):
                why = f"{'is' if place == out else 'contains'} {what} (--clean would delete it)"
                break
            if out.is_relative_to(place):
                why = f"is inside {what}"
                break
    if why is not None:
        fix = "choose another --out, such as --out dist" if options.out else f"set output_dir in {config.source} to another folder (dist)"
        raise BuildError([Problem(str(out), f"output directory {why}; {fix}")])
    return out
