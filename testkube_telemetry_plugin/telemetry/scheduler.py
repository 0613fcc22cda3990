"""Who delivers, and when: the one gate, the timing policy, the locks, starting a flusher, inline delivery.

Every delivery (a command's flusher, the flusher itself, inline delivery,
`flush`, `disable`'s opt-out event) first asks `blocked()`, the one place
that says whether anything may be sent at all.  When a command has spooled
its record, `due()` decides whether a delivery starts now:

- with `delivery = inline`, and in CI (a job's machine vanishes when it
  ends), at once;
- otherwise once `BATCH_EVENTS` new events are pending, or the oldest of them
  has waited `MAX_WAIT_S`: a flusher costs a few commands' worth of CPU, so
  it carries many commands' events, in one request per collector, rather
  than one command's;
- records a failing collector still holds are tried again once its back-off
  has passed; nothing starts while every collector is paused.

`telemetry flush` and the opt-out event do not wait for any of this.

The command never waits for the network: it starts one detached flusher
(unless one is delivering: it holds `flusher.lock`).  Whoever delivers holds
that lock, so two deliveries never overlap; a flusher holds it only while it
sends (it never lingers), so `flush` never waits for one that has nothing to
do.  Each request is also sent under a shared hold of `opt-out.lock`, which
`disable` and `reset` take exclusively before they delete what the old id
left: after they return, no request carrying the old id is in flight, and
every later one finds the config changed and stops (see opt_out.py).
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from typing import Any, ContextManager, Iterator, Optional

from .. import _fs
from ..hooks.host import Host
from . import Telemetry, collectors, declared
from . import state as state_module
from .events import to_json
from .settings import Paths, Settings, load

HOST_ENV = "TESTKUBE_TELEMETRY_FLUSHER_HOST"  # how a flusher learns which host it delivers for
STARTED_ENV = "TESTKUBE_TELEMETRY_FLUSHER_STARTED"  # when it was started (time.monotonic(), system-wide)
LOCK_FD_ENV = "TESTKUBE_TELEMETRY_FLUSHER_LOCK_FD"  # the delivery lock its command took for it, inherited
BATCH_EVENTS = 50  # a delivery starts once this many new events are pending...
MAX_WAIT_S = 30 * 60.0  # ...or the oldest of them has waited this long (checked when a command runs)
REQUEST_TIMEOUT_S = 10.0  # one request's deadline: the lookup, connecting, sending and the whole answer
_children: list[int] = []


# -- the one gate ---------------------------------------------------------------------------------------
NOT_INFORMED = "Nothing is sent until the notice has been shown on a terminal."


def blocked(settings: Settings, opt_out: bool = False, informed: bool = False) -> Optional[str]:
    """Why nothing may be sent now (one sentence for the user), or None.

    The one decision every delivery passes first, whoever runs it: a command
    about to start a flusher, the flusher, inline delivery, `flush`.  With
    `opt_out`, only the opt-out event is to be sent, which telemetry being off
    does not stop.  Until the user has been told (`Settings.may_send`),
    events stay on the machine (`NOT_INFORMED`); `informed`: the caller is
    itself the user's choice to send (a server's heartbeat), so the notice is
    not waited for.
    """
    if not settings.enabled and not opt_out:
        return f"Telemetry is off ({settings.decision.reason}); nothing is sent."
    if settings.home_issue is not None:
        return f"Telemetry is off ({settings.home_issue}); nothing is sent."
    if settings.debug:
        return "Telemetry debug mode is on: events are printed, never sent."
    if not collectors.wanted(settings.collectors):  # one without its credentials: the delivery says what it lacks
        return "No collector is configured: events stay on this machine."
    if not (opt_out or informed or settings.may_send):
        return NOT_INFORMED
    return None


# -- when ------------------------------------------------------------------------------------------------
def policy(settings: Settings) -> str:
    """"inline", "ci" or "batched": how soon what a command spools leaves the machine."""
    if settings.delivery == "inline":
        return "inline"
    return "ci" if settings.ci is not None else "batched"


def due(settings: Settings, totals: tuple[int, int, float, int], now: Optional[float] = None) -> bool:
    """Whether a delivery should start now, given the spool's totals and the back-off markers.

    `totals` are the spool's (events, bytes, since, base): `base` events were
    left by the last delivery (a collector failed them), the rest are new,
    the oldest of them spooled at `since`.  Cheap: two small files, no listing.
    """
    now = time.time() if now is None else now
    events, _, since, base = totals
    fresh = events - base
    if events <= 0 or now < state_module.all_paused_until(settings.paths):
        return False
    if fresh > 0 and (policy(settings) != "batched" or fresh >= BATCH_EVENTS or now - since >= MAX_WAIT_S):
        return True
    retry = state_module.retry_due_at(settings.paths)
    return base > 0 and 0 < retry <= now


def next_delivery(settings: Settings, totals: tuple[int, int, float, int]) -> dict[str, Any]:
    """When what is pending leaves, for `status`: the policy, whether it is due, and the time it will be."""
    now = time.time()
    events, _, since, base = totals
    fresh = max(events - base, 0)
    paused = state_module.all_paused_until(settings.paths)
    retry = state_module.retry_due_at(settings.paths)
    kind = policy(settings)
    when: Optional[float] = None
    if fresh > 0:
        when = now if kind != "batched" or fresh >= BATCH_EVENTS else max(since + MAX_WAIT_S, now)
    if base > 0 and retry > 0:
        when = retry if when is None else min(when, retry)
    if when is not None and paused > when:
        when = paused
    return {"policy": kind, "new_events": fresh, "retrying_events": max(min(base, events), 0),
            "batch_events": BATCH_EVENTS, "max_wait_s": MAX_WAIT_S,
            "due_at": when, "due_now": when is not None and when <= now}


# -- the locks -------------------------------------------------------------------------------------------
def lock_path(paths: Paths) -> str:
    return os.path.join(paths.telemetry, "flusher.lock")


def barrier_path(paths: Paths) -> str:
    return os.path.join(paths.telemetry, "opt-out.lock")


def flusher_running(paths: Paths) -> bool:
    return _fs.is_held(lock_path(paths))


def claim_delivery(paths: Paths, wait_s: float = 0.0) -> Optional[int]:
    """The right to deliver (a held lock's descriptor), or None if another delivery keeps it."""
    return _fs.acquire(lock_path(paths), wait_s)


def release_delivery(fd: int) -> None:
    _fs.release(fd)


def sending(paths: Paths) -> ContextManager[bool]:
    """Hold the barrier shared while one request is checked, sent and acknowledged.

    Yields False when an opt-out holds it (or it cannot be used): send nothing then.
    """
    return _holding_barrier(paths, shared=True, wait_s=0.0)


def barrier(paths: Paths, wait_s: float) -> ContextManager[bool]:
    """Hold the barrier alone: no request is in flight while it is held.  Yields whether it was had
    within `wait_s` (a request is given at most its deadline, so it is, unless a process is stopped)."""
    return _holding_barrier(paths, shared=False, wait_s=wait_s)


@contextmanager
def _holding_barrier(paths: Paths, shared: bool, wait_s: float) -> Iterator[bool]:
    clear = False
    try:
        fd = _fs.acquire(barrier_path(paths), wait_s, shared=shared)
    except FileNotFoundError:
        fd = None
        # No `telemetry/` folder: no delivery holds the barrier (its file lives there), so for the
        # exclusive holder nothing is in flight; a sender still sends nothing.
        clear = not shared and not os.path.lexists(paths.telemetry)
    except OSError:
        fd = None
    try:
        yield fd is not None or clear
    finally:
        if fd is not None:
            _fs.release(fd)


# -- the flusher -----------------------------------------------------------------------------------------
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


def _inherited() -> Optional[list[int]]:
    """This process's inheritable descriptors above stderr (a pipe its caller passed it, a jobserver's),
    or None if they cannot be listed.  A flusher holding one would keep a caller that waits for the pipe's
    end waiting for the flusher, not for the command."""
    for listing in ("/proc/self/fd", "/dev/fd"):
        try:
            names = os.listdir(listing)
        except OSError:
            continue
        found = []
        for name in names:
            fd = int(name) if name.isdigit() else -1
            try:
                if fd > 2 and os.get_inheritable(fd):
                    found.append(fd)
            except OSError:
                pass  # the listing's own descriptor, closed since
        return found
    return None


def start_flusher(host: Host, paths: Paths, lock_fd: Optional[int] = None) -> bool:
    """Start a detached flusher process; never raises, never waits.

    `lock_fd`: the delivery lock, taken by the caller for the flusher, which inherits it.  Until a new
    process has imported what it needs and taken the lock itself (a tenth of a second), every command
    would otherwise find no delivery running and start one more flusher: a host calling the CLI in-process
    started one per command, twenty commands at once several.
    """
    env = dict(os.environ)
    env[host.env("HOME")] = os.path.realpath(paths.home)
    env[HOST_ENV] = host_to_env(host)
    env[STARTED_ENV] = repr(time.monotonic())  # its watchdog counts from here, not from after its imports
    env.pop(LOCK_FD_ENV, None)
    if lock_fd is not None:
        env[LOCK_FD_ENV] = str(lock_fd)
    argv = [sys.executable, "-m", "testkube_telemetry_plugin.telemetry.delivery.flusher"]
    try:
        _reap()
        inherited = _inherited() if hasattr(os, "posix_spawn") else None
        if inherited is not None:  # else subprocess below, which closes them itself (close_fds)
            actions: list[tuple[Any, ...]] = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)]
            actions += [(os.POSIX_SPAWN_CLOSE, fd) for fd in inherited if fd != lock_fd]
            if lock_fd is not None:
                os.set_inheritable(lock_fd, True)
            try:
                _children.append(os.posix_spawn(sys.executable, argv, env, file_actions=actions, setsid=True))
            finally:
                if lock_fd is not None:
                    os.set_inheritable(lock_fd, False)
            return True
    except (OSError, NotImplementedError, TypeError):
        pass  # no posix_spawn with setsid here: subprocess below
    try:
        import subprocess

        flags: dict[str, Any] = {"start_new_session": True}
        if lock_fd is not None and sys.platform != "win32":
            flags["pass_fds"] = (lock_fd,)
        if sys.platform == "win32":
            flags = {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS
                     | subprocess.CREATE_NO_WINDOW}
        subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         close_fds=True, env=env, **flags)
        return True
    except Exception:
        return False


