"""A plugin whose command fails the way a call to a server fails: with text the user never typed.

`testkube api call` takes no argument: the error text comes from UNTYPED_ERROR
(as a server's body, a subprocess's stderr or an SDK's exception would), so
nothing of it is in `invocation.typed` and only the scrubber's allow-list
stands between it and the collector.  UNTYPED_ERROR_KIND picks how it is
raised: an SDK-style exception class of the plugin's own, RuntimeError,
OSError or click.ClickException.
"""

from __future__ import annotations

import os

import click

from testkube_telemetry_plugin import hookimpl


class ApiError(Exception):
    """What an API client raises: the server's text is the message."""


RAISERS = {
    "api": ApiError,
    "runtime": RuntimeError,
    "os": OSError,
    "click": click.ClickException,
}


@hookimpl
def testkube_register_commands(cli: click.Group) -> None:
    cli.add_command(api)


@click.group("api")
def api() -> None:
    """Talk to a (pretend) server."""


@api.command("call")
def call() -> None:
    """Fail with the server's error text."""
    raise RAISERS[os.environ.get("UNTYPED_ERROR_KIND", "api")](os.environ["UNTYPED_ERROR"])
