"""Taxonomy index pages (``/tags/``) and paginated term pages (``/tags/python/``)."""

from __future__ import annotations

from collections.abc import Iterator

from sonicgen.content.graph import SiteGraph, paginate
from sonicgen.content.outputs import Page
from sonicgen.hooks.plugin import Plugin, PluginContext


def outputs(site: SiteGraph) -> Iterator[Page]:
    for name, taxonomy in site.taxonomies.items():
        yield Page(
            taxonomy.route,
            (f"{name}/taxonomy.html", "taxonomy.html"),
            {"taxonomy": taxonomy},
            "taxonomy",
            taxonomy.title,
            f"taxonomy {name}",
        )
        size = taxonomy.config.page_size or 10
        for term in taxonomy.sorted_terms():
            for paginator in paginate(term.docs, size, term.route, site):
                suffix = f" (page {paginator.number})" if paginator.number > 1 else ""
                yield Page(
                    paginator.routes[paginator.number - 1],
                    (f"{name}/term.html", "term.html"),
                    {"taxonomy": taxonomy, "term": term, "paginator": paginator},
                    "term",
                    f"{taxonomy.title}: {term.name}{suffix}",
                    f"taxonomy {name} term {term.name!r}",
                )


def setup(ctx: PluginContext[None]) -> None:
    ctx.hook("site:outputs", outputs)


plugin = Plugin(name="taxonomies", version="1.0.0", description="Index and term pages for every taxonomy in site.yaml.", setup=setup)
