"""The plugin's bookkeeping: `state.json` (one typed object, one reader, one writer) and the sent log.

`state.json` holds the heartbeat day, counters of events that never left
(for the next heartbeat) and each collector's delivery status.  Whatever the
file holds, `load` returns a valid `State` (a broken file is reset and
counted).  Two tiny marker files mirror what every command needs, the
heartbeat day and the back-off (until when every collector asked for a
pause, and when the first failing one may be tried again), so a command
reads no JSON.

`sent.jsonl` is a capped local log of what was sent, exactly as sent (as
Dart's tool keeps one): `telemetry show` reads it, so users can audit every
payload that left.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional

from .. import _fs
from .._values import Value
from .events import not_json, to_json

if TYPE_CHECKING:
    from .settings import Paths

BACKOFF_MAX_S = 3600.0  # the longest pause a collector imposes: an offline machine tries at most hourly
STATE_FILE = "state.json"
DAY_MARKER = "heartbeat-day"
RETRY_MARKER = "retry-at"
# Counters the heartbeat reports (and then resets); `state_resets` counts broken state files.
COUNTERS = ("dropped_spool", "dropped_rejected", "dropped_oversized", "dropped_corrupt", "state_resets")
MAX_STATE_BYTES = 1024 * 1024
LAST_EPOCH = 253402300799.0  # 9999-12-31T23:59:59Z


class CollectorStatus(Value):
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

    __slots__ = ("heartbeat_day", "consent_asked", "counters", "collectors")

    def __init__(self, heartbeat_day: str = "", consent_asked: bool = False,
                 counters: Optional[dict[str, int]] = None,
                 collectors: Optional[dict[str, CollectorStatus]] = None) -> None:
        self.heartbeat_day = heartbeat_day
        self.consent_asked = consent_asked
        self.counters: dict[str, int] = {} if counters is None else counters
        self.collectors: dict[str, CollectorStatus] = {} if collectors is None else collectors

    def retry_at(self, collector: str, now: Optional[float] = None) -> float:
        """When `collector` may be tried again, never later than the longest back-off from now."""
        now = time.time() if now is None else now
        return bounded(self.collectors.get(collector, CollectorStatus()).next_attempt, now)


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


def _collector(value: Any) -> CollectorStatus:
    if not isinstance(value, dict):
        return CollectorStatus()
    error = value.get("last_error")
    return CollectorStatus(
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
    statuses = value.get("sinks")  # the file's name for them, kept for other versions sharing the home
    statuses = statuses if isinstance(statuses, dict) else {}
    day = value.get("heartbeat_day")
    return State(
        heartbeat_day=day if isinstance(day, str) and len(day) == 10 else "",
        consent_asked=value.get("consent_asked") is True,
        counters={name: min(_number(counters.get(name), int), 10**9) for name in COUNTERS},
        collectors={str(name): _collector(status) for name, status in list(statuses.items())[:8]},
    )


def _to_json(state: State) -> bytes:
    import json  # not on a command's path: the markers are

    data = {
        "heartbeat_day": state.heartbeat_day,
        "consent_asked": state.consent_asked,
        "counters": {name: count for name, count in state.counters.items() if count},
        "sinks": {name: status.as_dict() for name, status in state.collectors.items()},
    }
    return json.dumps(data, sort_keys=True).encode("utf-8")


def load(paths: Paths) -> State:
    """The one reader: always a valid State, whatever the file holds."""
    try:
        folder = paths.existing("telemetry")
    except OSError:  # none yet, or a folder we do not trust: nothing is read through it
        return State(counters=dict.fromkeys(COUNTERS, 0))
    try:
        raw = _fs.read_bytes(os.path.join(folder, STATE_FILE), MAX_STATE_BYTES)
    except FileNotFoundError:
        return State(counters=dict.fromkeys(COUNTERS, 0))
    except OSError:
        raw = b""
    import json

    try:
        return _from_json(json.loads(raw))
    except (ValueError, TypeError, RecursionError, MemoryError):
        return State(counters={**dict.fromkeys(COUNTERS, 0), "state_resets": 1})


class StateEdit:
    """What `updating` hands out: replace `state` to change it."""

    def __init__(self, state: State) -> None:
        self.state = state


@contextmanager
def updating(paths: Paths) -> Iterator[StateEdit]:
    """The one writer: read, let the caller replace, write back if changed, under the lock.

    Raises OSError (or TimeoutError) when the folder cannot be used: callers
    that must not fail catch it, and nothing half-done is written.
    """
    folder = paths.folder("telemetry")
    with _fs.locked(os.path.join(folder, "state.lock")):
        before = load(paths)
        edit = StateEdit(before)
        yield edit
        after = edit.state
        if after != before:
            _fs.write_atomic(os.path.join(folder, STATE_FILE), _to_json(after))
        if after.heartbeat_day != before.heartbeat_day:
            _fs.write_atomic(os.path.join(folder, DAY_MARKER), after.heartbeat_day.encode(), durable=False)
        if after.collectors != before.collectors:
            statuses = after.collectors.values()
            paused = min((status.next_attempt for status in statuses), default=0.0)
            failing = min((status.next_attempt for status in statuses if status.failures), default=0.0)
            _fs.write_atomic(os.path.join(folder, RETRY_MARKER), f"{paused!r} {failing!r}".encode(), durable=False)


def heartbeat_day(paths: Paths) -> Optional[str]:
    """The last heartbeat's UTC day from its marker; None before the first command."""
    try:
        return _fs.read_bytes(os.path.join(paths.existing("telemetry"), DAY_MARKER), 32).decode("ascii", "replace")
    except OSError:
        return None


