"""From a finished command to spooled events, cheaply and without ever raising.

This is the post-command hook's body.  It reads the settings, decides which
events are due, writes them to the spool and makes sure a flusher will deliver
them; the network is never touched here (except with `delivery = inline`, and
then within a hard deadline).
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, Any, Callable

from . import paths
from .paths import StrPath
from .settings import Settings, disabling_env, load_settings
from .state import read_state, updating_state

if TYPE_CHECKING:
    from .invocation import Invocation, Outcome

EventPairs = list[tuple[str, dict[str, Any]]]
# Heartbeat property -> the state.json counter it reports (and resets):
# events the spool cap dropped, batches a collector rejected (4xx), and
# messages over Segment's 32 KB limit.
HEARTBEAT_COUNTERS = {
    "dropped_events": "dropped_spool",
    "rejected_events": "dropped_rejected",
    "oversized_events": "dropped_oversized",
}
OWN_GROUP = "telemetry"


def is_own_command(path: tuple[str, ...]) -> bool:
    """The plugin's own commands are not usage of the host CLI."""
    return bool(path) and (path[0] == OWN_GROUP or path[1:2] == (OWN_GROUP,))


def record_command(invocation: Invocation, outcome: Outcome) -> None:
    """The post-command hook: never raises, never changes the command's result."""
    try:
        if is_own_command(invocation.subcommand):
            return
        if disabling_env(os.environ) is not None:
            return  # switched off for this process: not even the config is read
        settings = load_settings()
        if not settings.enabled:
            _maybe_ask_consent(settings)
            return
        from .events import command_events

        record(
            settings,
            invocation.host_name,
            invocation.host_version,
            lambda base: command_events(invocation, outcome, base),
        )
    except Exception as exc:
        from .host import debug_enabled

        if debug_enabled():
            print(f"telemetry: not recorded: {type(exc).__name__}: {exc}", file=sys.stderr)


def _maybe_ask_consent(settings: Settings) -> None:
    if settings.consent != "opt-in" or settings.decision.source != "default":
        return
    folder = paths.telemetry_dir()
    if read_state(folder).get("consent_asked"):
        return
    from .environment import is_interactive

    if not is_interactive():
        return
    from .config_file import set_values
    from .notice import ask_consent

    with updating_state(folder) as state:
        state["consent_asked"] = True
    set_values(paths.config_path(), enabled=ask_consent())


def _due(state: dict[str, Any], anonymous_id: str, today: str) -> dict[str, bool]:
    return {
        "notice": not state.get("notice_shown"),
        "install": state.get("install_sent_for") != anonymous_id,
        "heartbeat": state.get("heartbeat_day") != today,
    }


def record(
    settings: Settings,
    host: str,
    host_version: str,
    make_events: Callable[[dict[str, Any]], EventPairs],
) -> None:
    """Spool the due events (install, heartbeat, then `make_events`'s) and deliver."""
    from .events import HEARTBEAT, INSTALL, base_properties, fits, track

    folder = paths.telemetry_dir()
    anonymous_id = settings.anonymous_id
    if anonymous_id is None:
        from .identity import ensure_anonymous_id

        anonymous_id = ensure_anonymous_id(paths.config_path())
    base = base_properties(host, host_version)
    today = time.strftime("%Y-%m-%d", time.gmtime())
    state = read_state(folder)
    pairs: EventPairs = []
    if settings.debug:
        due = _due(state, anonymous_id, today)
        pairs += [(INSTALL, base)] if due["install"] else []
        counts = {prop: int(state.get(key, 0)) for prop, key in HEARTBEAT_COUNTERS.items()}
        pairs += [(HEARTBEAT, {**base, **counts})] if due["heartbeat"] else []
        pairs += make_events(base)
        import json

        for event, props in pairs:
            print(json.dumps(track(event, anonymous_id, props)), file=sys.stderr)
        return
    if any(_due(state, anonymous_id, today).values()):
        with updating_state(folder) as state:
            due = _due(state, anonymous_id, today)
            if due["notice"]:
                from .notice import show_notice

                show_notice()
                state["notice_shown"] = True
            if due["install"]:
                pairs.append((INSTALL, base))
                state["install_sent_for"] = anonymous_id
            if due["heartbeat"]:
                counts = {prop: int(state.pop(key, 0)) for prop, key in HEARTBEAT_COUNTERS.items()}
                pairs.append((HEARTBEAT, {**base, **counts}))
                state["heartbeat_day"] = today
    pairs += make_events(base)
    messages = [track(event, anonymous_id, props) for event, props in pairs]
    spool_and_deliver(settings, folder, [m for m in messages if fits(m)], state)


def spool_and_deliver(
    settings: Settings, folder: StrPath, messages: list[dict[str, Any]], state: dict[str, Any]
) -> None:
    from .spool import Spool

    dropped = Spool.of(folder).append(settings.sinks, messages)
    if dropped:
        with updating_state(folder) as fresh:
            fresh["dropped_spool"] = int(fresh.get("dropped_spool", 0)) + dropped
    if settings.delivery == "inline":
        deliver_inline(settings, folder)
    else:
        from .flusher import start_if_needed

        start_if_needed(settings, folder, state)


def deliver_inline(
    settings: Settings, folder: StrPath, respect_backoff: bool = True
) -> None:
    """Deliver in this process, but never past `settings.deadline_s`."""
    import threading

    from . import locking
    from .flusher import lock_path

    fd = locking.acquire(lock_path(folder))
    if fd is None:
        return  # a flusher is delivering right now

    def work() -> None:
        from .delivery import deliver

        try:
            deliver(
                settings,
                folder,
                time.monotonic() + settings.deadline_s,
                respect_backoff=respect_backoff,
            )
        except Exception:
            pass  # still spooled; the next command tries again
        finally:
            locking.release(fd)

    # A daemon thread: at the deadline the process exits without waiting for it.
    worker = threading.Thread(target=work, name="testkube-telemetry", daemon=True)
    worker.start()
    worker.join(settings.deadline_s)
