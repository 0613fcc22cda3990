"""The batch loop: spooled records to each collector, acknowledged only after a 2xx.

Layered as Segment's client is: `http.post` returns an answer or raises,
`http.verdict` decides what the answer means and `http.backoff` how long to
wait, and this loop batches records, sends, acknowledges, and records each
collector's status.
Delivery is at-least-once: a flusher killed between a collector's answer and
the acknowledgement sends that one batch again (Segment de-duplicates by
`messageId`; GA4 does not).  Only the flusher, `flush`, inline delivery and
`disable` import this module.

Each request is one step under the opt-out barrier (`scheduler.sending`):
check that telemetry is still on under the same anonymous id, send,
acknowledge, then let go.  `disable` and `reset` change the config first and
then take the barrier alone, so a request either ended before they went on,
or finds the change and stops: nothing carrying the old id is sent after they
return, and nothing it sent is logged after they deleted the log.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any, Callable, NamedTuple, Optional

from .. import scheduler
from .. import state as state_module
from ..collectors import Collector, collectors_for
from ..events import MAX_MESSAGE_BYTES, BadRecord, event_name, iso_timestamp, segment_message, to_json
from ..settings import Paths, Settings, config_stamp, load
from ..spool import Entry, Spool
from . import http

REQUEST_TIMEOUT_S = scheduler.REQUEST_TIMEOUT_S
HEARTBEAT_EVENT = "testkube-heartbeat"  # catalogue.HEARTBEAT's canonical name (the catalogue needs Click)


class CollectorReport:
    def __init__(self) -> None:
        self.sent = 0
        self.kept = 0
        self.dropped = 0
        self.errors: list[str] = []


class Report:
    def __init__(self) -> None:
        self.collectors: dict[str, CollectorReport] = {}
        self.stopped: Optional[str] = None  # why the run stopped before it was done (an opt-out meanwhile)

    @property
    def complete(self) -> bool:
        return self.stopped is None and all(r.kept == 0 and r.dropped == 0 for r in self.collectors.values())


# A message is its event plus the context Segment wants: less than this many bytes more than the
# event's own JSON (host and version are cut to 40 characters).  A record's line bounds its messages.
CONTEXT_BYTES = 512


class Batch(NamedTuple):
    entries: list[Entry]  # the records this request acknowledges
    messages: list[dict[str, Any]]
    events: int  # events in those records (some may have been dropped as oversized)
    skipped: list[Entry]  # records that are not ours: acknowledged at once, never sent


def _note(paths: Paths, collector: str, error: Optional[str], retry_after_s: Optional[float] = None) -> float:
    """Record a success (error None) or a failure; returns the back-off set."""
    now = time.time()
    delay = 0.0
    with state_module.updating(paths) as edit:
        collectors = dict(edit.state.collectors)
        status = collectors.get(collector, state_module.CollectorStatus())
        if error is None:
            status = state_module.CollectorStatus(last_sent_at=now)
        else:
            failures = status.failures + 1
            delay = http.backoff(failures, retry_after_s)
            status = status.replace(failures=failures, next_attempt=now + delay, last_error=error[:200],
                                     last_error_at=now)
        collectors[collector] = status
        edit.state = edit.state.replace(collectors=collectors)
    return delay


def _acknowledgeable(pending: list[Entry], chosen: Callable[[Entry], bool]) -> list[Entry]:
    """The chosen records that can be acknowledged without passing one that is not: an
    acknowledgement covers every record before it in its file (acks.py), so a record kept back
    keeps back the rest of its file too."""
    kept_back: set[str] = set()
    found = []
    for entry in pending:  # file by file, in order
        if entry.file in kept_back:
            continue
        if chosen(entry):
            found.append(entry)
        else:
            kept_back.add(entry.file)
    return found


def _passed_by_another(spool: Spool, entry: Entry, collector: str) -> bool:
    done = spool.journal().acks.get(entry.file, {})
    return any(count > entry.index for name, count in done.items() if name != collector)


def _next_batch(spool: Spool, collector: Collector, entries: deque[Entry], anonymous_id: Optional[str],
                paths: Paths) -> Optional[Batch]:
    """Whole records, oldest first, up to the collector's limits and one anonymous id.

    A record that is not ours is acknowledged with the batch (so it is never
    read again) and counted; so is an event over Segment's 32 KB.
    """
    taken: list[Entry] = []
    skipped: list[Entry] = []
    messages: list[dict[str, Any]] = []
    size = events = corrupt = 0
    client: Optional[str] = None
    while entries:
        entry = entries[0]
        try:
            record = spool.load(entry)
        except BadRecord:
            entries.popleft()
            skipped.append(entry)
            if not _passed_by_another(spool, entry, collector.name):  # one damaged record, counted once
                corrupt += max(entry.events, 1)
            continue
        owner = record.get("anonymousId") or anonymous_id
        if owner is None:
            break  # no id yet: the next command creates one
        built = [segment_message(record, event, owner) for event in record["events"]]
        if entry.size + CONTEXT_BYTES <= MAX_MESSAGE_BYTES:  # the usual case: no message can be too large
            fitting, record_size = built, entry.size + CONTEXT_BYTES * len(built)
        else:  # a long record: measure each message
            sizes = [len(to_json(m).encode("utf-8")) for m in built]
            fitting = [m for m, n in zip(built, sizes) if n <= MAX_MESSAGE_BYTES]
            record_size = sum(n + 1 for n in sizes if n <= MAX_MESSAGE_BYTES)
        if messages and (client != owner or events + len(built) > collector.max_events
                         or size + record_size > collector.max_bytes):
            break
        if len(fitting) < len(built):
            state_module.add_count(paths, "dropped_oversized", len(built) - len(fitting))
        entries.popleft()
        taken.append(entry)
        messages += fitting
        size += record_size
        events += len(built)
        client = owner
    if corrupt:
        state_module.add_count(paths, "dropped_corrupt", corrupt)
    return Batch(taken, messages, events, skipped) if taken or skipped else None


class _Run:
    """One delivery run: the spool, the identity it sends under and the limits every collector shares."""

    def __init__(self, settings: Settings, deadline: float, attempts: int,
                 on_progress: Optional[Callable[[int], None]], opt_out: bool) -> None:
        self.settings = settings
        self.paths = settings.paths
        self.spool = Spool(settings.paths)
        self.deadline = deadline
        self.attempts = attempts
        self.on_progress = on_progress
        self.opt_out = opt_out  # only the opt-out record (it carries its own id) is sent
        self.stamp = config_stamp(settings.paths)
        self.stopped: Optional[str] = None
        self.names: list[str] = []

    def current(self) -> bool:
        """Whether this run may still send (asked under the barrier): telemetry still on, same id."""
        if self.stopped is None and not self.opt_out:
            stamp = config_stamp(self.paths)
            if stamp != self.stamp:
                self.stamp = stamp
                fresh = load(self.settings.host)
                if not fresh.enabled or fresh.anonymous_id != self.settings.anonymous_id:
                    self.stopped = "telemetry was turned off, or its id renewed, meanwhile"
        return self.stopped is None

    def own_id(self, entry: Entry) -> bool:
        try:
            return bool(self.spool.load(entry).get("anonymousId"))
        except BadRecord:
            return False

    def servers_heartbeat(self, entry: Entry) -> bool:
        """Whether the record is a server's heartbeat alone (what an operator's choice may send before
        the notice has been seen; a command's records wait for it)."""
        try:
            events = self.spool.load(entry)["events"]
        except BadRecord:
            return False
        name = event_name(self.settings.host, HEARTBEAT_EVENT)
        return bool(events) and all(event["event"] == name and event["properties"].get("source") == "server"
                                    for event in events)

    def to(self, collector: Collector, pending: list[Entry], result: CollectorReport,
           logged: deque[tuple[str, Any]]) -> None:
        """Send `pending` to `collector` in batches until done, out of time, stopped, or the collector fails."""
        entries = deque(pending)
        self.spool.journal()  # an `.acks` that cannot be written stops this before anything is sent
        tries = 0
        noted = False
        while entries:
            if self.deadline - time.monotonic() <= 0.05:
                break
            batch = _next_batch(self.spool, collector, entries, self.settings.anonymous_id, self.paths)
            if batch is None:
                break
            if batch.skipped:
                self.spool.acknowledge(collector.name, batch.skipped, self.names)
            if not batch.messages:  # no records left, or every event too large
                self.spool.acknowledge(collector.name, batch.entries, self.names)
                result.dropped += batch.events
                continue
            body, headers, payloads = collector.request(batch.messages)
            assert collector.url is not None
            with scheduler.sending(self.paths) as allowed:
                if not allowed:
                    self.stopped = "telemetry is being turned off"
                if not self.current():
                    entries.extendleft(reversed(batch.entries))
                    break
                try:
                    answer = http.post(collector.url, body, headers,
                                       min(self.deadline, time.monotonic() + REQUEST_TIMEOUT_S))
                    verdict, detail, wait = http.verdict(answer.status), f"HTTP {answer.status}", answer.retry_after
                except http.TransportError as exc:
                    verdict, detail, wait = http.RETRY, str(exc), None
                if verdict != http.RETRY:
                    self.spool.acknowledge(collector.name, batch.entries, self.names)
                    tries = 0
                    if verdict == http.DELIVERED:
                        result.sent += len(batch.messages)
                        result.dropped += batch.events - len(batch.messages)
                        if not self.opt_out:  # the opt-out event's id is kept nowhere once it is sent
                            sent_at = iso_timestamp()
                            logged.extend((sent_at, payload) for payload in payloads)
                        if not noted:  # once per run: it clears the back-off and says when it last worked
                            _note(self.paths, collector.name, None)
                            noted = True
                    else:
                        result.dropped += batch.events
                        result.errors.append(f"{collector.name}: rejected ({detail}), dropped")
                        state_module.add_count(self.paths, "dropped_rejected", batch.events)
                    if self.on_progress:
                        self.on_progress(batch.events)
                    continue
                tries += 1
                retry_after_s = http.retry_after(wait)
                delay = _note(self.paths, collector.name, detail, retry_after_s)
            # In the foreground someone is waiting: short pauses, Retry-After up to 5 s.
            pause = min(delay, 1.0) if retry_after_s is None else min(retry_after_s, 5.0)
            entries.extendleft(reversed(batch.entries))
            if tries < self.attempts and pause < self.deadline - time.monotonic() - 1:
                time.sleep(pause)
                continue
            result.errors.append(f"{collector.name}: {detail}; kept for retry")
            break
        result.kept += sum(e.events for e in entries)

    def log(self, collector: str, logged: deque[tuple[str, Any]]) -> None:
        """Keep what was sent in the sent log, unless an opt-out has deleted the log meanwhile."""
        if logged:
            with scheduler.sending(self.paths) as allowed:
                if allowed and self.current():
                    state_module.log_sent(self.paths, collector, logged)


