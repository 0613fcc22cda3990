"""One HTTP POST: it returns the collector's answer or raises, and does nothing else.

No redirect is followed, no proxy or `.netrc` from the environment is used,
and at most a small part of the answer's body is read: a collector that
answers with 200 MB costs 64 KB.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import requests

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
