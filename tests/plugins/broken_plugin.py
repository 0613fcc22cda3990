"""A plugin that fails to import, as a plugin with a missing dependency does."""

raise ImportError("broken_plugin needs a module that is not installed")
