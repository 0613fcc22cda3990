"""The heartbeat a server sends: `send_heartbeat()` for Python servers, and what `telemetry heartbeat` runs.

Testkube's API server sends a `testkube-heartbeat` when it starts, with an
anonymous id scrambled from the host.  Here the id is the install's anonymous
id (HMAC of the machine id with a random salt), and a cluster's id, if given,
is sent only as a hash keyed with the same salt: two installs never agree on
it, so it counts unique active clusters of one install and matches nothing
else.  Every opt-out layer silences it, and it uses the same spool and
back-off as every other event.

It is the operator's choice, made when installing the server: unlike a
command's events it does not wait for the notice to be seen on a terminal
(nobody reads a server's stderr).  Turn it off as any telemetry: the opt-out
variables, `disable telemetry` in its home, or not running it.
"""

from __future__ import annotations

from typing import Any, Optional

from ..hooks.host import Host
from . import catalogue
from . import state as state_module
from .config import ConfigError, ensure_anonymous_id, keyed_hash, new_file_header
from .events import base_properties, new_record, segment_message
from .record import print_events
from .scheduler import deliver_inline
from .settings import Settings, load
from .spool import Spool


def heartbeat_message(settings: Settings, cluster_id: Optional[str]) -> tuple[dict[str, Any], dict[str, Any], str]:
    """(record, message, anonymous id) for one server heartbeat; creates the id if needed."""
    host, paths = settings.host, settings.paths
    if settings.ci is not None:  # one id per repository, derived: nothing is created in a job's home
        anonymous_id = salt = settings.anonymous_id or ""
    else:
        anonymous_id, salt, _ = ensure_anonymous_id(paths.config, paths.config_lock, new_file_header(host))
    given: dict[str, Any] = {"source": "server"}
    if cluster_id:
        given["cluster_id"] = cluster_id
    event = catalogue.build(host, catalogue.HEARTBEAT, base_properties(host), given,
                            keyed=lambda raw: keyed_hash(salt, "cluster", raw))
    record = new_record(host, [event])
    return record, segment_message(record, event, anonymous_id), anonymous_id


class NotRecorded(Exception):
    """The heartbeat could not be written to the home (read-only, full, a lock another process keeps);
    the message is one sentence."""


def send_heartbeat(host: Host, cluster_id: Optional[str] = None, deadline_s: float = 10.0) -> Optional[dict[str, Any]]:
    """Send one heartbeat now (or leave it spooled for the next try); None when telemetry is off, or when
    the home cannot be written (a read-only or full disk): telemetry never breaks the server calling it.

    Returns the message as it is sent.  Never raises for network or disk trouble.
    """
    try:
        return record_heartbeat(host, cluster_id, deadline_s)
    except NotRecorded:
        return None


def record_heartbeat(
    host: Host, cluster_id: Optional[str] = None, deadline_s: float = 10.0
) -> Optional[dict[str, Any]]:
    """`send_heartbeat`, but a home it cannot write raises `NotRecorded` (`telemetry heartbeat` says why)."""
    settings = load(host)
    if not settings.enabled:
        return None
    try:
        record, message, anonymous_id = heartbeat_message(settings, cluster_id)
        if settings.debug:
            print_events(record, anonymous_id)
            return message
        spool = Spool(settings.paths)
        # Alone in its file: before the notice it goes, and the commands' records stay (acks.py: a prefix).
        state_module.add_count(settings.paths, "dropped_spool", spool.append(record, alone=not settings.may_send))
    except ConfigError as exc:
        raise NotRecorded(str(exc)) from None
    except OSError as exc:
        raise NotRecorded(f"{exc.filename or settings.paths.home}: cannot be written ({exc.strerror or exc})") from None
    deliver_inline(host, deadline_s, informed=True)  # the operator chose to send it: no notice is waited for
    return message
