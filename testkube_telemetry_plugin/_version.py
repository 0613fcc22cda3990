"""The package's version, in a module of its own so every floor (and setup.cfg) can read it."""

__version__ = "0.1.0"
