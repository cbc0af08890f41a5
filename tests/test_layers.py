"""The one-way layering of the README and DESIGN.md, read off the code's imports (every import,
those inside functions and under TYPE_CHECKING included): a module imports only from layers below
its own, between packages and inside ``sonicgen.build``; servers' and the command line's libraries
stay in their layers."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "sonicgen"

PACKAGE_LAYERS = (
    {"errors", "version"},
    {"atomic", "lock", "walk", "safeyaml", "db", "parallel"},
    {"config"},
    {"content"},
    {"sources", "hooks"},
    {"builtins", "render", "output"},
    {"build", "scaffold"},
    {"dev", "api"},
    {"cli"},
    {"sonicgen", "__main__"},  # the package itself: the plugin API's facade, and ``python -m sonicgen``
)
"""Lowest first.  ``sonicgen.x.y`` belongs to ``x``."""

BUILD_LAYERS = (
    {"options", "progress", "collector", "reads", "settings", "signature"},
    {"state", "configure"},
    {"changes", "render_cache"},
    {"plan", "site"},
    {"render", "survey"},
    {"pipeline"},
    {"resident", "explain", "__init__"},
)
"""Inside ``sonicgen.build``, lowest first."""

ONLY_IN = {"litestar": {"api", "dev"}, "uvicorn": {"api", "dev"}, "click": {"cli"}}
"""Libraries only these packages may import."""


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        yield ".".join(parts), path


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """``(line, imported module)`` for every import in the file, wherever it stands."""
    tree = ast.parse(path.read_text("utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
            if node.module == "sonicgen":  # ``from sonicgen import x``: x may be a subpackage
                yield from ((node.lineno, f"sonicgen.{alias.name}") for alias in node.names if (PACKAGE / alias.name).exists())


def layer(name: str, layers: tuple[set[str], ...]) -> int:
    found = [n for n, names in enumerate(layers) if name in names]
    assert found, f"{name} is in no layer: add it to the table in this test and to the README's list"
    return found[0]


def package_of(module: str) -> str:
    parts = module.split(".")
    return "sonicgen" if len(parts) == 1 or parts[1] == "__init__" else parts[1]


def test_packages_import_only_from_layers_below_them():
    wrong = []
    for module, path in modules():
        here = package_of(module)
        for line, target in imports(path):
            if not target.startswith("sonicgen") or target == "sonicgen.version":
                continue
            there = package_of(target)
            if there != here and layer(there, PACKAGE_LAYERS) >= layer(here, PACKAGE_LAYERS):
                wrong.append(f"{path.relative_to(REPO)}:{line}: {module} ({here}) imports {target} ({there}), which is not below it")
    assert wrong == [], "\n".join(wrong)


def test_build_modules_import_only_from_layers_below_them():
    wrong = []
    for module, path in modules():
        if package_of(module) != "build":
            continue
        here = module.split(".")[-1]
        for line, target in imports(path):
            if not target.startswith("sonicgen.build."):
                continue
            there = target.split(".")[2]
            if layer(there, BUILD_LAYERS) >= layer(here, BUILD_LAYERS):
                wrong.append(f"{path.relative_to(REPO)}:{line}: build.{here} imports build.{there}, which is not below it")
    assert wrong == [], "\n".join(wrong)


def test_server_and_command_line_libraries_stay_in_their_layers():
    wrong = []
    for module, path in modules():
        for line, target in imports(path):
            allowed = ONLY_IN.get(target.split(".")[0])
            if allowed is not None and package_of(module) not in allowed:
                wrong.append(f"{path.relative_to(REPO)}:{line}: {target} is for {', '.join(sorted(allowed))} only")
    assert wrong == [], "\n".join(wrong)


def test_the_layer_tables_name_every_package_and_build_module():
    packages = {package_of(module) for module, _ in modules()}
    assert packages == set().union(*PACKAGE_LAYERS)
    build = {module.split(".")[-1] for module, _ in modules() if package_of(module) == "build"}
    assert build == set().union(*BUILD_LAYERS)
