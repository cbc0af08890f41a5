"""A local plugin with a typed setting."""
import msgspec

from sonicgen import Plugin


class Limits(msgspec.Struct, kw_only=True):
    max_items: int = 10


plugin = Plugin(name="limits", config=Limits, setup=lambda ctx: None)
