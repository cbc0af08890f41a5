"""The typed shape of ``site.yaml``.

Structs are plain data with defaults a new site needs; cross-field rules (a permalink's
variables, a sort key, a reference's target collection) live in :mod:`.rules`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

FieldType = Literal[
    "string",
    "text",
    "markdown",
    "number",
    "integer",
    "boolean",
    "date",
    "datetime",
    "list",
    "select",
    "reference",
    "image",
]
ItemType = Literal["string", "number", "integer", "boolean", "date", "select", "reference", "image"]
PositiveInt = Annotated[int, msgspec.Meta(ge=1)]


class FieldSpec(msgspec.Struct, kw_only=True):
    """One typed field of a collection's entries."""

    type: FieldType = "string"
    required: bool = False
    default: Any = None
    label: str | None = None
    help: str | None = None
    min: float | None = None
    max: float | None = None
    min_length: Annotated[int, msgspec.Meta(ge=0)] | None = None
    max_length: Annotated[int, msgspec.Meta(ge=0)] | None = None
    pattern: str | None = None
    options: list[str] | None = None
    items: ItemType = "string"
    min_items: Annotated[int, msgspec.Meta(ge=0)] | None = None
    max_items: Annotated[int, msgspec.Meta(ge=0)] | None = None
    collection: str | None = None


class CollectionConfig(msgspec.Struct, kw_only=True):
    """A collection: where its entries come from, their schema, and where they are published."""

    title: str | None = None
    description: str = ""
    source: Literal["files", "sqlite"] = "files"
    directory: str | None = None
    permalink: str | None = None
    list_permalink: str | None = None
    listed: bool = True
    sort: str | None = None
    page_size: PositiveInt = 10
    template: str | None = None
    list_template: str | None = None
    fields: dict[str, FieldSpec] = msgspec.field(default_factory=dict)
    title_field: str = "title"
    date_field: str = "date"
    summary_field: str = "summary"
    draft_field: str = "draft"
    expires_field: str = "expires"
    feed: bool = True
    feed_limit: PositiveInt = 20
    sitemap: bool = True
    api: bool = True
    unknown_fields: Literal["allow", "warn", "error"] = "warn"


class TaxonomyConfig(msgspec.Struct, kw_only=True):
    """A grouping of entries by the values of one list field (tags, categories...)."""

    title: str | None = None
    field: str | None = None
    permalink: str | None = None
    collections: list[str] | None = None
    page_size: PositiveInt | None = None


class MarkdownConfig(msgspec.Struct, kw_only=True):
    """Markdown rendering options; raw HTML stays escaped unless a site opts in."""

    unsafe_html: bool = False
    typographer: bool = False
    highlight: bool = True
    highlight_style: str = "default"
    highlight_style_dark: str = "monokai"
    heading_anchors: bool = True
    toc_levels: tuple[Annotated[int, msgspec.Meta(ge=1, le=6)], Annotated[int, msgspec.Meta(ge=1, le=6)]] = (2, 3)


class Author(msgspec.Struct, kw_only=True):
    name: str = ""
    email: str | None = None
    url: str | None = None


class MenuItem(msgspec.Struct, kw_only=True):
    title: str
    url: str


class SiteConfig(msgspec.Struct, kw_only=True):
    """Everything ``site.yaml`` may say."""

    title: str
    base_url: str
    description: str = ""
    language: str = "en"
    timezone: str = "UTC"
    author: Author = msgspec.field(default_factory=Author)
    theme: str = "default"
    content_dir: str = "content"
    data_dir: str = "content/_data"
    static_dir: str = "static"
    templates_dir: str = "templates"
    plugins_dir: str = "plugins"
    output_dir: str = "dist"
    content_db: str = "content.db"
    follow_symlinks: bool = False  # follow symbolic links that lead out of the site (those inside it always are)
    slow_hook_seconds: Annotated[float, msgspec.Meta(ge=0)] = 10.0  # warn of a hook handler running longer (0: never)
    collections: dict[str, CollectionConfig] = msgspec.field(default_factory=dict)
    taxonomies: dict[str, TaxonomyConfig] = msgspec.field(default_factory=dict)
    markdown: MarkdownConfig = msgspec.field(default_factory=MarkdownConfig)
    menu: list[MenuItem] = msgspec.field(default_factory=list)
    params: dict[str, Any] = msgspec.field(default_factory=dict)
    plugins: dict[str, Any] = msgspec.field(default_factory=dict)
