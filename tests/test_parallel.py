"""Rendering in worker processes gives byte-identical output, and failures in workers read like any other."""

from __future__ import annotations

import gc
import weakref

from conftest import count_worker_maps, post, run, tree_digest

from sonicgen.build import rendering
from sonicgen.parallel import fork_map, slices

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


def test_definitions_made_in_workers_are_those_one_process_makes(make_site, monkeypatch):
    site = make_site(site_files(30))
    assert run(site, "build", "--jobs", "1").exit_code == 0  # records each output's definition, made in one process
    monkeypatch.setattr(rendering, "PARALLEL_DEFINITIONS", 1)
    used = count_worker_maps(monkeypatch, rendering)
    (site / "content/posts/post-003.md").write_text(post("Post 3", date="2024-01-04T10:00:00Z", tags=["t3", "all"], body="Edited."))
    result = run(site, "build", "-v", "--jobs", "2")
    assert result.exit_code == 0, result.output
    assert used == [2]
    assert "its route, templates or context changed" not in result.output  # equal definitions: only the edit's outputs render
    assert "the body of posts/post-003 changed" in result.output


def test_work_is_sliced_in_order_into_enough_small_slices():
    parts = slices(10_000, 2)
    assert [n for part in parts for n in part] == list(range(10_000))
    assert len(parts) == 10 and max(map(len, parts)) == 1000  # no slice's results are a burden to take in at once
    assert [len(part) for part in slices(100, 2)] == [13, 13, 13, 13, 12, 12, 12, 12]  # small work: 4 slices per worker


def test_fork_map_lets_go_of_each_result_once_it_was_taken():
    taken: list[weakref.ref[set[int]]] = []
    for _, result in fork_map(lambda index: {index}, 4, 2):
        taken.append(weakref.ref(result))
        del result
        gc.collect()
        assert [ref() for ref in taken[:-1]] == [None] * (len(taken) - 1)  # results do not pile up in the parent
    assert len(taken) == 4
