"""HTTP to a collector: one POST, and one retry policy for what its answer means and how long to wait.

`post` returns the collector's answer or raises, and does nothing else: no
redirect is followed, no proxy or `.netrc` from the environment is used, and
at most a small part of the answer's body is read (a collector that answers
with 200 MB costs 64 KB).

As Segment's own libraries do: 2xx delivers, 429, 408 and 5xx (and network
errors) are retried with capped exponential back-off and jitter, honouring
`Retry-After` in both its forms; 3xx is retried later too (a redirect is never
followed: it could lead anywhere); any other 4xx can never succeed and drops
the batch.  No other module decides.
"""

from __future__ import annotations

import time
from typing import NamedTuple, Optional

import requests

from ..state import BACKOFF_MAX_S

MAX_ANSWER_BYTES = 64 * 1024
USER_AGENT = "testkube-telemetry-plugin"


class Answer(NamedTuple):
    status: int
    retry_after: Optional[str]


class TransportError(Exception):
    """The request did not get an answer (connection, timeout, TLS...)."""


def new_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # anonymous data goes where the settings say, not through a proxy
    return session


def post(
    session: requests.Session,
    url: str,
    body: bytes,
    headers: dict[str, str],
    timeout_s: tuple[float, float],
) -> Answer:
    try:
        response = session.post(
            url, data=body, headers={"User-Agent": USER_AGENT, **headers}, timeout=timeout_s,
            allow_redirects=False, stream=True,
        )
    except requests.RequestException as exc:
        raise TransportError(f"network error: {type(exc).__name__}") from None
    try:
        response.raw.read(MAX_ANSWER_BYTES, decode_content=False)
    except Exception:  # noqa: BLE001 - the status is what matters; the body is only drained
        pass
    finally:
        response.close()
    return Answer(response.status_code, response.headers.get("Retry-After"))


# -- what an answer means, and how long to wait -------------------------------------------
BACKOFF_BASE_S = 2.0
DELIVERED, RETRY, DROP = "delivered", "retry", "drop"


def verdict(status: int) -> str:
    """DELIVERED, RETRY or DROP for an HTTP status."""
    if 200 <= status < 300:
        return DELIVERED
    if status in (408, 429) or status >= 500 or 300 <= status < 400 or status < 200:
        return RETRY
    return DROP


def retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds to wait from a `Retry-After` header: delay-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), BACKOFF_MAX_S)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    now = time.time() if now is None else now
    return min(max(0.0, when - now), BACKOFF_MAX_S)


def backoff(failures: int, retry_after_s: Optional[float] = None) -> float:
    """Seconds before the next try after `failures` failures in a row."""
    import random  # only when something failed: it is slow to import

    delay: float = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2.0 ** min(max(failures, 1) - 1, 20))
    delay *= random.uniform(0.5, 1.0)  # jitter: offline machines do not retry in step
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, BACKOFF_MAX_S))
    return delay
