"""What a build renders with: what is published, the site graph over it, every output by path,
the templates and the theme's assets; assembled from the entries, or kept by a resident build
and given edited entries in place."""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from sonicgen.build.state import Resolve
from sonicgen.config import Config
from sonicgen.content import deps
from sonicgen.content.deps import Kind
from sonicgen.content.facts import Facts, Memo, definition, digest, fingerprint
from sonicgen.content.graph import Recorder, SiteGraph
from sonicgen.content.markup import MarkdownRenderer, create_markdown, pygments_css
from sonicgen.content.models import Entry
from sonicgen.content.outputs import File, Output, Page
from sonicgen.content.published import Published, publish
from sonicgen.content.rendered import Bodies
from sonicgen.content.urls import UrlError, base_path
from sonicgen.errors import PluginError, Problems
from sonicgen.hooks.loader import SitePlugins
from sonicgen.hooks.registry import HookRegistry
from sonicgen.render.assets import Assets, site_static, theme_assets
from sonicgen.render.templates import PageRenderer, RecordingEnvironment, check_named_templates, create_environment, template_fact


def markdown_renderer(config: Config, plugins: SitePlugins) -> MarkdownRenderer:
    """The Markdown renderer, with ``markdown:highlight`` handlers and ``markdown:setup`` changes."""
    registry = plugins.registry
    first_say = None
    if "markdown:highlight" in registry:

        def first_say(code: str, lang: str, attrs: str) -> str | None:
            return registry.first("markdown:highlight", code=code, lang=lang, attrs=attrs)

    parser = create_markdown(config.site.markdown, base_path(config.site.base_url))
    md = registry.pipe("markdown:setup", parser, config=config)
    return MarkdownRenderer(md, config.site.markdown, first_say)


@dataclass
class Site:
    """Everything a build renders with; a resident build keeps it for the next."""

    entries: list[Entry]  # as read, after ``content:loaded``
    published: Published
    graph: SiteGraph  # the recording view plugins and templates read
    outputs: dict[str, Output]  # by path
    foreign: set[str]  # paths of the outputs that plugins other than the built-in ones made
    env: RecordingEnvironment
    assets: Assets
    renderer: PageRenderer

    @property
    def recorder(self) -> Recorder:
        return self.graph.recorder

    @cached_property
    def pages(self) -> int:
        """How many of the outputs are pages (the rest are files)."""
        return sum(1 for output in self.outputs.values() if isinstance(output, Page))


def assemble(
    config: Config,
    plugins: SitePlugins,
    theme: Path,
    entries: list[Entry],
    data: Mapping[str, Any],
    *,
    bodies: Bodies,
    markdown: MarkdownRenderer,
    problems: Problems,
    now: datetime,
    drafts: bool,
    future: bool,
) -> Site:
    """What is published, its graph, every output the plugins make of it, the templates: raises
    BuildError with every problem found on the way."""
    registry = plugins.registry
    published = publish(config, entries, bodies=bodies, data=data, problems=problems, now=now, drafts=drafts, future=future)
    problems.check()
    graph = SiteGraph(published, Recorder())
    registry.notify("site:collected", site=graph)

    made, foreign = collect_outputs(graph, plugins.registry, plugins.builtin_names())
    style = config.site.markdown
    generated = {"pygments.css": pygments_css(style.highlight_style, style.highlight_style_dark).encode()} if style.highlight else {}
    assets = theme_assets(theme, config.links, generated)
    made += assets.files
    made += site_static(config.dir(config.site.static_dir), config.links, problems)
    outputs = outputs_by_path(made, problems)
    problems.check()

    env = create_environment([config.dir(config.site.templates_dir)], theme / "templates", graph, assets, markdown, plugins.extensions)
    registry.notify("render:env", env=env, config=config)
    check_named_templates(env, published, problems)
    problems.check()
    renderer = PageRenderer(
        env,
        graph,
        config.root,
        context_hook=lambda context, page: registry.pipe("render:context", context, page=page, subject=page.route),
        html_hook=lambda html, page: registry.pipe("render:html", html, page=page, subject=page.route),
    )
    by_others = {id(output) for output in foreign}
    foreign_paths = {path for path, output in outputs.items() if id(output) in by_others}
    return Site(entries, published, graph, outputs, foreign_paths, env, assets, renderer)


def edit(site: Site, edited: Mapping[int, Entry], others: HookRegistry) -> bool:
    """Take entries edited in their bodies alone into a kept site (``edited``: index in
    ``site.entries`` -> new entry), and make the outputs of plugins other than the built-in ones again
    (a plugin may read bodies while it makes them).  False when those outputs are not the ones made
    before, each as defined before: the site must then be assembled afresh."""
    for index, entry in edited.items():
        site.entries[index] = entry
        site.published.replace_entry(entry)
    made, _ = collect_outputs(site.graph, others, frozenset(), complete=False)
    problems = Problems()
    fresh = outputs_by_path(made, problems)
    memo: Memo = {}
    if problems.errors or fresh.keys() != site.foreign:
        return False
    if any(definition(output, memo) != definition(site.outputs[path], memo) for path, output in fresh.items()):
        return False
    site.outputs.update(fresh)
    return True


def collect_outputs(
    graph: SiteGraph, registry: HookRegistry, builtin: Set[str], *, complete: bool = True
) -> tuple[list[Output], list[Output]]:
    """Every output the plugins of ``registry`` make (with ``complete``, ``outputs:complete`` too),
    and those among them that plugins other than the ``builtin`` ones made."""
    outputs: list[Output] = []
    foreign: list[Output] = []
    for plugin, result in registry.collect("site:outputs", site=graph):
        made = checked_outputs(plugin, "site:outputs", result)
        outputs.extend(made)
        foreign.extend(made if plugin not in builtin else ())
    if complete:
        for plugin, result in registry.collect("outputs:complete", site=graph, outputs=list(outputs)):
            made = checked_outputs(plugin, "outputs:complete", result)
            outputs.extend(made)
            foreign.extend(made if plugin not in builtin else ())
    return outputs, foreign


def checked_outputs(plugin: str, hook: str, result: object) -> list[Output]:
    items = list(result)  # type: ignore[call-overload]
    for item in items:
        if not isinstance(item, (Page, File)):
            raise PluginError(plugin, hook, f"returned {type(item).__name__}; outputs must be sonicgen Page or File objects")
    return items


def outputs_by_path(outputs: list[Output], problems: Problems) -> dict[str, Output]:
    """Map output paths to outputs; two outputs at one path is an error naming both."""
    paths: dict[str, Output] = {}
    for output in outputs:
        try:
            path = output.path
        except UrlError as exc:
            problems.error(output.source, str(exc))
            continue
        other = paths.get(path)
        if other is not None:
            problems.error(output.source, f"writes {path}, which {other.source} also writes; change one of their permalinks")
            continue
        paths[path] = output
    return paths


def resolver(site: Site, renderer: str) -> Resolve:
    """The current fact of every key an output may read: of what is published
    (:class:`~sonicgen.content.facts.Facts`), and of the templates, assets and Markdown settings."""
    facts = Facts(site.published)
    assets = digest(fingerprint(dict(site.assets.routes)) or "")
    templates: dict[str, str] = {}

    def resolve(key: str) -> str | None:
        dep = deps.parse(key)
        if dep.kind is Kind.TEMPLATE:
            if dep.subject not in templates:
                templates[dep.subject] = template_fact(site.env, dep.subject)
            return templates[dep.subject]
        if dep.kind is Kind.MARKDOWN:
            return renderer
        if dep.kind is Kind.ASSETS:
            return assets
        return facts.of(dep)

    return resolve
