"""sonicgen's version, for the modules that record or print it."""

__version__ = "0.1.0"
