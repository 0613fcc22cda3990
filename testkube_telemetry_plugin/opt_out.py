"""Opting out: one last event, then nothing pending and no id left behind.

As Dart's unified_analytics does: the opt-out event is the last thing sent,
what was still waiting is deleted rather than sent, and the anonymous id goes.
"""

from __future__ import annotations

from contextlib import suppress

from . import paths
from .events import OPT_OUT, base_properties, track
from .recorder import deliver_inline
from .settings import Settings
from .spool import Spool
from .state import updating_state


def send_opt_out(settings: Settings, host: str, host_version: str, scope: str, purge: bool) -> None:
    """Queue and deliver the opt-out event within the deadline; never raises.

    `settings` are those from before the change: they hold the id and sinks.
    With `purge`, what was pending goes first and the local state goes after.
    """
    folder = paths.telemetry_dir()
    spool = Spool.of(folder)
    try:
        if purge:
            spool.purge()
        if settings.anonymous_id is not None and not settings.debug:
            properties = {**base_properties(host, host_version), "scope": scope}
            spool.append(settings.sinks, [track(OPT_OUT, settings.anonymous_id, properties)])
            deliver_inline(settings, folder, respect_backoff=False)
    except Exception:
        pass  # opting out must succeed even when the network does not
    if purge:
        spool.purge()
        with suppress(OSError, TimeoutError), updating_state(folder) as state:
            state.clear()