def _markers(paths: Paths) -> tuple[float, float]:
    """(every collector paused until, the first failing one due at), each bounded; 0 for none.

    Earlier versions wrote one number, the first; it serves as both.
    """
    try:
        parts = _fs.read_bytes(os.path.join(paths.existing("telemetry"), RETRY_MARKER), 64).split()
        values = [float(part) for part in parts[:2]]
    except (OSError, ValueError):
        return 0.0, 0.0
    if not values:
        return 0.0, 0.0
    now = time.time()
    paused, failing = values[0], values[-1]
    return tuple(bounded(value, now) if value == value else 0.0 for value in (paused, failing))  # type: ignore[return-value]


def all_paused_until(paths: Paths) -> float:
    """Until when every collector asked for a pause (nothing is started before), bounded by the longest back-off."""
    return _markers(paths)[0]


def retry_due_at(paths: Paths) -> float:
    """When the first collector that failed may be tried again; 0 if none is failing."""
    return _markers(paths)[1]


def retry_at(paths: Paths) -> float:
    """The earliest time any collector may be tried (every one paused until then)."""
    return all_paused_until(paths)


def without_counts(state: State, reported: dict[str, int]) -> State:
    """`state` after the counts a heartbeat carried were safely spooled."""
    counters = {name: max(state.counters.get(name, 0) - reported.get(name, 0), 0) for name in COUNTERS}
    return state.replace(counters=counters)


def add_count(paths: Paths, name: str, count: int) -> None:
    """Count events that will never leave; never raises."""
    if not count:
        return
    try:
        with updating(paths) as edit:
            counters = dict(edit.state.counters)
            counters[name] = counters.get(name, 0) + count
            edit.state = edit.state.replace(counters=counters)
    except (OSError, TimeoutError):
        pass


# -- the sent log ------------------------------------------------------------------------------
KEEP_SENT = 100
MAX_LOG_BYTES = KEEP_SENT * 8192


def _sent_log(folder: str) -> str:
    return os.path.join(folder, "sent.jsonl")


def log_sent(paths: Paths, collector: str, sent: Iterable[tuple[str, Any]]) -> None:
    """Log each (sent_at, payload), the payload as it was sent; never raises."""
    data = "".join(to_json({"sink": collector, "sent_at": sent_at, "payload": payload}) + "\n"
                   for sent_at, payload in sent).encode("utf-8")
    if not data:
        return
    try:
        folder = paths.folder("telemetry")
        with _fs.locked(os.path.join(folder, "sent.lock")):
            size = _fs.append(_sent_log(folder), data)
            if size > MAX_LOG_BYTES:
                kept = _read_lines(folder)[-KEEP_SENT:]
                _fs.write_atomic(_sent_log(folder), ("\n".join(kept) + "\n").encode("utf-8"), durable=False)
    except (OSError, TimeoutError):
        pass


def _read_lines(folder: str) -> list[str]:
    try:
        return _fs.read_bytes(_sent_log(folder), 16 * MAX_LOG_BYTES).decode("utf-8", "replace").splitlines()
    except OSError:
        return []


def recently_sent(paths: Paths, limit: int = KEEP_SENT) -> list[dict[str, Any]]:
    """The sent log's last entries, oldest first."""
    try:
        folder = paths.existing("telemetry")
    except OSError:
        return []
    import json

    entries = []
    for line in _read_lines(folder)[-limit:]:
        try:
            entry = json.loads(line, parse_constant=not_json)  # NaN would break `show --json`'s readers
        except (ValueError, RecursionError):
            continue
        if isinstance(entry, dict) and all(isinstance(entry.get(key), str) for key in ("sink", "sent_at")):
            # Shown as text: a lone surrogate spelled in JSON ("\ud800") would make printing it fail.
            entries.append({**entry, **{key: entry[key].encode("utf-8", "replace").decode("utf-8")
                                        for key in ("sink", "sent_at")}})
    return entries
