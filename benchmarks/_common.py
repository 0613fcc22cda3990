"""Shared helpers: console scripts, a third-party plugin, collectors, paired timing.

Every case runs as a console script does (`python <script>`, the script in a
quiet folder, as pip writes it), runs are interleaved, and each case is
reported as the median of its pair-by-pair ratios to the baseline measured in
the same round, so drift and background load hit both sides alike.
"""

from __future__ import annotations

import atexit
import os
import py_compile
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

PYTHON = sys.executable
# Commands run in a folder nobody else writes to: the script's folder is on
# sys.path, and a busy one would defeat the entry-point cache.
QUIET_DIR = tempfile.mkdtemp(prefix="testkube-bench-")
atexit.register(shutil.rmtree, QUIET_DIR, True)
BIN = os.path.join(QUIET_DIR, "bin")
os.makedirs(BIN)

PLUGIN_MODULE = '''
import click
from testkube_telemetry_plugin import hookimpl

@hookimpl
def testkube_register_commands(cli):
    @cli.command()
    def noop():
        """Do nothing, as cheaply as a command can."""
        click.echo("noop")
'''


def console_script(name: str, body: str) -> list[str]:
    """Write `body` as a console script in the quiet bin folder; returns its argv."""
    path = os.path.join(BIN, name)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(textwrap.dedent(body).lstrip())
    return [PYTHON, path]


TESTKUBE = console_script("testkube", """
    import re
    import sys
    from testkube_telemetry_plugin.cli import main
    if __name__ == "__main__":
        sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
        sys.exit(main())
""")
BARE = console_script("bare", """
    import click

    @click.group()
    def cli():
        pass

    @cli.command()
    def noop():
        click.echo("noop")

    if __name__ == "__main__":
        cli()
""")
FLOOR = console_script("floor", "import click, pluggy\n")


def plugin_site() -> str:
    """A site folder with one third-party plugin distribution (`noop`), as pip leaves it."""
    site = os.path.join(QUIET_DIR, "site")
    info = os.path.join(site, "bench_plugin-1.0.dist-info")
    os.makedirs(info, exist_ok=True)
    with open(os.path.join(info, "METADATA"), "w") as handle:
        handle.write("Metadata-Version: 2.1\nName: bench-plugin\nVersion: 1.0\n")
    with open(os.path.join(info, "entry_points.txt"), "w") as handle:
        handle.write("[testkube.plugins]\nbench = bench_plugin\n")
    module = os.path.join(site, "bench_plugin.py")
    with open(module, "w") as handle:
        handle.write(PLUGIN_MODULE)
    # pip byte-compiles what it installs; without this (and with PYTHONDONTWRITEBYTECODE
    # set, as on CI machines) every run would compile the plugin from source.
    py_compile.compile(module, doraise=True)
    return site


SITE = plugin_site()


def scratch_home() -> str:
    """A TESTKUBE_HOME under the quiet folder; a lingering flusher may still
    write there when the benchmark ends, so it is removed with the folder at exit."""
    return tempfile.mkdtemp(dir=QUIET_DIR)


def base_env(home: Optional[str] = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESTKUBE_") and k != "DO_NOT_TRACK"}
    env["TESTKUBE_HOME"] = home or scratch_home()
    env["PYTHONPATH"] = SITE  # the third-party plugin, for every case alike
    return env


def timed(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, env=env, cwd=QUIET_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return (time.perf_counter() - started) * 1000


Case = tuple[list[str], dict[str, str]]


def compare(baseline: Case, cases: dict[str, Case], runs: int) -> dict[str, tuple[float, float]]:
    """{name: (median ms, median of pair-by-pair ratios to the baseline)}, baseline included."""
    everything = {"baseline": baseline, **cases}
    for name, (args, env) in everything.items():  # warm caches (bytecode, entry points, page cache)
        check = subprocess.run(args, env=env, cwd=QUIET_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, check=False)
        if check.returncode != 0:  # timing a command that fails would measure nothing
            raise SystemExit(f"{name}: {' '.join(args)} exited {check.returncode}:\n{check.stderr.strip()}")
    samples: dict[str, list[float]] = {name: [] for name in everything}
    for _ in range(runs):
        for name, (args, env) in everything.items():
            samples[name].append(timed(args, env))
    base = samples["baseline"]
    return {name: (statistics.median(values), statistics.median(v / b for v, b in zip(values, base)))
            for name, values in samples.items()}


def report(title: str, baseline_name: str, results: dict[str, tuple[float, float]],
           targets: Optional[dict[str, float]] = None) -> None:
    print(title)
    targets = targets or {}
    for name, (median, ratio) in results.items():
        label = baseline_name if name == "baseline" else name
        target = f"   (target <= {targets[name]:.2f}x)" if name in targets else ""
        print(f"  {label:58s} {median:7.1f} ms   {ratio:5.2f}x{target}")


class _Healthy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # or each answer waits ~40 ms for a delayed ACK, for every client alike
    received = 0

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).received += 1
        self._answer(b"{}")

    def do_GET(self) -> None:  # noqa: N802
        self._answer(str(type(self).received).encode())  # how many requests arrived, for a collector_process

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def healthy_collector() -> tuple[str, ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Healthy)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


class CollectorProcess:
    """A healthy collector in a process of its own, as a real one is: it shares no GIL with a client."""

    def __init__(self) -> None:
        code = ("import sys; sys.path.insert(0, sys.argv[1]); from _common import healthy_collector; "
                "print(healthy_collector()[0], flush=True); sys.stdin.read()")
        self._process = subprocess.Popen([PYTHON, "-c", code, os.path.dirname(os.path.abspath(__file__))],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        self.url = self._process.stdout.readline().strip()

    def received(self) -> int:
        """Requests it has answered so far."""
        import urllib.request

        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy
        with direct.open(self.url + "/received", timeout=10) as answer:
            return int(answer.read())

    def stop(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(10)


def silent_collector() -> str:
    """Accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(256)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}"
