"""Google Analytics 4 Measurement Protocol form of a spooled Segment message.

GA4 accepts names of at most 40 letters, digits and underscores starting with a
letter, reserves some names and prefixes, and caps params and string lengths;
it answers 2xx even to events it drops, so the rules are enforced here.
"""

from __future__ import annotations

import re
import time
from typing import Any, Mapping, Sequence

# Limits from the GA4 Measurement Protocol reference ("Limitations").
MAX_EVENTS_PER_REQUEST = 25
MAX_PARAMS_PER_EVENT = 25
MAX_NAME_CHARS = 40
MAX_VALUE_CHARS = 100
VALID_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
RESERVED_PREFIXES = ("_", "ga_", "google_", "firebase_")
RESERVED_EVENT_NAMES = frozenset(
    """ad_activeview ad_click ad_exposure ad_impression ad_query ad_reward
    adunit_exposure app_background app_clear_data app_exception app_remove
    app_store_refund app_store_subscription_cancel app_store_subscription_convert
    app_store_subscription_renew app_update app_upgrade dynamic_link_app_open
    dynamic_link_app_update dynamic_link_first_open error first_open first_visit
    in_app_purchase notification_dismiss notification_foreground notification_open
    notification_receive os_update session_start session_start_with_rollout
    user_engagement""".split()
)
SESSION_WINDOW_S = 30 * 60


def ga_name(name: str, reserved: frozenset[str] = frozenset()) -> str:
    """`name` made valid: `testkube-heartbeat` -> `testkube_heartbeat`."""
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not cleaned[:1].isalpha() or cleaned.lower().startswith(RESERVED_PREFIXES):
        cleaned = "tk_" + cleaned.lstrip("_")
    if cleaned.lower() in reserved:
        cleaned = "tk_" + cleaned
    return cleaned[:MAX_NAME_CHARS]


def _value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return value
    return str(value)[:MAX_VALUE_CHARS]


def _epoch(timestamp: str) -> float:
    try:
        parsed = time.strptime(timestamp[:19], "%Y-%m-%dT%H:%M:%S")
    except (TypeError, ValueError):
        return time.time()
    import calendar

    return calendar.timegm(parsed) + (int(timestamp[20:23]) / 1000 if timestamp[20:23].isdigit() else 0)


def to_event(message: Mapping[str, Any]) -> dict[str, Any]:
    """One GA4 event for one Segment `track` message."""
    epoch = _epoch(str(message.get("timestamp", "")))
    params: dict[str, Any] = {
        # Without these two, GA4 records the event but shows it in no report.
        "engagement_time_msec": 1,
        "session_id": str(int(epoch // SESSION_WINDOW_S * SESSION_WINDOW_S)),
    }
    properties = message.get("properties") or {}
    for key, value in properties.items():
        if value is None or len(params) >= MAX_PARAMS_PER_EVENT:
            continue
        params.setdefault(ga_name(key), _value(value))
    return {
        "name": ga_name(str(message.get("event", "event")), RESERVED_EVENT_NAMES),
        "params": params,
        "timestamp_micros": int(epoch * 1_000_000),
    }


def request_body(messages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One request: at most 25 events of one client (the batch loop sees to both)."""
    client_id = str(messages[0].get("anonymousId")) if messages else ""
    return {"client_id": client_id, "events": [to_event(message) for message in messages]}
