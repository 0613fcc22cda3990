"""Whether a collector URL may be used, decided by the parser that connects to it.

`requests` hands URLs to urllib3's `parse_url`; checking them with another
parser (`urllib.parse`) let `http://192.0.2.2:80\\@127.0.0.1` pass a "loopback
only" check and connect elsewhere.  So: parse once with urllib3, refuse
anything ambiguous (backslashes, user info, whitespace, control characters),
and connect to the URL rebuilt from the parsed parts.
"""

from __future__ import annotations

import ipaddress
from typing import Optional


def _is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def checked_url(url: str) -> tuple[Optional[str], Optional[str]]:
    """(the URL to connect to, None) or (None, why it may not be used)."""
    from urllib3.exceptions import LocationParseError
    from urllib3.util import parse_url

    shown = url if len(url) <= 80 else url[:77] + "..."
    if not url:
        return None, "no URL is set"
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 or ch in "\\@" for ch in url):
        return None, f"{shown!r} has a space, backslash, @ or control character; refused"
    try:
        parsed = parse_url(url)
    except (LocationParseError, ValueError):
        return None, f"{shown!r} is not a valid URL"
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return None, f"{shown!r} is not an http(s) URL"
    if parsed.host.startswith(("*", ".")):  # requests refuses these labels when it sends
        return None, f"{shown!r} is not a valid host name"
    if parsed.auth or parsed.fragment:
        return None, f"{shown!r} has user info or a fragment; refused"
    if parsed.scheme == "http" and not _is_loopback(parsed.host):
        return None, f"{shown!r} uses plain http; only https is allowed (or http to this machine)"
    return parsed.url, None
