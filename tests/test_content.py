"""Content parsing pieces: safe YAML, front matter, field types, URLs, Markdown."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from sonicgen.config.schema import FieldSpec, MarkdownConfig
from sonicgen.content.fields import FieldError, check_value
from sonicgen.content.frontmatter import FrontMatterError, parse
from sonicgen.content.markup import MarkdownRenderer, create_markdown
from sonicgen.content.urls import UrlError, base_path, expand_permalink, output_path
from sonicgen.safeyaml import YamlError, load


def test_yaml_keeps_the_line_of_every_key():
    loaded = load("a: 1\nb:\n  c: [x, y]\n", first_line=2)
    assert loaded.lines[("b", "c")] == 4 and loaded.line_of(("b", "c", 1)) == 4


def test_yaml_alias_bomb_is_refused():
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    with pytest.raises(YamlError, match="expands to more than"):
        load("\n".join(lines))


@pytest.mark.parametrize("text", ["[" * 5000 + "]" * 5000, "".join(f"{'  ' * i}k{i}:\n" for i in range(100)) + "  " * 100 + "v: 1\n"])
def test_yaml_deep_nesting_is_refused(text):
    with pytest.raises(YamlError, match="nesting deeper than"):
        load(text)


def test_yaml_duplicate_keys_are_refused():
    with pytest.raises(YamlError, match="duplicate key 'a' \\(first on line 1\\)") as info:
        load("a: 1\na: 2\n")
    assert info.value.line == 2


def test_front_matter_yaml_toml_and_none():
    yaml_fm = parse("---\ntitle: Hi\n---\nBody\n")
    assert yaml_fm.data == {"title": "Hi"} and yaml_fm.body == "Body\n" and yaml_fm.body_line == 4 and yaml_fm.lines[("title",)] == 2
    toml_fm = parse('+++\ntitle = "Hi"\n\nn = 3\n+++\nBody')
    assert toml_fm.data == {"title": "Hi", "n": 3} and toml_fm.lines[("n",)] == 4
    assert parse("Just text").data == {}


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("---\ntitle: x\n", "never closed", 1),
        ("---\n- a\n- b\n---\n", "must be a mapping", 2),
        ("---\ntitle: [x\n---\n", "invalid YAML", 2),
        ('+++\ntitle = "x\n+++\n', "invalid TOML", 2),
    ],
)
def test_front_matter_errors_have_lines(text, message, line):
    with pytest.raises(FrontMatterError, match=message) as info:
        parse(text)
    assert info.value.line == line


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        (FieldSpec(type="string"), 1984, "1984"),
        (FieldSpec(type="integer"), 3.0, 3),
        (FieldSpec(type="number", min=0), 2.5, 2.5),
        (FieldSpec(type="boolean"), False, False),
        (FieldSpec(type="date"), "2024-02-29", date(2024, 2, 29)),
        (FieldSpec(type="datetime"), "2024-02-29T10:00:00Z", datetime.fromisoformat("2024-02-29T10:00:00+00:00")),
        (FieldSpec(type="list"), "solo", ["solo"]),
        (FieldSpec(type="list", items="integer"), [1, 2], [1, 2]),
        (FieldSpec(type="select", options=["a", "b"]), "b", "b"),
        (FieldSpec(type="image"), "/img/x.png", "/img/x.png"),
    ],
)
def test_field_values_are_normalised(spec, value, expected):
    assert check_value(value, spec) == expected


@pytest.mark.parametrize(
    ("spec", "value", "message"),
    [
        (FieldSpec(type="string"), True, "expected text, got a boolean"),
        (FieldSpec(type="string", max_length=3), "long", "at most 3 characters"),
        (FieldSpec(type="string", pattern="[a-z]+"), "ABC", "must match the pattern"),
        (FieldSpec(type="string"), "two\nlines", "single line"),
        (FieldSpec(type="integer"), 2.5, "whole number"),
        (FieldSpec(type="number", max=10), 11, "at most 10"),
        (FieldSpec(type="boolean"), "yes", "expected true or false"),
        (FieldSpec(type="date"), "yesterday", "expected a date like 2024-05-17"),
        (FieldSpec(type="select", options=["a", "b"]), "c", "must be one of a, b"),
        (FieldSpec(type="list", items="integer"), [1, "x"], "item 2: expected a number"),
        (FieldSpec(type="list", max_items=1), ["a", "b"], "at most 1 items"),
        (FieldSpec(type="image"), "javascript:alert(1)", "may not use the javascript:"),
    ],
)
def test_field_errors_say_what_was_expected(spec, value, message):
    with pytest.raises(FieldError, match=message):
        check_value(value, spec)


def test_urls_cannot_leave_the_output_directory():
    assert output_path("/blog/x/") == "blog/x/index.html"
    assert output_path("/feed.xml") == "feed.xml"
    for bad in ("/a/../b/", "/a/./b/", "relative/", "/a b/", "/a\\b/", "/a/%2e%2e/", "/a\n/b/"):
        with pytest.raises(UrlError):
            output_path(bad)
    assert expand_permalink("/blog/{year}/{slug}/", {"year": "2024", "slug": "../../etc"}) == "/blog/2024/etc/"
    assert base_path("https://x.example/docs") == "/docs/" and base_path("https://x.example") == "/"


def render(body: str, **options: object) -> str:
    config = MarkdownConfig(**options)  # type: ignore[arg-type]
    return MarkdownRenderer(create_markdown(config), config).render(body).html


def test_raw_html_is_escaped_unless_enabled():
    assert render("<em>x</em> <script>bad()</script>") == "<p>&lt;em&gt;x&lt;/em&gt; &lt;script&gt;bad()&lt;/script&gt;</p>\n"
    assert "<em>x</em>" in render("<em>x</em>", unsafe_html=True)


def test_javascript_links_are_not_rendered_as_links():
    assert "href" not in render("[click](javascript:alert(1))")


def test_one_parse_gives_html_summary_toc_and_words():
    renderer = MarkdownRenderer(create_markdown(MarkdownConfig()), MarkdownConfig())
    result = renderer.render("Intro *words* here.\n\n<!--more-->\n\n## One\n\n### One A\n\n#### Deep\n\n## Two\n")
    assert result.summary == "<p>Intro <em>words</em> here.</p>\n"
    assert "more" not in result.html
    assert [(i.title, [c.title for c in i.children]) for i in result.toc] == [("One", ["One A"]), ("Two", [])]
    assert result.words == 8


def test_plain_text_keeps_line_breaks_as_spaces():
    result = MarkdownRenderer(create_markdown(MarkdownConfig()), MarkdownConfig()).render("A soft\nbreak and a hard  \nbreak.\n")
    assert result.text == "A soft break and a hard break."
    assert result.words == 7
