"""sonicgen: a static-site generator with a headless build API."""

__version__ = "0.1.0"

from sonicgen.hooks.plugin import Cancel, ConfigError, Plugin, PluginContext

__all__ = ["Cancel", "ConfigError", "Plugin", "PluginContext", "__version__"]
