"""Reading time: a ``reading_time`` template filter and ``reading_minutes`` on entry pages.

An example of a local plugin: a typed config section (``plugins.reading-time`` in
site.yaml), a template filter and a ``render:context`` pipe handler.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any

import msgspec

from sonicgen import Plugin, PluginContext


class ReadingTimeConfig(msgspec.Struct, kw_only=True):
    words_per_minute: Annotated[int, msgspec.Meta(ge=50, le=2000)] = 230


def setup(ctx: PluginContext[ReadingTimeConfig]) -> None:
    wpm = ctx.config.words_per_minute

    def minutes(doc: Any) -> int:
        return max(1, math.ceil(doc.words / wpm))

    def add_minutes(context: Mapping[str, Any]) -> Mapping[str, Any] | None:
        entry = context.get("entry")
        return {**context, "reading_minutes": minutes(entry)} if entry is not None else None

    ctx.filter("reading_time", minutes)
    ctx.hook("render:context", add_minutes)


plugin = Plugin(
    name="reading-time",
    version="1.0.0",
    description="Estimated reading time of entries, as a filter and a page variable.",
    config=ReadingTimeConfig,
    setup=setup,
)
