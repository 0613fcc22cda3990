"""Opting out: one last event, then nothing pending and nothing identifying left.

As Dart's unified_analytics does: the opt-out event is the last thing sent,
what was still waiting is deleted rather than sent, and the anonymous id, the
salt, the sent log and every cache go.  If a flusher is busy, `disable` waits
for it within the inline deadline; if the event is still not confirmed then (a
busy flusher, a slow collector), it is handed to a background flusher: one
that finds telemetry off tries the opt-out record once, then clears
everything, so the id is gone within its lifetime either way.
"""

from __future__ import annotations

import os
import shutil
from typing import Optional

from .. import _fs
from . import catalogue, scheduler
from .events import BadRecord, base_properties, new_record
from .record import print_events
from .settings import Settings, forget_summary
from .spool import Spool


def holds_opt_out(spool: Spool) -> bool:
    """Whether `disable` left its event waiting (only the opt-out record carries its own id)."""
    for entry in spool.entries():
        try:
            if spool.load(entry).get("anonymousId"):
                return True
        except BadRecord:
            continue
    return False


def send_opt_out(before: Settings, scope: str, purge: bool) -> Optional[str]:
    """Queue and deliver the opt-out event; returns what to tell the user, if anything. Never raises."""
    paths = before.paths
    spool = Spool(paths)
    purge = purge and before.home_issue is None  # never delete through a folder we do not trust
    note = None
    try:
        if purge:
            spool.purge()
        if before.may_send and before.anonymous_id is not None:  # nothing ever left: nothing to say goodbye to
            host = before.host
            event = catalogue.build(host, catalogue.OPT_OUT, base_properties(host), {"scope": scope})
            record = new_record(host, [event], anonymous_id=before.anonymous_id)
            if before.debug:
                print_events(record, before.anonymous_id)
            else:
                spool.append(record)
                scheduler.deliver_inline(host, before.deadline_s, wait_for_lock_s=before.deadline_s * 0.75,
                               respect_backoff=False, ignore_disabled=True)
                # Not confirmed in time: a flusher tries, then clears up. If none starts, the purge
                # below removes the record rather than leave the old id on disk.
                if holds_opt_out(spool) and scheduler.start_flusher(host, paths):
                    note = "The opt-out event is handed to a background flusher, which then clears what is left."
    except Exception:
        pass  # opting out must succeed even when the network does not
    if purge:
        purge_after_opt_out(before, keep_spool=note is not None)
    return note


def purge_after_opt_out(settings: Settings, keep_spool: bool = False) -> None:
    """Delete every trace of telemetry under the home: records, state, sent log, caches.

    With `keep_spool`, a flusher still has the opt-out event to send: the rest
    goes now all the same, so an `enable` before that flusher is done starts
    afresh (a new id's notice and heartbeat) and keeps nothing of the old id.
    """
    paths = settings.paths
    if keep_spool:
        try:
            names = os.listdir(paths.telemetry)
        except OSError:
            names = []
        for name in names:
            path = os.path.join(paths.telemetry, name)
            if name in ("spool", "flusher.lock"):
                continue
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                _fs.remove(path)
    else:
        shutil.rmtree(paths.telemetry, ignore_errors=True)
    try:
        forget_summary(paths)
    except OSError:
        pass
