"""The telemetry plugin's hook implementations: thin, importing little.

Registered through a host's entry point (`telemetry` in `testkube.plugins`),
or declared by a host: ``Host("mycli", plugins=[Telemetry(...)])``.  Everything
it shows or writes is named after the host it runs in.

pluggy inspects every name a plugin module holds when it registers it, at a
cost per name, on every command: so this module holds the three hooks and
nothing else, and imports what they need inside them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..hooks.specs import hookimpl

if TYPE_CHECKING:
    import click

    from ..hooks.invocation import Invocation, Outcome


@hookimpl
def testkube_register_commands(cli: click.Command) -> None:
    from .commands import register

    register(cli)  # in the forms the host chose; built only when one is used


@hookimpl
def testkube_pre_command(invocation: Invocation) -> None:
    import os

    from . import disabling_env

    if disabling_env(invocation.host, os.environ) is not None:
        return  # switched off for this process: nothing is imported, no file is read
    from .record import announce

    announce(invocation)  # the first-run notice comes before the command's output


@hookimpl
def testkube_post_command(invocation: Invocation, outcome: Outcome) -> None:
    import os

    from . import disabling_env

    if disabling_env(invocation.host, os.environ) is not None:
        return  # switched off for this process: nothing is imported, no file is read
    from .record import record_command

    record_command(invocation, outcome)
