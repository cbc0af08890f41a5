"""Find the site's plugins (built-in, installed, local), validate their config, run their setup."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import traceback
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from sonicgen.config import Config
from sonicgen.config.convert import Checker, convert
from sonicgen.errors import BuildError, HookRegistrationError, Problems
from sonicgen.hooks.plugin import Plugin, PluginContext, TemplateExtensions
from sonicgen.hooks.registry import HookRegistry

BUILTINS = (
    "sonicgen.builtins.pages",
    "sonicgen.builtins.taxonomies",
    "sonicgen.builtins.feeds",
    "sonicgen.builtins.sitemap",
    "sonicgen.builtins.jsonapi",
)
ENTRY_POINT_GROUP = "sonicgen.plugins"


@dataclass(frozen=True)
class LoadedPlugin:
    plugin: Plugin
    source: str  # "built-in", "installed" or the local file
    enabled: bool


@dataclass
class SitePlugins:
    """The plugins of one site and what they registered."""

    registry: HookRegistry
    extensions: TemplateExtensions
    plugins: list[LoadedPlugin]


def _local_modules(config: Config, problems: Problems) -> list[tuple[str, ModuleType]]:
    directory = config.dir(config.site.plugins_dir)
    if not directory.is_dir():
        return []
    found = []
    candidates = sorted(p for p in directory.iterdir() if not p.name.startswith(("_", ".")))
    for path in candidates:
        if path.is_dir() and (path / "__init__.py").is_file():
            file = path / "__init__.py"
        elif path.suffix == ".py" and path.is_file():
            file = path
        else:
            continue
        module = _import_file(file, path.stem, config.root, problems)
        if module is not None:
            found.append((_rel(file, config.root), module))
    return found


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _import_file(file: Path, stem: str, root: Path, problems: Problems) -> ModuleType | None:
    name = f"sonicgen_site_plugins.{stem}"
    spec = importlib.util.spec_from_file_location(
        name, file, submodule_search_locations=[str(file.parent)] if file.name == "__init__.py" else None
    )
    if spec is None or spec.loader is None:
        problems.error(_rel(file, root), "cannot be imported as a Python module")
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        problems.error(_rel(Path(exc.filename or file), root), f"plugin has a syntax error: {exc.msg}", line=exc.lineno)
        return None
    except Exception as exc:
        sys.modules.pop(name, None)
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).is_relative_to(file.parent)]
        where = frames[-1] if frames else None
        source = _rel(Path(where.filename), root) if where else _rel(file, root)
        problems.error(source, f"plugin failed while importing: {type(exc).__name__}: {exc}", line=where.lineno if where else None)
        return None
    return module


def _plugin_of(module: ModuleType, source: str, problems: Problems) -> Plugin | None:
    plugin = getattr(module, "plugin", None)
    if not isinstance(plugin, Plugin):
        problems.error(source, "a plugin module must define `plugin = sonicgen.Plugin(name=..., setup=...)`")
        return None
    return plugin


def load_plugins(config: Config) -> SitePlugins:
    """Discover, configure and set up every enabled plugin; raise BuildError listing all problems."""
    problems = Problems()
    candidates: list[tuple[Plugin, str]] = []
    for module_name in BUILTINS:
        plugin = _plugin_of(importlib.import_module(module_name), module_name, problems)
        if plugin is not None:
            candidates.append((plugin, "built-in"))
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            loaded = ep.load()
        except Exception as exc:
            problems.error(f"installed plugin {ep.name} ({ep.value})", f"failed to import: {type(exc).__name__}: {exc}")
            continue
        plugin = loaded if isinstance(loaded, Plugin) else _plugin_of(loaded, f"installed plugin {ep.name}", problems)
        if plugin is not None:
            candidates.append((plugin, "installed"))
    for source, module in _local_modules(config, problems):
        plugin = _plugin_of(module, source, problems)
        if plugin is not None:
            candidates.append((plugin, source))

    seen: dict[str, str] = {}
    for plugin, source in candidates:
        if plugin.name in seen:
            problems.error(source, f"plugin name {plugin.name!r} is already used by {seen[plugin.name]}; rename one of them")
        seen.setdefault(plugin.name, source)

    settings = config.site.plugins
    for name in settings:
        if name not in seen:
            problems.error(
                config.source,
                f"no plugin named {name!r}; looked in the built-ins, installed packages ({ENTRY_POINT_GROUP} entry points) "
                f"and {config.site.plugins_dir}/",
                line=config.line_of("plugins", name),
                field=f"plugins.{name}",
            )
    if problems.errors:
        raise BuildError(problems)

    registry = HookRegistry()
    extensions = TemplateExtensions()
    loaded_plugins = []
    for plugin, source in candidates:
        setting = settings.get(plugin.name, True)
        enabled = setting is not False
        loaded_plugins.append(LoadedPlugin(plugin, source, enabled))
        if not enabled:
            continue
        plugin_config = _plugin_config(plugin, setting, config, problems)
        if plugin.config is not None and plugin_config is None:
            continue
        context = PluginContext(plugin.name, plugin_config, config, registry, extensions)
        try:
            plugin.setup(context)
        except HookRegistrationError as exc:
            problems.error(source, str(exc))
        except Exception as exc:
            problems.error(source, f"plugin {plugin.name!r} failed in setup: {type(exc).__name__}: {exc}")
    if problems.errors:
        raise BuildError(problems)
    return SitePlugins(registry, extensions, loaded_plugins)


def _plugin_config(plugin: Plugin, setting: Any, config: Config, problems: Problems) -> Any:
    path = ("plugins", plugin.name)
    if setting is True or setting is None:
        setting = {}
    if not isinstance(setting, dict):
        problems.error(config.source, "expected true, false or a mapping of settings", line=config.line_of(*path), field=".".join(path))
        return None
    if plugin.config is None:
        if setting:
            problems.warn(config.source, "this plugin takes no settings; ignored", line=config.line_of(*path), field=".".join(path))
        return None
    checker = Checker(config.source, config.loaded, problems)
    return convert(setting, plugin.config, checker, path)
