"""Where events go: the one registry of collectors, and the two this package has (Segment, GA4).

A collector is one class and one registration line: it names its settings
(each a `[telemetry]` key, a `<PREFIX>_TELEMETRY_<KEY>` variable and a
`Telemetry(...)` default) and the credentials without which it is never
contacted, says when the settings ask for it, checks its URL, and turns
spooled messages into one request.  A URL is shown only through
`masked_url`: user info and query values (a GA4 API secret) never reach a
terminal or a log.  Everything else (when delivery
starts, batching, acknowledgements, retries, `status` and `show`) asks this
registry, so a collector added here is delivered to, shown and retried like
the others.

Commands import this module to learn whether any collector is wanted (a
classmethod on the settings' values): what a request needs (gzip, the URL
parser) is imported only when one is built.
"""

from __future__ import annotations

import re
import time
from typing import Any, ClassVar, Mapping, Optional, Sequence

from .events import iso_timestamp, to_json

# Segment's HTTP tracking API: at most 500 KB per batch request.  100 events is
# the batch size of Segment's own Python library: it also bounds what a flusher
# killed mid-request sends twice.
SEGMENT_MAX_BYTES = 500 * 1024
SEGMENT_MAX_EVENTS = 100
GZIP_FROM_BYTES = 1024
GZIP_LEVEL = 1  # a batch shrinks ~10x even so; level 6 costs several times the CPU for a few % more
GA4_COLLECT_URL = "https://www.google-analytics.com/mp/collect"


