"""Hook dispatch overhead: ``python bench/hooks.py SITE_DIR [--runs 3] [--plugins 5]``.

Two figures. First, the registry alone: nanoseconds per ``pipe`` dispatch with no
handlers and with ``--plugins`` trivial handlers. Second, whole builds of SITE_DIR (make
one with ``bench/generate.py``) as separate processes, without and with ``--plugins``
local plugins that each handle every per-entry and per-page hook (``content:loaded``,
``render:context``, ``render:html``); runs alternate between the two (and which goes
first) so machine noise hits both alike, and the medians are compared, as wall time and as CPU time (user +
system of the build process, which other load on the machine disturbs much less).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import timeit
from pathlib import Path

from build import run_build_cpu  # bench/build.py: one whole-process build, timed

from sonicgen.hooks.registry import HookRegistry

PLUGIN = '''"""Benchmark plugin {n}: handles every per-entry and per-page hook and changes nothing."""
from sonicgen import Plugin


def setup(ctx):
    ctx.hook("content:loaded", lambda entry: None)
    ctx.hook("render:context", lambda context, page: None)
    ctx.hook("render:html", lambda html: None)


plugin = Plugin(name="bench-noop-{n}", setup=setup)
'''


def dispatch_ns(handlers: int, calls: int = 200_000) -> float:
    """Nanoseconds per ``render:html`` pipe dispatch through ``handlers`` no-op handlers."""
    registry = HookRegistry()
    for n in range(handlers):
        registry.register("render:html", lambda html: None, plugin=f"p{n}")
    seconds = min(timeit.repeat(lambda: registry.pipe("render:html", "<html>", page=None), number=calls, repeat=5))
    return seconds / calls * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("site", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--plugins", type=int, default=5)
    args = parser.parse_args()

    empty, loaded = dispatch_ns(0), dispatch_ns(args.plugins)
    print(f"registry: {empty:.0f} ns per dispatch with no handlers, {loaded:.0f} ns with {args.plugins} handlers")
    print(f"          ({(loaded - empty) / max(args.plugins, 1):.0f} ns per handler call)")

    with tempfile.TemporaryDirectory(prefix="sonicgen-hooks-") as tmp:
        bare, extra = Path(tmp) / "bare", Path(tmp) / "plugins"
        shutil.copytree(args.site, bare, ignore=shutil.ignore_patterns("dist", ".sonicgen"))
        shutil.copytree(bare, extra)
        (extra / "plugins").mkdir(exist_ok=True)
        for n in range(args.plugins):
            (extra / "plugins" / f"bench_noop_{n}.py").write_text(PLUGIN.format(n=n))
        wall: dict[str, list[float]] = {"bare": [], "plugins": []}
        cpu: dict[str, list[float]] = {"bare": [], "plugins": []}
        pairs = [("bare", bare), ("plugins", extra)]
        for round_ in range(args.runs):
            # Alternate which goes first, and flush the previous build's writes before timing the
            # next: otherwise the second build of each pair pays for the first one's dirty pages.
            for label, site in pairs if round_ % 2 == 0 else pairs[::-1]:
                out = Path(tmp) / f"dist-{label}"
                shutil.rmtree(out, ignore_errors=True)
                os.sync()
                seconds, cpu_seconds, _, _ = run_build_cpu(site, out)
                wall[label].append(seconds)
                cpu[label].append(cpu_seconds)
    for name, figures in (("wall", wall), ("CPU", cpu)):
        without, with_plugins = statistics.median(figures["bare"]), statistics.median(figures["plugins"])
        print(
            f"clean build {name} time, median of {args.runs}: {without:.2f} s without plugins, "
            f"{with_plugins:.2f} s with {args.plugins} plugins on every page hook ({(with_plugins / without - 1) * 100:+.1f} %)"
        )
    print(f"python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
