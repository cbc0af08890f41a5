"""A plugin that depends on 'egg', which depends on it."""
from sonicgen import Plugin

plugin = Plugin(name="chicken", depends={"egg": ""}, setup=lambda ctx: None)
