"""The plugin platform: discovery, order, metadata and dependencies, extension points, status and docs."""

from __future__ import annotations

import os
import re
from pathlib import Path

from conftest import BASIC_CONFIG, REPO, post, run, run_process, write_tree
from litestar import Litestar
from litestar.testing import TestClient

from sonicgen.api.plugins import plugin_middleware, plugin_routers
from sonicgen.config import load_config
from sonicgen.hooks.loader import load_plugins
from sonicgen.hooks.reference import hook_reference
from sonicgen.hooks.spec import CATALOGUE


def tagger(name: str, *, priority: int = 10, version: str = "1.0.0", depends: str = "{}", requires: str = "") -> str:
    """A plugin that appends ``<!-- name -->`` to every page and records when it was set up."""
    return f"""
from pathlib import Path
from sonicgen import Plugin

def setup(ctx):
    log = Path(ctx.site.root) / "setup-order.txt"
    log.write_text((log.read_text() if log.exists() else "") + "{name}\\n")
    ctx.hook("render:html", lambda html: html.replace("</body>", "<!-- {name} --></body>"), priority={priority})

plugin = Plugin(name="{name}", version="{version}", depends={depends}, requires="{requires}", setup=setup)
"""


def markers(site: Path) -> list[str]:
    html = (site / "dist/posts/2024/a/index.html").read_text()
    return re.findall(r"<!-- (\w+) -->", html)


def test_site_yaml_order_breaks_priority_ties_and_priority_wins(make_site):
    files = {"content/posts/a.md": post("A"), "plugins/one.py": tagger("one"), "plugins/two.py": tagger("two")}
    site = make_site(files)
    assert run(site, "build").exit_code == 0
    assert markers(site) == ["one", "two"]  # discovery order (file names)

    (site / "site.yaml").write_text(BASIC_CONFIG + "plugins:\n  two: true\n  one: true\n")
    assert run(site, "build").exit_code == 0
    assert markers(site) == ["two", "one"]  # site.yaml order

    (site / "plugins/one.py").write_text(tagger("one", priority=1))
    assert run(site, "build").exit_code == 0
    assert markers(site) == ["one", "two"]  # lower priority first, whatever the order


def test_dependencies_are_set_up_first_and_checked(make_site):
    files = {
        "content/posts/a.md": post("A"),
        "plugins/app.py": tagger("app", depends='{"base": ">=1.0"}'),
        "plugins/base.py": tagger("base", version="1.2.0"),
    }
    site = make_site(files)
    assert run(site, "build").exit_code == 0
    assert (site / "setup-order.txt").read_text().split() == ["base", "app"]

    (site / "plugins/base.py").write_text(tagger("base", version="0.9.0"))
    result = run(site, "build")
    assert result.exit_code == 1
    assert "plugins/app.py: plugin 'app' needs plugin 'base' >=1.0, but plugins/base.py is version 0.9.0" in result.output

    (site / "site.yaml").write_text(BASIC_CONFIG + "plugins:\n  base: false\n")
    result = run(site, "build")
    assert "plugin 'app' depends on plugin 'base', which site.yaml disables" in result.output

    (site / "plugins/base.py").unlink()
    (site / "site.yaml").write_text(BASIC_CONFIG)
    result = run(site, "build")
    assert result.exit_code == 1
    assert "plugins/app.py: plugin 'app' depends on plugin 'base', which was not found (looked in the built-ins" in result.output


def test_required_sonicgen_version_is_checked(make_site):
    site = make_site({"content/posts/a.md": post("A"), "plugins/future.py": tagger("future", requires=">=99")})
    result = run(site, "build")
    assert result.exit_code == 1
    assert "plugins/future.py: plugin 'future' needs sonicgen >=99, but this is sonicgen 0." in result.output


def test_from_loads_a_plugin_from_a_path_or_a_module(make_site, tmp_path):
    vendor = tmp_path / "vendor"
    write_tree(vendor, {"extra_tagger.py": tagger("extra"), "pkgtagger/__init__.py": tagger("pkg")})
    config = BASIC_CONFIG + f"plugins:\n  extra:\n    from: {vendor / 'extra_tagger.py'}\n  pkg:\n    from: pkgtagger\n"
    site = make_site({"content/posts/a.md": post("A")}, config=config)
    proc = run_process(site, "build", env={"PYTHONPATH": str(vendor)})
    assert proc.returncode == 0, proc.stderr
    assert markers(site) == ["extra", "pkg"]

    (site / "site.yaml").write_text(BASIC_CONFIG + "plugins:\n  gone:\n    from: no_such_module_xyz\n  pkg:\n    from: pkgtagger\n")
    proc = run_process(site, "build", env={"PYTHONPATH": str(vendor)})
    assert proc.returncode == 1
    assert "site.yaml:18: plugins.gone.from: cannot import module 'no_such_module_xyz'" in proc.stderr


