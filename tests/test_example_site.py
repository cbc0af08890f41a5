"""The repository root is a working example site: it builds with --strict and shows its features."""

from __future__ import annotations

import json

from conftest import REPO, run_process


def test_example_site_builds_strictly(tmp_path):
    out = tmp_path / "dist"
    proc = run_process(REPO, "build", "--strict", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "" and "0 warnings" in proc.stdout
    blog = {p.parent.name for p in (out / "blog").glob("[0-9]*/*/index.html")}
    assert "edge-publishing" in blog  # leaf bundle
    assert "plugin-hooks-in-practice" in blog  # TOML front matter
    assert "search-index-plugin" not in blog and "end-of-support-for-1-x" not in blog  # draft, future
    escaped = (out / "blog/2025/raw-html-is-escaped-by-default/index.html").read_text()
    assert "<script>alert(1)</script>" not in escaped and "&lt;script&gt;alert(1)&lt;/script&gt;" in escaped
    about = (out / "about/index.html").read_text()
    assert "Community" in about and "Plugin index" in about  # site template override + data file
    assert "min read" in (out / "blog/2025/incremental-builds/index.html").read_text()
    api = json.loads((out / "api/index.json").read_text())
    assert {c["name"] for c in api["data"]} == {"blog", "docs", "authors", "pages"}
    docs = json.loads((out / "api/collections/docs/index.json").read_text())
    assert [d["slug"] for d in docs["data"]][:2] == ["installation", "quick-start"]  # sorted by weight


def test_example_site_includes_drafts_and_future_on_request(tmp_path):
    out = tmp_path / "dist"
    proc = run_process(REPO, "build", "--drafts", "--future", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert (out / "blog/2030/end-of-support-for-1-x/index.html").is_file()
    assert any((out / "blog").glob("*/search-index-plugin/index.html"))
