"""Shared helpers: console scripts, a third-party plugin, collectors, paired timing, meters.

Every case runs as a console script does (`python <script>`, the script in a
quiet folder, as pip writes it), runs are interleaved, and each case is
reported as the median of its pair-by-pair ratios to the baseline measured in
the same round, so drift and background load hit both sides alike.  A `Meter`
runs commands under a child subreaper (`_meter.py`) and returns the CPU of
each command and of every process it left behind, once all have exited.
"""

from __future__ import annotations

import atexit
import json
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
from typing import Any, Optional

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


def plugin_site(folder: str = "site", distribution: str = "bench_plugin", entry: str = "bench",
                source: str = PLUGIN_MODULE) -> str:
    """A site folder with one third-party plugin distribution (by default `noop`), as pip leaves it."""
    site = os.path.join(QUIET_DIR, folder)
    info = os.path.join(site, f"{distribution}-1.0.dist-info")
    os.makedirs(info, exist_ok=True)
    with open(os.path.join(info, "METADATA"), "w") as handle:
        handle.write(f"Metadata-Version: 2.1\nName: {distribution.replace('_', '-')}\nVersion: 1.0\n")
    with open(os.path.join(info, "entry_points.txt"), "w") as handle:
        handle.write(f"[testkube.plugins]\n{entry} = {distribution}\n")
    module = os.path.join(site, f"{distribution}.py")
    with open(module, "w") as handle:
        handle.write(source)
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
    # A user who has read the notice, with a collector that has its credentials: the path that sends
    # (without them nothing is ever delivered, and what is measured is not a user's command).
    env["TESTKUBE_TELEMETRY_NOTICE_DISABLED"] = "1"
    env["TESTKUBE_TELEMETRY_SEGMENT_WRITE_KEY"] = "bench-write-key"
    return env


# What a command may see of this shell: nothing that changes what telemetry does
# (CI variables, DO_NOT_TRACK, TESTKUBE_*, GA4 settings, proxies) gets through.
KEPT_VARIABLES = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")


