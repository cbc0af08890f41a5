"""A hook handler that runs long is named while it runs: plugin, hook, handler and page."""

from __future__ import annotations

from conftest import BASIC_CONFIG, post, run_process

SLEEPY = """
import time
from sonicgen import Plugin

def slow(html, page):
    if page.route == "/posts/2024/p3/":
        time.sleep(1.5)
    return html

def setup(ctx):
    ctx.hook("render:html", slow)

plugin = Plugin(name="sleepy", version="1.0.0", setup=setup)
"""


def site_with_a_slow_page(make_site, seconds: str, posts: int):
    files = {f"content/posts/p{n}.md": post(f"Post {n}") for n in range(posts)}
    return make_site({**files, "plugins/sleepy.py": SLEEPY}, config=BASIC_CONFIG + f"slow_hook_seconds: {seconds}\n")


def test_a_slow_hook_is_named_while_it_runs_whichever_process_renders_the_page(make_site):
    site = site_with_a_slow_page(make_site, "0.3", 40)
    for jobs in ("1", "3"):
        proc = run_process(site, "build", "--jobs", jobs)
        assert proc.returncode == 0, proc.stderr
        warnings = [line for line in proc.stderr.splitlines() if "has been running for" in line]
        assert len(warnings) == 1, (jobs, proc.stderr)
        assert "warning: plugin 'sleepy' hook 'render:html' (slow) has been running for" in warnings[0]
        assert warnings[0].endswith("on /posts/2024/p3/; if it is stuck, stop the build with Ctrl+C and look at that plugin")
        (site / "content/posts/p3.md").write_text(post("Post 3 again"))


def test_no_warning_under_the_threshold_or_when_it_is_zero(make_site):
    for seconds in ("5", "0"):
        site = site_with_a_slow_page(make_site, seconds, 5)
        proc = run_process(site, "build")
        assert proc.returncode == 0, proc.stderr
        assert "has been running for" not in proc.stderr
