"""`python -m testkube_telemetry_plugin`: the reference `testkube` CLI."""

from .cli import cli

cli(prog_name="testkube")
