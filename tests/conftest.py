"""Isolation for every test: a temporary TESTKUBE_HOME, no CI variables, no
internet, and helpers that install plugins through real entry points."""

from __future__ import annotations

import atexit
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import settings as hypothesis_settings

from testkube_telemetry_plugin.cli import TESTKUBE, make_cli
from testkube_telemetry_plugin.hooks.group import HookedGroup
from testkube_telemetry_plugin.telemetry.events import CI_PROVIDERS, new_event, new_record
from testkube_telemetry_plugin.telemetry.scheduler import HOST_ENV, host_to_env
from testkube_telemetry_plugin.telemetry.settings import Paths
from testkube_telemetry_plugin.telemetry.spool import Spool
from testkube_telemetry_plugin.telemetry.state import State
from testkube_telemetry_plugin.telemetry.state import load as load_state

sys.path.insert(0, str(Path(__file__).parent))
from collector import Collector  # noqa: E402

# Test modules build CLIs while they are collected, before any fixture runs: even
# then, nothing may touch the real ~/.testkube or ~/.cache.
_COLLECTION_HOME = tempfile.mkdtemp(prefix="testkube-tests-")
atexit.register(shutil.rmtree, _COLLECTION_HOME, True)
os.environ["TESTKUBE_HOME"] = os.path.join(_COLLECTION_HOME, "home")
os.environ["XDG_CACHE_HOME"] = os.path.join(_COLLECTION_HOME, "xdg-cache")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_COLLECTION_HOME, "xdg-config")

# CI runs the same examples every time (a failure there is reproducible here with
# CI=true); local runs explore new ones.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Any:
    """A test that hangs (a stuck thread, a teardown waiting forever) ends the run.

    pytest's `faulthandler_timeout` prints every thread's traceback; a moment later
    this ends the process, so CI fails in minutes instead of stalling until its limit.
    """
    limit = float(item.config.getini("faulthandler_timeout") or 0)
    watchdog = threading.Timer(limit + 2, os._exit, args=(3,)) if limit else None
    if watchdog:
        watchdog.daemon = True
        watchdog.start()
    try:
        yield
    finally:
        if watchdog:
            watchdog.cancel()


PLUGINS_SRC = Path(__file__).parent / "plugins"
DEAD_URL = "http://127.0.0.1:9"  # discard port: connection refused at once
WRITE_KEY = "test-write-key"
GA_API_SECRET = "test-api-secret"


def install_plugin(
    site: Path, dist: str, entries: dict[str, str], version: str = "1.0", group: str = "testkube.plugins"
) -> Path:
    """Install a distribution the way pip leaves it: a module and a dist-info folder."""
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = "".join(f"{name} = {module}\n" for name, module in entries.items())
    (info / "entry_points.txt").write_text(f"[{group}]\n{lines}")
    for module in entries.values():
        source = PLUGINS_SRC / f"{module.split(':')[0]}.py"
        if source.exists():
            shutil.copy(source, site / source.name)
    return info


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    for name in list(os.environ):
        if name.startswith(("TESTKUBE_", "SAMPLE_")) or name == "DO_NOT_TRACK":
            monkeypatch.delenv(name)
    for name, _ in CI_PROVIDERS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TESTKUBE_HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))  # hosts without a declared home
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("TESTKUBE_TELEMETRY_SEGMENT_URL", DEAD_URL)
    # A collector without its credentials is never contacted; GA4 is wanted only where a test sets its measurement id.
    monkeypatch.setenv("TESTKUBE_TELEMETRY_SEGMENT_WRITE_KEY", WRITE_KEY)
    monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_API_SECRET", GA_API_SECRET)
    monkeypatch.setenv("TESTKUBE_TELEMETRY_DELIVERY", "inline")
    # The user has read the notice (its own variable says so): nothing waits for it to be seen on a
    # terminal. Tests of the notice and of what is held until then remove it.
    monkeypatch.setenv("TESTKUBE_TELEMETRY_NOTICE_DISABLED", "1")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return home


