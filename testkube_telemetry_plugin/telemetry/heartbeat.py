"""The heartbeat a server sends: `telemetry heartbeat`, and `send_heartbeat()` for Python servers.

Testkube's API server sends a `testkube-heartbeat` when it starts, with an
anonymous id scrambled from the host.  Here the id is the install's anonymous
id (HMAC of the machine id with a random salt), and a cluster's id, if given,
is sent only as a hash keyed with the same salt: two installs never agree on
it, so it counts unique active clusters of one install and matches nothing
else.  Every opt-out layer silences it, and it uses the same spool and
back-off as every other event.
"""

from __future__ import annotations

import json
import re
import signal
import threading
from typing import Any, Callable, Optional

import click

from . import state as state_module
from .events import HEARTBEAT, base_properties, event_name, new_event, new_record, segment_message
from .host import Host
from .settings import Settings, load_settings
from .spool import Spool

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


def heartbeat_message(settings: Settings, cluster_id: Optional[str]) -> tuple[dict[str, Any], dict[str, Any], str]:
    """(record, message, anonymous id) for one server heartbeat; creates the id if needed."""
    from .anonymous_id import ensure_anonymous_id, keyed_hash
    from .config_file import new_file_header
    from .notice import hint

    host, paths = settings.host, settings.paths
    anonymous_id, salt, _ = ensure_anonymous_id(paths.config, paths.config_lock,
                                                new_file_header(host.product, hint(host)))
    props: dict[str, Any] = {**base_properties(host), "source": "server"}
    if cluster_id:
        props["cluster_id"] = keyed_hash(salt, "cluster", cluster_id)
    event = new_event(event_name(host, HEARTBEAT), props)
    record = new_record(host, [event])
    return record, segment_message(record, event, anonymous_id), anonymous_id


def send_heartbeat(host: Host, cluster_id: Optional[str] = None, deadline_s: float = 10.0) -> Optional[dict[str, Any]]:
    """Send one heartbeat now (or leave it spooled for the next try); None when telemetry is off.

    Returns the message as it is sent.  Never raises for network trouble.
    """
    from .scheduler import deliver_inline

    settings = load_settings(host)
    if not settings.enabled:
        return None
    record, message, anonymous_id = heartbeat_message(settings, cluster_id)
    if settings.debug:
        from .debug import print_events

        print_events(record, anonymous_id)
        return message
    spool = Spool(settings.paths.spool)
    state_module.add_count(settings.paths.telemetry, "dropped_spool", spool.append(record))
    deliver_inline(host, deadline_s, wait_for_lock_s=min(2.0, deadline_s))
    return message


def _still_pending(settings: Settings, message_id: str) -> bool:
    from .status import show_data

    return any(m.get("messageId") == message_id for m in show_data(settings)["pending"])


def heartbeat_command(settings_of: Callable[[], Settings], host: Host) -> click.Command:
    @click.command("heartbeat")
    @click.option("--cluster-id", envvar=host.env("CLUSTER_ID"), default=None,
                  help="The cluster's id (e.g. the kube-system namespace UID); only its keyed hash is sent.")
    @click.option("--every", "every", default=None, metavar="DURATION",
                  help="Keep sending on this period (30s, 5m, 1h, 1d) until SIGTERM or Ctrl-C.")
    @click.option("--json", "as_json", is_flag=True, help="Print each message sent as one JSON line.")
    def heartbeat(cluster_id: Optional[str], every: Optional[str], as_json: bool) -> None:
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
            message = send_heartbeat(settings.host, cluster_id) if settings.enabled else None
            if message is None:
                click.echo(f"Telemetry is off ({settings.decision.reason}); no heartbeat sent.", err=True)
            else:
                delivered = not settings.debug and not _still_pending(settings, message["messageId"])
                if as_json:
                    click.echo(json.dumps({"message": message, "delivered": delivered}, sort_keys=True))
                else:
                    click.echo(f"Heartbeat {message['messageId']} "
                               f"{'delivered' if delivered else 'spooled; it is sent on the next try'}.")
            if period is None or stop.wait(period):
                return

    return heartbeat
