"""The `telemetry` group and the seed's verb-first forms: `<host> telemetry ...` and `<host> enable telemetry`.

The groups are registered on every run but built only when one is used: a
host's ordinary command must not pay for importing the command modules.
Commands are built for the host they are registered in, so every message
names that host.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import click

from ...hooks.host import Host
from ...hooks.invocation import current_invocation

if TYPE_CHECKING:
    from ..settings import Settings

VERB_HELP = {
    "enable": "Turn a feature on (`enable telemetry`).",
    "disable": "Turn a feature off (`disable telemetry`).",
    "status": "Show a feature's status (`status telemetry`).",
}


class _TelemetryCommands(click.Group):
    """`telemetry` (all commands) or a verb group (its one `telemetry` command), built on first use."""

    def __init__(self, name: str, host: Host, verb: Optional[str], help: str) -> None:
        super().__init__(name, help=help)
        self._host = host
        self._verb = verb
        self._built = False

    def _build(self) -> None:
        if self._built:
            return
        self._built = True
        for command in build_commands(self._host):
            if self._verb is None:
                self.add_command(command)
            elif command.name == self._verb:
                assert command.callback is not None
                self.add_command(click.Command("telemetry", callback=command.callback, params=list(command.params),
                                               help=command.help, short_help=command.short_help))

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        self._build()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._build()
        return super().list_commands(ctx)


def build_commands(bound: Host) -> list[click.Command]:
    """The telemetry commands for one host (`bound`, or the run's resolved host)."""
    from ..settings import load
    from . import choice, flush, heartbeat, status

    def settings() -> Settings:
        invocation = current_invocation()
        return load(invocation.host if invocation is not None else bound)

    return [status.status_command(settings), choice.enable_command(settings), choice.disable_command(settings),
            status.show_command(settings), flush.flush_command(settings), choice.reset_command(settings),
            heartbeat.heartbeat_command(settings, bound)]


def register(cli: click.Group, host: Optional[Host] = None) -> None:
    """Add `telemetry` and the verb-first forms, next to what the host already has."""
    bound = host or getattr(cli, "host", None) or Host(cli.name or "cli")
    cli.add_command(_TelemetryCommands("telemetry", bound, None, "Anonymous usage telemetry: see and control it."))
    for verb, help_text in VERB_HELP.items():
        existing = cli.commands.get(verb)
        if existing is None:
            cli.add_command(_TelemetryCommands(verb, bound, verb, help_text))
        elif isinstance(existing, click.Group) and "telemetry" not in existing.commands:
            forms = _TelemetryCommands(verb, bound, verb, help_text)
            existing.add_command(_LazyVerb(forms))
        # A host command of that name that is not a group is left alone.


class _LazyVerb(click.Command):
    """`telemetry` inside a host's own verb group: its real command is built when it runs."""

    def __init__(self, forms: _TelemetryCommands) -> None:
        super().__init__("telemetry", help="Telemetry (see `telemetry --help`).")
        self._forms = forms

    def _real(self, ctx: click.Context) -> click.Command:
        command = self._forms.get_command(ctx, "telemetry")
        assert command is not None
        return command

    def make_context(self, info_name: Optional[str], args: list[str], parent: Optional[click.Context] = None,
                     **extra: object) -> click.Context:
        return self._real(parent or click.Context(self)).make_context(info_name, args, parent, **extra)
