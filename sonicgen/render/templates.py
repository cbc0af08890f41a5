"""The Jinja2 environment (autoescape, StrictUndefined, site templates over the theme's)
and page rendering with errors that name the template file and line."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from sonicgen.content import deps
from sonicgen.content.facts import GONE, digest
from sonicgen.content.graph import Recorder, SiteGraph
from sonicgen.content.markup import MarkdownRenderer
from sonicgen.content.models import BodyUnavailable
from sonicgen.content.outputs import Page
from sonicgen.content.published import Published
from sonicgen.content.urls import slugify
from sonicgen.errors import Problem, Problems
from sonicgen.hooks.plugin import Extensions
from sonicgen.render.assets import Assets
from sonicgen.version import __version__


@dataclass(frozen=True, slots=True)
class PageInfo:
    """``page`` in templates: what kind of page this is and where it lives."""

    kind: str
    title: str
    url: str
    permalink: str
    description: str
    route: str


def format_date(value: date | datetime | None, fmt: str = "%B %-d, %Y") -> str:
    if value is None:
        return ""
    return value.strftime(fmt.replace("%-d", str(value.day)).replace("%-m", str(value.month)))


def isodate(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return value.isoformat()


class RecordingEnvironment(jinja2.Environment):
    """Notes every template a page loads (``extends``, ``include``, ``import``, and the candidates it
    looked for and did not find) in the build's recorder, through Jinja's public loading methods.

    Names found missing stay missing for the build: Jinja caches templates, not misses, and
    every entry page asks for ``<collection>/entry.html`` before ``entry.html``.
    """

    def __init__(self, recorder: Recorder, **options: Any) -> None:
        super().__init__(**options)
        self.recorder = recorder
        self.missing: set[str] = set()

    def get_template(
        self,
        name: str | jinja2.Template,
        parent: str | None = None,
        globals: MutableMapping[str, Any] | None = None,
    ) -> jinja2.Template:
        if isinstance(name, jinja2.Template):
            return name
        if parent is not None:
            name = self.join_path(name, parent)
        self.recorder.note(deps.template(name))
        if name in self.missing:
            raise jinja2.TemplateNotFound(name)
        try:
            return super().get_template(name, None, globals)
        except jinja2.TemplateNotFound:
            self.missing.add(name)
            raise

    def select_template(
        self,
        names: Iterable[str | jinja2.Template],
        parent: str | None = None,
        globals: MutableMapping[str, Any] | None = None,
    ) -> jinja2.Template:
        """The first of ``names`` that exists, each looked up (and noted) through :meth:`get_template`."""
        names = list(names)
        for name in names:
            try:
                return self.get_template(name, parent, globals)
            except jinja2.TemplateNotFound:
                continue
        raise jinja2.TemplatesNotFound(names)  # type: ignore[arg-type]


def template_fact(env: jinja2.Environment, name: str) -> str:
    """Which file a template name resolves to and what it holds, or GONE."""
    assert env.loader is not None
    try:
        source, filename, _ = env.loader.get_source(env, name)
    except jinja2.TemplateNotFound:
        return GONE
    return digest(f"{filename}\n{source}")


def create_environment(
    template_dirs: list[Path],
    theme_templates: Path,
    site: SiteGraph,
    assets: Assets,
    markdown: MarkdownRenderer,
    extensions: Extensions,
) -> RecordingEnvironment:
    """Site templates override the theme's; ``theme:NAME`` always reaches the theme's own file."""
    theme_loader = jinja2.FileSystemLoader(str(theme_templates))
    loader = jinja2.ChoiceLoader(
        [
            *(jinja2.FileSystemLoader(str(d)) for d in template_dirs if d.is_dir()),
            theme_loader,
            jinja2.PrefixLoader({"theme": theme_loader}, delimiter=":"),
        ]
    )
    recorder = site.recorder
    env = RecordingEnvironment(
        recorder,
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )

    def noted(key: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            recorder.note(key)
            return fn(*args)

        return call

    env.globals.update(
        site=site,
        url=site.url,
        absolute_url=site.absolute,
        asset=noted(deps.ASSETS, lambda name: site.url(assets.route(name))),
        has_asset=noted(deps.ASSETS, lambda name: name.lstrip("/") in assets.routes),
        sonicgen_version=__version__,
    )
    env.filters.update(
        date=format_date,
        isodate=isodate,
        markdown=noted(deps.MARKDOWN, lambda text: Markup(markdown.render(str(text or "")).html)),
        slugify=slugify,
        absolute_url=site.absolute,
    )
    env.filters.update(extensions.filters)
    env.tests.update(extensions.tests)
    env.globals.update(extensions.globals)
    return env


class TemplateFailure(Exception):
    """A page could not be rendered; ``problem`` says where and why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def check_named_templates(env: jinja2.Environment, site: Published, problems: Problems) -> None:
    """Templates a user named (collection ``template``/``list_template``, front matter ``template``) must exist.

    Falling back to the default template would hide the typo until someone looks at the page.
    """

    def missing(name: str) -> bool:
        try:
            env.get_template(name)
        except jinja2.TemplateNotFound:
            return True
        except jinja2.TemplateSyntaxError:
            return False  # reported, with its line, when a page renders it
        return False

    where = "in the site's templates/ or the theme"
    config = site.config
    for name, collection in site.collections.items():
        for key in ("template", "list_template"):
            chosen = getattr(collection.config, key)
            if chosen and missing(chosen):
                line = config.line_of("collections", name, key)
                problems.error(config.source, f"{chosen!r} not found {where}", line=line, field=f"collections.{name}.{key}")
        for doc in collection.docs:
            entry = doc.entry
            if entry.template and missing(entry.template):
                problems.error(
                    entry.source.path,
                    f"{entry.template!r} not found {where}",
                    line=entry.source.line_of("template"),
                    field="template",
                )