def after_spool(settings: Settings, totals: tuple[int, int, float, int]) -> None:
    """What a command does once its record is spooled: deliver now if due; never raises."""
    try:
        if blocked(settings) is not None or not due(settings, totals):
            return
        if settings.delivery == "inline":
            deliver_inline(settings.host, settings.deadline_s)
        else:
            _start_holding_lock(settings)
    except Exception:
        pass  # still spooled: a later command or `flush` delivers it


def _start_holding_lock(settings: Settings) -> None:
    """Start a flusher unless a delivery is running, with the lock taken here and handed to it: the
    next command finds it held at once, not only once the new process has taken it."""
    fd = claim_delivery(settings.paths)
    if fd is None:
        return  # one is delivering; its last look covers what was just spooled
    try:
        start_flusher(settings.host, settings.paths, fd)
    finally:
        release_delivery(fd)  # the flusher holds it through its own copy


def after_delivery(settings: Settings) -> None:
    """A delivery other than the flusher's is over: records spooled while it held the lock, by
    commands that therefore started nothing, get a flusher now if they are due."""
    try:
        from .spool import Spool

        if settings.delivery == "inline" or blocked(settings) is not None:
            return
        if due(settings, Spool(settings.paths).counts()):
            _start_holding_lock(settings)
    except Exception:
        pass


