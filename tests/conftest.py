"""Shared helpers: write small sites into tmp folders and run the real CLI on them."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner, Result

from sonicgen.cli.main import cli

if TYPE_CHECKING:
    from playwright.sync_api import Browser

REPO = Path(__file__).resolve().parent.parent
SITES = Path(__file__).resolve().parent / "sites"

BASIC_CONFIG = """\
title: Test Site
base_url: https://test.example/
timezone: UTC
theme: default
collections:
  posts:
    permalink: /posts/{year}/{slug}/
    sort: -date
    page_size: 2
    fields:
      title: {type: string, required: true}
      date: {type: datetime, required: true}
      tags: {type: list}
taxonomies:
  tags: {}
"""


def write_tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Write ``files`` (relative path → text or bytes) under ``root``; text is dedented."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content), "utf-8")
    return root


def post(title: str, date: str = "2024-01-01T10:00:00Z", tags: list[str] | None = None, body: str = "Body text.", **extra: str) -> str:
    lines = ["---", f"title: {title!r}".replace("'", '"'), f"date: {date}"]
    if tags is not None:
        lines.append(f"tags: [{', '.join(tags)}]")
    lines += [f"{k}: {v}" for k, v in extra.items()]
    return "\n".join([*lines, "---", "", body, ""])


@pytest.fixture
def make_site(tmp_path: Path) -> Callable[..., Path]:
    """A site folder with the basic config plus the given files."""

    def make(files: Mapping[str, str | bytes] | None = None, config: str = BASIC_CONFIG) -> Path:
        site = tmp_path / "site"
        write_tree(site, {"site.yaml": config, **(files or {})})
        return site

    return make


def run(site: Path, *args: str, env: Mapping[str, str] | None = None) -> Result:
    """Run ``sonicgen`` in-process with the site's folder as working directory."""
    runner = CliRunner()
    old = Path.cwd()
    os.chdir(site)
    try:
        return runner.invoke(cli, list(args), env=dict(env or {}), catch_exceptions=False)
    finally:
        os.chdir(old)


def run_process(site: Path, *args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m sonicgen`` as a real process (to see exactly what a user sees)."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "sonicgen", *args], cwd=site, env=full_env, capture_output=True, text=True, timeout=120, check=False
    )


def age_sources(site: Path) -> None:
    """Date the site's files written in the last few seconds 10 s back (each keeps a distinct time),
    as if saved a while before the build: a stat that recent is not trusted, and its file is read again."""
    recent = time.time_ns() - 5 * 10**9
    for path in site.rglob("*"):
        if path.is_file() and path.relative_to(site).parts[0] not in ("dist", ".sonicgen"):
            st = path.stat()
            if st.st_mtime_ns > recent:
                os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - 10 * 10**9))


def tree_digest(root: Path) -> dict[str, str]:
    """Path → sha256 of every file under ``root`` (to prove an output was left untouched)."""
    if not root.exists():
        return {}
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium through Playwright, for the tests of a page's behaviour in a real browser."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: pip install -e '.[test]'", pytrace=False)
    if not CHROMIUM.is_file():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: apt-get install chromium (./test does)", pytrace=False)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
