"""The detached flusher: it delivers what is due, then goes away at once.

A command starts it when a delivery is due (`scheduler.due`).  It takes the
delivery lock, sends, lets go, and takes one last look: records spooled while
it held the lock (by commands that therefore started none) are delivered too
if they are due.  It never waits for more events and polls nothing: the next
command that finds a delivery due starts the next flusher.  If telemetry was
turned off meanwhile, it sends only what `disable` handed over (the opt-out
event), then clears what is left.

Its watchdog counts from the moment the command started it, not from after
its imports: the process is gone `HARD_LIMIT_S` later whatever the network
does (SIGALRM, whose default action ends the process, where there is one).
"""

from __future__ import annotations

import os
import time

HARD_LIMIT_S = 30.0  # the process is gone by then, whatever the network does
SOFT_LIFETIME_S = 20.0  # no new delivery is started after this
STARTED_ENV = "TESTKUBE_TELEMETRY_FLUSHER_STARTED"  # scheduler.STARTED_ENV: set by the command that starts it


def _started() -> float:
    """When the command started this process (`time.monotonic()` is the system's clock, shared by
    processes); now, if it did not say."""
    try:
        started = float(os.environ.get(STARTED_ENV, ""))
    except ValueError:
        return time.monotonic()
    now = time.monotonic()
    return started if now - 3600 <= started <= now else now


def _arm_watchdog(started: float) -> None:
    left = max(0.001, started + HARD_LIMIT_S - time.monotonic())  # already past it: at once
    try:
        import signal

        signal.setitimer(signal.ITIMER_REAL, left)  # SIGALRM's default action ends the process
    except (ImportError, AttributeError, OSError, ValueError):
        import threading

        watchdog = threading.Timer(left, os._exit, args=(0,))
        watchdog.daemon = True
        watchdog.start()


if __name__ == "__main__":
    STARTED = _started()
    _arm_watchdog(STARTED)  # before anything else is imported

from typing import Optional  # noqa: E402  (after the watchdog too)

from ... import _fs  # noqa: E402
from ...hooks.host import Host  # noqa: E402
from .. import scheduler  # noqa: E402
from ..opt_out import holds_opt_out, purge_after_opt_out  # noqa: E402
from ..settings import config_stamp, load, paths_of  # noqa: E402
from ..spool import Spool  # noqa: E402
from .loop import deliver  # noqa: E402

MAX_LOG_BYTES = 64 * 1024


def _handed_lock(path: str) -> Optional[int]:
    """The delivery lock the command that started us took for us (`scheduler.LOCK_FD_ENV`), if it is that
    lock: an inherited descriptor of the same file."""
    try:
        fd = int(os.environ.pop(scheduler.LOCK_FD_ENV, ""))
    except ValueError:
        return None
    if not _fs.still_named(fd, path):  # not open here, or another file than the lock
        return None
    os.set_inheritable(fd, False)
    return fd


def run(host: Host, started: float) -> None:
    """Deliver while something is due and the lifetime lasts; never wait for more."""
    paths = paths_of(host)
    handed = _handed_lock(scheduler.lock_path(paths))  # held until this process ends or lets go of it
    spool = Spool(paths)
    soft_deadline = started + SOFT_LIFETIME_S
    first = True
    settings, stamp = None, None
    while time.monotonic() < soft_deadline:
        if paths.problem() is not None:
            return  # not even the lock is opened through a folder we do not trust
        if settings is None or config_stamp(paths) != stamp:  # read again only if the config changed
            stamp = config_stamp(paths)
            settings = load(host, cwd=paths.telemetry)
        opt_out = not settings.enabled
        if opt_out and not holds_opt_out(spool):
            return
        if scheduler.blocked(settings, opt_out=opt_out) is not None:
            if opt_out and settings.home_issue is None:  # the opt-out event can no longer be sent: clear up
                purge_after_opt_out(settings)
            return
        if not first and not opt_out and not scheduler.due(settings, spool.counts()):
            return  # the last look found nothing due
        first = False
        # The opt-out is ours alone to finish (whoever holds the lock may be a command's inline delivery, or
        # `disable`'s own, about to exit without it): wait for the lock. Otherwise the holder's last look
        # covers what we came for.
        fd, handed = handed, None
        if fd is None:
            fd = scheduler.claim_delivery(paths, max(0.0, soft_deadline - time.monotonic()) if opt_out else 0.0)
        if fd is None:
            return
        try:
            if opt_out:  # `disable` left its event to us: send it, then clear up as it would have
                deliver(settings, soft_deadline, respect_backoff=False, opt_out=True)
                # Under the lock every settings edit takes: an `enable` since then keeps its new files.
                with _fs.locked(paths.config_lock):
                    if not load(host, cwd=paths.telemetry).enabled:
                        purge_after_opt_out(settings, held=(scheduler.lock_path(paths),))
                return
            deliver(settings, soft_deadline)
        finally:
            scheduler.release_delivery(fd)
        # One last look, with the lock let go: a command that saw it held started
        # no flusher (its record was spooled before it looked).


def _log_failure(host: Host) -> None:
    """Nobody is watching: keep the reason where `--debug` users and bug reports find it."""
    import traceback

    try:
        path = os.path.join(paths_of(host).folder("telemetry"), "flusher.log")
        size = _fs.append(path, traceback.format_exc()[-4000:].encode("utf-8", "replace"))
        if size > MAX_LOG_BYTES:
            _fs.remove(path)
    except OSError:
        pass


def main(started: float) -> None:
    host = None
    try:
        host = scheduler.host_from_env(os.environ[scheduler.HOST_ENV])
        os.chdir(paths_of(host).telemetry)  # hold no user's folder open
        run(host, started)
    except Exception:
        if host is not None:
            _log_failure(host)
    finally:
        os._exit(0)


if __name__ == "__main__":
    main(STARTED)
