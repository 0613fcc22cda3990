"""The detached flusher: one process at a time delivers the spool, then goes away.

The CLI never waits for the network: after spooling, it starts this module as a
detached process (new session, no inherited stdio, no console window) unless one
is already running (`flusher.lock` is held) or the collector asked for a pause
(back-off in `state.json`).  The flusher stays a few seconds after the spool
empties, so a burst of commands starts one process, not one each, and it exits
within `HARD_LIMIT_S` whatever the network does.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any, Optional

from . import locking, paths
from .destinations import sink_problem
from .paths import StrPath
from .settings import Settings
from .spool import Spool
from .state import backoff_until, read_state

SOFT_LIFETIME_S = 20.0  # no new batch is started after this
HARD_LIMIT_S = 30.0  # the process is gone by then, whatever the network does
IDLE_S = 3.0  # stay this long for more events before exiting
POLL_S = 0.1

_spawned: list[Any] = []  # Popen objects kept so Python does not warn they still run


def lock_path(folder: StrPath) -> str:
    return os.path.join(folder, "flusher.lock")


def start_if_needed(settings: Settings, folder: StrPath, state: Optional[dict[str, Any]] = None) -> bool:
    """Start a detached flusher when useful; never raises, never waits."""
    try:
        # The lock probe first: a flusher is usually still running (it lingers),
        # and then the URL checks (which import urllib) are not needed at all.
        if locking.is_held(lock_path(folder)) or not _pending_for_any_sink(settings, folder, state):
            return False
        import subprocess

        options: dict[str, Any] = {}
        if sys.platform == "win32":
            options["creationflags"] = (
                subprocess.CREATE_NEW_PROCESS_GROUP
                | subprocess.DETACHED_PROCESS
                | subprocess.CREATE_NO_WINDOW
            )
        else:
            options["start_new_session"] = True
        env = dict(os.environ, **{paths.HOME_ENV: os.path.realpath(paths.home_dir())})
        process = subprocess.Popen(
            [sys.executable, "-m", "testkube_telemetry_plugin.flusher"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            cwd=os.fspath(folder),
            env=env,
            **options,
        )
        _spawned.append(process)
        return True
    except Exception:
        return False


def _pending_for_any_sink(
    settings: Settings, folder: StrPath, state: Optional[dict[str, Any]]
) -> bool:
    spool = Spool.of(folder)
    state = read_state(folder) if state is None else state
    now = time.time()
    for sink in settings.sinks:
        if backoff_until(state, sink) <= now and spool.chunks(sink) and sink_problem(settings, sink) is None:
            return True
    return False


def run(folder: StrPath) -> None:
    """Deliver until the spool stays empty for IDLE_S or the lifetime is over."""
    from .delivery import deliver
    from .settings import load_settings

    started = time.monotonic()
    soft_deadline = started + SOFT_LIFETIME_S
    fd = locking.acquire(lock_path(folder))
    while fd is not None:
        try:
            while time.monotonic() < soft_deadline:
                settings = load_settings(cwd=folder)
                if not settings.enabled:
                    return
                if _pending_for_any_sink(settings, folder, None):
                    deliver(
                        settings,
                        folder,
                        soft_deadline,
                        still_enabled=lambda: load_settings(cwd=folder).enabled,
                    )
                    continue
                idle_until = time.monotonic() + IDLE_S
                while time.monotonic() < min(idle_until, soft_deadline):
                    time.sleep(POLL_S)
                    if _pending_for_any_sink(settings, folder, None):
                        break
                else:
                    break
        finally:
            locking.release(fd)
        # A command that saw our lock held did not start a flusher: its events
        # were spooled before it looked, so one last look here catches them.
        settings = load_settings(cwd=folder)
        if time.monotonic() >= soft_deadline or not settings.enabled:
            return
        if not _pending_for_any_sink(settings, folder, None):
            return
        fd = locking.acquire(lock_path(folder))


def main() -> None:
    # Whatever happens on the network, this process is gone within HARD_LIMIT_S.
    watchdog = threading.Timer(HARD_LIMIT_S, os._exit, args=(0,))
    watchdog.daemon = True
    watchdog.start()
    try:
        run(paths.telemetry_dir())
    except Exception:
        # Nobody is watching; the events stay spooled for the next try, and the
        # reason is kept where `--debug` users and bug reports can find it.
        import traceback

        try:
            with open(os.path.join(paths.telemetry_dir(), "flusher.log"), "a", encoding="utf-8") as log:
                log.write(traceback.format_exc()[-4000:])
        except OSError:
            pass
    finally:
        os._exit(0)


if __name__ == "__main__":
    main()
