"""Local plugins in a real build: every hook fires in order, pipes change what later stages see."""

from __future__ import annotations

import json

from conftest import BASIC_CONFIG, post, run

from sonicgen.hooks.spec import CATALOGUE

RECORDER = """
import dataclasses
import json
from pathlib import Path

from sonicgen import Plugin
from sonicgen.content.outputs import File

LOG = Path(__file__).parent.parent / "hook-log.json"
calls = []


def setup(ctx):
    def log(name):
        if name not in calls:
            calls.append(name)

    def config_loaded(config):
        log("config:loaded")

    def build_start(config, drafts, future):
        log("build:start")

    def markdown_setup(md):
        log("markdown:setup")

    def content_loaded(entry):
        log("content:loaded")
        fields = dict(entry.fields, title=entry.fields["title"].upper())
        return dataclasses.replace(entry, fields=fields)

    def highlight(code, lang):
        log("markdown:highlight")
        return f"<pre class=plugin>{lang}</pre>" if lang == "shout" else None

    def site_collected(site):
        log("site:collected")

    def site_outputs(site):
        log("site:outputs")
        return [File("/extra.txt", "from a plugin", "recorder")]

    def outputs_complete(outputs):
        log("outputs:complete")
        return [File("/count.txt", str(len(outputs)), "recorder")]

    def render_env(env):
        log("render:env")

    def render_context(context):
        log("render:context")
        return {**context, "stamp": "ctx-from-plugin"}

    def render_html(html):
        log("render:html")
        return html.replace("</body>", "<!-- tagged --></body>")

    def build_done(summary):
        log("build:done")
        LOG.write_text(json.dumps({"calls": calls, "pages": summary.pages}))

    for hook, fn in [
        ("config:loaded", config_loaded), ("build:start", build_start), ("markdown:setup", markdown_setup),
        ("content:loaded", content_loaded), ("markdown:highlight", highlight), ("site:collected", site_collected),
        ("site:outputs", site_outputs), ("outputs:complete", outputs_complete), ("render:env", render_env),
        ("render:context", render_context), ("render:html", render_html), ("build:done", build_done),
    ]:
        ctx.hook(hook, fn)
    ctx.filter("shout", lambda s: str(s).upper() + "!")


plugin = Plugin(name="recorder", version="1.0.0", setup=setup)
"""


def test_every_hook_fires_in_order_and_pipes_feed_the_next_stage(make_site):
    site = make_site(
        {
            "plugins/recorder.py": RECORDER,
            "content/posts/a.md": post("quiet title", body="```shout\nhello\n```\n"),
            "templates/entry.html": "{% extends 'theme:entry.html' %}{% block description %}{{ stamp }} {{ 'hey'|shout }}{% endblock %}",
        }
    )
    result = run(site, "build")
    assert result.exit_code == 0, result.output
    log = json.loads((site / "hook-log.json").read_text())
    # Markdown renders lazily, the first time any output needs it, so highlight has no fixed place.
    assert "markdown:highlight" in log["calls"]
    assert [c for c in log["calls"] if c != "markdown:highlight"] == [
        "config:loaded",
        "build:start",
        "markdown:setup",
        "content:loaded",
        "site:collected",
        "site:outputs",
        "outputs:complete",
        "render:env",
        "render:context",
        "render:html",
        "build:done",
    ]
    # Every hook of the catalogue fires somewhere: the build's here, content:save/saved in test_plugin_platform.
    assert {*log["calls"], "content:save", "content:saved"} == set(CATALOGUE)
    html = (site / "dist/posts/2024/a/index.html").read_text()
    assert "QUIET TITLE" in html  # content:loaded replacement reached the template
    assert "ctx-from-plugin HEY!" in html  # render:context variable and plugin filter
    assert html.rstrip().endswith("<!-- tagged --></body>\n</html>") or "<!-- tagged --></body>" in html
    assert "<pre class=plugin>shout</pre>" in html  # markdown:highlight answer used
    assert (site / "dist/extra.txt").read_text() == "from a plugin"
    assert int((site / "dist/count.txt").read_text()) > 5


def test_plugin_config_is_validated_with_site_yaml_lines(make_site):
    config = BASIC_CONFIG + "plugins:\n  json-api:\n    page_size: lots\n"
    site = make_site({"content/posts/a.md": post("A")}, config=config)
    result = run(site, "build")
    assert result.exit_code == 1
    assert "site.yaml:18: plugins.json-api.page_size: expected `int`, got `str`" in result.output


def test_unknown_plugin_name_in_site_yaml_is_an_error(make_site):
    config = BASIC_CONFIG + "plugins:\n  no-such-plugin: {}\n"
    site = make_site({"content/posts/a.md": post("A")}, config=config)
    result = run(site, "build")
    assert result.exit_code == 1
    assert "site.yaml:17: plugins.no-such-plugin: no plugin named 'no-such-plugin'" in result.output


def test_two_plugins_with_one_name_are_an_error(make_site):
    plugin = "from sonicgen import Plugin\nplugin = Plugin(name='twin', setup=lambda ctx: None)\n"
    site = make_site({"plugins/one.py": plugin, "plugins/two.py": plugin, "content/posts/a.md": post("A")})
    result = run(site, "build")
    assert result.exit_code == 1
    assert "plugins/two.py: plugin name 'twin' is already used by plugins/one.py" in result.output


def test_plugin_registering_unknown_hook_is_named(make_site):
    plugin = "from sonicgen import Plugin\nplugin = Plugin(name='typo', setup=lambda ctx: ctx.hook('render:htm', lambda html: None))\n"
    site = make_site({"plugins/typo.py": plugin, "content/posts/a.md": post("A")})
    result = run(site, "build")
    assert result.exit_code == 1
    assert "plugins/typo.py:2: plugin 'typo': unknown hook 'render:htm'" in result.output


def test_site_and_plugin_settings_errors_are_listed_together(make_site):
    config = BASIC_CONFIG.replace("timezone: UTC", "timezone: Mars/Olympus") + "plugins:\n  json-api:\n    page_size: lots\n"
    site = make_site({"content/posts/a.md": post("A")}, config=config)
    result = run(site, "build")
    assert result.exit_code == 1
    assert "site.yaml:3: timezone: unknown time zone 'Mars/Olympus'" in result.output
    assert "site.yaml:18: plugins.json-api.page_size: expected `int`, got `str`" in result.output