class PageRenderer:
    """Renders pages with one environment; the hooks may change context and HTML."""

    def __init__(
        self,
        env: jinja2.Environment,
        site: SiteGraph,
        root: Path,
        context_hook: Callable[[Mapping[str, Any], Page], Mapping[str, Any]],
        html_hook: Callable[[str, Page], str],
    ) -> None:
        self.env = env
        self.site = site
        self.root = root
        self.context_hook = context_hook
        self.html_hook = html_hook

    def render(self, page: Page) -> str:
        try:
            template = self.env.select_template(list(page.templates))
        except jinja2.TemplateNotFound:
            raise TemplateFailure(
                Problem(
                    page.source,
                    f"no template for {page.route}; looked for {', '.join(page.templates)} in the site's templates/ and the theme",
                )
            ) from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateFailure(self._syntax_problem(exc)) from None
        description = page.description() if callable(page.description) else page.description
        info = PageInfo(page.kind, page.title, self.site.url(page.route), self.site.absolute(page.route), description, page.route)
        context = self.context_hook({"page": info, **page.context}, page)
        try:
            html = template.render(context)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateFailure(self._syntax_problem(exc)) from None
        except jinja2.TemplateError as exc:
            raise TemplateFailure(self._runtime_problem(exc, page, template)) from None
        except BodyUnavailable:
            raise  # a content problem, not the template's
        except Exception as exc:  # a filter or global raised: still a template problem, with its line
            raise TemplateFailure(self._runtime_problem(exc, page, template, prefix=f"{type(exc).__name__}: ")) from None
        return self.html_hook(html, page)

    def _rel(self, filename: str | None) -> str:
        if not filename:
            return "<template>"
        try:
            return Path(filename).resolve().relative_to(self.root).as_posix()
        except ValueError:
            return filename

    def _syntax_problem(self, exc: jinja2.TemplateSyntaxError) -> Problem:
        return Problem(self._rel(exc.filename), f"template syntax error: {exc.message}", exc.lineno)

    def _runtime_problem(self, exc: BaseException, page: Page, template: jinja2.Template, prefix: str = "") -> Problem:
        frame = None
        for candidate in traceback.extract_tb(exc.__traceback__):
            if candidate.filename.endswith((".html", ".xml", ".j2", ".jinja", ".txt")):
                frame = candidate
        filename = frame.filename if frame else template.filename
        message = str(exc)
        if isinstance(exc, jinja2.UndefinedError):
            message = f"undefined variable: {message}"
        return Problem(self._rel(filename), f"{prefix}{message} (while rendering {page.route})", frame.lineno if frame else None)
