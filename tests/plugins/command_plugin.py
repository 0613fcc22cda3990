"""A plugin that adds a command to whatever CLI loads it (and prints to stderr too)."""

from __future__ import annotations

import click

from testkube_telemetry_plugin import hookimpl


@hookimpl
def testkube_register_commands(cli: click.Group) -> None:
    @cli.command("plugged-in")
    @click.option("--times", type=int, default=1)
    def plugged_in(times: int) -> None:
        """A command that came from a plugin."""
        click.echo(f"plugged-in ran {times}")
