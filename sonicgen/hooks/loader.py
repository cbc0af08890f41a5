"""Find the site's plugins, check their metadata and dependencies, validate their config, run their setup.

Three places, in this order: the built-ins, installed packages (the ``sonicgen.plugins``
entry-point group) and the site's ``plugins/`` folder; ``plugins.<name>.from`` in site.yaml
adds a module or file from anywhere.  site.yaml also decides enablement (``false``) and
order: plugins it lists are set up first, in its order, then the rest as discovered, and
every plugin after the plugins it depends on.  Nothing is set up unless every plugin was
found, imported and declared correctly, so a broken plugin never leaves others half-loaded.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import traceback
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from packaging.specifiers import SpecifierSet

from sonicgen.config import Config
from sonicgen.config.convert import Checker, convert
from sonicgen.errors import BuildError, HookRegistrationError, Problems
from sonicgen.hooks.plugin import ConfigError, Extensions, Plugin, PluginContext
from sonicgen.hooks.registry import HookRegistry
from sonicgen.version import __version__
from sonicgen.walk import Links

BUILTINS = (
    "sonicgen.builtins.pages",
    "sonicgen.builtins.taxonomies",
    "sonicgen.builtins.feeds",
    "sonicgen.builtins.sitemap",
    "sonicgen.builtins.jsonapi",
)
ENTRY_POINT_GROUP = "sonicgen.plugins"

Kind = Literal["built-in", "installed", "local"]


@dataclass(frozen=True)
class LoadedPlugin:
    """A discovered plugin: where it came from, whether the site enabled it, its module's docs."""

    plugin: Plugin
    source: str  # module name, entry point or site-relative file: what error messages name
    kind: Kind
    enabled: bool
    doc: str = ""
    file: str | None = None


@dataclass
class SitePlugins:
    """The plugins of one site (in setup order) and what they registered."""

    registry: HookRegistry
    extensions: Extensions
    plugins: list[LoadedPlugin]

    def builtin_names(self) -> set[str]:
        """Names of the built-in plugins, whose outputs sonicgen knows to read bodies only when they are written."""
        return {loaded.plugin.name for loaded in self.plugins if loaded.kind == "built-in"}

    def others(self) -> HookRegistry:
        """The handlers of every plugin but the built-in ones: what sonicgen cannot know the reads of."""
        builtin = self.builtin_names()
        return self.registry.only(lambda handler: handler.plugin not in builtin)


