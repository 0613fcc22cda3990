"""Click CLIs as other projects write them, each built unadopted or adopted.

Every builder takes `adopted`: False builds the CLI exactly as its authors
wrote it; True changes only what the README's "Adopting the contract" section
says to change (the root group's class, and `plugin_group=`), so the two can
be run side by side and their output compared.  Each call builds new command
objects (the lazily loaded ones excepted: they live in `lazy_cmds`).
"""

from __future__ import annotations

import importlib
import shlex
import sys
from typing import Any, Optional

import click
from click_default_group import DefaultGroup
from click_repl import repl as click_repl

from testkube_telemetry_plugin import HookedGroup, Host, Telemetry

PLUGIN_GROUP = "adopt.plugins"  # entry-point group; variables are ADOPT_*
PROMPT_KWARGS: dict[str, Any] = {}  # handed to click-repl's PromptSession (tests feed it a pipe)


def hooks(adopted: bool) -> dict[str, Any]:
    return {"plugin_group": PLUGIN_GROUP} if adopted else {}


class LazyGroup(click.Group):
    """The lazily loading group of Click's documentation ("Lazily Loading Subcommands")."""

    def __init__(self, *args: Any, lazy_subcommands: Optional[dict[str, str]] = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = lazy_subcommands or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        base = super().list_commands(ctx)
        lazy = sorted(self.lazy_subcommands.keys())
        return base + lazy

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        if cmd_name in self.lazy_subcommands:
            return self._lazy_load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def _lazy_load(self, cmd_name: str) -> click.Command:
        import_path = self.lazy_subcommands[cmd_name]
        modname, cmd_object_name = import_path.rsplit(".", 1)
        mod = importlib.import_module(modname)
        cmd_object = getattr(mod, cmd_object_name)
        if not isinstance(cmd_object, click.Command):
            raise ValueError(f"Lazy loading of {import_path} failed by returning a non-command object")
        return cmd_object


# The README's combined form, in both base-class orders.
class HookedDefaultGroup(DefaultGroup, HookedGroup):
    pass


class HookedFirstDefaultGroup(HookedGroup, DefaultGroup):
    pass


class HookedLazyGroup(LazyGroup, HookedGroup):
    pass


class HookedFirstLazyGroup(HookedGroup, LazyGroup):
    pass


def nested(adopted: bool) -> click.Group:
    """Plain groups nested two deep, and commands that end in each way."""

    @click.group(cls=HookedGroup if adopted else click.Group, **hooks(adopted))
    @click.option("--verbose", is_flag=True)
    def tool(verbose: bool) -> None:
        """A tool with nested groups."""

    @tool.command()
    @click.option("--name", default="world")
    def hello(name: str) -> None:
        click.echo(f"hello {name}")
        click.echo("said hello", err=True)

    @tool.command()
    def fail() -> None:
        raise click.ClickException("it failed")

    @tool.command("exit3")
    @click.pass_context
    def exit3(ctx: click.Context) -> None:
        click.echo("leaving with 3")
        ctx.exit(3)

    @tool.command()
    def boom() -> None:
        raise ValueError("boom")

    @tool.group()
    def db() -> None:
        """Database commands."""

    @db.command()
    @click.option("--to", type=int, required=True)
    def migrate(to: int) -> None:
        click.echo(f"migrated to {to}")

    @db.group()
    def schema() -> None:
        """Schema commands."""

    @schema.command()
    @click.argument("table")
    def show(table: str) -> None:
        click.echo(f"schema of {table}")

    return tool


def chained(adopted: bool) -> click.Group:
    """A `chain=True` root: `pipe a --n 5 b` runs two commands."""

    @click.group(cls=HookedGroup if adopted else click.Group, chain=True, **hooks(adopted))
    def pipe() -> None:
        """Run steps in order."""

    @pipe.command()
    @click.option("--n", type=int, default=1)
    def a(n: int) -> int:
        click.echo(f"a {n}")
        return n

    @pipe.command()
    @click.option("--label", default="b")
    def b(label: str) -> str:
        click.echo(f"b {label}")
        return label

    @pipe.command()
    def stop() -> None:
        raise click.ClickException("stopped")

    @pipe.result_callback()
    def done(results: list[Any]) -> None:
        click.echo(f"results {results}")

    return pipe


def bare(adopted: bool) -> click.Group:
    """`invoke_without_command=True` at the root and on a subgroup."""

    @click.group(cls=HookedGroup if adopted else click.Group, invoke_without_command=True, **hooks(adopted))
    @click.option("--color/--no-color", default=True)
    @click.pass_context
    def app(ctx: click.Context, color: bool) -> None:
        if ctx.invoked_subcommand is None:
            click.echo(f"home (color={color})")
        else:
            click.echo(f"-> {ctx.invoked_subcommand}")

    @app.group(invoke_without_command=True)
    @click.option("--all", "show_all", is_flag=True)
    @click.pass_context
    def config(ctx: click.Context, show_all: bool) -> None:
        if ctx.invoked_subcommand is None:
            click.echo(f"config summary (all={show_all})")

    @config.command()
    @click.argument("key")
    def get(key: str) -> None:
        click.echo(f"get {key}")

    return app


def lazy(adopted: bool, hooked_first: bool = False) -> click.Group:
    """A lazily loading root, and a lazily loading group under it."""
    lazies = {"heavy": "adoption.lazy_cmds.heavy", "tools": "adoption.lazy_cmds.tools"}
    cls = (HookedFirstLazyGroup if hooked_first else HookedLazyGroup) if adopted else LazyGroup

    @click.group(cls=cls, lazy_subcommands=lazies, **hooks(adopted))
    def big() -> None:
        """A big CLI that imports its commands when they are asked for."""

    @big.command()
    def light() -> None:
        click.echo("light")

    @big.group(cls=LazyGroup, lazy_subcommands={"deep": "adoption.lazy_cmds.deep"})
    def more() -> None:
        """More, lazily."""

    return big


def defaulted(adopted: bool, hooked_first: bool = False) -> click.Group:
    """click-default-group's DefaultGroup: `srv`, `srv 8080` and `srv serve` all serve."""
    cls = (HookedFirstDefaultGroup if hooked_first else HookedDefaultGroup) if adopted else DefaultGroup

    @click.group(cls=cls, default="serve", default_if_no_args=True, **hooks(adopted))
    def srv() -> None:
        """A server."""

    @srv.command()
    @click.option("--host", default="localhost")
    @click.argument("port", required=False, default="8000")
    def serve(host: str, port: str) -> None:
        click.echo(f"serving on {host}:{port}")

    @srv.command()
    def stop() -> None:
        click.echo("stopped")

    return srv


def shells(adopted: bool) -> click.Group:
    """Three ways of running commands from inside a command, one per line of input.

    `repl` is click-repl; `shell` makes a context for each line and invokes the
    group with it; `batch` calls `ctx.invoke(command, **kwargs)` for each line.
    """

    @click.group(cls=HookedGroup if adopted else click.Group, **hooks(adopted))
    def notes() -> None:
        """Notes, with a REPL."""

    @notes.command()
    @click.argument("text")
    @click.option("--tag", default="none")
    def add(text: str, tag: str) -> None:
        click.echo(f"added {text} [{tag}]")

    @notes.command()
    def fail() -> None:
        raise click.ClickException("failed")

    @notes.group()
    def tags() -> None:
        """Tag commands."""

    @tags.command("list")
    @click.option("--long", "long_", is_flag=True)
    def tags_list(long_: bool) -> None:
        click.echo(f"tags (long={long_})")

    @notes.command()
    @click.pass_context
    def repl(ctx: click.Context) -> None:
        """click-repl's REPL."""
        click_repl(ctx, prompt_kwargs=PROMPT_KWARGS)

    @notes.command()
    @click.pass_context
    def shell(ctx: click.Context) -> None:
        """One context per line: `group.make_context(None, args, parent=ctx)`, then `group.invoke`."""
        group = ctx.find_root().command
        assert isinstance(group, click.Group)
        for line in sys.stdin:
            args = shlex.split(line)
            if not args:
                continue
            try:
                with group.make_context(None, args, parent=ctx) as line_ctx:
                    group.invoke(line_ctx)
            except click.ClickException as exc:
                exc.show()
            except click.exceptions.Exit:
                pass

    @notes.command()
    @click.pass_context
    def batch(ctx: click.Context) -> None:
        """`add TEXT [TAG]` and `tags [long]` lines run with `ctx.invoke`, `forward` with `ctx.forward`."""
        for line in sys.stdin:
            words = shlex.split(line)
            if words[:1] == ["add"]:
                ctx.invoke(add, text=words[1], **({"tag": words[2]} if len(words) > 2 else {}))
            elif words[:1] == ["tags"]:
                ctx.invoke(tags_list, long_=words[1:] == ["long"])
            elif words[:1] == ["forward"]:
                ctx.forward(tags_list)

    return notes


def mycli(form: str) -> click.Group:
    """A CLI that is not Testkube: unadopted, the one-line form, a declared `Host`,
    or a `Host` that asks for telemetry under its own name."""
    extra: dict[str, Any] = {}
    cls: type[click.Group] = HookedGroup
    if form == "plain":
        cls = click.Group
    elif form == "one-line":
        extra = {"plugin_group": "mycli.plugins", "host_version": "2.0"}
    elif form == "host":
        extra = {"host": Host("mycli", version="2.0")}
    else:
        telemetry = Telemetry(product="MyCLI", segment_url="http://127.0.0.1:9")  # refused at once
        extra = {"host": Host("mycli", version="2.0", plugins=[telemetry])}

    @click.group(cls=cls, **extra)
    def cli() -> None:
        """My CLI."""

    @cli.command()
    @click.argument("name")
    def greet(name: str) -> None:
        click.echo(f"hi {name}")

    @cli.command()
    def fail() -> None:
        raise click.ClickException("failed")

    return cli
