"""Errors the machine causes, not sonicgen: a full disk, permissions, a read-only file system, a reader
that stopped reading, a build state that is locked or unreadable. Each is one line naming the file and
what to do, exit 1, never "internal error … a bug in sonicgen" (exit 2 stays for real bugs).

Everything is real where a real way exists: /dev/full for a full disk, sysfs (which refuses new
folders even to root) and chmod for permissions, a pipe whose reader is closed, a second SQLite
connection holding the lock. A full disk and a read-only file system while writing a named file
have no such way without mounting file systems, so a plugin's command raises those OSErrors.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import post, run_process

SYS = Path("/sys")


def built_site(make_site) -> Path:
    site = make_site({"content/posts/a.md": post("A", tags=["x"]), "content/posts/b.md": post("B", tags=["x"])})
    proc = run_process(site, "build")
    assert proc.returncode == 0, proc.stderr
    return site


def sonicgen(site: Path, *args: str, stdout: int) -> subprocess.CompletedProcess[str]:
    """``python -m sonicgen`` with stdout going to the given file descriptor."""
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "sonicgen", *args],
        cwd=site,
        env=env,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        check=False,
    )


def assert_one_line(proc: subprocess.CompletedProcess[str], line: str) -> None:
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == f"error: {line}\n"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full, whose writes fail with ENOSPC")
@pytest.mark.parametrize("args", [("why", "/posts/"), ("content", "ls", "posts"), ("build",), ("plugins", "hooks")])
def test_a_full_disk_under_the_standard_output_is_named(make_site, args: tuple[str, ...]):
    site = built_site(make_site)
    with Path("/dev/full").open("w") as full:
        proc = sonicgen(site, *args, stdout=full.fileno())
    assert_one_line(proc, "no space left on device writing the standard output: free some space and run the command again")


@pytest.mark.parametrize("args", [("why", "/posts/"), ("content", "ls", "posts"), ("plugins", "hooks")])
def test_a_reader_that_stopped_reading_ends_the_command_quietly(make_site, args: tuple[str, ...]):
    """``sonicgen why /x/ | head``: the reader is gone before sonicgen writes (its end of the pipe is
    closed), so the first write meets a broken pipe. Like other Unix tools: no message, no traceback."""
    site = built_site(make_site)
    reader, writer = os.pipe()
    os.close(reader)
    try:
        proc = sonicgen(site, *args, stdout=writer)
    finally:
        os.close(writer)
    assert proc.returncode == 1
    assert proc.stderr == ""


@pytest.mark.skipif(not SYS.is_dir(), reason="needs Linux's sysfs, where nobody may make a folder")
def test_a_folder_the_system_refuses_to_write_is_named(make_site, tmp_path: Path):
    site = built_site(make_site)
    out = SYS / "sonicgen-test-output"
    proc = run_process(site, "build", "--out", str(out))
    assert proc.returncode == 1, proc.stderr
    (line,) = proc.stderr.splitlines()
    refused = ("error: operation not permitted: /sys/", "error: permission denied: /sys/", "error: read-only file system: /sys/")
    assert line.startswith(refused), line
    assert line.endswith(("check the folder's owner and permissions", "remount it read-write")), line
    init = run_process(tmp_path, "init", str(SYS / "sonicgen-test-site"))
    assert init.returncode == 1 and init.stderr.startswith(refused) and "/sys/sonicgen-test-site: " in init.stderr, init.stderr


@pytest.mark.skipif(
    os.geteuid() == 0, reason="root is never denied by file permissions (chmod); the EACCES message is tested with a plugin"
)
def test_an_output_folder_without_write_permission_is_named(make_site):
    site = built_site(make_site)
    (site / "content/posts/c.md").write_text(post("C"), "utf-8")
    os.chmod(site, 0o555)  # staging folders are made beside dist/, in the site folder
    try:
        proc = run_process(site, "build")
    finally:
        os.chmod(site, 0o755)
    assert proc.returncode == 1, proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith("error: permission denied: .sonicgen-staging-dist-"), line
    assert line.endswith(": check the folder's owner and permissions")
    assert not (site / "dist/posts/2024/c").exists()


RAISES = """
import click
import errno
import os
from sonicgen import Plugin

def setup(ctx):
    @click.command()
    @click.argument("code")
    def export(code):
        number = getattr(errno, code)
        raise OSError(number, os.strerror(number), "dist/report.csv")

    ctx.command(export)

plugin = Plugin(name="report", setup=setup)
"""


@pytest.mark.parametrize(
    ("code", "line"),
    [
        ("ENOSPC", "no space left on device writing dist/report.csv: free some space and run the command again"),
        ("EACCES", "permission denied: dist/report.csv: check the folder's owner and permissions"),
        ("EPERM", "operation not permitted: dist/report.csv: check the folder's owner and permissions"),
        ("EROFS", "read-only file system: dist/report.csv: write somewhere writable (for a build, --out DIR) or remount it read-write"),
    ],
)
def test_the_machine_s_os_errors_are_one_line_messages_naming_the_file(make_site, code: str, line: str):
    """Through the public seam of a plugin's command, the way a real write would raise them."""
    site = make_site({"plugins/report.py": RAISES})
    assert_one_line(run_process(site, "report", "export", code), line)


def test_any_other_os_error_is_still_reported_as_a_bug(make_site):
    site = make_site({"plugins/report.py": RAISES})
    proc = run_process(site, "report", "export", "ENAMETOOLONG")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: internal error (OSError: [Errno 36] File name too long: 'dist/report.csv'); a bug in sonicgen")


def test_a_locked_build_state_is_named_and_nothing_is_said_to_be_damaged(make_site):
    """Another process holds .sonicgen/state.db exclusively (SQLite's exclusive locking mode): sonicgen
    waits its busy timeout once, then says who is in the way, never "restore it from a backup"."""
    site = built_site(make_site)
    holder = sqlite3.connect(site / ".sonicgen/state.db", isolation_level=None)
    try:
        holder.execute("PRAGMA locking_mode = EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("CREATE TABLE held (x)")
        proc = run_process(site, "why", "/posts/")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert_one_line(
        proc, ".sonicgen/state.db: the database is locked by another process; run the command again once that process has finished"
    )
    assert run_process(site, "why", "/posts/").returncode == 0  # nothing was harmed


def test_an_unreadable_build_state_is_named_by_why_and_only_costs_a_build_its_cache(make_site):
    site = built_site(make_site)
    state = site / ".sonicgen/state.db"
    for path in site.glob(".sonicgen/state.db*"):
        path.unlink()
    state.mkdir()  # in the way, and unreadable as a file even to root
    why = run_process(site, "why", "/posts/")
    reason = ".sonicgen/state.db: cannot be opened (Is a directory); it must be a SQLite file you may read and write"
    assert_one_line(why, f"{reason}; delete .sonicgen/ and build again")
    built = run_process(site, "build")
    assert built.returncode == 0, built.stderr
    assert f".sonicgen/state.db: warning: {reason}; building without the render cache" in built.stderr
    assert "Traceback" not in built.stderr + why.stderr
