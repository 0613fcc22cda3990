"""10,000 spooled events delivered to a local collector: events/s, requests, peak memory."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

EVENTS = 10_000
requests_made = 0


class Collector(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        global requests_made
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        requests_made += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as home:
        os.environ["TESTKUBE_HOME"] = home
        os.environ["TESTKUBE_TELEMETRY_SEGMENT_URL"] = f"http://127.0.0.1:{server.server_address[1]}"
        from testkube_telemetry_plugin.delivery import deliver
        from testkube_telemetry_plugin.events import base_properties, track
        from testkube_telemetry_plugin.settings import load_settings
        from testkube_telemetry_plugin.spool import Spool

        folder = Path(home) / "telemetry"
        spool = Spool(folder / "spool")
        base = base_properties("testkube", "1.0")
        for i in range(0, EVENTS, 2):  # a command writes 1-4 events; 2 per file here
            spool.append(["segment"], [track("testkube_cli_command", "a" * 64, {**base, "n": i})] * 2)
        spooled = spool.count(["segment"])  # the 5 MB cap may have dropped a few
        tracemalloc.start()
        started = time.perf_counter()
        report = deliver(load_settings(), folder, time.monotonic() + 600)
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    sent = report.sinks["segment"].sent
    print(f"events spooled   {spooled} of {EVENTS} written (the rest over the 5 MB cap)")
    print(f"events sent      {sent}")
    print(f"requests made    {requests_made}  ({sent / max(requests_made, 1):.0f} events per request)")
    print(f"events/s         {sent / elapsed:,.0f}")
    print(f"peak memory      {peak / 1024 / 1024:.1f} MiB (Python heap, tracemalloc)")
    server.shutdown()
    sys.exit(0 if sent == spooled else 1)


if __name__ == "__main__":
    main()