@dataclass
class _Setting:
    """``plugins.<name>`` of site.yaml: enabled?, where from, and the plugin's own settings."""

    enabled: bool = True
    origin: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Found:
    plugin: Plugin
    source: str
    kind: Kind
    module: ModuleType

    def loaded(self, enabled: bool) -> LoadedPlugin:
        file = getattr(self.module, "__file__", None)
        return LoadedPlugin(self.plugin, self.source, self.kind, enabled, (self.module.__doc__ or "").strip(), file)


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def _failure_line(exc: BaseException, file: Path) -> tuple[Path, int | None]:
    """The innermost frame of ``exc`` inside the plugin's folder (the plugin's own line)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve().is_relative_to(file.parent.resolve())]
    return (Path(frames[-1].filename), frames[-1].lineno) if frames else (file, None)


def _import_file(file: Path, root: Path, problems: Problems) -> ModuleType | None:
    stem = file.parent.name if file.name == "__init__.py" else file.stem
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
        where, line = _failure_line(exc, file)
        problems.error(_rel(where, root), f"plugin failed while importing: {type(exc).__name__}: {exc}", line=line)
        return None
    return module


def _local_files(directory: Path, links: Links) -> list[Path]:
    """``plugins/*.py`` and ``plugins/<package>/__init__.py``, skipping hidden and ``_`` names;
    a symbolic link out of the site is refused before any code runs (see :mod:`sonicgen.walk`)."""
    if not directory.is_dir():
        return []
    files = []
    for path in sorted(directory.iterdir()):
        if path.name.startswith(("_", ".")):
            continue
        if path.is_symlink():
            links.check(str(path))
        if path.is_dir() and (path / "__init__.py").is_file():
            files.append(path / "__init__.py")
        elif path.suffix == ".py" and path.is_file():
            files.append(path)
    return files


def _plugin_of(module: ModuleType, source: str, problems: Problems) -> Plugin | None:
    plugin = getattr(module, "plugin", None)
    if not isinstance(plugin, Plugin):
        problems.error(source, "a plugin module must define `plugin = sonicgen.Plugin(name=..., setup=...)`")
        return None
    for message in plugin.problems():
        problems.error(source, f"plugin {plugin.name!r}: {message}")
    return plugin


def _settings(config: Config, problems: Problems) -> dict[str, _Setting]:
    out: dict[str, _Setting] = {}
    for name, raw in config.site.plugins.items():
        line = config.line_of("plugins", name)
        if raw is False or raw is True or raw is None:
            out[name] = _Setting(enabled=raw is not False)
            continue
        if not isinstance(raw, dict):
            problems.error(config.source, "expected true, false or a mapping of settings", line=line, field=f"plugins.{name}")
            continue
        options = dict(raw)
        enabled = options.pop("enabled", True)
        origin = options.pop("from", None)
        if not isinstance(enabled, bool):
            problems.error(
                config.source, "expected true or false", line=config.line_of("plugins", name, "enabled"), field=f"plugins.{name}.enabled"
            )
        if origin is not None and not (isinstance(origin, str) and origin.strip()):
            problems.error(
                config.source,
                "expected a module name (package.module) or a path to a .py file or package folder",
                line=config.line_of("plugins", name, "from"),
                field=f"plugins.{name}.from",
            )
            origin = None
        out[name] = _Setting(enabled is not False, origin, options)
    return out


def _discover(config: Config, settings: dict[str, _Setting], problems: Problems) -> list[_Found]:
    found: list[_Found] = []

    def add(module: ModuleType, source: str, kind: Kind) -> None:
        plugin = _plugin_of(module, source, problems)
        if plugin is not None:
            found.append(_Found(plugin, source, kind, module))

    for module_name in BUILTINS:
        add(importlib.import_module(module_name), module_name, "built-in")
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        source = f"installed plugin {ep.name} ({ep.value})"
        try:
            loaded = ep.load()
        except Exception as exc:
            problems.error(source, f"failed to import: {type(exc).__name__}: {exc}")
            continue
        module = sys.modules[ep.module] if isinstance(loaded, Plugin) else loaded
        add(module, source, "installed")
    for file in _local_files(config.dir(config.site.plugins_dir), config.links):
        module = _import_file(file, config.root, problems)
        if module is not None:
            add(module, _rel(file, config.root), "local")
    for name, setting in settings.items():
        if setting.origin is not None:
            _add_listed(config, name, setting.origin, problems, add)
    return found


def _add_listed(config: Config, name: str, origin: str, problems: Problems, add: Any) -> None:
    """A plugin named by ``plugins.<name>.from``: a path (inside or outside the site) or a module name."""
    line = config.line_of("plugins", name, "from")
    where = f"plugins.{name}.from"
    looks_like_path = origin.endswith(".py") or "/" in origin or origin.startswith(".")
    if looks_like_path:
        path = (config.root / origin).resolve()
        file = path / "__init__.py" if path.is_dir() else path
        if not file.is_file():
            problems.error(config.source, f"no plugin file at {file} (a .py file or a package folder)", line=line, field=where)
            return
        module = _import_file(file, config.root, problems)
        source = _rel(file, config.root)
    else:
        try:
            module = importlib.import_module(origin)
        except ImportError as exc:
            problems.error(config.source, f"cannot import module {origin!r}: {exc}; is its package installed?", line=line, field=where)
            return
        except Exception as exc:
            problems.error(config.source, f"module {origin!r} failed while importing: {type(exc).__name__}: {exc}", line=line, field=where)
            return
        source = origin
    if module is not None:
        plugin = getattr(module, "plugin", None)
        if isinstance(plugin, Plugin) and plugin.name != name:
            problems.error(config.source, f"{origin} defines plugin {plugin.name!r}, not {name!r}", line=line, field=where)
            return
        add(module, source, "local" if looks_like_path else "installed")


def _check_unique(found: list[_Found], problems: Problems) -> None:
    seen: dict[str, str] = {}
    for item in found:
        name = item.plugin.name
        if name in seen:
            problems.error(item.source, f"plugin name {name!r} is already used by {seen[name]}; rename one of them")
        seen.setdefault(name, item.source)


def _order(found: list[_Found], settings: dict[str, _Setting], problems: Problems) -> list[_Found]:
    """Enabled plugins in setup order: listed first (site.yaml order), then discovered; dependencies before dependents."""
    listed = list(settings)
    rank = {
        item.plugin.name: (listed.index(item.plugin.name) if item.plugin.name in listed else len(listed), i) for i, item in enumerate(found)
    }
    by_name = {item.plugin.name: item for item in found}
    enabled = [item for item in found if settings.get(item.plugin.name, _Setting()).enabled]
    enabled_names = {item.plugin.name for item in enabled}
    for item in enabled:
        plugin = item.plugin
        if not SpecifierSet(plugin.requires).contains(__version__, prereleases=True):
            problems.error(item.source, f"plugin {plugin.name!r} needs sonicgen {plugin.requires}, but this is sonicgen {__version__}")
        for dep, wanted in plugin.depends.items():
            other = by_name.get(dep)
            if other is None:
                problems.error(
                    item.source,
                    f"plugin {plugin.name!r} depends on plugin {dep!r}, which was not found "
                    f"(looked in the built-ins, installed packages ({ENTRY_POINT_GROUP} entry points), the plugins folder and site.yaml)",
                )
            elif dep not in enabled_names:
                problems.error(item.source, f"plugin {plugin.name!r} depends on plugin {dep!r}, which site.yaml disables")
            elif not SpecifierSet(wanted).contains(other.plugin.version, prereleases=True):
                found_version = f"{other.source} is version {other.plugin.version}"
                problems.error(item.source, f"plugin {plugin.name!r} needs plugin {dep!r} {wanted}, but {found_version}")
    sorter: TopologicalSorter[str] = TopologicalSorter()
    for item in enabled:
        sorter.add(item.plugin.name, *(d for d in item.plugin.depends if d in enabled_names))
    try:
        sorter.prepare()
    except CycleError as exc:
        cycle = exc.args[1]
        chain = " → ".join(repr(n) for n in reversed(cycle))
        problems.error(by_name[cycle[0]].source, f"plugins depend on each other in a cycle: {chain} (→ reads 'depends on')")
        return []
    ordered: list[_Found] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=rank.__getitem__)
        ordered += [by_name[name] for name in ready]
        sorter.done(*ready)
    return ordered


def load_plugins(config: Config) -> SitePlugins:
    """Discover, check, configure and set up every enabled plugin; raise BuildError listing all problems."""
    problems = Problems()
    settings = _settings(config, problems)
    found = _discover(config, settings, problems)
    _check_unique(found, problems)
    names = {item.plugin.name for item in found}
    for name in settings:
        if name not in names and settings[name].origin is None:
            problems.error(
                config.source,
                f"no plugin named {name!r}; looked in the built-ins, installed packages ({ENTRY_POINT_GROUP} entry points) "
                f"and {config.site.plugins_dir}/ (or give its module or file with `from:`)",
                line=config.line_of("plugins", name),
                field=f"plugins.{name}",
            )
    ordered = _order(found, settings, problems)
    if problems.errors:
        raise BuildError(problems)

    registry = HookRegistry()
    extensions = Extensions()
    configs = {
        item.plugin.name: _plugin_config(item.plugin, settings.get(item.plugin.name, _Setting()), config, problems) for item in ordered
    }
    if problems.errors:
        raise BuildError(problems)
    for item in ordered:
        context = PluginContext(item.plugin.name, configs[item.plugin.name], config, registry, extensions)
        try:
            item.plugin.setup(context)
        except ConfigError as exc:
            at = ("plugins", item.plugin.name, *exc.key.split("."))
            problems.error(config.source, exc.message, line=config.line_of(*at), field=".".join(at))
        except Exception as exc:
            file = getattr(item.module, "__file__", None)
            where, line = _failure_line(exc, Path(file)) if file else (None, None)
            source = _rel(where, config.root) if where else item.source
            message = (
                str(exc)
                if isinstance(exc, HookRegistrationError)
                else f"plugin {item.plugin.name!r} failed in setup: {type(exc).__name__}: {exc}"
            )
            problems.error(source, message, line=line)
    if problems.errors:
        raise BuildError(problems)
    enabled = {item.plugin.name for item in ordered}
    listing = [item.loaded(True) for item in ordered] + [item.loaded(False) for item in found if item.plugin.name not in enabled]
    return SitePlugins(registry, extensions, listing)


def _plugin_config(plugin: Plugin, setting: _Setting, config: Config, problems: Problems) -> Any:
    path = ("plugins", plugin.name)
    if plugin.config is None:
        if setting.options:
            problems.warn(config.source, "this plugin takes no settings; ignored", line=config.line_of(*path), field=".".join(path))
        return None
    checker = Checker(config.source, config.loaded, problems)
    return convert(setting.options, plugin.config, checker, path)
