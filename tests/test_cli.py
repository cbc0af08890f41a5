"""The commands as a user runs them: init, new, build flags, output without colour or tracebacks."""

from __future__ import annotations

import shutil
import subprocess
import sys

import yaml
from conftest import BASIC_CONFIG, post, run, run_process


def test_init_scaffolds_a_site_that_builds_straight_away(tmp_path):
    target = tmp_path / "blog"
    result = run(tmp_path, "init", str(target), "--title", 'Ada\'s "Notes"')
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((target / "site.yaml").read_text())["title"] == 'Ada\'s "Notes"'
    for rel in ("content/posts/hello-world.md", "content/pages/about.md", "plugins/README.md"):
        assert (target / rel).is_file()
    built = run(target, "build", "--strict")
    assert built.exit_code == 0, built.output
    assert "Ada&#39;s &#34;Notes&#34;" in (target / "dist/index.html").read_text()
    assert (target / "dist/posts/2025/hello-world/index.html").is_file()


def test_init_refuses_a_non_empty_folder_without_force(tmp_path):
    target = tmp_path / "taken"
    target.mkdir()
    (target / "notes.txt").write_text("precious")
    refused = run(tmp_path, "init", str(target))
    assert refused.exit_code == 1
    assert "is not empty" in refused.output and "--force" in refused.output
    assert not (target / "site.yaml").exists()
    forced = run(tmp_path, "init", str(target), "--force")
    assert forced.exit_code == 0
    assert (target / "notes.txt").read_text() == "precious"
    assert (target / "site.yaml").is_file()


def test_init_can_copy_the_theme_for_editing(tmp_path):
    target = tmp_path / "custom"
    assert run(tmp_path, "init", str(target), "--copy-theme").exit_code == 0
    assert (target / "themes/default/templates/base.html").is_file()
    (target / "themes/default/templates/404.html").write_text("{% extends 'base.html' %}{% block content %}Lost!{% endblock %}")
    assert run(target, "build").exit_code == 0
    assert "Lost!" in (target / "dist/404.html").read_text()


def test_new_writes_defaults_and_a_slug_and_refuses_to_overwrite(make_site):
    config = BASIC_CONFIG.replace(
        "      tags: {type: list}\n",
        "      tags: {type: list}\n      rating: {type: integer, default: 3}\n      venue: {type: string, required: true}\n",
    )
    site = make_site(config=config)
    result = run(site, "new", "posts", "Héllo, Wörld!")
    assert result.exit_code == 0, result.output
    path = site / "content/posts/hello-world.md"
    assert "Created" in result.output and "venue" in result.output
    front = yaml.safe_load(path.read_text().split("---")[1])
    assert front["title"] == "Héllo, Wörld!"
    assert front["rating"] == 3 and front["venue"] is None
    assert "tags" not in front  # optional, no default: left out
    assert front["date"].year >= 2024
    again = run(site, "new", "posts", "Hello World")
    assert again.exit_code == 1
    assert "already exists" in again.output
    unknown = run(site, "new", "recipes", "Soup")
    assert unknown.exit_code == 1 and "no collection named 'recipes'" in unknown.output


def test_new_entry_builds_once_required_fields_are_filled(make_site):
    site = make_site()
    assert run(site, "new", "posts", "Fresh").exit_code == 0
    assert run(site, "build").exit_code == 0
    assert any((site / "dist/posts").glob("*/fresh/index.html"))


def test_output_has_no_colour_codes_when_piped_or_no_color(make_site):
    site = make_site({"content/posts/a.md": post("A", mood="x")})
    proc = run_process(site, "build", env={"NO_COLOR": "1", "TERM": "xterm-256color"})
    assert proc.returncode == 0
    assert "\x1b[" not in proc.stdout + proc.stderr
    assert "Built" in proc.stdout and "warning" in proc.stderr


def test_quiet_prints_only_problems_and_verbose_shows_stages(make_site):
    site = make_site({"content/posts/a.md": post("A")})
    quiet = run_process(site, "build", "-q")
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""
    verbose = run_process(site, "build", "-v", "--clean")  # --clean: a build with nothing to do renders nothing
    assert "Reading content" in verbose.stderr and "Rendering" in verbose.stderr


def test_config_option_points_at_another_site(make_site, tmp_path):
    site = make_site({"content/posts/a.md": post("A")})
    proc = run_process(tmp_path, "build", "--config", str(site / "site.yaml"))
    assert proc.returncode == 0, proc.stderr
    assert (site / "dist/posts/2024/a/index.html").is_file()


def test_missing_config_explains_what_to_do(tmp_path):
    proc = run_process(tmp_path, "build")
    assert proc.returncode == 1
    assert "no site configuration here" in proc.stderr and "sonicgen init" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_console_script_and_module_entry_points(tmp_path):
    version = subprocess.run([sys.executable, "-m", "sonicgen", "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("sonicgen, version ")
    help_text = subprocess.run([shutil.which("sonicgen") or "sonicgen", "build", "--help"], capture_output=True, text=True, check=True)
    for flag in ("--drafts", "--future", "--base-url", "--out", "--clean", "--strict", "--config", "--verbose", "--quiet"):
        assert flag in help_text.stdout