@pytest.fixture(autouse=True)
def connections(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every socket connection this process makes; non-loopback ones fail the test."""
    made: list[Any] = []
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        made.append(address)
        if isinstance(address, tuple):
            host = address[0]
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = host == "localhost"
            if not loopback:
                raise AssertionError(f"a test tried to reach {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    return made


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A site folder holding the sample plugins, on sys.path and PYTHONPATH."""
    folder = tmp_path / "site"
    folder.mkdir()
    install_plugin(folder, "sample-plugin", {"sample": "sample_plugin"}, "1.2.3")
    install_plugin(folder, "echo-plugin", {"echo": "echo_plugin"}, "0.9")
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(folder), *sys.path]))
    import sample_plugin

    sample_plugin.CALLS.clear()
    return folder


@pytest.fixture
def cli(site: Path) -> HookedGroup:
    return make_cli()


@pytest.fixture
def runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]  # Click < 8.2
    except TypeError:
        return CliRunner()


@pytest.fixture
def collector(monkeypatch: pytest.MonkeyPatch) -> Any:
    with Collector() as running:
        monkeypatch.setenv("TESTKUBE_TELEMETRY_SEGMENT_URL", running.url)
        yield running


@pytest.fixture
def two_sinks(collector: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Segment and GA4 on the same collector, so per-collector acknowledgements are used."""
    monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_URL", collector.url + "/mp/collect")
    monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_MEASUREMENT_ID", "G-TEST1")
    return collector


def run_testkube(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it: a new process, exit code and both streams."""
    return subprocess.run(
        [sys.executable, "-m", "testkube_telemetry_plugin", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        **kwargs,
    )


def run_in_terminal(*args: str, env: dict[str, str] | None = None, timeout: float = 60,
                    stdout_piped: bool = False) -> tuple[int, str, str]:
    """The CLI as a person at a terminal runs it: stdin and stderr (and stdout, unless `stdout_piped`)
    on a real pseudo-terminal.  Returns (exit code, what the terminal showed, stdout if piped)."""
    import pty
    import select
    import time

    main, secondary = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "testkube_telemetry_plugin", *args],
        stdin=secondary, stdout=subprocess.PIPE if stdout_piped else secondary, stderr=secondary,
        env={**os.environ, **(env or {})},
    )
    os.close(secondary)
    shown = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while True:
            ready, _, _ = select.select([main], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                process.kill()
                raise TimeoutError(f"{args} still running after {timeout} s; it showed {bytes(shown)!r}")
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: every process holding the terminal has closed it
                break
            if not chunk:
                break
            shown += chunk
        out = process.stdout.read().decode() if process.stdout is not None else ""
        process.wait(timeout)
    finally:
        os.close(main)
        if process.stdout is not None:
            process.stdout.close()
    return process.returncode, shown.decode().replace("\r\n", "\n"), out


ID = "a" * 64


def paths_at(home: Path | str) -> Paths:
    """The testkube host's files under `home`."""
    return Paths(str(home), ".testkube.toml")


def spool_of(home: Path | str) -> Spool:
    return Spool(paths_at(home))


def state_of(home: Path | str) -> State:
    return load_state(paths_at(home))


def spool_events(home: Path, count: int, pad: int = 0) -> list[str]:
    """`count` one-event records, as `count` commands would leave them; returns their message ids."""
    spool = spool_of(home)
    ids = []
    for i in range(count):
        event = new_event("testkube_cli_command", {"n": i, "pad": "x" * pad})
        ids.append(event["messageId"])
        spool.append(new_record(TESTKUBE, [event]))
    return ids


def with_id(home: Path, anonymous_id: str = ID) -> None:
    """A user config holding an anonymous id, as after a first command."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(f'[telemetry]\nanonymous_id = "{anonymous_id}"\nsalt = "s"\n')


def pending_records(home: Path) -> int:
    return len(spool_of(home).entries())


def flusher_process() -> subprocess.Popen[bytes]:
    """A detached flusher for the testkube host, as a command starts one."""
    env = {**os.environ, HOST_ENV: host_to_env(TESTKUBE)}
    return subprocess.Popen([sys.executable, "-m", "testkube_telemetry_plugin.telemetry.delivery.flusher"], env=env)


def kill_flusher_mid_batch(collector: Collector) -> None:
    """Start a flusher, SIGKILL it while the collector holds its request, let go."""
    collector.holding.clear()
    collector.released.clear()
    collector.plan(("hold",))
    flusher = flusher_process()
    assert collector.holding.wait(10)
    flusher.send_signal(signal.SIGKILL)
    flusher.wait(10)
    collector.release()
