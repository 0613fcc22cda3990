"""`telemetry heartbeat`: a server's heartbeat, now or on a period (for an API server, a container or a CronJob).

A server is watched by its exit status: by default (`--strict`) a heartbeat
that cannot go out because something is broken (an unusable home or settings
file, no collector with its credentials) exits 1, so the CronJob fails where
someone looks; an opt-out is a choice, and exits 0.  `--json` prints one JSON
line per heartbeat in every state, off included.
"""

from __future__ import annotations

import json
import re
import signal
import threading
from typing import Any, Callable, Optional

import click

from ...hooks.host import Host
from ..heartbeat import NotRecorded, record_heartbeat
from ..settings import Settings, printable
from .status import show_data

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """`90`, `90s`, `5m`, `1h`, `1d` -> seconds; ValueError otherwise."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text.lower())
    if not found:
        raise ValueError(f"{text!r} is not a duration like 30s, 5m, 1h or 1d")
    seconds = float(found.group(1)) * _UNITS[found.group(2) or "s"]
    if not 1 <= seconds <= 30 * 86400:
        raise ValueError(f"{text!r} must be between 1 second and 30 days")
    return seconds


def _still_pending(settings: Settings, message_id: str) -> bool:
    return any(m.get("messageId") == message_id for m in show_data(settings)["pending"])


def heartbeat_command(settings_of: Callable[[], Settings], host: Host) -> click.Command:
    @click.command("heartbeat")
    @click.option("--cluster-id", envvar=host.env("CLUSTER_ID"), default=None,
                  help="The cluster's id (e.g. the kube-system namespace UID); only its keyed hash is sent.")
    @click.option("--every", "every", default=None, metavar="DURATION",
                  help="Keep sending on this period (30s, 5m, 1h, 1d) until SIGTERM or Ctrl-C.")
    @click.option("--json", "as_json", is_flag=True,
                  help="Print each heartbeat (or why none was sent) as one JSON line.")
    @click.option("--strict/--lenient", default=True, show_default=True,
                  help="Exit 1 when no heartbeat can go out because of a problem (an unusable home or settings "
                       "file, no collector with its credentials), not a choice (an opt-out): a CronJob then fails "
                       "visibly instead of sending nothing.")
    def heartbeat(cluster_id: Optional[str], every: Optional[str], as_json: bool, strict: bool) -> None:
        """Send a server heartbeat now (for an API server, a container or a CronJob)."""
        try:
            period = parse_duration(every) if every is not None else None
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="'--every'") from None
        stop = threading.Event()
        if period is not None:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
        while True:
            settings = settings_of()
            try:
                message = record_heartbeat(settings.host, cluster_id) if settings.enabled else None
                problem = _problem(settings, message)
            except NotRecorded as exc:
                message, problem = None, str(exc)
            if message is None and problem is not None and settings.enabled:
                click.echo(printable(f"No heartbeat sent: {problem}."), err=True)
                delivered = False
            elif message is None:
                click.echo(printable(f"Telemetry is off ({settings.decision.reason}); no heartbeat sent."), err=True)
                delivered = False
            else:
                delivered = not settings.debug and not _still_pending(settings, message["messageId"])
                if not as_json:
                    click.echo(f"Heartbeat {message['messageId']} "
                               f"{'delivered' if delivered else 'spooled; it is sent on the next try'}.")
                if problem is not None:
                    click.echo(printable(f"The heartbeat stays on this machine: {problem}."), err=True)
            if as_json:
                click.echo(json.dumps({"enabled": settings.enabled, "message": message, "delivered": delivered,
                                       "reason": settings.decision.reason, "problem": problem}, sort_keys=True))
            if strict and problem is not None:
                raise click.exceptions.Exit(1)
            if period is None or stop.wait(period):
                return

    return heartbeat


def _problem(settings: Settings, message: Optional[dict[str, Any]]) -> Optional[str]:
    """Why no heartbeat can leave that is a fault to fix, not anyone's choice; None when it can (or was chosen)."""
    if not settings.enabled:
        return settings.decision.reason if settings.decision.problem else None
    if message is not None and not settings.debug:
        from ..collectors import collectors_for

        if not any(collector.problem is None for collector in collectors_for(settings.collectors)):
            return ("no collector can be sent to: none is configured with its credentials and a valid URL "
                    "(`telemetry status` says what is missing)")
    return None
