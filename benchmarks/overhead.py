"""A trivial command with telemetry on, against a healthy and a hanging collector,
compared with telemetry off. Prints medians and ratios. Target: at most 1.10x."""

from __future__ import annotations

import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import PYTHON, base_env, compare, scratch_home  # noqa: E402


class Healthy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def hanging_server() -> tuple[socket.socket, list[socket.socket]]:
    """Accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return listener, held


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    healthy = ThreadingHTTPServer(("127.0.0.1", 0), Healthy)
    threading.Thread(target=healthy.serve_forever, daemon=True).start()
    hanging, _ = hanging_server()
    # As the `testkube` console script runs it (no runpy).
    command = [PYTHON, "-c", "import sys; from testkube_telemetry_plugin.cli import main; sys.exit(main())", "plugins"]
    cases = {
        "telemetry off": (command, {**base_env(scratch_home()), "DO_NOT_TRACK": "1"}),
        "on, healthy collector": (command, {**base_env(scratch_home()),
            "TESTKUBE_TELEMETRY_SEGMENT_URL": f"http://127.0.0.1:{healthy.server_address[1]}"}),
        "on, collector never answers": (command, {**base_env(scratch_home()),
            "TESTKUBE_TELEMETRY_SEGMENT_URL": f"http://127.0.0.1:{hanging.getsockname()[1]}"}),
    }
    medians = compare(cases, runs)
    off = medians["telemetry off"]
    for name, value in medians.items():
        print(f"{name:30s} {value:7.1f} ms   {value / off:5.2f}x of off")
    healthy.shutdown()
    hanging.close()


if __name__ == "__main__":
    main()