class Collector:
    """One destination.  Subclass it and `register` the subclass; `values` are its settings, resolved."""

    name: ClassVar[str] = ""
    prefix: ClassVar[str] = ""  # its settings' common start, left out where `status` shows them
    settings: ClassVar[tuple[str, ...]] = ()  # its setting keys
    secrets: ClassVar[tuple[str, ...]] = ()  # those of its settings never shown
    # Settings without which it is never contacted: a request without its key is pointless or misattributed.
    credentials: ClassVar[tuple[str, ...]] = ()
    defaults: ClassVar[Mapping[str, str]] = {}  # this package's defaults, below the host's
    max_events: ClassVar[int] = SEGMENT_MAX_EVENTS
    max_bytes: ClassVar[int] = SEGMENT_MAX_BYTES

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values
        self.url: Optional[str] = None  # what requests go to (may hold a secret: never shown)
        self.problem: Optional[str] = self.unusable(values)  # why it cannot be used
        if self.problem is None:
            self.url, self.problem = self.endpoint()

    @classmethod
    def wanted(cls, values: Mapping[str, str]) -> bool:
        """Whether these settings ask for this collector (its first setting is set, by default)."""
        return bool(values.get(cls.settings[0]))

    @classmethod
    def label(cls, key: str) -> str:
        """`segment_write_key` -> `write key`: a setting's name as `status` says it."""
        return (key[len(cls.prefix):] if key.startswith(cls.prefix) else key).replace("_", " ")

    @classmethod
    def missing(cls, values: Mapping[str, str]) -> list[str]:
        """Its credentials that are not set."""
        return [key for key in cls.credentials if not values.get(key)]

    @classmethod
    def unusable(cls, values: Mapping[str, str]) -> Optional[str]:
        """Why it must never be contacted with these settings, cheaply (no URL parsing), or None."""
        for key in cls.settings:
            if "\ufffd" in values.get(key, ""):
                return f"its {cls.label(key)} is not UTF-8 text, so it is never contacted"
        missing = cls.missing(values)
        if missing:
            return f"no {cls.label(missing[0])} is set, so it is never contacted"
        return None

    def endpoint(self) -> tuple[Optional[str], Optional[str]]:
        """(the URL to send to, None) or (None, why it cannot be used)."""
        raise NotImplementedError

    def request(self, messages: Sequence[dict[str, Any]]) -> tuple[bytes, dict[str, str], list[Any]]:
        """(body, headers, the payloads the sent log keeps) for one request: one encoding for the batch."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """What `status` shows: its settings, secrets only as set or not, and its problem."""
        shown: dict[str, Any] = {}
        for key in self.settings:
            label = key[len(self.prefix):] if key.startswith(self.prefix) else key
            if key in self.secrets:
                shown[f"{label}_set"] = bool(self.values.get(key))
            else:
                shown[label] = self.values.get(key, "")
        return {**shown, "url": self.shown_url(), "problem": self.problem}

    def shown_url(self) -> str:
        return masked_url(self.values.get(self.settings[0], ""))


REGISTRY: dict[str, type[Collector]] = {}


def register(collector: type[Collector]) -> type[Collector]:
    """Add a collector (usable as a class decorator); a later one of the same name replaces it."""
    REGISTRY[collector.name] = collector
    return collector


def setting_keys() -> tuple[str, ...]:
    return tuple(key for collector in REGISTRY.values() for key in collector.settings)


def secret_keys() -> tuple[str, ...]:
    return tuple(key for collector in REGISTRY.values() for key in collector.secrets)


def wanted(values: Mapping[str, str]) -> list[type[Collector]]:
    return [collector for collector in REGISTRY.values() if collector.wanted(values)]


def usable(values: Mapping[str, str]) -> list[type[Collector]]:
    """The wanted collectors that have their credentials: the ones delivery may contact."""
    return [collector for collector in wanted(values) if collector.unusable(values) is None]


def collectors_for(values: Mapping[str, str]) -> list[Collector]:
    """The collectors these settings send to, built (URLs checked)."""
    return [collector(values) for collector in wanted(values)]


# -- URLs ------------------------------------------------------------------------------------------
MAX_SHOWN_URL = 120


def masked_url(url: str) -> str:
    """`url` as it may be printed: user info and every query value replaced by `***`.

    Done on the text, not on a parse, so that a URL no parser accepts (a
    backslash before an `@`, a password holding a `/`, `?` or `#`, where a
    parser ends the authority early) is masked too: whatever precedes the
    last `@` is user info.  A URL holding an `@` is refused anyway, so
    masking a query's `@` and what precedes it hides nothing it needs.
    """
    if "@" in url:
        before, _, after = url.rpartition("@")
        scheme, sep, _ = before.partition("://")
        url = f"{scheme}://***@{after}" if sep else f"***@{after}"
    head, question, query = url.partition("?")
    head, hash_mark, fragment = head.partition("#")
    if not question:
        query = ""
    shown = head
    if question:
        query, hash_mark2, fragment2 = query.partition("#")
        hash_mark, fragment = hash_mark or hash_mark2, fragment or fragment2
        shown += "?" + "&".join(f"{part.split('=', 1)[0]}=***" if "=" in part else "***"
                                for part in query.split("&") if part)
    if hash_mark:
        shown += "#***"
    return shown if len(shown) <= MAX_SHOWN_URL else shown[:MAX_SHOWN_URL - 3] + "..."


def checked_url(url: str) -> tuple[Optional[str], Optional[str]]:
    """(the URL to connect to, None) or (None, why it may not be used).

    Decided on what the connection uses: `delivery.http.split_url` is the one
    parser, and `post` connects to the host and port it returns (a second
    parser once let `http://192.0.2.2:80\\@127.0.0.1` pass a "loopback only"
    check and connect elsewhere).  Anything ambiguous is refused: backslashes,
    user info, whitespace, control characters, a host that is not plain
    ASCII (IDNA would map `１２７．０．０．１` to an address the check never saw).
    Plain http is accepted here only for a loopback address or `localhost`,
    and `post` allows it only if the address it connects to is a loopback one.
    """
    from .delivery.http import is_loopback, split_url

    shown = masked_url(url)
    if not url:
        return None, "no URL is set"
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 or ch in "\\@" for ch in url):
        return None, f"{shown!r} has a space, backslash, @ or control character; refused"
    if not url.isascii():
        return None, f"{shown!r} is not plain ASCII (write a host name in its xn-- form); refused"
    try:
        target = split_url(url)
    except ValueError:
        return None, f"{shown!r} is not a valid URL"
    if target.scheme not in ("http", "https") or not target.host:
        return None, f"{shown!r} is not an http(s) URL"
    if target.host.startswith(("*", ".")) or ".." in target.host or "%" in target.host:
        return None, f"{shown!r} is not a valid host name"
    if target.userinfo or target.fragment:
        return None, f"{shown!r} has user info or a fragment; refused"
    if target.scheme == "http" and not (target.host == "localhost" or is_loopback(target.host)):
        return None, f"{shown!r} uses plain http; only https is allowed (or http to this machine)"
    return url, None


def _compressed(data: bytes) -> tuple[bytes, dict[str, str]]:
    headers = {"Content-Type": "application/json"}
    if len(data) >= GZIP_FROM_BYTES:
        import gzip

        data = gzip.compress(data, compresslevel=GZIP_LEVEL)
        headers["Content-Encoding"] = "gzip"
    return data, headers


# -- Segment ---------------------------------------------------------------------------------------

@register
class Segment(Collector):
    """A Segment-compatible collector: `track` messages in batches to `<url>/v1/batch`."""

    name = "segment"
    prefix = "segment_"
    settings = ("segment_url", "segment_write_key")
    secrets = ("segment_write_key",)
    credentials = ("segment_write_key",)

    def endpoint(self) -> tuple[Optional[str], Optional[str]]:
        base = self.values.get("segment_url", "").rstrip("/")
        return checked_url(base + "/v1/batch") if base else (None, "no URL is set")

    def request(self, messages: Sequence[dict[str, Any]]) -> tuple[bytes, dict[str, str], list[Any]]:
        body, headers = _compressed(to_json({"batch": list(messages), "sentAt": iso_timestamp()}).encode("utf-8"))
        write_key = self.values.get("segment_write_key", "")
        if write_key:
            import base64

            # In UTF-8, as Segment's libraries send it (latin-1 would fail on anything else).
            token = base64.b64encode(write_key.encode("utf-8") + b":").decode("ascii")
            headers["Authorization"] = f"Basic {token}"
        return body, headers, list(messages)

    def shown_url(self) -> str:
        return masked_url(self.url or self.values.get("segment_url", "").rstrip("/") + "/v1/batch")


# -- Google Analytics 4 (Measurement Protocol) -----------------------------------------------------
# GA4 accepts names of at most 40 letters, digits and underscores starting with a
# letter, reserves some names and prefixes, and caps params and string lengths; it
# answers 2xx even to events it drops, so the rules are enforced here.  Limits
# from the GA4 Measurement Protocol reference ("Limitations").
GA4_MAX_EVENTS_PER_REQUEST = 25
GA4_MAX_PARAMS_PER_EVENT = 25
GA4_MAX_NAME_CHARS = 40
GA4_MAX_VALUE_CHARS = 100
GA4_RESERVED_PREFIXES = ("_", "ga_", "google_", "firebase_")
GA4_RESERVED_EVENT_NAMES = frozenset(
    """ad_activeview ad_click ad_exposure ad_impression ad_query ad_reward
    adunit_exposure app_background app_clear_data app_exception app_remove
    app_store_refund app_store_subscription_cancel app_store_subscription_convert
    app_store_subscription_renew app_update app_upgrade dynamic_link_app_open
    dynamic_link_app_update dynamic_link_first_open error first_open first_visit
    in_app_purchase notification_dismiss notification_foreground notification_open
    notification_receive os_update session_start session_start_with_rollout
    user_engagement""".split()
)
GA4_SESSION_WINDOW_S = 30 * 60


def ga_name(name: str, reserved: frozenset[str] = frozenset()) -> str:
    """`name` made valid: `testkube-heartbeat` -> `testkube_heartbeat`."""
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not cleaned[:1].isalpha() or cleaned.lower().startswith(GA4_RESERVED_PREFIXES):
        cleaned = "tk_" + cleaned.lstrip("_")
    if cleaned.lower() in reserved:
        cleaned = "tk_" + cleaned
    return cleaned[:GA4_MAX_NAME_CHARS]


def _ga_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return value
    return str(value)[:GA4_MAX_VALUE_CHARS]


def _epoch(timestamp: str) -> float:
    try:
        parsed = time.strptime(timestamp[:19], "%Y-%m-%dT%H:%M:%S")
    except (TypeError, ValueError):
        return time.time()
    import calendar

    return calendar.timegm(parsed) + (int(timestamp[20:23]) / 1000 if timestamp[20:23].isdigit() else 0)


def ga_event(message: Mapping[str, Any]) -> dict[str, Any]:
    """One GA4 event for one Segment `track` message."""
    epoch = _epoch(str(message.get("timestamp", "")))
    params: dict[str, Any] = {
        # Without these two, GA4 records the event but shows it in no report.
        "engagement_time_msec": 1,
        "session_id": str(int(epoch // GA4_SESSION_WINDOW_S * GA4_SESSION_WINDOW_S)),
    }
    properties = message.get("properties") or {}
    for key, value in properties.items():
        if value is None or len(params) >= GA4_MAX_PARAMS_PER_EVENT:
            continue
        params.setdefault(ga_name(key), _ga_value(value))
    return {
        "name": ga_name(str(message.get("event", "event")), GA4_RESERVED_EVENT_NAMES),
        "params": params,
        "timestamp_micros": int(epoch * 1_000_000),
    }


def ga_request_body(messages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One request: at most 25 events of one client (the batch loop sees to both)."""
    client_id = str(messages[0].get("anonymousId")) if messages else ""
    return {"client_id": client_id, "events": [ga_event(message) for message in messages]}


