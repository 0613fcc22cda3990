"""`create test` written as many hosts write options: Python names that differ from the flags."""

from __future__ import annotations

import click

from testkube_telemetry_plugin import hookimpl


@hookimpl
def testkube_register_commands(cli: click.Group) -> None:
    @cli.group()
    def create() -> None:
        """Create resources."""

    @create.command("test")
    @click.argument("name")
    @click.option("-t", "--type", "test_type", default=None)
    @click.option("--file", "file_", default=None)
    def create_test(name: str, test_type: str, file_: str) -> None:
        click.echo(f"created {name}")
