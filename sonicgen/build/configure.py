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
    """Where the build writes: ``--out`` or ``output_dir``, refused where it would overwrite what the build reads."""
    out = options.out.resolve() if options.out else config.output_dir
    guarded = {config.root: "the site itself", config.content_dir: "the content folder"}
    for place, what in guarded.items():
        if out == place or place.is_relative_to(out) or out.is_relative_to(config.content_dir):
            raise BuildError([Problem(str(out), f"output directory would overwrite {what}; choose another --out")])
    for folder in input_roots(config):  # static files, templates, data, plugins, the theme
        if out.is_relative_to(folder):
            where = folder.relative_to(config.root) if folder.is_relative_to(config.root) else folder
            raise BuildError([Problem(str(out), f"output directory is inside {where}/, which the build reads; choose another --out")])
    return out
