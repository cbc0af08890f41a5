"""The hook registry: validation at registration, priority order, modes, and errors naming the plugin."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from sonicgen import Cancel
from sonicgen.content.models import Entry, SourceRef
from sonicgen.errors import HookRegistrationError, PluginError
from sonicgen.hooks import CATALOGUE, HookRegistry


def test_handlers_run_by_priority_then_registration_order():
    registry = HookRegistry()
    calls = []
    registry.register("render:html", lambda html: calls.append("b10") or None, plugin="b")
    registry.register("render:html", lambda html: calls.append("a5") or None, plugin="a", priority=5)
    registry.register("render:html", lambda html: calls.append("c10") or None, plugin="c")
    registry.register("render:html", lambda html: calls.append("d-1") or None, plugin="d", priority=-1)
    registry.pipe("render:html", "<p>", page=None)
    assert calls == ["d-1", "a5", "b10", "c10"]


def test_pipe_passes_each_replacement_to_the_next_handler():
    registry = HookRegistry()
    registry.register("render:html", lambda html: html + "1", plugin="one")
    registry.register("render:html", lambda html: None, plugin="keeps")
    registry.register("render:html", lambda html, page: f"{html}2:{page}", plugin="two")
    assert registry.pipe("render:html", "x", page="p") == "x12:p"


def test_handlers_receive_only_the_arguments_they_name():
    registry = HookRegistry()
    seen = {}

    def handler(page, html):  # any order, any subset
        seen.update(page=page, html=html)

    registry.register("render:html", handler, plugin="p")
    registry.pipe("render:html", "<b>", page="the-page")
    assert seen == {"page": "the-page", "html": "<b>"}


def test_unknown_hook_is_rejected_at_registration():
    with pytest.raises(HookRegistrationError, match=r"plugin 'p': unknown hook 'render:htm'"):
        HookRegistry().register("render:htm", lambda html: None, plugin="p")


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        (lambda html, extra: None, "takes 'extra', which the hook does not provide"),
        (lambda *args: None, "must take named arguments"),
        (lambda page: None, "must accept 'html'"),
    ],
)
def test_handler_signatures_are_checked_at_registration(handler, message):
    with pytest.raises(HookRegistrationError, match=message):
        HookRegistry().register("render:html", handler, plugin="p")


def test_async_handler_for_sync_hook_is_rejected():
    async def handler(html):
        return html

    with pytest.raises(HookRegistrationError, match="must not be async"):
        HookRegistry().register("render:html", handler, plugin="p")


def test_priority_must_be_an_integer():
    with pytest.raises(HookRegistrationError, match="priority"):
        HookRegistry().register("render:html", lambda html: None, plugin="p", priority="high")  # type: ignore[arg-type]


def test_raising_handler_becomes_plugin_error_naming_plugin_hook_and_subject():
    registry = HookRegistry()

    def explode(html):
        raise ValueError("boom")

    registry.register("render:html", explode, plugin="exploder")
    with pytest.raises(PluginError) as info:
        registry.pipe("render:html", "x", page=None, subject="/blog/post/")
    assert str(info.value) == "plugin 'exploder', hook 'render:html' while processing /blog/post/: ValueError: boom"
    assert info.value.plugin == "exploder" and info.value.hook == "render:html"


def test_pipe_handler_returning_the_wrong_type_is_a_plugin_error():
    registry = HookRegistry()
    registry.register("render:html", lambda html: 42, plugin="numbers")
    with pytest.raises(PluginError, match="returned int, expected str or None"):
        registry.pipe("render:html", "x", page=None)


def test_collect_first_and_notify_modes():
    registry = HookRegistry()
    registry.register("site:outputs", lambda site: [1], plugin="a")
    registry.register("site:outputs", lambda site: None, plugin="b")
    registry.register("site:outputs", lambda site: [2, 3], plugin="c")
    assert registry.collect("site:outputs", site=None) == [("a", [1]), ("c", [2, 3])]
    seen = []
    registry.register("build:start", lambda config: seen.append(config), plugin="a")
    registry.notify("build:start", config="cfg", drafts=False, future=False)
    assert seen == ["cfg"]


def test_every_hook_in_the_catalogue_is_documented():
    for name, spec in CATALOGUE.items():
        assert spec.doc, f"hook {name} has no docstring"
        assert spec.mode in ("pipe", "collect", "first", "notify")
        if spec.mode == "pipe":
            assert spec.returns is not None


def test_first_mode_stops_at_the_first_answer():
    registry = HookRegistry()
    calls = []
    registry.register("markdown:highlight", lambda lang: calls.append("skip") or None, plugin="a")
    registry.register("markdown:highlight", lambda code, lang: f"<div class={lang}>{code}</div>", plugin="b")
    registry.register("markdown:highlight", lambda code: calls.append("never") or "x", plugin="c")
    assert registry.first("markdown:highlight", code="graph", lang="mermaid", attrs="") == "<div class=mermaid>graph</div>"
    assert calls == ["skip"]


def test_async_hooks_await_async_handlers_and_call_sync_ones_in_priority_order():
    registry = HookRegistry()
    calls = []

    async def late(entry):
        calls.append("async-20")
        return dataclasses.replace(entry, body=entry.body + "+async")

    def early(entry):
        calls.append("sync-5")
        return dataclasses.replace(entry, body=entry.body + "+sync")

    registry.register("content:save", late, plugin="a", priority=20)
    registry.register("content:save", early, plugin="b", priority=5)
    entry = Entry("posts", "a", {"title": "A"}, "body", SourceRef("content/posts/a.md"), "")
    result = asyncio.run(registry.apipe("content:save", entry, config=None, action="create"))
    assert result.body == "body+sync+async"
    assert calls == ["sync-5", "async-20"]


def test_async_hook_failure_is_a_plugin_error_and_sync_dispatch_is_refused():
    registry = HookRegistry()

    async def refuse(entry):
        raise Cancel("titles must not shout")

    registry.register("content:save", refuse, plugin="style")
    with pytest.raises(PluginError, match=r"plugin 'style', hook 'content:save' while processing a\.md: titles must not shout"):
        asyncio.run(registry.apipe("content:save", "e", config=None, action="create", subject="a.md"))
    with pytest.raises(RuntimeError, match="async"):
        registry.pipe("content:save", "e", config=None, action="create")


def test_tracer_sees_every_handler_call_and_dispatch():
    registry = HookRegistry()
    seen = []
    registry.tracer = lambda call: seen.append((call.hook, call.plugin, call.subject))
    registry.register("render:html", lambda html: None, plugin="a", priority=3)
    registry.pipe("render:html", "x", page=None, subject="/p/")
    registry.notify("build:start", config=None, drafts=False, future=False)
    assert seen == [("render:html", "a", "/p/"), ("render:html", None, "/p/"), ("build:start", None, None)]
