"""A finished command, as catalogue events: usage, the catalogue's own, the error.

The error's text is the one free text that leaves, so it is built from what
the host knows: a usage error becomes a fixed sentence made from Click's
exception, and any other message loses every value the user typed before the
scrubber's allow-list sees it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from . import catalogue
from .events import COMMAND, ERROR

if TYPE_CHECKING:
    from .invocation import Invocation, Outcome


def error_details(invocation: Invocation, exception: Optional[BaseException]) -> tuple[str, str]:
    """(error_type, message) with nothing the user typed in the message."""
    if exception is None:
        return "Exit", ""
    import click

    from . import scrub

    error_type = type(exception).__name__
    if isinstance(exception, (SystemExit, click.exceptions.Exit, click.Abort, KeyboardInterrupt)):
        return error_type, ""
    if isinstance(exception, click.UsageError):
        return error_type, scrub.usage_error_message(exception, invocation.typed, invocation.own_words)
    text = exception.format_message() if isinstance(exception, click.ClickException) else str(exception)
    return error_type, scrub.scrub(text, invocation.typed, invocation.own_words)


def command_events(
    invocation: Invocation, outcome: Outcome, keyed: catalogue.Keyed
) -> list[tuple[str, dict[str, Any]]]:
    """(canonical event, properties) pairs for one finished command."""
    path = invocation.subcommand
    command = " ".join(path) or "(none)"
    found: list[tuple[str, dict[str, Any]]] = [
        (COMMAND, {"command": command, "exit_code": outcome.exit_code, "status": outcome.status,
                   "duration_ms": round(outcome.duration_ms, 1)})
    ]
    rule = catalogue.rule_for(path)
    if rule is not None and outcome.status != "usage_error":
        found.append((rule.event, catalogue.properties_for(rule, invocation, outcome, keyed)))
    if outcome.exit_code != 0:
        error_type, message = error_details(invocation, outcome.exception)
        found.append((ERROR, {"command": command, "error_type": error_type,
                              "exit_code": outcome.exit_code, "message": message}))
    return found
