"""Opting out: one last event, then nothing pending and no id left behind.

As Dart's unified_analytics does: the opt-out event is the last thing sent,
what was still waiting is deleted rather than sent, and the anonymous id goes.
"""

from __future__ import annotations

from . import paths
from .events import OPT_OUT, base_properties, track
from .settings import Settings


def send_opt_out(settings: Settings, scope: str, purge: bool) -> None:
    """Queue and deliver the opt-out event within the deadline; never raises."""
    folder = paths.telemetry_dir()
    try:
        from .spool import Spool

        spool = Spool(folder / "spool")
        if purge:
            spool.purge()
        anonymous_id = settings.anonymous_id
        if anonymous_id is None or settings.debug:
            return  # nothing was ever recorded under an id, or nothing is sent
        message = track(OPT_OUT, anonymous_id, {**base_properties("testkube", "-"), "scope": scope})
        spool.append(settings.sinks, [message])
        from .recorder import deliver_inline

        deliver_inline(settings, folder, respect_backoff=False)
    except Exception:
        pass  # opting out must succeed even when the network does not
    finally:
        if purge:
            from .spool import Spool
            from .state import updating_state

            Spool(folder / "spool").purge()
            try:
                with updating_state(folder) as state:
                    state.clear()
            except (OSError, TimeoutError):
                pass
