"""A second plugin with one command, to check allow-lists and that others still run."""

import click

from testkube_telemetry_plugin import hookimpl


@hookimpl
def testkube_register_commands(cli: click.Group) -> None:
    @cli.command("echo-plugin")
    def echo_plugin() -> None:
        click.echo("echo plugin here")
