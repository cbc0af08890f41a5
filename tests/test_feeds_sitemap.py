"""Feeds and sitemaps checked by real parsers: feedparser and the sitemaps.org XML schemas."""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest
from conftest import BASIC_CONFIG, post, run
from lxml import etree

DATA = Path(__file__).parent / "data"


def posts(count: int) -> dict[str, str]:
    return {
        f"content/posts/p{i:03d}.md": post(
            f"Post {i} & <friends>", f"2024-01-{1 + i % 28:02d}T{i % 24:02d}:00:00Z", ["news"], body=f"Body **{i}**."
        )
        for i in range(count)
    }


def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(DATA / name)))


@pytest.mark.parametrize("name", ["atom.xml", "rss.xml"])
def test_feeds_parse_cleanly_with_the_right_entries(make_site, name):
    config = BASIC_CONFIG.replace("    page_size: 2\n", "    page_size: 2\n    feed_limit: 20\n")
    site = make_site(posts(25), config=config)
    assert run(site, "build").exit_code == 0
    feed = feedparser.parse((site / "dist/posts" / name).read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert len(feed.entries) == 20
    titles = [e.title for e in feed.entries]
    assert "Post 10 & <friends>" in titles and "Post 3 & <friends>" not in titles
    newest = feed.entries[0]
    assert newest.link.startswith("https://test.example/posts/2024/")
    assert "<strong>" in newest.content[0].value
    assert [t.term for t in newest.tags] == ["news"]


def test_feed_is_discoverable_from_pages(make_site):
    site = make_site(posts(1))
    assert run(site, "build").exit_code == 0
    html = (site / "dist/index.html").read_text()
    assert 'type="application/atom+xml"' in html and 'href="/posts/atom.xml"' in html
    assert 'type="application/rss+xml"' in html and 'href="/posts/rss.xml"' in html


def test_a_feed_without_entries_is_the_same_in_every_build(make_site, tmp_path):
    """feedgen dates a feed without entries at the time it is made; ours never depends on when it is built."""
    site = make_site({"content/posts/later.md": post("Later", "2099-01-01T00:00:00Z")})  # in the future: not published
    for out in ("a", "b"):
        assert run(site, "build", "--out", str(tmp_path / out)).exit_code == 0
    for name in ("atom.xml", "rss.xml"):
        data = (tmp_path / "a/posts" / name).read_bytes()
        assert data == (tmp_path / "b/posts" / name).read_bytes()
        feed = feedparser.parse(data)
        assert not feed.bozo and feed.entries == [], feed.get("bozo_exception")
    assert b"<updated>1970-01-01T00:00:00+00:00</updated>" in (tmp_path / "a/posts/atom.xml").read_bytes()


def test_sitemap_validates_against_the_sitemaps_org_schema(make_site):
    site = make_site(posts(3))
    assert run(site, "build").exit_code == 0
    doc = etree.parse(str(site / "dist/sitemap.xml"))
    sitemap_schema = schema("sitemap.xsd")
    assert sitemap_schema.validate(doc), sitemap_schema.error_log
    locs = doc.xpath("//s:loc/text()", namespaces={"s": "http://www.sitemaps.org/schemas/sitemap/0.9"})
    assert "https://test.example/posts/2024/p001/" in locs
    assert not any(loc.endswith("404.html") for loc in locs)
    robots = (site / "dist/robots.txt").read_text()
    assert "Sitemap: https://test.example/sitemap.xml" in robots


def test_sitemap_splits_into_an_index_past_the_limit(make_site):
    config = BASIC_CONFIG + "plugins:\n  sitemap: {max_urls: 10}\n"
    site = make_site(posts(25), config=config)
    assert run(site, "build").exit_code == 0
    dist = site / "dist"
    index = etree.parse(str(dist / "sitemap.xml"))
    assert schema("siteindex.xsd").validate(index)
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    parts = index.xpath("//s:loc/text()", namespaces=ns)
    assert parts[0] == "https://test.example/sitemap-1.xml"
    total = 0
    for number in range(1, len(parts) + 1):
        part = etree.parse(str(dist / f"sitemap-{number}.xml"))
        assert schema("sitemap.xsd").validate(part)
        count = len(part.xpath("//s:url", namespaces=ns))
        assert count <= 10
        total += count
    # 25 posts + home + posts list (13 pages) + tags index + tag term pages (3)
    assert total == 25 + 1 + 13 + 1 + 3
