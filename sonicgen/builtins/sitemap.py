"""``sitemap.xml`` (an index of numbered sitemaps past 50,000 URLs) and ``robots.txt``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import partial
from typing import Annotated
from xml.etree import ElementTree as ET

import msgspec

from sonicgen.content.graph import SiteGraph
from sonicgen.content.outputs import File, Page
from sonicgen.hooks.plugin import Plugin, PluginContext

NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
LIMIT = 50_000


class SitemapConfig(msgspec.Struct, kw_only=True):
    max_urls: Annotated[int, msgspec.Meta(ge=1, le=LIMIT)] = LIMIT
    robots: bool = True
    disallow: list[str] = msgspec.field(default_factory=list)


def _xml(root: ET.Element) -> bytes:
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _urlset(urls: list[tuple[str, datetime | None]]) -> bytes:
    root = ET.Element("urlset", xmlns=NS)
    for loc, lastmod in urls:
        url = ET.SubElement(root, "url")
        ET.SubElement(url, "loc").text = loc
        if lastmod is not None:
            ET.SubElement(url, "lastmod").text = lastmod.isoformat(timespec="seconds")
    return _xml(root)


def _index(locations: list[tuple[str, datetime | None]]) -> bytes:
    root = ET.Element("sitemapindex", xmlns=NS)
    for loc, lastmod in locations:
        sitemap = ET.SubElement(root, "sitemap")
        ET.SubElement(sitemap, "loc").text = loc
        if lastmod is not None:
            ET.SubElement(sitemap, "lastmod").text = lastmod.isoformat(timespec="seconds")
    return _xml(root)


def setup(ctx: PluginContext[SitemapConfig]) -> None:
    cfg = ctx.config

    def complete(site: SiteGraph, outputs: list[Page | File]) -> Iterator[File]:
        pages = sorted((o for o in outputs if o.sitemap), key=lambda o: o.route)
        urls = [(site.absolute(o.route), o.lastmod if isinstance(o, Page) else None) for o in pages]
        source = "sitemap plugin"
        if len(urls) <= cfg.max_urls:
            yield File("/sitemap.xml", partial(_urlset, urls), source, "application/xml", key=urls)
        else:
            chunks = [urls[i : i + cfg.max_urls] for i in range(0, len(urls), cfg.max_urls)]
            entries = []
            for number, chunk in enumerate(chunks, 1):
                route = f"/sitemap-{number}.xml"
                yield File(route, partial(_urlset, chunk), source, "application/xml", key=chunk)
                dates = [d for _, d in chunk if d is not None]
                entries.append((site.absolute(route), max(dates) if dates else None))
            yield File("/sitemap.xml", _index(entries), source, "application/xml")
        if cfg.robots:
            lines = [
                "User-agent: *",
                *(f"Disallow: {path}" for path in cfg.disallow),
                "Allow: /",
                "",
                f"Sitemap: {site.absolute('/sitemap.xml')}",
                "",
            ]
            yield File("/robots.txt", "\n".join(lines), source, "text/plain; charset=utf-8")

    ctx.hook("outputs:complete", complete)


plugin = Plugin(
    name="sitemap", version="1.0.0", description="sitemap.xml (split past 50,000 URLs) and robots.txt.", config=SitemapConfig, setup=setup
)
