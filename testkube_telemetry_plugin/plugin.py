"""The telemetry plugin's hook implementations: thin, importing little.

Registered through the `testkube.plugins` entry point as `telemetry`, or by a
host that declares `Host(telemetry=Telemetry(...))`.  Everything it shows or
writes is named after the host it runs in.  With an opt-out variable set, the
post-command hook returns before importing anything or reading any file.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .hookspecs import hookimpl
from .switches import disabling_env

if TYPE_CHECKING:
    import click

    from .invocation import Invocation, Outcome


@hookimpl
def testkube_register_commands(cli: click.Group) -> None:
    from .registration import register

    register(cli)


@hookimpl
def testkube_post_command(invocation: Invocation, outcome: Outcome) -> None:
    if disabling_env(invocation.host, os.environ) is not None:
        return
    from .recorder import record_command

    record_command(invocation, outcome)
