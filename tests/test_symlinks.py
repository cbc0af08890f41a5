"""Symbolic links: nothing outside the site is read into it unless site.yaml allows it, and links
inside the site are followed for files and folders alike."""

from __future__ import annotations

from conftest import BASIC_CONFIG, post, run_process, tree_digest


def outside(tmp_path):
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.md").write_text(post("Secret", body="TOPSECRET"))
    (folder / "secret.txt").write_text("TOPSECRET")
    return folder


def leaked(site) -> bool:
    return any(b"TOPSECRET" in (site / "dist" / p).read_bytes() for p in tree_digest(site / "dist"))


def test_a_content_file_linked_from_outside_the_site_is_refused_by_name(make_site, tmp_path):
    site = make_site({"content/posts/a.md": post("A")})
    (site / "content/posts/leak.md").symlink_to(outside(tmp_path) / "secret.md")
    proc = run_process(site, "build")
    assert proc.returncode == 1, proc.stderr
    assert "content/posts/leak.md: a symbolic link to " in proc.stderr and "outside the site" in proc.stderr
    assert "follow_symlinks: true" in proc.stderr and "Traceback" not in proc.stderr
    assert not (site / "dist").exists() or not leaked(site)


def test_a_static_file_or_folder_linked_from_outside_is_refused(make_site, tmp_path):
    site = make_site({"content/posts/a.md": post("A"), "static/ok.txt": "fine"})
    elsewhere = outside(tmp_path)
    (site / "static/passwd.txt").symlink_to(elsewhere / "secret.txt")
    proc = run_process(site, "build")
    assert proc.returncode == 1 and "static/passwd.txt: a symbolic link to " in proc.stderr, proc.stderr
    (site / "static/passwd.txt").unlink()
    (site / "static/more").symlink_to(elsewhere, target_is_directory=True)
    proc = run_process(site, "build")
    assert proc.returncode == 1 and "static/more: a symbolic link to " in proc.stderr, proc.stderr
    assert not (site / "dist").exists() or not leaked(site)


def test_links_out_of_the_site_are_followed_when_the_site_allows_them(make_site, tmp_path):
    site = make_site({"content/posts/a.md": post("A")}, config=BASIC_CONFIG + "follow_symlinks: true\n")
    elsewhere = outside(tmp_path)
    (site / "content/posts/leak.md").symlink_to(elsewhere / "secret.md")
    (site / "static").mkdir()
    (site / "static/more").symlink_to(elsewhere, target_is_directory=True)
    proc = run_process(site, "build")
    assert proc.returncode == 0, proc.stderr
    assert "TOPSECRET" in (site / "dist/posts/2024/leak/index.html").read_text()
    assert (site / "dist/more/secret.txt").read_text() == "TOPSECRET"


def test_links_inside_the_site_are_followed_for_files_and_folders_alike(make_site):
    site = make_site(
        {
            "content/posts/a.md": post("A"),
            "shared/posts/b.md": post("B"),
            "shared/c.md": post("C"),
            "shared/files/logo.txt": "logo",
        }
    )
    (site / "content/posts/more").symlink_to(site / "shared/posts", target_is_directory=True)
    (site / "content/posts/c.md").symlink_to(site / "shared/c.md")
    (site / "static").mkdir()
    (site / "static/files").symlink_to(site / "shared/files", target_is_directory=True)
    proc = run_process(site, "build")
    assert proc.returncode == 0, proc.stderr
    for slug in ("a", "b", "c"):
        assert (site / f"dist/posts/2024/{slug}/index.html").is_file(), slug
    assert (site / "dist/files/logo.txt").read_text() == "logo"
    (site / "shared/posts/b.md").write_text(post("B edited"))
    proc = run_process(site, "build")
    assert proc.returncode == 0, proc.stderr
    assert "B edited" in (site / "dist/posts/2024/b/index.html").read_text()
