"""Two local plugins that both call themselves "twin"."""
from sonicgen import Plugin

plugin = Plugin(name="twin", setup=lambda ctx: None)