# -- inline delivery -------------------------------------------------------------------------------------
INLINE_MARGIN_S = 0.05  # the request's deadline ends this much before the command's, to record the failure


def deliver_inline(
    host: Host,
    deadline_s: float,
    *,
    respect_backoff: bool = True,
    opt_out: bool = False,
    informed: bool = False,
) -> bool:
    """Deliver in this process, never costing more than `deadline_s`; True if it finished in time.

    If a flusher is delivering, it waits for its lock (within the deadline)
    and then delivers what is left.  Each request has the time left (less a
    margin) as its deadline: a collector that never answers is a failure,
    recorded and backed off, and the lock is released when the work ends, so
    no thread left behind holds it.  `opt_out` and `informed`: see `blocked`.
    """
    import threading

    started = time.monotonic()
    deadline = started + deadline_s
    settings = load(host)
    if blocked(settings, opt_out, informed) is not None:
        return True
    # Passed by `informed` alone (a server's heartbeat): the commands' records still wait for the notice.
    servers_only = informed and not opt_out and not settings.may_send
    fd = claim_delivery(settings.paths, max(0.0, deadline_s - 2 * INLINE_MARGIN_S))
    if fd is None:
        return False

    def work() -> None:
        from .delivery.loop import deliver

        try:
            deliver(settings, deadline - INLINE_MARGIN_S, respect_backoff=respect_backoff, opt_out=opt_out,
                    servers_only=servers_only)
        except Exception:
            pass  # still spooled; a later delivery sends it
        finally:
            release_delivery(fd)

    worker = threading.Thread(target=work, name="telemetry-delivery", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    return not worker.is_alive()
