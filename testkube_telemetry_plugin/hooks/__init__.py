"""The hook library: pre/post-command hooks and plugins for any Click CLI.

Click, pluggy and the standard library only: nothing here knows any plugin,
nor the `testkube` app (the floors above it), and a CLI built from this floor
alone imports nothing else of the package.
"""
