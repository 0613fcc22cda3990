"""Opting out: a barrier, one last event, then nothing pending and nothing identifying left.

`disable` (and `reset`, which renews the id) first change the config, then
take the opt-out barrier alone (`scheduler.barrier`).  Every request of every
delivery (a flusher, `flush`, inline delivery, a `heartbeat --every` loop) is
sent under a shared hold of it, after checking that telemetry is still on
under the same id: so once the barrier is had, no request of the old id is
in flight, and any later one finds the change and stops.  Only then is every
trace deleted: pending records, state, the sent log, the caches.

As Dart's unified_analytics does, the opt-out event is then the last thing
sent: it is spooled with its own copy of the id (the only record that carries
one), delivered at once within `OPT_OUT_DEADLINE_S` (or the inline deadline,
if longer), and, if not confirmed by then (a slow collector), handed to a
background flusher, which sends it and clears what is left.  It is never
written to the sent log.
"""

from __future__ import annotations

import os
from typing import Optional

from .. import _fs
from . import scheduler
from .events import BadRecord, base_properties, new_record
from .settings import Paths, Settings, forget_summary
from .spool import Spool

BARRIER_WAIT_S = scheduler.REQUEST_TIMEOUT_S + 2  # a request in flight is given at most its deadline
OPT_OUT_DEADLINE_S = 2.0  # the opt-out event is worth a little more waiting than a command's inline delivery


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
    """Stop deliveries of the old id, forget it, queue and deliver the opt-out event.

    Returns what to tell the user, if anything.  Never raises.
    """
    paths = before.paths
    purge = purge and before.home_issue is None  # never delete through a folder we do not trust
    may_send = before.may_send  # asked now: it reads a marker the purge below removes
    note = None
    if purge and not purge_after_opt_out(before):
        note = (f"A delivery in another process did not stop within {BARRIER_WAIT_S:g} s "
                "(a stopped or hung process?); it may still send.")
    handed = False
    try:
        if may_send and before.anonymous_id is not None:  # nothing ever left: nothing to say goodbye to
            from . import catalogue  # here: the flusher imports this module, and needs neither this nor Click
            from .record import print_events

            host = before.host
            event = catalogue.build(host, catalogue.OPT_OUT, base_properties(host), {"scope": scope})
            record = new_record(host, [event], anonymous_id=before.anonymous_id)
            if before.debug:
                print_events(record, before.anonymous_id)
            elif scheduler.blocked(before, opt_out=True) is None:  # else it could never be sent: not spooled
                spool = Spool(paths)
                spool.append(record, alone=True)  # `--project` keeps what is pending: acknowledged apart
                # A request cut short may still have arrived, and be sent again by the flusher:
                # so it is given more time than a command's inline delivery.
                scheduler.deliver_inline(host, max(before.deadline_s, OPT_OUT_DEADLINE_S), respect_backoff=False,
                                         opt_out=True)
                # Not confirmed in time: a flusher tries, then clears up. If none starts, the purge
                # below removes the record rather than leave the old id on disk.
                if holds_opt_out(spool) and scheduler.start_flusher(host, paths):
                    handed = True
                    note = note or ("The opt-out event is handed to a background flusher, "
                                    "which then clears what is left.")
    except Exception:
        pass  # opting out must succeed even when the network does not
    if purge and not handed:
        _purge(paths)  # what the opt-out's own delivery left (its status, its journal line)
        _forget_caches(paths)
    return note


def purge_after_opt_out(settings: Settings, keep_spool: bool = False, wait_s: float = BARRIER_WAIT_S,
                        held: tuple[str, ...] = ()) -> bool:
    """Delete every trace of telemetry under the home: records, state, sent log, caches.

    Called once the config no longer holds the old id: it first takes the
    opt-out barrier, so no request of the old id is in flight and none starts
    after.  False if the barrier could not be had within `wait_s` (what could
    be deleted is deleted all the same).  With `keep_spool`, a flusher still
    has the opt-out event to send: the rest goes now all the same, so an
    `enable` before that flusher is done starts afresh (a new id's notice and
    heartbeat) and keeps nothing of the old id.  `held`: lock files this
    process holds (a flusher's), which may go too.
    """
    paths = settings.paths
    with scheduler.barrier(paths, wait_s) as clear:
        _purge(paths, keep_spool, (*held, scheduler.barrier_path(paths)) if clear else held)
    _forget_caches(paths)
    return clear


def _purge(paths: Paths, keep_spool: bool = False, held: tuple[str, ...] = ()) -> None:
    """Remove what is under `telemetry/`, and the folder once it is empty.

    A lock file goes only if this process holds it (`held`) or nobody does:
    whoever locks one checks afterwards that its name still leads to the file
    it locked (`_fs.acquire`), so a lock file removed under a waiting process
    is never half a lock; one another process holds stays.
    """
    try:
        names = os.listdir(paths.telemetry)
    except OSError:
        return
    for name in names:
        path = os.path.join(paths.telemetry, name)
        if keep_spool and name == "spool":
            continue
        if name == "spool" and os.path.isdir(path) and not os.path.islink(path):
            Spool(paths).empty()
        elif name.endswith(".lock"):
            _remove_lock(path, path in held)
        elif os.path.isdir(path) and not os.path.islink(path):
            import shutil  # rarely needed, and it imports the compression modules

            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                _fs.remove(path)
            except OSError:
                pass
    try:
        os.rmdir(paths.telemetry)
    except OSError:
        pass  # a lock another process holds, a file it wrote meanwhile: left


def _remove_lock(path: str, ours: bool) -> None:
    try:
        fd = None if ours else _fs.acquire(path)
        if ours or fd is not None:
            _fs.remove(path)
        if fd is not None:
            _fs.release(fd)
    except OSError:
        pass


def _forget_caches(paths: Paths) -> None:
    try:
        forget_summary(paths)
    except OSError:
        pass
