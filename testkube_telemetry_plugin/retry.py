"""One retry policy for every collector: what an answer means, and how long to wait.

As Segment's own libraries do: 2xx delivers, 429, 408 and 5xx (and network
errors) are retried with capped exponential back-off and jitter, honouring
`Retry-After` in both its forms; 3xx is retried later too (a redirect is never
followed: it could lead anywhere); any other 4xx can never succeed and drops
the batch.  No module but this one decides.
"""

from __future__ import annotations

import time
from typing import Optional

from .state import BACKOFF_MAX_S

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
