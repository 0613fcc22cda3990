"""Sending spooled events to the collectors, in batches, losing nothing.

An event leaves a sink's queue only after that collector answered 2xx.  Network
errors, timeouts, 408, 429 and 5xx keep it and set a back-off (honouring
`Retry-After`); other 4xx answers mean the batch can never succeed, so it is
dropped and counted, as Segment's own libraries do.  Only the flusher, `flush`,
inline delivery and `disable` import this module: it pulls in `requests`.
"""

from __future__ import annotations

import gzip
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

import requests

from . import ga4, sentlog
from .destinations import segment_url, sink_problem
from .events import MAX_MESSAGE_BYTES, iso_timestamp
from .paths import StrPath
from .settings import Settings
from .spool import Chunk, Spool
from .state import backoff_until, read_state, updating_state

# Timeouts: connect, read (seconds).  A slow collector costs the flusher, never
# the user's command.
CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 10.0
# Segment's HTTP tracking API: at most 500 KB per batch request.
MAX_BATCH_BYTES = 500 * 1024
GZIP_FROM_BYTES = 1024
BACKOFF_BASE_S = 2.0
BACKOFF_MAX_S = 3600.0
RETRYABLE = frozenset({408, 429})


@dataclass
class SinkReport:
    sent: int = 0
    kept: int = 0
    dropped: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class Report:
    sinks: dict[str, SinkReport] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return all(r.kept == 0 and r.dropped == 0 for r in self.sinks.values())


@dataclass(frozen=True)
class Answer:
    delivered: bool
    retry: bool
    retry_after_s: Optional[float] = None
    detail: str = ""


