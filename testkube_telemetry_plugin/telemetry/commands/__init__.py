"""The `telemetry` group and the seed's verb-first forms: `<host> telemetry ...` and `<host> enable telemetry`.

The groups are registered on every run but built only when one is used: a
host's ordinary command must not pay for importing the command modules.
Commands are built for the host they are registered in, so every message
names that host.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import click

from ...hooks.adoption import add_flag_command, root_of
from ...hooks.host import Host
from ...hooks.invocation import current_invocation
from .. import declared

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


def register(cli: click.Command, host: Optional[Host] = None) -> None:
    """Make the telemetry commands reachable in the host's chosen forms, never in place of its own commands.

    `<cli> --telemetry ...` (the declaration's `flag`) is claimed as the first
    word only; the root-level `telemetry` group and verb-first forms are added
    only for a host that asked for them (`root_commands=True`), only to a
    Click group, and only under names the host does not use.
    """
    bound = host or root_of(cli).host
    declaration = declared(bound)
    if declaration.flag is not None:
        # A host that declares the flag itself keeps it (ValueError, shown in debug mode):
        # it chooses another with Telemetry(flag=...).
        add_flag_command(cli, declaration.flag,
                         _TelemetryCommands("telemetry", bound, None, "Anonymous usage telemetry: see and control it."))
    if not declaration.root_commands or not isinstance(cli, click.Group):
        return
    taken = _names(cli)
    if "telemetry" not in taken:
        cli.add_command(_TelemetryCommands("telemetry", bound, None, "Anonymous usage telemetry: see and control it."))
    for verb, help_text in VERB_HELP.items():
        if verb not in taken:
            cli.add_command(_TelemetryCommands(verb, bound, verb, help_text))


def _names(cli: click.Group) -> set[str]:
    """Every command name the host has, lazily loaded ones included."""
    names = set(cli.commands)
    try:
        names.update(cli.list_commands(click.Context(cli, info_name=cli.name)))
    except Exception:  # noqa: BLE001 - a group that cannot list without a real context: its dict is all we know
        pass
    return names