def test_installed_plugin_is_found_through_its_entry_point(make_site, tmp_path):
    installed = tmp_path / "site-packages"
    write_tree(
        installed,
        {
            "sonicgen_stamp/__init__.py": '"""Stamps pages."""\n' + tagger("stamp"),
            "sonicgen_stamp-2.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: sonicgen-stamp\nVersion: 2.0\n",
            "sonicgen_stamp-2.0.dist-info/entry_points.txt": "[sonicgen.plugins]\nstamp = sonicgen_stamp:plugin\n",
        },
    )
    site = make_site({"content/posts/a.md": post("A")})
    env = {"PYTHONPATH": str(installed)}
    proc = run_process(site, "build", env=env)
    assert proc.returncode == 0, proc.stderr
    assert markers(site) == ["stamp"]
    listing = run_process(site, "plugins", env=env).stdout
    assert "stamp 1.0.0  installed  installed plugin stamp (sonicgen_stamp:plugin)  enabled" in listing
    assert "hooks: render:html (10)" in listing


def test_plugins_listing_and_info_show_source_state_hooks_and_settings(make_site):
    config = BASIC_CONFIG + "plugins:\n  feeds: false\n"
    site = make_site({"plugins/reading_time.py": (REPO / "plugins/reading_time.py").read_text()}, config=config)
    result = run(site, "plugins")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "feeds 1.0.0  built-in  sonicgen.builtins.feeds  disabled" in lines
    assert "reading-time 1.0.0  local  plugins/reading_time.py  enabled" in lines
    assert "    hooks: render:context (10)" in lines
    assert "    template filters: reading_time" in lines

    info = run(site, "plugins", "info", "reading-time").output
    assert "words_per_minute: integer (default 230, ≥50, ≤2000)" in info
    assert "Reading time: a ``reading_time`` template filter" in info  # the module's documentation
    missing = run(site, "plugins", "info", "nope")
    assert missing.exit_code == 1 and "no plugin named 'nope'" in missing.output


def test_debug_hooks_traces_every_call_with_plugin_priority_and_duration(make_site):
    site = make_site({"content/posts/a.md": post("A"), "plugins/one.py": tagger("one", priority=7)})
    proc = run_process(site, "build", "--debug-hooks")
    assert proc.returncode == 0, proc.stderr
    traced = [line for line in proc.stderr.splitlines() if line.startswith("hook ")]
    assert any(
        re.fullmatch(r"hook render:html one:setup\.<locals>\.<lambda> \(priority 7\) \d+\.\d{3} ms \[/posts/2024/a/\]", t) for t in traced
    )
    fired = {t.split()[1] for t in traced}
    assert {"config:loaded", "content:loaded", "site:outputs", "render:html", "build:done"} <= fired
    again = run_process(site, "build", "--clean", "-vv").stderr  # --clean: an incremental build would render nothing
    assert again.count("hook render:html") == len([t for t in traced if "render:html" in t])


COMMANDS = '''
import click
from sonicgen import Plugin

def setup(ctx):
    @click.command()
    @click.option("--name", default="world")
    def greet(name):
        """Say hello."""
        click.echo(f"hello {name} from {ctx.site.site.title}")

    ctx.command(greet)

plugin = Plugin(name="hello", description="Greetings.", setup=setup)
'''


NOT_A_COMMAND = """
from sonicgen import Plugin

def setup(ctx):
    ctx.command(lambda: None)

plugin = Plugin(name="loose", setup=setup)
"""


def test_a_plugin_command_that_is_not_a_click_command_is_refused_when_it_registers(make_site):
    site = make_site({"plugins/loose.py": NOT_A_COMMAND})
    result = run(site, "build")
    assert result.exit_code == 1
    assert "plugin 'loose': commands must be named click commands (use @click.command())" in result.output


def test_plugin_commands_run_as_sonicgen_plugin_command(make_site):
    site = make_site({"plugins/hello.py": COMMANDS})
    result = run(site, "hello", "greet", "--name", "Ada")
    assert result.exit_code == 0, result.output
    assert result.output == "hello Ada from Test Site\n"
    assert "hello" in run(site, "--help").output
    assert "Say hello." in run(site, "hello", "--help").output
    assert "commands: sonicgen hello greet" in run(site, "plugins").output
    assert run(site, "nonsense").exit_code == 2  # still click's usage error for unknown commands


SAVE_HOOKS = """
import dataclasses
from pathlib import Path
from sonicgen import Cancel, Plugin

def setup(ctx):
    async def stamp(entry, action):
        if "forbidden" in entry.fields["title"].lower():
            raise Cancel("titles may not contain 'forbidden'")
        return dataclasses.replace(entry, extra={**entry.extra, "created_by": f"stamp ({action})"}, body="Write here.\\n")

    def saved(entry, path):
        (Path(ctx.site.root) / "saved.log").write_text(f"{entry.slug} {path}\\n")

    ctx.hook("content:save", stamp)
    ctx.hook("content:saved", saved)

plugin = Plugin(name="stamp", setup=setup)
"""


