"""The Markdown floor with each post's page and JSON: ``python bench/pages_floor.py SITE_DIR [--runs 3]``.

What every post of the benchmark site must become in any build of it, and nothing else: the
floor's loop (read, front matter, Markdown with Pygments; ``bench/floor.py``) plus the post's
page from the default theme's ``entry.html`` and its JSON document, written where a build
puts them, on all cores.  The template context is plain objects (no site graph, no recorded
reads, made-up neighbours), and there are no list, tag or feed pages and no build state: a
bound on the work itself, not a build.  Runs in turns with the floor and prints both.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jinja2
import msgspec
import yaml
from floor import run_once  # bench/floor.py: the Markdown floor, timed
from markupsafe import Markup

from sonicgen.config.schema import MarkdownConfig
from sonicgen.content.markup import MarkdownRenderer, create_markdown
from sonicgen.render.templates import format_date, isodate

THEME = Path(__file__).resolve().parent.parent / "themes" / "default" / "templates"

_markdown = MarkdownRenderer(create_markdown(MarkdownConfig(), "/"), MarkdownConfig())
_env = jinja2.Environment(loader=jinja2.FileSystemLoader(THEME), autoescape=True, undefined=jinja2.StrictUndefined)
_env.filters.update(date=format_date, isodate=isodate)
_env.globals.update(asset=lambda name: f"/assets/{name}", has_asset=lambda name: True, url=lambda route: route)
_site = SimpleNamespace(
    language="en",
    title="sonicgen benchmark corpus",
    description="",
    feeds=[SimpleNamespace(title="Posts", atom="/posts/atom.xml", rss="/posts/rss.xml")],
    menu=[SimpleNamespace(title="Posts", url="/posts/"), SimpleNamespace(title="Tags", url="/tags/")],
    params={},
    author=None,
)
_neighbour = SimpleNamespace(url="/posts/neighbour/", title="A neighbour")
_json = msgspec.json.Encoder()
_loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _one(job: tuple[str, str]) -> None:
    source, out = job
    _, front, body = Path(source).read_text("utf-8").split("---\n", 2)
    meta: dict[str, Any] = yaml.load(front, Loader=_loader)
    rendered = _markdown.render(body)
    slug = Path(source).stem
    route = f"/posts/{slug}/"
    tags = meta.get("tags") or []
    entry = SimpleNamespace(
        title=meta["title"],
        date=meta["date"],
        words=rendered.words,
        toc=rendered.toc,
        html=Markup(rendered.html),
        terms={"tags": [SimpleNamespace(name=tag, url=f"/tags/{tag}/") for tag in tags]},
        prev=_neighbour,
        next=_neighbour,
    )
    page = SimpleNamespace(kind="entry", title=meta["title"], url=route, permalink=f"https://bench.example.org{route}", description="")
    folder = Path(out) / "posts" / slug
    folder.mkdir(parents=True)
    (folder / "index.html").write_bytes(_env.get_template("entry.html").render(site=_site, page=page, entry=entry).encode())
    document = {"title": meta["title"], "date": meta["date"], "tags": tags, "summary": rendered.summary, "html": rendered.html}
    (Path(out) / "api" / f"{slug}.json").write_bytes(_json.encode({"data": document}) + b"\n")


def run_pages(files: list[Path], jobs: int) -> float:
    with tempfile.TemporaryDirectory(prefix="sonicgen-pages-floor-") as out:
        (Path(out) / "api").mkdir()
        started = time.perf_counter()
        with get_context("fork").Pool(jobs) as pool:
            pool.map(_one, [(str(f), out) for f in files], chunksize=64)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("site", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    files = sorted((args.site / "content").rglob("*.md"))
    jobs = len(os.sched_getaffinity(0))
    floors, pages = [], []
    for _ in range(args.runs):
        floors.append(run_once(files, jobs))
        pages.append(run_pages(files, jobs))
    floor, with_pages = statistics.median(floors), statistics.median(pages)
    print(f"markdown floor: {floor:.2f} s; with each post's page and JSON: {with_pages:.2f} s = {with_pages / floor:.2f}x the floor")
    print(f"(medians of {args.runs} in turns, {len(files)} posts, {jobs} processes)")


if __name__ == "__main__":
    main()
