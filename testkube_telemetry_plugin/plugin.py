"""The telemetry plugin's hook implementations: thin, importing little.

Registered through the `testkube.plugins` entry point as `telemetry`.  The
post-command hook hands the finished command to `recorder`; the commands live in
`commands`.  Both are imported only when needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .hookspecs import hookimpl

if TYPE_CHECKING:
    import click

    from .invocation import Invocation, Outcome


@hookimpl
def testkube_register_commands(cli: click.Group) -> None:
    from .commands import register

    register(cli)


@hookimpl
def testkube_post_command(invocation: Invocation, outcome: Outcome) -> None:
    from .recorder import record_command

    record_command(invocation, outcome)
