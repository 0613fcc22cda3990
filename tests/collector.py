"""A real Segment/GA4-compatible collector on 127.0.0.1 with scripted misbehaviour."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class Collector:
    """Answers 200 unless told otherwise by `plan(...)`.

    Behaviours: ("status", code[, headers]), ("close",), ("stall", seconds),
    ("hold",) which blocks until `release()`, ("slow", seconds) which answers 200 that much later.
    `default` is the behaviour once the plan is used up.  Each request records when it arrived.
    """

    def __init__(self, default: tuple[Any, ...] = ("status", 200)) -> None:
        self.default = default
        self.requests: list[dict[str, Any]] = []
        self._plan: deque[tuple[Any, ...]] = deque()
        self._lock = threading.Lock()
        self.released = threading.Event()
        self.holding = threading.Event()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall
            timeout = 15  # a client that keeps an idle connection open (a lingering flusher) frees its thread

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                arrived_at = time.time()
                raw_size = len(body)
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                with collector._lock:
                    behaviour = collector._plan.popleft() if collector._plan else collector.default
                record = {
                    "path": urlsplit(self.path).path,
                    "query": parse_qs(urlsplit(self.path).query),
                    "headers": dict(self.headers),
                    "json": json.loads(body),
                    "size": raw_size,
                    "json_size": len(body),
                    "behaviour": behaviour,
                    "arrived_at": arrived_at,
                }
                kind = behaviour[0]
                if kind == "close":
                    self.close_connection = True
                    collector._record(record, None)
                    return
                if kind == "stall":
                    time.sleep(behaviour[1])
                    collector._record(record, None)
                    self.close_connection = True
                    return
                if kind == "hold":
                    collector.holding.set()
                    collector.released.wait(30)
                    behaviour = ("status", 200)
                if kind == "slow":
                    time.sleep(behaviour[1])
                    behaviour = ("status", 200)
                code = behaviour[1]
                headers = behaviour[2] if len(behaviour) > 2 else {}
                collector._record(record, code)
                self.send_response(code)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # server_close() would otherwise join every handler thread, and one waiting on a
        # keep-alive connection that a lingering flusher holds open would stall the test's teardown.
        self.server.block_on_close = False
        # A client that hangs up mid-request is the test's business (it sees the missing
        # request), not a traceback on the run's stderr.
        self.server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        # Polled every 50 ms: shutdown() waits one poll, and every collector test pays it.
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def _record(self, record: dict[str, Any], status: Any) -> None:
        record["status"] = status
        with self._lock:
            self.requests.append(record)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def plan(self, *behaviours: tuple[Any, ...]) -> None:
        with self._lock:
            self._plan.extend(behaviours)

    def release(self) -> None:
        self.released.set()

    def accepted(self, path: str = "/v1/batch") -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if r["path"] == path and r["status"] == 200]

    def messages(self) -> list[dict[str, Any]]:
        """Every Segment message the collector accepted (2xx), in arrival order."""
        return [m for r in self.accepted() for m in r["json"]["batch"]]

    def ga_events(self) -> list[dict[str, Any]]:
        return [e for r in self.accepted("/mp/collect") for e in r["json"]["events"]]

    def events(self) -> list[str]:
        return [m["event"] for m in self.messages()]

    def wait_for(self, predicate: Any, timeout: float = 20.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if predicate():
                return True
            time.sleep(0.05)
        return predicate()

    def __enter__(self) -> Collector:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