def _retry_after(value: Optional[str]) -> Optional[float]:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def post(
    session: requests.Session,
    url: str,
    body: dict[str, Any],
    timeout_s: tuple[float, float],
    auth: Optional[tuple[str, str]] = None,
) -> Answer:
    """POST `body` as JSON; a redirect is followed only within the same host."""
    data = json.dumps(body, separators=(",", ":")).encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": "testkube-telemetry-plugin"}
    if len(data) >= GZIP_FROM_BYTES:
        data = gzip.compress(data)
        headers["Content-Encoding"] = "gzip"
    for _ in range(3):
        try:
            response = session.post(
                url, data=data, headers=headers, auth=auth, timeout=timeout_s,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            return Answer(False, True, detail=f"network error: {type(exc).__name__}")
        status = response.status_code
        response.close()
        if status in (307, 308) and response.headers.get("Location"):
            target = requests.compat.urljoin(url, response.headers["Location"])
            if urlsplit(target)[:2] != urlsplit(url)[:2]:
                return Answer(False, True, detail="redirect to another host refused")
            url = target
            continue
        if 200 <= status < 300:
            return Answer(True, False, detail=str(status))
        if status in RETRYABLE or status >= 500:
            retry_after = _retry_after(response.headers.get("Retry-After"))
            return Answer(False, True, retry_after, f"HTTP {status}")
        return Answer(False, False, detail=f"HTTP {status}")
    return Answer(False, True, detail="too many redirects")


class _Sink:
    name = ""
    max_batch_events = 10**9
    max_batch_bytes = MAX_BATCH_BYTES

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def url(self) -> str:
        raise NotImplementedError

    @property
    def auth(self) -> Optional[tuple[str, str]]:
        return None

    def bodies(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def send(
        self, session: requests.Session, messages: list[dict[str, Any]], timeout_s: tuple[float, float]
    ) -> tuple[Answer, list[Any]]:
        bodies = self.bodies(messages)
        for body in bodies:
            answer = post(session, self.url, body, timeout_s, self.auth)
            if not answer.delivered:
                return answer, []
        return Answer(True, False), self.logged(bodies, messages)

    def logged(self, bodies: list[dict[str, Any]], messages: list[dict[str, Any]]) -> list[Any]:
        return messages


class SegmentSink(_Sink):
    name = "segment"

    @property
    def url(self) -> str:
        return segment_url(self.settings)

    @property
    def auth(self) -> Optional[tuple[str, str]]:
        key = self.settings.segment_write_key
        return (key, "") if key else None

    def bodies(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"batch": messages, "sentAt": iso_timestamp()}]


class GA4Sink(_Sink):
    name = "ga4"
    max_batch_events = ga4.MAX_EVENTS_PER_REQUEST

    @property
    def url(self) -> str:
        from urllib.parse import urlencode

        query = urlencode(
            {"measurement_id": self.settings.ga_measurement_id,
             "api_secret": self.settings.ga_api_secret}
        )
        separator = "&" if "?" in self.settings.ga_url else "?"
        return f"{self.settings.ga_url}{separator}{query}"

    def bodies(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return ga4.request_bodies(messages)

    def logged(self, bodies: list[dict[str, Any]], messages: list[dict[str, Any]]) -> list[Any]:
        return bodies


def sinks_for(settings: Settings) -> list[_Sink]:
    found: list[_Sink] = [SegmentSink(settings)]
    if settings.ga_enabled:
        found.append(GA4Sink(settings))
    return found


def _note_failure(folder: StrPath, sink: str, retry_after_s: Optional[float]) -> float:
    with updating_state(folder) as state:
        backoff = state.setdefault("backoff", {})
        failures = int(backoff.get(sink, {}).get("failures", 0)) + 1
        delay: float = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2.0 ** min(failures - 1, 20))
        delay *= random.uniform(0.5, 1.0)  # jitter: offline machines do not retry in step
        if retry_after_s is not None:
            delay = max(delay, min(retry_after_s, BACKOFF_MAX_S))
        backoff[sink] = {"failures": failures, "next_attempt": time.time() + delay}
        return delay


def _note_success(folder: StrPath, sink: str) -> None:
    if sink in read_state(folder).get("backoff", {}):
        with updating_state(folder) as state:
            state.get("backoff", {}).pop(sink, None)


def _count_dropped(folder: StrPath, key: str, count: int) -> None:
    if count:
        with updating_state(folder) as state:
            state[key] = int(state.get(key, 0)) + count


def _next_batch(
    spool: Spool, sink: _Sink, chunks: list[Chunk]
) -> tuple[list[Chunk], list[dict[str, Any]], int]:
    """Whole chunks up to the sink's limits, their messages, and oversized drops."""
    taken: list[Chunk] = []
    messages: list[dict[str, Any]] = []
    size = events = oversized = 0
    while chunks:
        chunk = chunks[0]
        if taken and (
            size + chunk.size > sink.max_batch_bytes
            or events + chunk.events > sink.max_batch_events
        ):
            break
        chunks.pop(0)
        loaded = spool.read(chunk)
        if loaded is None:
            continue  # sent or dropped by another process meanwhile
        taken.append(chunk)
        for message in loaded:
            if len(json.dumps(message, separators=(",", ":"))) > MAX_MESSAGE_BYTES:
                oversized += 1
            else:
                messages.append(message)
        size += chunk.size
        events += chunk.events
    return taken, messages, oversized


def deliver(
    settings: Settings,
    folder: StrPath,
    deadline: float,
    *,
    respect_backoff: bool = True,
    attempts: int = 1,
    still_enabled: Callable[[], bool] = lambda: True,
    on_progress: Optional[Callable[[int], None]] = None,
) -> Report:
    """Send what the spool holds until done or `deadline` (time.monotonic())."""
    spool = Spool.of(folder)
    report = Report()
    session = requests.Session()
    session.trust_env = False  # no proxy or .netrc surprises for anonymous data
    try:
        for sink in sinks_for(settings):
            result = report.sinks.setdefault(sink.name, SinkReport())
            chunks = spool.chunks(sink.name)
            # The GA4 URL carries the API secret: check (and print) it without.
            problem = sink_problem(settings, sink.name)
            if problem or (respect_backoff and backoff_until(read_state(folder), sink.name) > time.time()):
                result.kept = sum(chunk.events for chunk in chunks)
                if problem:
                    result.errors.append(problem)
                continue
            tries = 0
            while chunks:
                remaining = deadline - time.monotonic()
                if remaining <= 0.05 or not still_enabled():
                    result.kept += sum(chunk.events for chunk in chunks)
                    break
                batch, messages, oversized = _next_batch(spool, sink, chunks)
                if not batch:
                    continue
                timeout = (min(CONNECT_TIMEOUT_S, remaining), min(READ_TIMEOUT_S, remaining))
                answer, logged = (
                    sink.send(session, messages, timeout) if messages else (Answer(True, False), [])
                )
                events = sum(chunk.events for chunk in batch)
                if answer.delivered or not answer.retry:
                    spool.remove(batch)
                    if answer.delivered:
                        result.sent += len(messages)
                        result.dropped += oversized
                        _count_dropped(folder, "dropped_oversized", oversized)
                        sentlog.append(folder, sink.name, iso_timestamp(), logged)
                        _note_success(folder, sink.name)
                    else:
                        result.dropped += events
                        result.errors.append(f"{sink.name}: rejected ({answer.detail}), dropped")
                        _count_dropped(folder, "dropped_rejected", events)
                    if on_progress:
                        on_progress(events)
                    tries = 0
                    continue
                tries += 1
                delay = _note_failure(folder, sink.name, answer.retry_after_s)
                # In the foreground (flush) someone is waiting: short pauses,
                # Retry-After honoured up to 5 s; the stored back-off is for flushers.
                pause = min(delay, 1.0) if answer.retry_after_s is None else min(answer.retry_after_s, 5.0)
                if tries < attempts and pause < deadline - time.monotonic() - 1:
                    time.sleep(pause)
                    chunks[:0] = batch
                    continue
                result.kept += events + sum(chunk.events for chunk in chunks)
                result.errors.append(f"{sink.name}: {answer.detail}; kept for retry")
                break
    finally:
        session.close()
    return report
