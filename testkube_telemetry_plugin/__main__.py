"""`python -m testkube_telemetry_plugin` runs the reference `testkube` CLI."""

from .host import cli

cli(prog_name="testkube")
