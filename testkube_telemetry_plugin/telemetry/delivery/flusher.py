"""The detached flusher: one process at a time delivers the spool, then goes away.

It stays a few seconds after the spool empties, so a burst of commands starts
one process, not one each, and it exits within `HARD_LIMIT_S` whatever the
network does.  If telemetry was turned off meanwhile, it sends only what
`disable` handed over (the opt-out event) and leaves.
"""

from __future__ import annotations

import os
import threading
import time
import traceback

from ... import _fs
from ...hooks.host import Host
from .. import state as state_module
from ..collectors import collectors_for
from ..opt_out import holds_opt_out, purge_after_opt_out
from ..scheduler import HOST_ENV, claim_delivery, host_from_env, release_delivery
from ..settings import Settings, load, paths_of
from ..spool import Spool
from .loop import deliver

SOFT_LIFETIME_S = 20.0  # no new batch is started after this
HARD_LIMIT_S = 30.0  # the process is gone by then, whatever the network does
IDLE_S = 3.0  # stay this long for more events before exiting
POLL_S = 0.1
FIRST_CLAIM_WAIT_S = 5.0  # a flusher started while another process delivers waits this long, then leaves
MAX_LOG_BYTES = 64 * 1024


def _deliverable(settings: Settings, spool: Spool) -> bool:
    """Records wait for a collector that is neither backing off nor misconfigured, and may be sent."""
    if not settings.may_send:
        return False  # nobody has been told yet: they wait (Settings.may_send)
    now = time.time()
    current = state_module.load(settings.paths)
    return any(
        collector.problem is None and current.retry_at(collector.name, now) <= now
        and spool.pending_for(collector.name)
        for collector in collectors_for(settings.collectors)
    )


def _still_on(host: Host) -> bool:
    """Whether telemetry is still on, cheaply: a lingering flusher asks ten times a second,
    on a machine where the user's commands run, so it reads the config's summary, not the TOML."""
    return load(host, full=False).enabled


def _work(host: Host, spool: Spool, soft_deadline: float) -> bool:
    """Deliver while there is work; True when telemetry was turned off (nothing more to do)."""
    folder = paths_of(host).telemetry
    while time.monotonic() < soft_deadline:
        settings = load(host, cwd=folder)
        if settings.home_issue is not None:
            return True  # a folder was replaced meanwhile: touch nothing more
        if not settings.enabled:
            if holds_opt_out(spool):  # `disable` left its event to us: send it, then clear up as it would have
                deliver(settings, soft_deadline, respect_backoff=False)
                # Under the lock every settings edit takes: an `enable` since then keeps its new files.
                with _fs.locked(settings.paths.config_lock):
                    if not load(host, cwd=folder).enabled:
                        purge_after_opt_out(settings)
            return True
        if _deliverable(settings, spool):
            deliver(settings, soft_deadline, still_enabled=lambda: _still_on(host))
            continue
        seen = spool.counts()
        idle_until = time.monotonic() + IDLE_S
        while time.monotonic() < min(idle_until, soft_deadline):
            time.sleep(POLL_S)
            if spool.counts() != seen or not _still_on(host):
                break
        else:
            return False
    return False


def run(host: Host) -> None:
    """Deliver until the spool stays empty for IDLE_S or the lifetime is over."""
    paths = paths_of(host)
    spool = Spool(paths)
    soft_deadline = time.monotonic() + SOFT_LIFETIME_S
    wait_s = FIRST_CLAIM_WAIT_S  # `disable` may start us while its own try still holds the lock
    while True:
        if paths.problem() is not None:
            return  # not even the lock is opened through a folder we do not trust
        fd = claim_delivery(paths, wait_s)
        wait_s = 0.0
        if fd is None:
            return
        try:
            spool.recount()
            turned_off = _work(host, spool, soft_deadline)
        finally:
            release_delivery(fd)
        # One last look, with the lock let go: a command that saw it held started
        # no flusher (its events were spooled before it looked), and `disable` may
        # have handed over its event while waiting for the lock in vain.
        settings = load(host, cwd=paths.telemetry)
        if settings.home_issue is not None or time.monotonic() >= soft_deadline:
            return
        if not settings.enabled:
            if not holds_opt_out(spool):
                return
        elif turned_off or not _deliverable(settings, spool):
            return


def _log_failure(host: Host) -> None:
    """Nobody is watching: keep the reason where `--debug` users and bug reports find it."""
    try:
        path = os.path.join(paths_of(host).folder("telemetry"), "flusher.log")
        size = _fs.append(path, traceback.format_exc()[-4000:].encode("utf-8", "replace"))
        if size > MAX_LOG_BYTES:
            _fs.remove(path)
    except OSError:
        pass


def main() -> None:
    # Whatever happens on the network, this process is gone within HARD_LIMIT_S.
    watchdog = threading.Timer(HARD_LIMIT_S, os._exit, args=(0,))
    watchdog.daemon = True
    watchdog.start()
    host = None
    try:
        host = host_from_env(os.environ[HOST_ENV])
        os.chdir(paths_of(host).telemetry)  # hold no user's folder open
        run(host)
    except Exception:
        if host is not None:
            _log_failure(host)
    finally:
        os._exit(0)


if __name__ == "__main__":
    main()
