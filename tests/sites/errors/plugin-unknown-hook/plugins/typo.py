"""A local plugin that registers a hook name with a typo."""
from sonicgen import Plugin


def setup(ctx):
    ctx.hook("render:htm", lambda html: html)


plugin = Plugin(name="typo", setup=setup)
