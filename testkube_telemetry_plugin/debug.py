"""`<PREFIX>_TELEMETRY_DEBUG=1`: every event that would be sent, printed, none sent.

Each message goes to stderr as one JSON line after a `[telemetry]` label, so
it is told apart from the command's own output and never mixes into stdout.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional

import click

from .events import segment_message

LABEL = "[telemetry]"


def print_events(record: Mapping[str, Any], anonymous_id: Optional[str]) -> None:
    for event in record["events"]:
        message = segment_message(record, event, anonymous_id or "(created on the first real run)")
        try:
            click.echo(f"{LABEL} {json.dumps(message, sort_keys=True)}", err=True)  # flushed, unlike print
        except (OSError, ValueError):
            return  # a closed stderr must not break the command
