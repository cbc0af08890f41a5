"""Entry pages, paginated collection lists, the home page and the 404 page."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path, PurePosixPath

from sonicgen.content.graph import Doc, SiteGraph, paginate
from sonicgen.content.outputs import File, Page
from sonicgen.hooks.plugin import Plugin, PluginContext


def _describe(doc: Doc) -> str:
    return doc.description


def entry_page(doc: Doc) -> Page:
    c = doc.config
    templates = tuple(t for t in (doc.entry.template, c.template, f"{doc.collection}/entry.html", "entry.html") if t)
    lastmod = doc.fields.get("updated") or doc.date
    return Page(
        doc.route,
        templates,
        {"entry": doc},
        "entry",
        doc.title,
        doc.entry.source.path,
        description=partial(_describe, doc),
        sitemap=c.sitemap,
        lastmod=lastmod if hasattr(lastmod, "isoformat") else None,
        key=doc,  # the description is the doc's: what it reads of the doc is recorded
    )


def bundle_files(doc: Doc, root: Path) -> Iterator[File]:
    """Images and other files beside a bundle's ``index.md``, published next to its page."""
    if not doc.entry.bundle_files:
        return
    folder = PurePosixPath(doc.entry.source.path).parent
    base = doc.route if doc.route.endswith("/") else doc.route.rsplit("/", 1)[0] + "/"
    for name in doc.entry.bundle_files:
        source = (folder / name).as_posix()
        yield File(base + name, (root / source).read_bytes, source)


def outputs(site: SiteGraph) -> Iterator[Page | File]:
    yield Page("/", ("index.html",), {}, "home", site.title, "home page", description=site.description)
    yield Page("/404.html", ("404.html",), {}, "404", "Page not found", "404 page", sitemap=False)
    for collection in site.collections.values():
        for doc in collection.docs:
            yield entry_page(doc)
            yield from bundle_files(doc, site.config.root)
        if not collection.route:
            continue
        c = collection.config
        templates = tuple(t for t in (c.list_template, f"{collection.name}/list.html", "list.html") if t)
        for paginator in paginate(collection.docs, c.page_size, collection.route, site):
            suffix = f" (page {paginator.number})" if paginator.number > 1 else ""
            yield Page(
                paginator.routes[paginator.number - 1],
                templates,
                {"collection": collection, "paginator": paginator},
                "list",
                collection.title + suffix,
                f"collection {collection.name}",
                description=collection.description,
                sitemap=c.sitemap,
            )


def setup(ctx: PluginContext[None]) -> None:
    ctx.hook("site:outputs", outputs)


plugin = Plugin(name="pages", version="1.0.0", description="Entry pages, collection lists with pagination, home and 404.", setup=setup)