def clean_env(home: Optional[str] = None, **variables: str) -> dict[str, str]:
    """A minimal environment: HOME and TESTKUBE_HOME in scratch folders (the real ~ and
    ~/.testkube are never touched), the third-party plugin, loopback never proxied, plus `variables`."""
    env = {k: v for k, v in os.environ.items() if k in KEPT_VARIABLES}
    user_home = os.path.join(QUIET_DIR, "user-home")
    os.makedirs(user_home, mode=0o700, exist_ok=True)
    env.update(HOME=user_home, TESTKUBE_HOME=home or scratch_home(), PYTHONPATH=SITE,
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    env.update(variables)
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


class _Tallying(_Healthy):
    """Also counts the events each case received, by the first segment of the URL's path
    (a case's collector URL is `<collector>/<case>`), once per `messageId`."""

    lock = threading.Lock()
    seen: dict[str, set[str]] = {}
    kinds: dict[str, dict[str, list[float]]] = {}  # case -> "event command" -> [count, last arrival]
    requests: dict[str, int] = {}
    duplicates: dict[str, int] = {}

    def do_POST(self) -> None:  # noqa: N802
        import gzip

        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        arrived = time.time()
        case = self.path.strip("/").split("/")[0]
        try:
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            messages = json.loads(body).get("batch") or []
        except (OSError, ValueError, AttributeError):
            messages = []
        cls = type(self)
        with cls.lock:
            cls.received += 1
            cls.requests[case] = cls.requests.get(case, 0) + 1
            seen, kinds = cls.seen.setdefault(case, set()), cls.kinds.setdefault(case, {})
            for message in messages:
                if not isinstance(message, dict) or str(message.get("messageId")) in seen:
                    cls.duplicates[case] = cls.duplicates.get(case, 0) + 1
                    continue
                seen.add(str(message.get("messageId")))
                properties = message.get("properties") or {}
                kind = f"{message.get('event')} {properties.get('command', '')}".strip()
                counted = kinds.setdefault(kind, [0, 0.0])
                counted[0] += 1
                counted[1] = arrived
        self._answer(b"{}")

    def do_GET(self) -> None:  # noqa: N802
        if not self.path.startswith("/tally/"):
            return super().do_GET()
        case = self.path[len("/tally/"):]
        cls = type(self)
        with cls.lock:
            kinds = {kind: {"count": int(count), "last_at": last} for kind, (count, last)
                     in cls.kinds.get(case, {}).items()}
            tally = {"requests": cls.requests.get(case, 0), "events": len(cls.seen.get(case, ())),
                     "duplicates": cls.duplicates.get(case, 0), "kinds": kinds}
        self._answer(json.dumps(tally).encode())


def healthy_collector(port: int = 0, tally: bool = False) -> tuple[str, ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", port), _Tallying if tally else _Healthy)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


def free_port() -> int:
    """A loopback port nothing listens on (connecting to it is refused: a collector that is down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_collector(port: int, tally: bool, deferred: bool) -> None:
    """A collector process's body: with `deferred`, it is down (the port refuses) until told "up"."""
    if deferred:
        sys.stdin.readline()
    print(healthy_collector(port, tally)[0], flush=True)
    sys.stdin.read()


class CollectorProcess:
    """A healthy collector in a process of its own, as a real one is: it shares no GIL with a client.

    With `tally` it counts the events each case received (`tally(case)`); with `deferred` it
    starts down (nothing listens on `port`, connections are refused) and comes up at once on `up()`."""

    def __init__(self, port: int = 0, tally: bool = False, deferred: bool = False) -> None:
        code = ("import sys; sys.path.insert(0, sys.argv[1]); from _common import serve_collector; "
                "serve_collector(int(sys.argv[2]), sys.argv[3] == '1', sys.argv[4] == '1')")
        here = os.path.dirname(os.path.abspath(__file__))
        self._process = subprocess.Popen([PYTHON, "-c", code, here, str(port), str(int(tally)), str(int(deferred))],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.url = f"http://127.0.0.1:{port}"
        if not deferred:
            self.up()

    def up(self) -> None:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write("up\n")
        self._process.stdin.flush()
        self.url = self._process.stdout.readline().strip()

    def _get(self, path: str) -> bytes:
        import urllib.request

        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy
        with direct.open(self.url + path, timeout=10) as answer:
            return bytes(answer.read())

    def received(self) -> int:
        """Requests it has answered so far."""
        return int(self._get("/received"))

    def tally(self, case: str) -> dict[str, Any]:
        """What `case` received: requests, events (distinct messageIds), duplicates, and for each
        "event command" its count and last arrival (`time.time()`)."""
        return dict(json.loads(self._get("/tally/" + case)))

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


class Ran:
    """One command a meter ran: exit code, wall time and its own CPU (not what it left behind)."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.exit: int = answer["exit"]
        self.wall_ms: float = answer["wall_ms"]
        self.cpu_ms: float = answer["cpu_ms"]
        self.ended_at: float = answer["ended_at"]  # time.time()
        self.stdout: str = answer.get("stdout", "")


class Whole:
    """What a meter's commands cost since its last `finish`, every process they left behind included."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.commands: int = answer["commands"]
        self.commands_cpu_ms: float = answer["commands_cpu_ms"]
        self.left_cpu_ms: float = answer["left_cpu_ms"]
        self.left_processes: int = answer["left_processes"]
        self.last_exit_at: Optional[float] = answer["last_exit_at"]

    @property
    def cpu_ms(self) -> float:
        return self.commands_cpu_ms + self.left_cpu_ms

    @property
    def per_command_ms(self) -> float:
        return self.cpu_ms / max(self.commands, 1)


class Meter:
    """Runs commands in a process of its own that is their child subreaper (benchmarks/_meter.py):
    whatever a command leaves behind is re-parented to it, and `finish()` waits until all of it has
    exited and returns the CPU of everything (utime + stime from `wait4`).  Commands run as in
    `compare`: in the quiet folder, output discarded.  Any unexpected exit code stops the benchmark."""

    def __init__(self) -> None:
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_meter.py")
        self._process = subprocess.Popen([PYTHON, script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._ask_line()

    def _ask_line(self, **request: Any) -> dict[str, Any]:
        assert self._process.stdin is not None and self._process.stdout is not None
        if request:
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
        line = self._process.stdout.readline()
        answer: dict[str, Any] = json.loads(line) if line else {"error": "the meter ended"}
        if "error" in answer:
            raise SystemExit(f"meter: {answer['error']}")
        return answer

    def run(self, args: list[str], env: dict[str, str], expect: int = 0, capture: bool = False) -> Ran:
        answer = self._ask_line(op="run", args=args, env=env, cwd=QUIET_DIR, capture=capture)
        if answer["exit"] != expect:  # timing a command that fails would measure nothing
            raise SystemExit(f"{' '.join(args[1:])} exited {answer['exit']}, not {expect}:\n{answer['stderr'].strip()}")
        return Ran(answer)

    def run_many(self, args: list[str], env: dict[str, str], count: int, parallel: int, expect: int = 0) -> None:
        answer = self._ask_line(op="run_many", args=args, env=env, cwd=QUIET_DIR, count=count, parallel=parallel)
        if answer["exits"] != {str(expect): count}:
            raise SystemExit(f"{' '.join(args[1:])}: exit codes {answer['exits']}, not {expect}:\n"
                             f"{answer['stderr'].strip()}")

    def alive(self) -> int:
        """How many processes its commands left behind are running now."""
        return int(self._ask_line(op="alive")["alive"])

    def finish(self, timeout: float = 120) -> Whole:
        """Wait until every process the commands left behind has exited; totals since the last finish."""
        answer = self._ask_line(op="finish", timeout=timeout)
        if answer["timed_out"]:
            raise SystemExit(f"processes left behind were still running after {timeout:g} s (killed)")
        return Whole(answer)

    def close(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(120)

    def __enter__(self) -> Meter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
