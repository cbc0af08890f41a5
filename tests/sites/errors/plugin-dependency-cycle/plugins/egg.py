"""A plugin that depends on 'chicken', which depends on it."""
from sonicgen import Plugin

plugin = Plugin(name="egg", depends={"chicken": ""}, setup=lambda ctx: None)
