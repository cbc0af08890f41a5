"""Rendering in worker processes gives byte-identical output, and failures in workers read like any other."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
import time
import weakref
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.request import urlopen

from conftest import post, run, tree_digest

from sonicgen.build import BuildOptions, BuildResult, build
from sonicgen.lock import process_alive
from sonicgen.parallel import WorkerPool, slices

CODE = "```python\ndef f(x):\n    return x * 2\n```\n"


def site_files(count: int) -> dict[str, str]:
    files = {
        f"content/posts/post-{n:03}.md": post(
            f"Post {n}", date=f"2024-01-{1 + n % 28:02}T10:00:00Z", tags=[f"t{n % 7}", "all"], body=f"Paragraph {n}.\n\n{CODE}"
        )
        for n in range(count)
    }
    return files


def test_output_is_identical_whatever_the_number_of_workers(make_site, tmp_path):
    site = make_site(site_files(60))
    digests = []
    for jobs in ("1", "2", "3"):
        out = tmp_path / f"out-{jobs}"
        result = run(site, "build", "--jobs", jobs, "--out", str(out))
        assert result.exit_code == 0, result.output
        digests.append(tree_digest(out))
    assert len(digests[0]) > 100
    assert digests[0] == digests[1] == digests[2]


def test_template_errors_in_workers_are_reported_once_with_their_line(make_site):
    files = site_files(30)
    files["templates/entry.html"] = "{% extends 'theme:entry.html' %}\n{% block content %}{{ entry.nope.deeper }}{% endblock %}\n"
    site = make_site(files)
    result = run(site, "build", "--jobs", "2")
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("templates/entry.html:2:")]
    assert len(lines) == 1 and "and 29 more page(s)" in lines[0], result.output


def test_a_plugin_failing_in_a_worker_names_its_line(make_site):
    plugin = (
        "from sonicgen import Plugin\n\n"
        "def setup(ctx):\n"
        "    def explode(html, page):\n"
        "        if page.route.endswith('post-017/'):\n"
        "            raise RuntimeError('worker boom')\n\n"
        "    ctx.hook('render:html', explode)\n\n"
        "plugin = Plugin(name='boom', setup=setup)\n"
    )
    site = make_site({**site_files(30), "plugins/boom.py": plugin})
    result = run(site, "build", "--jobs", "3")
    assert result.exit_code == 1
    assert "plugins/boom.py:6: plugin 'boom', hook 'render:html' while processing /posts/2024/post-017/: RuntimeError: worker boom" in (
        result.output
    )
    assert not (site / "dist").exists()


def test_default_build_of_a_small_site_stays_in_one_process(make_site):
    site = make_site(site_files(5))
    result = run(site, "build", "-v")
    assert result.exit_code == 0, result.output
    assert "Rendering Markdown" not in result.output  # the parallel Markdown stage only runs with workers


def test_a_renderer_change_renders_the_bodies_on_all_cores_before_comparing_summaries(make_site):
    site = make_site(site_files(30))
    assert run(site, "build", "--jobs", "2").exit_code == 0
    with (site / "site.yaml").open("a") as config:
        config.write("markdown:\n  typographer: true\n")  # another renderer: no body is in the render cache for it
    result = run(site, "build", "-v", "--jobs", "2")
    assert result.exit_code == 0, result.output
    # The plan compares each listed summary: the bodies come from the workers, not one by one from the planner.
    assert "Rendering Markdown (30)" in result.output, result.output


def test_work_is_sliced_in_order_into_enough_small_slices():
    parts = slices(10_000, 2)
    assert [n for part in parts for n in part] == list(range(10_000))
    assert len(parts) == 10 and max(map(len, parts)) == 1000  # no slice's results are a burden to take in at once
    assert [len(part) for part in slices(100, 2)] == [13, 13, 13, 13, 12, 12, 12, 12]  # small work: 4 slices per worker


def one_set(context: None, index: int) -> set[int]:
    """A task for worker processes (module-level: workers import it by name)."""
    return {index}


def test_a_worker_pool_lets_go_of_each_result_once_it_was_taken():
    taken: list[weakref.ref[set[int]]] = []
    with WorkerPool(2) as pool:
        for _, result in pool.map(one_set, range(4)):
            taken.append(weakref.ref(result))
            del result
            gc.collect()
            assert [ref() for ref in taken[:-1]] == [None] * (len(taken) - 1)  # results do not pile up in the parent
    assert len(taken) == 4


WORKER_LOG = """
import os
from pathlib import Path
from sonicgen import Plugin

