"""A local plugin with a typo."""
from sonicgen import Plugin


def setup(ctx)
    pass


plugin = Plugin(name="broken", setup=setup)
