"""sonicgen: a static-site generator with a headless build API."""

from sonicgen.hooks.plugin import Cancel, ConfigError, Plugin, PluginContext
from sonicgen.version import __version__

__all__ = ["Cancel", "ConfigError", "Plugin", "PluginContext", "__version__"]
