"""The typed hook registry and its catalogue."""

from sonicgen.hooks.registry import HookRegistry
from sonicgen.hooks.spec import CATALOGUE, HookSpec

__all__ = ["CATALOGUE", "HookRegistry", "HookSpec"]
