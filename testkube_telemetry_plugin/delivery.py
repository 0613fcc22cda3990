"""The batch loop: spooled records to each collector, acknowledged only after a 2xx.

Layered as Segment's client is: `transport.post` returns an answer or raises,
`retry` decides what the answer means and how long to wait, and this loop
batches records, sends, acknowledges, and records each collector's status.
Delivery is at-least-once: a flusher killed between a collector's answer and
the acknowledgement sends that one batch again (Segment de-duplicates by
`messageId`; GA4 does not).  Only the flusher, `flush`, inline delivery and
`disable` import this module: it pulls in `requests`.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable, NamedTuple, Optional

from . import retry, sentlog
from . import state as state_module
from .events import MAX_MESSAGE_BYTES, iso_timestamp, segment_message
from .settings import Settings
from .sinks import Sink, sinks_for
from .spool import BadRecord, Entry, Spool
from .transport import TransportError, new_session, post

CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 10.0
# Whoever runs delivery watches the deadline and abandons it there; a socket timeout
# ending at the same instant would race that watcher and decide what the user is told.
SOCKET_SLACK_S = 0.5


class SinkReport:
    def __init__(self) -> None:
        self.sent = 0
        self.kept = 0
        self.dropped = 0
        self.errors: list[str] = []


class Report:
    def __init__(self) -> None:
        self.sinks: dict[str, SinkReport] = {}

    @property
    def complete(self) -> bool:
        return all(r.kept == 0 and r.dropped == 0 for r in self.sinks.values())


class Batch(NamedTuple):
    entries: list[Entry]  # the records this request acknowledges
    messages: list[dict[str, Any]]
    events: int  # events in those records (some may have been dropped as oversized)


def _note(folder: str, sink: str, error: Optional[str], retry_after_s: Optional[float] = None) -> float:
    """Record a success (error None) or a failure; returns the back-off set."""
    now = time.time()
    delay = 0.0
    with state_module.updating(folder) as box:
        sinks = dict(box.state.sinks)
        status = sinks.get(sink, state_module.SinkStatus())
        if error is None:
            status = state_module.SinkStatus(last_sent_at=now)
        else:
            failures = status.failures + 1
            delay = retry.backoff(failures, retry_after_s)
            status = status._replace(failures=failures, next_attempt=now + delay, last_error=error[:200],
                                     last_error_at=now)
        sinks[sink] = status
        box.state = box.state._replace(sinks=sinks)
    return delay


def _next_batch(spool: Spool, sink: Sink, entries: list[Entry], anonymous_id: Optional[str],
                folder: str) -> Optional[Batch]:
    """Whole records, oldest first, up to the sink's limits and one anonymous id."""
    taken: list[Entry] = []
    messages: list[dict[str, Any]] = []
    size = events = 0
    client: Optional[str] = None
    while entries:
        entry = entries[0]
        try:
            record = spool.load(entry)
        except BadRecord:
            entries.pop(0)
            spool.remove([entry])
            state_module.add_count(folder, "dropped_corrupt", max(entry.events, 1))
            continue
        if record is None:
            entries.pop(0)  # sent or dropped by another process meanwhile
            continue
        owner = record.get("anonymousId") or anonymous_id
        if owner is None:
            return None  # no id yet: the next command creates one
        built = [segment_message(record, event, owner) for event in record["events"]]
        fitting = [m for m in built if len(json.dumps(m, separators=(",", ":"))) <= MAX_MESSAGE_BYTES]
        record_size = sum(len(json.dumps(m)) for m in fitting)
        if taken and (client != owner or events + len(built) > sink.max_events
                      or size + record_size > sink.max_bytes):
            break
        if len(built) > len(fitting):
            state_module.add_count(folder, "dropped_oversized", len(built) - len(fitting))
        entries.pop(0)
        taken.append(entry)
        messages += fitting
        size += record_size
        events += len(built)
        client = owner
    return Batch(taken, messages, events) if taken else None


def deliver(
    settings: Settings,
    deadline: float,
    *,
    respect_backoff: bool = True,
    attempts: int = 1,
    still_enabled: Callable[[], bool] = lambda: True,
    on_progress: Optional[Callable[[int], None]] = None,
    only: Optional[Callable[[Entry], bool]] = None,
) -> Report:
    """Send what the spool holds until done or `deadline` (time.monotonic())."""
    folder = settings.paths.telemetry
    spool = Spool(f"{folder}/spool")
    report = Report()
    sinks = sinks_for(settings)
    names = [sink.name for sink in sinks]
    session = new_session()
    try:
        for sink in sinks:
            result = report.sinks.setdefault(sink.name, SinkReport())
            entries = [e for e in spool.pending_for(sink.name) if only is None or only(e)]
            if sink.problem or sink.url is None:
                result.kept += sum(e.events for e in entries)
                result.errors.append(f"{sink.name}: {sink.problem}")
                if entries:
                    _note(folder, sink.name, sink.problem)
                continue
            if respect_backoff and state_module.load(folder).retry_at(sink.name) > time.time():
                result.kept += sum(e.events for e in entries)
                continue
            tries = 0
            while entries:
                remaining = deadline - time.monotonic()
                if remaining <= 0.05 or not still_enabled():
                    result.kept += sum(e.events for e in entries)
                    break
                batch = _next_batch(spool, sink, entries, settings.anonymous_id, folder)
                if batch is None:
                    result.kept += sum(e.events for e in entries)
                    break
                if not batch.messages:  # every event was too large
                    spool.acknowledge(sink.name, batch.entries, names)
                    result.dropped += batch.events
                    continue
                body, headers, logged = sink.request(batch.messages)
                timeout = (min(CONNECT_TIMEOUT_S, remaining + SOCKET_SLACK_S),
                           min(READ_TIMEOUT_S, remaining + SOCKET_SLACK_S))
                try:
                    answer = post(session, sink.url, body, headers, timeout)
                    verdict, detail, wait = retry.verdict(answer.status), f"HTTP {answer.status}", answer.retry_after
                except TransportError as exc:
                    verdict, detail, wait = retry.RETRY, str(exc), None
                if verdict != retry.RETRY:
                    spool.acknowledge(sink.name, batch.entries, names)
                    tries = 0
                    if verdict == retry.DELIVERED:
                        result.sent += len(batch.messages)
                        result.dropped += batch.events - len(batch.messages)
                        sentlog.append(folder, sink.name, iso_timestamp(), logged)
                        _note(folder, sink.name, None)
                    else:
                        result.dropped += batch.events
                        result.errors.append(f"{sink.name}: rejected ({detail}), dropped")
                        state_module.add_count(folder, "dropped_rejected", batch.events)
                    if on_progress:
                        on_progress(batch.events)
                    continue
                tries += 1
                retry_after_s = retry.retry_after(wait)
                delay = _note(folder, sink.name, detail, retry_after_s)
                # In the foreground someone is waiting: short pauses, Retry-After up to 5 s.
                pause = min(delay, 1.0) if retry_after_s is None else min(retry_after_s, 5.0)
                if tries < attempts and pause < deadline - time.monotonic() - 1:
                    time.sleep(pause)
                    entries[:0] = batch.entries
                    continue
                result.kept += batch.events + sum(e.events for e in entries)
                result.errors.append(f"{sink.name}: {detail}; kept for retry")
                break
    finally:
        session.close()
    return report
