"""Who delivers, and when: the flusher lock, starting a flusher, inline delivery.

The command never waits for the network: after spooling, it starts one
detached flusher unless one runs already (it holds `flusher.lock`), no
collector is configured, or every collector asked for a pause.  With
`delivery = inline` the command delivers itself, within a hard deadline.
Whoever delivers holds the lock, so two deliveries never overlap.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Optional

from .. import _fs
from ..hooks.host import Host
from . import Telemetry, declared
from . import state as state_module
from .events import to_json
from .settings import Paths, Settings, load, paths_of

HOST_ENV = "TESTKUBE_TELEMETRY_FLUSHER_HOST"  # how a flusher learns which host it delivers for
_children: list[int] = []


def lock_path(paths: Paths) -> str:
    return os.path.join(paths.telemetry, "flusher.lock")


def flusher_running(paths: Paths) -> bool:
    return _fs.is_held(lock_path(paths))


def claim_delivery(paths: Paths, wait_s: float = 0.0) -> Optional[int]:
    """The right to deliver (a held lock's descriptor), or None if another delivery keeps it."""
    return _fs.acquire(lock_path(paths), wait_s)


def release_delivery(fd: int) -> None:
    _fs.release(fd)


def host_to_env(host: Host) -> str:
    """The host, and its telemetry declaration, as the flusher process needs them."""
    own = declared(host)
    telemetry = {"product": own.product, "consent": own.consent, "notice": own.notice, "ci": own.ci,
                 **own.collectors}
    return to_json({"name": host.display_name, "version": host.version, "plugin_group": host.plugin_group,
                    "env_prefix": host.env_prefix, "home": host.home, "telemetry": telemetry})


def host_from_env(value: str) -> Host:
    import json

    data = json.loads(value)
    return Host(data["name"], data["version"], data["plugin_group"], data["env_prefix"], data["home"],
                plugins=[Telemetry(**data["telemetry"])])


def _reap() -> None:
    for pid in list(_children):
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                _children.remove(pid)
        except OSError:
            _children.remove(pid)


def start_flusher(host: Host, paths: Paths) -> bool:
    """Start a detached flusher process; never raises, never waits."""
    env = dict(os.environ)
    env[host.env("HOME")] = os.path.realpath(paths.home)
    env[HOST_ENV] = host_to_env(host)
    argv = [sys.executable, "-m", "testkube_telemetry_plugin.telemetry.delivery.flusher"]
    try:
        _reap()
        if hasattr(os, "posix_spawn"):
            devnull = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)]
            _children.append(os.posix_spawn(sys.executable, argv, env, file_actions=devnull, setsid=True))
            return True
    except (OSError, NotImplementedError, TypeError):
        pass  # no posix_spawn with setsid here: subprocess below
    try:
        import subprocess

        flags: dict[str, Any] = {"start_new_session": True}
        if sys.platform == "win32":
            flags = {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS
                     | subprocess.CREATE_NO_WINDOW}
        subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         close_fds=True, env=env, **flags)
        return True
    except Exception:
        return False


def after_spool(settings: Settings) -> None:
    """Make sure what was just spooled will be delivered; never raises."""
    try:
        if not settings.may_send:
            return  # kept until the user has been told (Settings.may_send); the first delivery after takes it
        if settings.delivery == "inline":
            deliver_inline(settings.host, settings.deadline_s)
        elif state_module.retry_at(settings.paths) <= time.time() and not flusher_running(settings.paths):
            start_flusher(settings.host, settings.paths)
    except Exception:
        pass  # still spooled: the next command tries again


def deliver_inline(
    host: Host,
    deadline_s: float,
    *,
    wait_for_lock_s: float = 0.0,
    respect_backoff: bool = True,
    ignore_disabled: bool = False,
    informed: bool = False,
) -> bool:
    """Deliver in this process, but never past `deadline_s`; False if another delivery held the lock.

    `informed`: the caller is itself the user's choice to send (a server's heartbeat), so the notice
    is not waited for."""
    import threading

    started = time.monotonic()
    fd = claim_delivery(paths_of(host), wait_for_lock_s)
    if fd is None:
        return False
    deadline = started + deadline_s

    def work() -> None:
        from .delivery.loop import deliver

        try:
            settings = load(host)
            if settings.may_send or (informed and settings.enabled) or ignore_disabled:
                deliver(settings, deadline, respect_backoff=respect_backoff)
        except Exception:
            pass  # still spooled; the next command tries again
        finally:
            release_delivery(fd)

    # A daemon thread: at the deadline the process exits without waiting for it.
    worker = threading.Thread(target=work, name="telemetry-delivery", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    return not worker.is_alive()
