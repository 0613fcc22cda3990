"""Turning a finished command into Segment `track` messages.

The Segment message is the one form an event is spooled in; GA4's form is
derived from it at send time (`ga4.py`), so both collectors get the same event.
"""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Any, Mapping, Optional

from . import __version__, catalogue
from .environment import ci_provider, platform_facts

if TYPE_CHECKING:
    from .invocation import Invocation, Outcome

LIBRARY = {"name": "testkube-telemetry-plugin", "version": __version__}
# Segment's HTTP tracking API rejects messages over 32 KB.
MAX_MESSAGE_BYTES = 32 * 1024

INSTALL = "testkube_cli_install"
HEARTBEAT = "testkube-heartbeat"
COMMAND = "testkube_cli_command"
ERROR = "testkube_cli_error"
OPT_OUT = "testkube_cli_telemetry_disabled"


def iso_timestamp(epoch: Optional[float] = None) -> str:
    """ISO-8601 UTC with milliseconds, as Segment's libraries send it."""
    epoch = time.time() if epoch is None else epoch
    millis = int(epoch * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{millis:03d}Z"


def new_message_id() -> str:
    """A random UUID4, without importing uuid on every command."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def base_properties(host: str, host_version: str) -> dict[str, Any]:
    provider = ci_provider()
    return {
        **platform_facts(),
        # Set by the host's code, not typed by the user: bounded, not scrubbed.
        "host": host[:40],
        "host_version": host_version[:40],
        "plugin_version": __version__,
        "ci": provider is not None,
        "ci_provider": provider,
    }


def track(
    event: str,
    anonymous_id: str,
    properties: Mapping[str, Any],
    epoch: Optional[float] = None,
) -> dict[str, Any]:
    """A Segment `track` message with the fields of the seed's example."""
    props = {key: value for key, value in properties.items() if value is not None}
    return {
        "type": "track",
        "event": event,
        "anonymousId": anonymous_id,
        "messageId": new_message_id(),
        "timestamp": iso_timestamp(epoch),
        "context": {
            "library": dict(LIBRARY),
            "os": {"name": props.get("os")},
            "app": {"name": props.get("host"), "version": props.get("host_version")},
        },
        "integrations": {},
        "properties": props,
    }


def fits(message: Mapping[str, Any]) -> bool:
    return len(json.dumps(message, separators=(",", ":")).encode()) <= MAX_MESSAGE_BYTES


def command_events(
    invocation: Invocation, outcome: Outcome, base: Mapping[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    """(event, properties) pairs for one finished command."""
    path = invocation.subcommand
    command = " ".join(path) or "(none)"
    found: list[tuple[str, dict[str, Any]]] = [
        (
            COMMAND,
            {
                **base,
                "command": command,
                "exit_code": outcome.exit_code,
                "status": outcome.status,
                "duration_ms": round(outcome.duration_ms, 1),
            },
        )
    ]
    rule = catalogue.rule_for(path)
    if rule is not None and outcome.status != "usage_error":
        derived = {
            "duration_ms": round(outcome.duration_ms, 1),
            "status": outcome.status,
            "test_source": catalogue.source_kind(invocation.params),
        }
        props = catalogue.properties_for(rule, invocation.params, invocation.facts, derived)
        found.append((rule.event, {**base, **props}))
    if outcome.exit_code != 0:
        exception = outcome.exception
        message = ""
        if exception is not None:
            import click

            from .scrub import scrub  # compiles its patterns: only when a command failed

            if isinstance(exception, click.ClickException):
                message = exception.format_message()
            else:
                message = str(exception)
        found.append(
            (
                ERROR,
                {
                    **base,
                    "command": command,
                    "error_type": type(exception).__name__ if exception else "Exit",
                    "exit_code": outcome.exit_code,
                    "message": scrub(message) if message else "",
                },
            )
        )
    return found
