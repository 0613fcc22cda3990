"""The plugin's bookkeeping, as one typed object with one reader and one writer.

`state.json` holds the heartbeat day, counters of events that never left
(for the next heartbeat) and each collector's delivery status.  Whatever the
file holds, `load` returns a valid `State` (a broken file is reset and
counted).  Two tiny marker files mirror what every command needs, the
heartbeat day and the earliest retry time, so the hot path reads no JSON.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from typing import Any, Iterator, Optional

from . import locking, safefs
from .values import Value

BACKOFF_MAX_S = 3600.0  # the longest pause a collector imposes: an offline machine tries at most hourly
STATE_FILE = "state.json"
DAY_MARKER = "heartbeat-day"
RETRY_MARKER = "retry-at"
# Counters the heartbeat reports (and then resets); `state_resets` counts broken state files.
COUNTERS = ("dropped_spool", "dropped_rejected", "dropped_oversized", "dropped_corrupt", "state_resets")
MAX_STATE_BYTES = 1024 * 1024
LAST_EPOCH = 253402300799.0  # 9999-12-31T23:59:59Z


class SinkStatus(Value):
    """How delivery to one collector is going."""

    __slots__ = ("failures", "next_attempt", "last_error", "last_error_at", "last_sent_at")

    def __init__(self, failures: int = 0, next_attempt: float = 0.0, last_error: str = "",
                 last_error_at: float = 0.0, last_sent_at: float = 0.0) -> None:
        self.failures = failures
        self.next_attempt = next_attempt  # epoch seconds; 0 when not backing off
        self.last_error = last_error
        self.last_error_at = last_error_at
        self.last_sent_at = last_sent_at


class State(Value):
    """Everything in `state.json`; replaced (`state.replace(...)`), never changed in place."""

    __slots__ = ("heartbeat_day", "consent_asked", "counters", "sinks")

    def __init__(self, heartbeat_day: str = "", consent_asked: bool = False,
                 counters: Optional[dict[str, int]] = None, sinks: Optional[dict[str, SinkStatus]] = None) -> None:
        self.heartbeat_day = heartbeat_day
        self.consent_asked = consent_asked
        self.counters: dict[str, int] = {} if counters is None else counters
        self.sinks: dict[str, SinkStatus] = {} if sinks is None else sinks

    def retry_at(self, sink: str, now: Optional[float] = None) -> float:
        """When `sink` may be tried again, never later than the longest back-off from now."""
        now = time.time() if now is None else now
        return bounded(self.sinks.get(sink, SinkStatus()).next_attempt, now)


def bounded(when: float, now: float) -> float:
    """A stored back-off, or 0 (due now) if it ends further ahead than any back-off we set.

    Such a time was written by a wrong clock, or not by us.  Clamping it to
    "now + the longest back-off" at each read would push it ahead for ever.
    """
    return when if when <= now + BACKOFF_MAX_S else 0.0


def _number(value: Any, kind: type) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return kind(0)
    if value != value or value in (float("inf"), float("-inf")) or value < 0:
        return kind(0)
    return kind(value)


def _epoch(value: Any) -> float:
    """A time we could have written: after year 9999 it is garbage (and `gmtime` cannot show it)."""
    number: float = _number(value, float)
    return number if number <= LAST_EPOCH else 0.0


def _sink(value: Any) -> SinkStatus:
    if not isinstance(value, dict):
        return SinkStatus()
    error = value.get("last_error")
    return SinkStatus(
        failures=min(_number(value.get("failures"), int), 10**6),
        next_attempt=_epoch(value.get("next_attempt")),
        # JSON may spell a lone surrogate ("\ud800"), which no output stream can encode.
        last_error=error[:200].encode("utf-8", "replace").decode("utf-8") if isinstance(error, str) else "",
        last_error_at=_epoch(value.get("last_error_at")),
        last_sent_at=_epoch(value.get("last_sent_at")),
    )


def _from_json(value: Any) -> State:
    if not isinstance(value, dict):
        raise ValueError("not an object")
    counters = value.get("counters")
    counters = counters if isinstance(counters, dict) else {}
    sinks = value.get("sinks")
    sinks = sinks if isinstance(sinks, dict) else {}
    day = value.get("heartbeat_day")
    return State(
        heartbeat_day=day if isinstance(day, str) and len(day) == 10 else "",
        consent_asked=value.get("consent_asked") is True,
        counters={name: min(_number(counters.get(name), int), 10**9) for name in COUNTERS},
        sinks={str(name): _sink(status) for name, status in list(sinks.items())[:8]},
    )


def _to_json(state: State) -> bytes:
    import json  # not on a command's path: the markers are

    data = {
        "heartbeat_day": state.heartbeat_day,
        "consent_asked": state.consent_asked,
        "counters": {name: count for name, count in state.counters.items() if count},
        "sinks": {name: status.as_dict() for name, status in state.sinks.items()},
    }
    return json.dumps(data, sort_keys=True).encode("utf-8")


def load(folder: str) -> State:
    """The one reader: always a valid State, whatever the file holds."""
    try:
        raw = safefs.read_bytes(os.path.join(folder, STATE_FILE), MAX_STATE_BYTES)
    except FileNotFoundError:
        return State(counters=dict.fromkeys(COUNTERS, 0))
    except OSError:
        raw = b""
    import json

    try:
        return _from_json(json.loads(raw))
    except (ValueError, TypeError, RecursionError, MemoryError):
        return State(counters={**dict.fromkeys(COUNTERS, 0), "state_resets": 1})


class Box:
    """What `updating` hands out: replace `state` to change it."""

    def __init__(self, state: State) -> None:
        self.state = state


@contextmanager
def updating(folder: str) -> Iterator[Box]:
    """The one writer: read, let the caller replace, write back if changed, under the lock.

    Raises OSError (or TimeoutError) when the folder cannot be used: callers
    that must not fail catch it, and nothing half-done is written.
    """
    safefs.private_dir(folder)
    with locking.locked(os.path.join(folder, "state.lock")):
        before = load(folder)
        box = Box(before)
        yield box
        after = box.state
        if after != before:
            safefs.write_atomic(os.path.join(folder, STATE_FILE), _to_json(after))
        if after.heartbeat_day != before.heartbeat_day:
            safefs.write_atomic(os.path.join(folder, DAY_MARKER), after.heartbeat_day.encode(), durable=False)
        if after.sinks != before.sinks:
            earliest = min((status.next_attempt for status in after.sinks.values()), default=0.0)
            safefs.write_atomic(os.path.join(folder, RETRY_MARKER), repr(earliest).encode(), durable=False)


def heartbeat_day(folder: str) -> Optional[str]:
    """The last heartbeat's UTC day from its marker; None before the first command."""
    try:
        return safefs.read_bytes(os.path.join(folder, DAY_MARKER), 32).decode("ascii", "replace")
    except OSError:
        return None


def retry_at(folder: str) -> float:
    """The earliest time any collector may be tried, bounded by the longest back-off."""
    try:
        value = float(safefs.read_bytes(os.path.join(folder, RETRY_MARKER), 64))
    except (OSError, ValueError):
        return 0.0
    if value != value:  # NaN
        return 0.0
    return bounded(value, time.time())


def without_counts(state: State, reported: dict[str, int]) -> State:
    """`state` after the counts a heartbeat carried were safely spooled."""
    counters = {name: max(state.counters.get(name, 0) - reported.get(name, 0), 0) for name in COUNTERS}
    return state.replace(counters=counters)


def add_count(folder: str, name: str, count: int) -> None:
    """Count events that will never leave; never raises."""
    if not count:
        return
    try:
        with updating(folder) as box:
            counters = dict(box.state.counters)
            counters[name] = counters.get(name, 0) + count
            box.state = box.state.replace(counters=counters)
    except (OSError, TimeoutError):
        pass
