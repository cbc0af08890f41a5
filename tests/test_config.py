"""site.yaml validation: every problem at once, with lines and key paths; env overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from sonicgen.config import load_config
from sonicgen.errors import BuildError


def load(tmp_path: Path, text: str, environ: dict[str, str] | None = None):
    path = tmp_path / "site.yaml"
    path.write_text(text)
    return load_config(path, environ=environ or {})


def messages(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(BuildError) as info:
        load(tmp_path, text, environ)
    return [str(p) for p in info.value.problems]


def test_type_errors_are_all_listed_with_lines(tmp_path):
    text = """\
title: T
base_url: https://x.example/
collections:
  blog:
    page_size: zero
    fields:
      title: {type: strin}
markdown:
  unsafe_html: sometimes
"""
    assert messages(tmp_path, text) == [
        "site.yaml:5: collections.blog.page_size: expected `int`, got `str`",
        "site.yaml:7: collections.blog.fields.title.type: invalid enum value 'strin'",
        "site.yaml:9: markdown.unsafe_html: expected `bool`, got `str`",
    ]


def test_rule_errors_are_all_listed_with_lines(tmp_path):
    text = """\
title: T
base_url: ftp://x.example/
timezone: Nowhere/City
collections:
  blog:
    permalink: /blog/{year}/{nope}/
    fields:
      title: {type: string}
      kind: {type: select}
      writer: {type: reference, collection: people}
taxonomies:
  tags: {}
"""
    assert messages(tmp_path, text) == [
        "site.yaml:2: base_url: must be an absolute http(s) URL such as https://example.org/",
        "site.yaml:3: timezone: unknown time zone 'Nowhere/City'; use an IANA name such as Europe/Paris or UTC",
        "site.yaml:6: collections.blog.permalink: unknown variable {nope}; use one of {collection}, {day}, {kind}, {month}, {path}, "
        "{slug}, {title}, {writer}, {year}",
        "site.yaml:6: collections.blog.permalink: uses {year} but the collection has no 'date' field",
        "site.yaml:9: collections.blog.fields.kind.options: a select field needs a list of options",
        "site.yaml:10: collections.blog.fields.writer.collection: no collection named 'people'",
        "site.yaml:12: taxonomies.tags: no collection has a field named 'tags'; add it to a collection or set 'field'",
    ]


def test_missing_required_keys_and_unknown_keys(tmp_path):
    problems = messages(tmp_path, "colections: {}\n")
    assert any(p.startswith("site.yaml:1: warning: colections: unknown key (ignored)") for p in problems)
    assert "site.yaml:1: title: required key is missing" in problems
    assert "site.yaml:1: base_url: required key is missing" in problems


def test_unknown_keys_are_warnings_not_errors(tmp_path):
    config, problems = load(tmp_path, "title: T\nbase_url: https://x.example\nthem: dark\n")
    assert [str(p) for p in problems] == [
        "site.yaml:3: warning: them: unknown key (ignored); known keys here: author, base_url, collections, content_db, content_dir, "
        "data_dir, description, follow_symlinks, language, markdown, menu, output_dir, params, plugins, plugins_dir, "
        "slow_hook_seconds, static_dir, taxonomies, templates_dir, theme, timezone, title"
    ]
    assert config.site.base_url == "https://x.example/"


def test_environment_overrides_and_their_errors_name_the_variable(tmp_path):
    text = "title: T\nbase_url: https://x.example/\n"
    config, _ = load(tmp_path, text, {"SONICGEN_BASE_URL": "https://preview.example/", "SONICGEN_MARKDOWN__TYPOGRAPHER": "true"})
    assert config.site.base_url == "https://preview.example/"
    assert config.site.markdown.typographer is True
    assert messages(tmp_path, text, {"SONICGEN_MARKDOWN__HIGHLIGHT": "[1, 2]"}) == [
        "environment SONICGEN_MARKDOWN__HIGHLIGHT: markdown.highlight: expected `bool`, got `array`"
    ]


def test_defaults_are_derived_from_names(tmp_path):
    text = """\
title: T
base_url: https://x.example/
collections:
  news-items:
    fields:
      title: {type: string}
      date: {type: date}
      tags: {type: list}
taxonomies:
  tags: {}
"""
    config, _ = load(tmp_path, text)
    news = config.site.collections["news-items"]
    assert (news.title, news.permalink, news.list_permalink, news.sort) == ("News Items", "/news-items/{slug}/", "/news-items/", "-date")
    tags = config.site.taxonomies["tags"]
    assert (tags.field, tags.permalink, tags.collections) == ("tags", "/tags/{term}/", ["news-items"])


def test_site_yaml_must_be_a_mapping_and_valid_yaml(tmp_path):
    assert messages(tmp_path, "- a\n- b\n") == ["site.yaml:1: must be a mapping of settings (key: value)"]
    assert messages(tmp_path, "title: [unclosed\nbase_url: x\n") == ["site.yaml:2: invalid YAML: expected ',' or ']', but got ':'"]