@register
class GA4(Collector):
    """Google Analytics 4's Measurement Protocol: wanted once a measurement id is set."""

    name = "ga4"
    prefix = "ga_"
    settings = ("ga_measurement_id", "ga_api_secret", "ga_url")
    secrets = ("ga_api_secret",)
    credentials = ("ga_api_secret",)
    defaults = {"ga_url": GA4_COLLECT_URL}
    max_events = GA4_MAX_EVENTS_PER_REQUEST

    def endpoint(self) -> tuple[Optional[str], Optional[str]]:
        # Checked without its query: the API secret is added after, and never shown.
        base, problem = checked_url(self.values.get("ga_url", ""))
        if base is None:
            return None, problem
        from urllib.parse import urlencode

        query = urlencode({"measurement_id": self.values.get("ga_measurement_id", ""),
                           "api_secret": self.values.get("ga_api_secret", "")})
        return f"{base}{'&' if '?' in base else '?'}{query}", None

    def request(self, messages: Sequence[dict[str, Any]]) -> tuple[bytes, dict[str, str], list[Any]]:
        payload = ga_request_body(messages)
        body, headers = _compressed(to_json(payload).encode("utf-8"))
        return body, headers, [payload]

    def shown_url(self) -> str:
        return masked_url(self.values.get("ga_url", ""))