def test_content_save_hooks_change_or_cancel_a_new_entry(make_site):
    site = make_site({"plugins/stamp.py": SAVE_HOOKS})
    result = run(site, "new", "posts", "Hello There")
    assert result.exit_code == 0, result.output
    text = (site / "content/posts/hello-there.md").read_text()
    assert "created_by: stamp (create)" in text and text.endswith("---\n\nWrite here.\n")
    assert (site / "saved.log").read_text() == "hello-there content/posts/hello-there.md\n"

    refused = run(site, "new", "posts", "A forbidden post")
    assert refused.exit_code == 1
    assert "plugin 'stamp', hook 'content:save' while processing content/posts/a-forbidden-post.md: titles may not contain 'forbidden'" in (
        refused.output
    )
    assert not (site / "content/posts/a-forbidden-post.md").exists()


REPLACEMENT_FEED = """
from sonicgen import Plugin
from sonicgen.content.outputs import File

def setup(ctx):
    ctx.hook("site:outputs", lambda site: [File("/feed.xml", "<feed>mine</feed>", "my-feed", "application/atom+xml")])

plugin = Plugin(name="my-feed", setup=setup)
"""


def test_a_builtin_can_be_replaced_by_a_local_plugin(make_site):
    site = make_site({"content/posts/a.md": post("A"), "plugins/my_feed.py": REPLACEMENT_FEED})
    result = run(site, "build")
    assert result.exit_code == 0, result.output  # no collision: the built-in writes per-collection feeds
    (site / "site.yaml").write_text(BASIC_CONFIG + "plugins:\n  feeds: false\n")
    assert run(site, "build").exit_code == 0
    assert (site / "dist/feed.xml").read_text() == "<feed>mine</feed>"
    assert not (site / "dist/posts/atom.xml").exists() and not (site / "dist/posts/feed.xml").exists()


API_PLUGIN = """
from litestar import get
from litestar.middleware import ASGIMiddleware
from sonicgen import Plugin


class Stamp(ASGIMiddleware):
    async def handle(self, scope, receive, send, next_app):
        async def send_stamped(message):
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-plugin", b"stamped"))
            await send(message)

        await next_app(scope, receive, send_stamped)


def setup(ctx):
    @get("/hello")
    async def hello() -> dict[str, str]:
        return {"hello": ctx.site.site.title}

    ctx.route(hello)
    ctx.middleware(Stamp())

plugin = Plugin(name="api-demo", setup=setup)
"""


def test_plugin_routes_and_middleware_mount_on_a_litestar_app(make_site):
    site = make_site({"plugins/api_demo.py": API_PLUGIN})
    config, _ = load_config(site / "site.yaml")
    plugins = load_plugins(config)
    denied: list[str] = []

    def guard(connection, handler) -> None:
        denied.append(connection.url.path)

    app = Litestar(route_handlers=plugin_routers(plugins, guards=[guard]), middleware=plugin_middleware(plugins))
    with TestClient(app) as client:
        response = client.get("/plugins/api-demo/hello")
        assert response.status_code == 200
        assert response.json() == {"hello": "Test Site"}
        assert response.headers["x-plugin"] == "stamped"
        assert client.get("/hello").status_code == 404  # namespaced: a plugin cannot claim top-level paths
    assert denied == ["/plugins/api-demo/hello"]  # the API's guards run on plugin routes


def test_plugin_guide_hook_reference_matches_the_catalogue():
    path = REPO / "content/docs/plugins.md"
    guide = path.read_text()
    start = guide.index("<!-- hook-reference:start -->\n") + len("<!-- hook-reference:start -->\n")
    end = guide.index("<!-- hook-reference:end -->")
    expected, current = "\n" + hook_reference() + "\n", guide[start:end]
    if current != expected and os.environ.get("SONICGEN_UPDATE_DOCS"):
        path.write_text(guide[:start] + expected + guide[end:])
        current = expected
    assert current == expected, "the hook reference is stale: run SONICGEN_UPDATE_DOCS=1 pytest tests/test_plugin_platform.py"
    for name in CATALOGUE:
        assert f"### `{name}`" in current


def test_a_plugin_that_fails_to_import_stops_all_setup(make_site):
    site = make_site({"content/posts/a.md": post("A"), "plugins/a_good.py": tagger("good"), "plugins/b_bad.py": "def broken(:\n"})
    result = run(site, "build")
    assert result.exit_code == 1
    assert "plugins/b_bad.py:1: plugin has a syntax error" in result.output
    assert not (site / "setup-order.txt").exists()  # the good plugin was not set up half-way