def deliver(
    settings: Settings,
    deadline: float,
    *,
    respect_backoff: bool = True,
    attempts: int = 1,
    on_progress: Optional[Callable[[int], None]] = None,
    opt_out: bool = False,
    servers_only: bool = False,
) -> Report:
    """Send what the spool holds until done or `deadline` (time.monotonic()).

    Only the holder of the flusher lock calls this: it closes `current` first,
    so every record it sends lives in a closed spool file it can acknowledge by
    name.  With `opt_out`, only records that carry their own id (the opt-out
    event) are sent, whatever the settings say.  With `servers_only`, only servers' heartbeats are
    sent (the user has not been told yet: every other record waits for the notice).
    """
    run = _Run(settings, deadline, attempts, on_progress, opt_out)
    report = Report()
    collectors = collectors_for(settings.collectors)
    run.names = [collector.name for collector in collectors]
    try:
        run.spool.rotate()
    except (OSError, TimeoutError):
        pass  # nothing can be appended either: what is in closed files is still sent
    try:
        if not (opt_out or servers_only):  # the record it sends was spooled alone, and stays so: the others are kept
            run.spool.join_newest(run.names)
    except OSError:
        pass  # `.acks` cannot be written: the first send below says so
    entries = run.spool.entries(include_current=False)
    run.spool.parse_all()
    for collector in collectors:
        result = report.collectors.setdefault(collector.name, CollectorReport())
        pending = [entry for entry in run.spool.pending_for(collector.name, entries=entries,
                                                            acked=run.spool.current_acks())
                   if run.spool.is_live(entry.file)]
        if opt_out:
            pending = _acknowledgeable(pending, run.own_id)
        elif servers_only:
            pending = _acknowledgeable(pending, run.servers_heartbeat)
        if collector.problem or collector.url is None:
            result.kept += sum(e.events for e in pending)
            result.errors.append(f"{collector.name}: {collector.problem}")
            if pending:
                _note(run.paths, collector.name, collector.problem)
        elif respect_backoff and state_module.load(run.settings.paths).retry_at(collector.name) > time.time():
            result.kept += sum(e.events for e in pending)
        else:
            logged: deque[tuple[str, Any]] = deque(maxlen=state_module.KEEP_SENT)  # the log keeps the last few
            try:
                run.to(collector, pending, result, logged)
            finally:
                run.log(collector.name, logged)
    report.stopped = run.stopped
    if not opt_out:
        run.spool.settle()
    return report