def setup(ctx):
    log = Path(__file__).with_suffix(".log")

    def seen(html):
        with log.open("a") as out:
            out.write(f"{os.getpid()} {os.getppid()}\\n")
        return None

    ctx.hook("render:html", seen)

plugin = Plugin(name="worker-log", version="1.0.0", setup=setup)
"""


def test_a_parallel_build_runs_from_a_thread_while_another_serves_requests(make_site, tmp_path):
    """A build inside a threaded server (the dev server, the write API): its workers are not forks of
    the server's process, and the server answers all along."""
    site = make_site({**site_files(60), "plugins/worker_log.py": WORKER_LOG})
    assert run(site, "build", "--jobs", "1", "--out", str(tmp_path / "one")).exit_code == 0
    (tmp_path / "www").mkdir()
    (tmp_path / "www/ping.txt").write_text("pong")

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(tmp_path / "www")))
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    answers: list[bytes] = []
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            with urlopen(f"http://127.0.0.1:{server.server_address[1]}/ping.txt", timeout=10) as reply:
                answers.append(reply.read())

    asking = threading.Thread(target=ask)
    asking.start()
    log = site / "plugins/worker_log.log"
    log.unlink()
    built: list[BuildResult] = []
    building = threading.Thread(target=lambda: built.append(build(site / "site.yaml", BuildOptions(jobs=2, out=tmp_path / "two"))))
    try:
        building.start()
        building.join(120)
    finally:
        stop.set()
        asking.join(30)
        server.shutdown()
        server.server_close()
    assert not building.is_alive() and built and built[0].summary.pages > 60
    assert tree_digest(tmp_path / "two") == tree_digest(tmp_path / "one")
    renderers = {tuple(map(int, line.split())) for line in log.read_text().splitlines()}
    workers = {(pid, parent) for pid, parent in renderers if pid != os.getpid()}
    assert len(workers) == 1 and len(renderers) == 2  # this process and one worker rendered the pages...
    assert all(parent != os.getpid() for _, parent in workers)  # ...which was not forked from this one
    assert len(answers) > 10 and set(answers) == {b"pong"}


STUCK_WORKER = """
import os, time
from pathlib import Path
from sonicgen import Plugin

def stuck(html, page):
    here = Path(__file__).parent
    (here / f"rendering-{os.getpid()}").write_text("")
    time.sleep(600)  # a hook that hangs: the worker is busy when its build is killed
    return html

def setup(ctx):
    ctx.hook("render:html", stuck)

plugin = Plugin(name="stuck", version="1.0.0", setup=setup)
"""


def descendants(pid: int) -> set[int]:
    """The processes under ``pid``, from /proc (children of every thread)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found |= {int(child)} | descendants(int(child))
    return found


def test_worker_processes_end_when_their_build_is_killed(make_site):
    """kill -9 of a build whose workers are in the middle of a task leaves no process behind."""
    site = make_site({**site_files(30), "plugins/stuck.py": STUCK_WORKER})
    build = subprocess.Popen(
        [sys.executable, "-m", "sonicgen", "build", "--jobs", "3"], cwd=site, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while len([p for p in (site / "plugins").glob("rendering-*") if int(p.name.split("-")[1]) != build.pid]) < 2:
            assert build.poll() is None and time.monotonic() < deadline, "the workers never started rendering"
            time.sleep(0.05)
        workers = {int(p.name.split("-")[1]) for p in (site / "plugins").glob("rendering-*")} - {build.pid}
        under = descendants(build.pid)
        assert workers <= under
    finally:
        build.kill()
        build.wait()
    deadline = time.monotonic() + 10
    while [pid for pid in under if process_alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [pid for pid in under if process_alive(pid)] == []
