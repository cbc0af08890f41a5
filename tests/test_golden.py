"""The fixture site ``tests/sites/golden`` builds to exactly ``tests/sites/golden-expected``.

After an intended change to the output, regenerate with ``SONICGEN_UPDATE_GOLDEN=1 pytest tests/test_golden.py``
and review the diff.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from conftest import SITES

from sonicgen.build import BuildOptions, build

EXPECTED = SITES / "golden-expected"


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_golden_output(tmp_path):
    site = tmp_path / "golden"
    shutil.copytree(SITES / "golden", site)
    build(site / "site.yaml", BuildOptions(now=datetime(2026, 1, 1, tzinfo=UTC)))
    actual = files(site / "dist")
    if os.environ.get("SONICGEN_UPDATE_GOLDEN"):
        shutil.rmtree(EXPECTED, ignore_errors=True)
        shutil.copytree(site / "dist", EXPECTED)
    expected = files(EXPECTED)
    assert sorted(actual) == sorted(expected)
    for path, data in expected.items():
        assert actual[path] == data, f"{path} differs from tests/sites/golden-expected/{path}"
