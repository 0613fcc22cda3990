"""CLIs written with rich-click and Typer as their users write them, for the real-CLI adoption suite.

Each has a `wait` command that reads a line from stdin (a real Ctrl-C arrives
while it blocks) and commands that end in each way.  Built on import of the
library they use, so the same file serves Typer 0.25 (on Click) and the newest
Typer (on its bundled `typer._click`).
"""

from __future__ import annotations

import sys
from typing import Any


def rich_group() -> Any:
    """A rich-click group: `RichGroup.group_class = type`, so `db` is a RichGroup too."""
    import rich_click as click

    @click.group()
    @click.option("--verbose", is_flag=True, help="Say more.")
    def tool(verbose: bool) -> None:
        """A rich tool."""

    @tool.command()
    @click.option("--name", default="world", help="Who to greet.")
    def hello(name: str) -> None:
        """Greet someone."""
        click.echo(f"hello {name}")

    @tool.command()
    def fail() -> None:
        """Fail."""
        raise click.ClickException("it failed")

    @tool.command()
    def wait() -> None:
        """Read a line."""
        sys.stdin.readline()

    @tool.group()
    def db() -> None:
        """Database commands."""

    @db.command()
    @click.option("--to", type=int, required=True)
    def migrate(to: int) -> None:
        """Migrate."""
        click.echo(f"migrated to {to}")

    return tool


def typer_group() -> Any:
    import typer

    app = typer.Typer(add_completion=False)
    db = typer.Typer(help="Database commands.")
    app.add_typer(db, name="db")

    @app.callback()
    def main(verbose: bool = False) -> None:
        """A Typer tool."""

    @app.command()
    def hello(name: str = "world") -> None:
        """Greet someone."""
        print(f"hello {name}")

    @app.command()
    def fail() -> None:
        """Exit with 4."""
        raise typer.Exit(4)

    @app.command()
    def wait() -> None:
        """Read a line."""
        sys.stdin.readline()

    @db.command()
    def migrate(to: int = typer.Option(...)) -> None:
        """Migrate."""
        print(f"migrated to {to}")

    return app


def typer_single() -> Any:
    import typer

    app = typer.Typer(add_completion=False)

    @app.command()
    def tool(src: list[str], upper: bool = False, wait: bool = False) -> None:  # type: ignore[misc]
        """Join SRC words."""
        if wait:
            sys.stdin.readline()
        text = " ".join(src)
        print(text.upper() if upper else text)

    return app
