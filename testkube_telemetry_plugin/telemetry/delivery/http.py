"""HTTP to a collector: one POST under one deadline, and one retry policy for what its answer means.

The standard library's `http.client` speaks HTTP; this module decides where
it connects and for how long.  `split_url` is the one parser of a collector
URL: `collectors.checked_url` judges what it returns, and `post` connects to
exactly that host and port (resolved here, once), so no second parser can
read the URL differently.  Plain `http` is allowed only when the address
actually connected to is a loopback address, whatever the host's name says.

A request has one deadline, covering the name lookup, the connection, TLS,
sending, the answer's status line, its headers and its body: every read and
write is given only the time left, so a collector that trickles its answer,
or sends `100 Continue` for ever, costs no more than the deadline.  No
redirect is followed, no proxy or `.netrc` is read from the environment, at
most 64 KB of an answer's body is read, and a compressed answer is never
decompressed.

Failures name their cause in a few words (`DNS: ...`, `connection refused`,
`TLS: ...`, `timeout: ...`, `HTTP 503`): `status`, `flush` and the state show
them as they are.

As Segment's own libraries do: 2xx delivers, 429, 408 and 5xx (and network
errors) are retried with capped exponential back-off and jitter, honouring
`Retry-After` in both its forms; 3xx is retried later too (a redirect is never
followed: it could lead anywhere); any other 4xx can never succeed and drops
the batch.  No other module decides.
"""

from __future__ import annotations

import io
import socket
import sys
import time
from typing import Any, NamedTuple, Optional

from ..state import BACKOFF_MAX_S

MAX_ANSWER_BYTES = 64 * 1024
CONNECT_TIMEOUT_S = 3.0
USER_AGENT = "testkube-telemetry-plugin"


class Answer(NamedTuple):
    status: int
    retry_after: Optional[str]


class TransportError(Exception):
    """The request got no answer; `str()` names the cause (DNS, refused, TLS, timeout, ...)."""


class Target(NamedTuple):
    """Where a URL points, as the connection uses it."""

    scheme: str  # "http" or "https"
    host: str  # lowercase, without brackets
    port: int
    path: str  # path and query, as sent in the request line
    userinfo: bool  # the URL had a `user@` part (refused by the check)
    fragment: bool


