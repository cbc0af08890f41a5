"""Bad input fails the build cleanly: one located line per problem, exit 1, no traceback,
and the previous output left exactly as it was.

Each folder under ``tests/sites/errors/`` is a small site with exactly one kind of broken
input and an ``expected.txt``.  Every line of ``expected.txt`` must match one line of
stderr; ``A ... B`` means that ``A`` and then ``B`` appear, in that order, on the same line
(so a message can be required to name two files without fixing its exact wording).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from conftest import BASIC_CONFIG, SITES, post, run_process, tree_digest, write_tree

from sonicgen import __version__
from sonicgen.output.writer import MANIFEST, STAGING_PREFIX, Record, content_type
from sonicgen.safeyaml import YamlError, load

ERRORS = SITES / "errors"
CASES = sorted(p.name for p in ERRORS.iterdir() if p.is_dir())
REQUIRED_CASES = {
    "frontmatter-malformed-yaml",
    "frontmatter-unterminated",
    "frontmatter-not-mapping",
    "invalid-utf8",
    "wrong-field-type",
    "missing-required-field",
    "duplicate-slug",
    "missing-template",
    "template-syntax-error",
    "template-undefined-variable",
    "yaml-alias-bomb",
    "yaml-deep-nesting",
    "config-errors",
    "site-yaml-invalid",
    "reference-missing",
    "plugin-syntax-error",
    "plugin-raises",
    "output-collision",
    "unsafe-slug",
    "plugin-unknown-hook",
    "plugin-config-type",
    "plugin-duplicate-name",
    "plugin-dependency-cycle",
    "plugin-wrong-return",
    "impossible-date",
    "impossible-date-data",
    "impossible-date-site-yaml",
}

SUMMARY = re.compile(r"^error: build failed with (\d+) problem\(s\); the previous output was left untouched$")
# ``path: ...`` or ``path:line: ...`` where path is a relative file name such as content/posts/a.md
LOCATED = re.compile(r"^(?:[\w.-]+/)*[\w.-]+\.[A-Za-z0-9]+(?::\d+)?: \S")
PREVIOUS_HTML = b"<!DOCTYPE html>\n<title>previous build</title>\n<p>previous build</p>\n"


def expected_lines(case: str) -> list[str]:
    text = (ERRORS / case / "expected.txt").read_text("utf-8")
    return [line for line in text.splitlines() if line.strip()]


def line_matches(pattern: str, line: str) -> bool:
    """True when the ``' ... '``-separated parts of ``pattern`` occur in ``line`` in order."""
    position = 0
    for part in pattern.split(" ... "):
        found = line.find(part, position)
        if found < 0:
            return False
        position = found + len(part)
    return True


def seed_previous_output(site: Path) -> Path:
    """A ``dist/`` as a previous good build left it: one page and the manifest listing it."""
    dist = site / "dist"
    dist.mkdir(parents=True)
    (dist / "index.html").write_bytes(PREVIOUS_HTML)
    record = Record(
        sha256=hashlib.sha256(PREVIOUS_HTML).hexdigest(), size=len(PREVIOUS_HTML), type=content_type("index.html"), cache="revalidate"
    )
    manifest = {"generator": f"sonicgen {__version__}", "files": {"index.html": msgspec.to_builtins(record)}}
    (dist / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", "utf-8")
    return dist


def complaints(proc: subprocess.CompletedProcess[str], expected: list[str]) -> list[str]:
    """Everything wrong with how a failed build reported itself (empty when all is well)."""
    out: list[str] = []
    if proc.returncode != 1:
        out.append(f"exit code {proc.returncode}, expected 1")
    for stream, text in (("stdout", proc.stdout), ("stderr", proc.stderr)):
        if "Traceback" in text:
            out.append(f"a traceback on {stream}")
    lines = proc.stderr.splitlines()
    summary = SUMMARY.match(lines[-1]) if lines else None
    if summary is None:
        out.append("the last stderr line is not 'error: build failed with N problem(s); the previous output was left untouched'")
    body = lines[:-1] if summary else lines
    for line in body:
        if not LOCATED.match(line):
            out.append(f"stderr line does not start with a file path: {line!r}")
    if summary is not None:
        errors = [line for line in body if ": warning: " not in line]
        if int(summary.group(1)) != len(errors):
            out.append(f"summary counts {summary.group(1)} problem(s) but {len(errors)} error line(s) were printed")
    for pattern in expected:
        if not any(line_matches(pattern, line) for line in lines):
            out.append(f"no stderr line matches {pattern!r}")
    return out


def report(proc: subprocess.CompletedProcess[str], problems: list[str]) -> str:
    return "\n".join([*problems, "--- stderr ---", proc.stderr, "--- stdout ---", proc.stdout])


def test_every_error_class_has_a_fixture():
    assert set(CASES) >= REQUIRED_CASES, f"missing fixtures: {sorted(REQUIRED_CASES - set(CASES))}"
    for case in CASES:
        assert expected_lines(case), f"tests/sites/errors/{case}/expected.txt is empty"
        assert (ERRORS / case / "site.yaml").is_file(), case
        assert not (ERRORS / case / "dist").exists(), f"{case} must not ship an output folder"


@pytest.mark.parametrize("case", CASES)
def test_bad_input_fails_cleanly_and_keeps_previous_output(case: str, tmp_path: Path):
    site = tmp_path / case
    shutil.copytree(ERRORS / case, site, ignore=shutil.ignore_patterns("expected.txt"))
    dist = seed_previous_output(site)
    before = tree_digest(dist)
    assert before  # the seed really is there

    proc = run_process(site, "build")

    problems = complaints(proc, expected_lines(case))
    assert not problems, report(proc, problems)
    assert tree_digest(dist) == before, "the previous output was changed"
    assert (dist / "index.html").read_bytes() == PREVIOUS_HTML
    leftovers = sorted(p.name for p in site.glob(STAGING_PREFIX + "*"))
    assert leftovers == [], f"staging folders left next to dist/: {leftovers}"


def test_all_broken_entries_are_reported_in_one_run(tmp_path: Path):
    """A broken file never hides another: three kinds of mistakes in one collection, one run."""
    site = write_tree(
        tmp_path / "site",
        {
            "site.yaml": BASIC_CONFIG,
            "content/posts/good.md": post("Still fine", tags=["ok"]),
            "content/posts/bad-yaml.md": "---\ntitle: Bad YAML\ndate: 2024-02-01T10:00:00Z\ntags: [a, b\n---\n\nBody.\n",
            "content/posts/no-title.md": "---\ndate: 2024-02-02T10:00:00Z\n---\n\nBody.\n",
            "content/posts/bad-date.md": "---\ntitle: Bad date\ndate: yesterday\n---\n\nBody.\n",
        },
    )
    dist = seed_previous_output(site)
    before = tree_digest(dist)

    proc = run_process(site, "build")

    expected = [
        "content/posts/bad-yaml.md:4: front matter: invalid YAML",
        "content/posts/no-title.md:1: title: required field is missing",
        "content/posts/bad-date.md:3: date: expected a date",
    ]
    problems = complaints(proc, expected)
    assert not problems, report(proc, problems)
    assert SUMMARY.match(proc.stderr.splitlines()[-1]).group(1) == "3"  # type: ignore[union-attr]
    assert "good.md" not in proc.stderr
    assert tree_digest(dist) == before


def _limit_memory() -> None:  # pragma: no cover - runs in the child process
    import resource

    limit = 1 << 30  # 1 GiB of address space: plenty for a small build, fatal for an expanded alias bomb
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_alias_bomb_is_rejected_quickly(tmp_path: Path):
    site = tmp_path / "bomb"
    shutil.copytree(ERRORS / "yaml-alias-bomb", site, ignore=shutil.ignore_patterns("expected.txt"))
    proc = subprocess.run(
        [sys.executable, "-m", "sonicgen", "build"],
        cwd=site,
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        preexec_fn=_limit_memory if sys.platform.startswith("linux") else None,
    )
    assert proc.returncode == 1, proc.stderr
    assert "document expands to more than" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (site / "dist").exists()


@pytest.mark.parametrize(
    ("text", "line", "field", "wording"),
    [
        ("title: x\ndate: 2024-02-30\n", 2, "date", "'2024-02-30' is not a real date (day is out of range for month); write a real date"),
        ("a:\n  when: 2024-01-01 25:00:00\n", 2, "a.when", "'2024-01-01 25:00:00' is not a real date (hour must be in 0..23)"),
        ("menu:\n  - {title: x, at: 2024-13-01}\n", 2, "menu[0].at", "'2024-13-01' is not a real date (month must be in 1..12)"),
        ("a:\n  b: !!int abc\n", 2, "a.b", "'abc' is not a valid !!int value; fix it or remove the '!!int' tag"),
    ],
)
def test_a_well_formed_value_that_is_no_real_value_is_a_yaml_error_naming_its_key(text: str, line: int, field: str, wording: str):
    """PyYAML's constructors raise ValueError for such values (an impossible date, a tag its value does
    not fit); the loader turns that into the located error every caller reports as ``file:line: key: ...``."""
    with pytest.raises(YamlError) as info:
        load(text)
    assert (info.value.line, info.value.field) == (line, field)
    assert info.value.reason.startswith(wording)
    assert info.value.message == f"{field}: {info.value.reason}"
