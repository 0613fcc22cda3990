"""The collectors, built once from the settings: the one registry of where events go.

Each sink knows its URL (checked by the parser that connects), its limits,
its headers and how to turn spooled messages into one request body.  Status,
show, flush, the flusher and delivery all ask `sinks_for`.
"""

from __future__ import annotations

import base64
import gzip
from typing import Any, Optional, Sequence

from . import ga4
from .events import iso_timestamp, to_json
from .settings import Settings
from .urls import checked_url

GZIP_FROM_BYTES = 1024
GZIP_LEVEL = 1  # a batch shrinks ~10x even so; level 6 costs several times the CPU for a few % more
# Segment's HTTP tracking API: at most 500 KB per batch request.  100 events is
# the batch size of Segment's own Python library: it also bounds what a flusher
# killed mid-request sends twice.
SEGMENT_MAX_BYTES = 500 * 1024
SEGMENT_MAX_EVENTS = 100


class Sink:
    name = ""
    max_events = SEGMENT_MAX_EVENTS
    max_bytes = SEGMENT_MAX_BYTES

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url: Optional[str] = None
        self.problem: Optional[str] = None

    def request(self, messages: Sequence[dict[str, Any]]) -> tuple[bytes, dict[str, str], list[Any]]:
        """(body, headers, the payloads the sent log keeps) for one request: one encoding for the batch."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        raise NotImplementedError


def _compressed(data: bytes) -> tuple[bytes, dict[str, str]]:
    headers = {"Content-Type": "application/json"}
    if len(data) >= GZIP_FROM_BYTES:
        data = gzip.compress(data, compresslevel=GZIP_LEVEL)
        headers["Content-Encoding"] = "gzip"
    return data, headers


class SegmentSink(Sink):
    name = "segment"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        base = settings.collectors["segment_url"].rstrip("/")
        self.url, self.problem = checked_url(base + "/v1/batch") if base else (None, "no URL is set")
        self.write_key = settings.collectors["segment_write_key"]

    def request(self, messages: Sequence[dict[str, Any]]) -> tuple[bytes, dict[str, str], list[Any]]:
        body, headers = _compressed(to_json({"batch": list(messages), "sentAt": iso_timestamp()}).encode("utf-8"))
        if self.write_key:
            # Built here, in UTF-8: requests encodes Basic auth as latin-1 and fails on anything else.
            token = base64.b64encode(self.write_key.encode("utf-8") + b":").decode("ascii")
            headers["Authorization"] = f"Basic {token}"
        return body, headers, list(messages)

    def describe(self) -> dict[str, Any]:
        return {"url": self.url or self.settings.collectors["segment_url"] + "/v1/batch",
                "write_key_set": bool(self.write_key), "problem": self.problem}


class GA4Sink(Sink):
    name = "ga4"
    max_events = ga4.MAX_EVENTS_PER_REQUEST

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        collectors = settings.collectors
        # Checked without its query: the API secret is added after, and never shown.
        base, self.problem = checked_url(collectors["ga_url"])
        if base is not None:
            from urllib.parse import urlencode

            query = urlencode({"measurement_id": collectors["ga_measurement_id"],
                               "api_secret": collectors["ga_api_secret"]})
            self.url = f"{base}{'&' if '?' in base else '?'}{query}"

    def request(self, messages: Sequence[dict[str, Any]]) -> tuple[bytes, dict[str, str], list[Any]]:
        payload = ga4.request_body(messages)
        body, headers = _compressed(to_json(payload).encode("utf-8"))
        return body, headers, [payload]

    def describe(self) -> dict[str, Any]:
        collectors = self.settings.collectors
        return {"url": collectors["ga_url"], "measurement_id": collectors["ga_measurement_id"],
                "api_secret_set": bool(collectors["ga_api_secret"]), "problem": self.problem}


def sinks_for(settings: Settings) -> list[Sink]:
    """The collectors these settings send to: Segment if it has a URL, GA4 if it has an id."""
    found: list[Sink] = []
    if settings.collectors["segment_url"]:
        found.append(SegmentSink(settings))
    if settings.collectors["ga_measurement_id"]:
        found.append(GA4Sink(settings))
    return found
