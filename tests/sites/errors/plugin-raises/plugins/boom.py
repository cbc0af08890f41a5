"""A local plugin whose render:html handler fails."""
from sonicgen import Plugin, PluginContext


def setup(ctx: PluginContext) -> None:
    def explode(html: str) -> str:
        raise ValueError("boom")

    ctx.hook("render:html", explode)


plugin = Plugin(name="boom", setup=setup)
