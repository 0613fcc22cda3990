"""Where events go, and whether that place may be used (no `requests` import)."""

from __future__ import annotations

from typing import Any, Optional

from .settings import Settings


def url_problem(url: str) -> Optional[str]:
    """Why `url` may not be used, or None: plain http only to this machine."""
    from urllib.parse import urlsplit  # with ipaddress: ~2 ms, only when a flusher may start

    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return f"{url!r} is not a valid URL"
    if parts.scheme not in ("http", "https") or not host or " " in url:
        return f"{url!r} is not an http(s) URL"
    if parts.scheme == "http" and not _is_loopback(host):
        return f"{url!r} uses plain http; only https is allowed (or http to this machine)"
    return None


def _is_loopback(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def segment_url(settings: Settings) -> str:
    return settings.segment_url.rstrip("/") + "/v1/batch"


def sink_problem(settings: Settings, sink: str) -> Optional[str]:
    url = segment_url(settings) if sink == "segment" else settings.ga_url
    return url_problem(url)


def destinations(settings: Settings) -> dict[str, Any]:
    """Destinations for `status`, secrets masked."""
    return {
        "segment": {
            "url": segment_url(settings),
            "write_key_set": bool(settings.segment_write_key),
            "problem": sink_problem(settings, "segment"),
        },
        "ga4": {
            "configured": settings.ga_enabled,
            "url": settings.ga_url,
            "measurement_id": settings.ga_measurement_id or None,
            "api_secret_set": bool(settings.ga_api_secret),
            "problem": sink_problem(settings, "ga4") if settings.ga_enabled else None,
        },
    }
