"""Commands a lazily loading group imports only when they are asked for."""

from __future__ import annotations

import click


@click.command()
@click.option("--size", type=int, default=1)
def heavy(size: int) -> None:
    """An expensive command."""
    click.echo(f"heavy {size}")


@click.group()
def tools() -> None:
    """A lazily loaded group."""


@tools.command()
@click.argument("name")
def sharpen(name: str) -> None:
    click.echo(f"sharpened {name}")


@click.command()
def deep() -> None:
    click.echo("deep")