def split_url(url: str) -> Target:
    """The one parser of a collector URL; ValueError if it cannot be split."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    port = parts.port  # ValueError for a port that is not a number in range
    # What the parser read must be all the authority said: `http://[::1]http://` reads as [::1]:80.
    authority = parts.netloc.rpartition("@")[2].lower()
    written = f"[{host}]" if ":" in host else host
    if authority not in (written, f"{written}:{parts.port}", f"{written}:"):
        raise ValueError(f"an ambiguous host and port: {parts.netloc!r}")
    if port is None:
        port = 443 if scheme == "https" else 80
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme, host, port, path, "@" in parts.netloc, bool(parts.fragment))


def is_loopback(address: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _literal(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _resolve(host: str, port: int, timeout: float) -> list[tuple[Any, ...]]:
    """getaddrinfo within `timeout`: the lookup runs in a thread of its own (it cannot be
    interrupted), so a resolver that hangs costs the deadline, not the resolver's own timeouts."""
    name = host.encode("ascii")  # checked ASCII: bytes spare the IDNA codec (and its import)
    if _literal(host):
        return socket.getaddrinfo(name, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    import threading

    found: list[Any] = []

    def lookup() -> None:
        try:
            found.append(socket.getaddrinfo(name, port, type=socket.SOCK_STREAM))
        except OSError as exc:
            found.append(exc)

    resolver = threading.Thread(target=lookup, name="telemetry-dns", daemon=True)
    resolver.start()
    resolver.join(max(0.0, timeout))
    if not found:
        raise TransportError(f"DNS: no answer for {host} in {timeout:.1f} s")
    if isinstance(found[0], BaseException):
        raise TransportError(f"DNS: cannot resolve {host}")
    return list(found[0])


def _connect(target: Target, deadline: float) -> socket.socket:
    addresses = _resolve(target.host, target.port, deadline - time.monotonic())
    if target.scheme == "http":
        # Plain http only to this machine: decided by the address connected to, not by the name.
        addresses = [info for info in addresses if is_loopback(info[4][0])]
        if not addresses:
            raise TransportError(f"plain http to {target.host}, which is not this machine; refused")
    failure: Optional[BaseException] = None
    for family, kind, proto, _, address in addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(min(CONNECT_TIMEOUT_S, left))
            sock.connect(address)
        except OSError as exc:
            sock.close()
            failure = exc
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    if isinstance(failure, ConnectionRefusedError):
        raise TransportError("connection refused")
    if failure is None or isinstance(failure, (TimeoutError, socket.timeout)):
        raise TransportError("timeout: no connection")
    raise TransportError(f"network error: {_reason(failure)}")


def _reason(exc: BaseException) -> str:
    return (exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__).lower()[:80]


_tls: Any = None


def _tls_context() -> Any:
    """The system's trusted certificates (and certifi's, where it is installed, as requests had them)."""
    global _tls
    if _tls is None:
        import ssl

        context = ssl.create_default_context()
        try:
            import certifi

            context.load_verify_locations(certifi.where())
        except (ImportError, OSError):
            pass
        _tls = context
    return _tls


class _Deadline:
    """The socket as `http.client` sees it: every write and every read is given only the time left."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline

    def arm(self) -> None:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline")
        self.sock.settimeout(left)

    def sendall(self, data: bytes) -> None:
        self.arm()
        self.sock.sendall(data)

    def makefile(self, mode: str, *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_Reader(self))

    def close(self) -> None:
        self.sock.close()


class _Reader(io.RawIOBase):
    def __init__(self, owner: _Deadline) -> None:
        super().__init__()
        self.owner = owner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self.owner.arm()
        return self.owner.sock.recv_into(buffer)


def _tls_failure(exc: OSError) -> Optional[str]:
    """The cause, if `exc` is a TLS error (`ssl` is imported only for https, so only then can it be)."""
    ssl = sys.modules.get("ssl")
    if ssl is None or not isinstance(exc, ssl.SSLError):
        return None
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS: {exc.verify_message or 'certificate not trusted'}"
    return f"TLS: {(exc.reason or type(exc).__name__).lower().replace('_', ' ')}"


def post(url: str, body: bytes, headers: dict[str, str], deadline: float) -> Answer:
    """POST `body` and return the collector's answer, or raise TransportError; never past `deadline`
    (`time.monotonic()`)."""
    import http.client

    budget = deadline - time.monotonic()
    try:
        target = split_url(url)
    except ValueError:
        raise TransportError("not a valid URL") from None
    connection: Optional[http.client.HTTPConnection] = None
    try:
        sock = _connect(target, deadline)
        if target.scheme == "https":
            sock.settimeout(max(0.001, deadline - time.monotonic()))
            sock = _tls_context().wrap_socket(sock, server_hostname=target.host)
        connection = http.client.HTTPConnection(target.host, target.port)
        connection.sock = _Deadline(sock, deadline)
        connection.request("POST", target.path, body=body, headers={"User-Agent": USER_AGENT, **headers})
        response = connection.getresponse()
        try:
            response.read(MAX_ANSWER_BYTES)  # drained, never decoded: the status is what matters
        except (TimeoutError, socket.timeout):
            raise  # an answer still coming at the deadline is no answer: sent again later
        except (http.client.HTTPException, OSError):
            pass  # a broken body, or a connection closed after the status line: the status stands
        return Answer(response.status, response.getheader("Retry-After"))
    except TransportError:
        raise
    except (TimeoutError, socket.timeout):
        raise TransportError(f"timeout: no answer in {budget:.1f} s") from None
    except http.client.RemoteDisconnected:
        raise TransportError("connection closed before an answer") from None
    except OSError as exc:  # before ValueError: a certificate error is both
        if isinstance(exc, ConnectionRefusedError):
            raise TransportError("connection refused") from None
        raise TransportError(_tls_failure(exc) or f"network error: {_reason(exc)}") from None
    except (http.client.HTTPException, ValueError):
        raise TransportError("not a valid HTTP answer") from None
    finally:
        if connection is not None:
            connection.close()


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
    """Seconds to wait from a `Retry-After` header: delay-seconds or an HTTP date; None for anything else.

    Only ASCII digits are delay-seconds: `str.isdigit` is true for `²` or `٣`,
    which `float` refuses.
    """
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(float(value[:12]), BACKOFF_MAX_S)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError, OSError):
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
