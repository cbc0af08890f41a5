"""A render:html handler that returns a number instead of HTML."""
from sonicgen import Plugin


def setup(ctx):
    def count(html: str) -> int:
        return len(html)

    ctx.hook("render:html", count)


plugin = Plugin(name="counter", setup=setup)
