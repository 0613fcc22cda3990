"""A pytest plugin for CLI maintainers and plugin authors (entry point `pytest11`: loaded wherever this package is).

Fixtures:

- `run_cli(cli, args, ...)` runs a CLI in-process, through its own `main()`
  (so the exit code is the one the shell would see), with a recording plugin
  registered in its plugin manager, its home in the test's temporary folder,
  and delivery switched off: the result holds the output, the hook calls
  (`result.hooks`) and the events the CLI would send (`result.events`).  No
  socket is opened, and nothing outside `tmp_path` is touched.
- `cli_home`: the folder `run_cli` uses as the host's home.

Option `--adopt module:attribute=NAME` (repeatable) adopts a project's CLI in
place before its own test suite is collected, with telemetry declared, its
home in a temporary folder and delivery off, and checks every run it sees:
each post hook matches the pre hook before it, each run ends with exactly one
post, the last post carries the exit code, and no event is named after
Testkube.  The summary reports it; a violation fails the session.  That is how
this project runs sqlite-utils' and cookiecutter's own suites unchanged.
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import tempfile
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

import pytest

if TYPE_CHECKING:
    from .hooks.host import Host
    from .hooks.invocation import Invocation, Outcome


class HookRecorder:
    """A plugin that records each hook call as a plain dict (registered by `run_cli` and `--adopt`)."""

    plugin_name = "pytest-recorder"

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def _record(self, hook: str, invocation: Invocation, outcome: Optional[Outcome] = None) -> None:
        call: dict[str, Any] = {"hook": hook, "path": tuple(invocation.command_path), "params": dict(invocation.params)}
        if outcome is not None:
            call.update(exit_code=outcome.exit_code, status=outcome.status, error_type=outcome.error_type,
                        duration_ms=outcome.duration_ms)
        self.calls.append(call)

    def plugin(self) -> Any:
        """The hook implementations, marked with the library's `hookimpl` (taken by every host)."""
        from .hooks.specs import hookimpl

        recorder = self

        class Plugin:
            @hookimpl
            def testkube_pre_command(self, invocation: Invocation) -> None:
                recorder._record("pre", invocation)

            @hookimpl
            def testkube_post_command(self, invocation: Invocation, outcome: Outcome) -> None:
                recorder._record("post", invocation, outcome)

        return Plugin()


class CliRun:
    """What `run_cli` saw: the output and exit code, the hook calls, and the events the CLI would send."""

    def __init__(self, exit_code: int, stdout: str, stderr: str, exception: Optional[BaseException],
                 hooks: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
        self.exit_code = exit_code
        self.stdout = stdout
        self.stderr = stderr
        self.exception = exception
        self.hooks = hooks
        self.events = events

    @property
    def posts(self) -> list[dict[str, Any]]:
        return [call for call in self.hooks if call["hook"] == "post"]

    def __repr__(self) -> str:
        return f"<CliRun exit_code={self.exit_code} hooks={len(self.hooks)} events={len(self.events)}>"


def _host_of(cli: Any) -> Host:
    from .hooks.adoption import root_of

    return root_of(cli).host


def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Delivery off (what would be sent stays spooled) and no socket leaves the machine."""
    from .telemetry import scheduler

    monkeypatch.setattr(scheduler, "after_spool", lambda settings: None)
    monkeypatch.setattr(scheduler, "deliver_inline", lambda *args, **kwargs: False)
    monkeypatch.setattr(scheduler, "start_flusher", lambda *args, **kwargs: False)
    real_connect = socket.socket.connect

    def refused(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise OSError(f"run_cli: no network in a test ({address!r})")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", refused)


def spooled_events(host: Host) -> list[dict[str, Any]]:
    """Every event the host has spooled: `{"event": ..., "properties": {...}}`, oldest first."""
    from .telemetry.events import BadRecord
    from .telemetry.settings import paths_of
    from .telemetry.spool import Spool

    paths = paths_of(host)
    if not os.path.isdir(paths.home):
        return []
    spool = Spool(paths)
    found = []
    for entry in spool.entries():
        try:
            record = spool.load(entry)
        except (BadRecord, OSError):
            continue
        found += [{"event": event["event"], "properties": dict(event.get("properties", {}))}
                  for event in record["events"]]
    return found


@pytest.fixture
def cli_home(tmp_path: Any) -> Any:
    """The host's home folder for `run_cli`: `<tmp_path>/cli-home`."""
    return tmp_path / "cli-home"


@pytest.fixture
def run_cli(cli_home: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[..., CliRun]:
    """Run an adopted CLI in-process: ``result = run_cli(cli, ["greet", "ann"])``.

    `cli` is what `adopt()` returned (a Click command or group, a Typer app) or
    a `HookedGroup`.  Keyword arguments: `input` (stdin text), `env` (variables
    for the run), `prog_name`.  The host's `<PREFIX>_HOME`, `HOME` and the XDG
    folders point into `tmp_path`; the opt-out variables are cleared.
    """
    monkeypatch.setenv("HOME", str(tmp_path / "user-home"))
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    _no_network(monkeypatch)

    def run(cli: Any, args: Sequence[str] = (), *, input: Optional[str] = None,
            env: Optional[dict[str, str]] = None, prog_name: Optional[str] = None) -> CliRun:
        from .hooks.adoption import root_of

        root = root_of(cli)
        host = root.host
        monkeypatch.setenv(host.env("HOME"), str(cli_home))
        for name in ("DO_NOT_TRACK", host.env("TELEMETRY_DISABLED")):
            monkeypatch.delenv(name, raising=False)
        recorder = HookRecorder()
        manager = root.plugin_manager
        plugin = recorder.plugin()
        manager.register(plugin, name=f"{HookRecorder.plugin_name}-{id(recorder)}")
        try:
            result = _invoke(cli, list(args), input, env, prog_name or host.display_name)
        finally:
            manager.unregister(plugin)
        return CliRun(result.exit_code, result.stdout, _stderr_of(result), result.exception, recorder.calls,
                      spooled_events(host))

    return run


def _invoke(cli: Any, args: list[str], input: Optional[str], env: Optional[dict[str, str]], prog_name: str) -> Any:
    from .hooks.adoption import is_typer_app

    if is_typer_app(cli):
        from typer.testing import CliRunner as TyperRunner

        return TyperRunner().invoke(cli, args, input=input, env=env, prog_name=prog_name)
    from click.testing import CliRunner

    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]  # Click < 8.2
    except TypeError:
        runner = CliRunner()
    return runner.invoke(cli, args, input=input, env=env, prog_name=prog_name)


def _stderr_of(result: Any) -> str:
    try:
        return str(result.stderr)
    except ValueError:  # a runner that mixed stderr into stdout
        return ""


# -- --adopt: another project's own suite, with its CLI adopted --------------------------------------

class _Checker:
    """Checks every adopted run: pairs match, one post per run, no Testkube event."""

    def __init__(self) -> None:
        self.open: list[tuple[str, ...]] = []
        self.pairs = 0
        self.alone = 0
        self.codes: dict[int, int] = {}
        self.problems: list[str] = []

    def plugin(self) -> Any:
        from .hooks.specs import hookimpl

        checker = self

        class Plugin:
            @hookimpl
            def testkube_pre_command(self, invocation: Invocation) -> None:
                checker.open.append(tuple(invocation.command_path))

            @hookimpl
            def testkube_post_command(self, invocation: Invocation, outcome: Outcome) -> None:
                checker.codes[outcome.exit_code] = checker.codes.get(outcome.exit_code, 0) + 1
                if not checker.open:
                    checker.alone += 1
                    return
                opened = checker.open.pop()
                checker.pairs += 1
                closed = tuple(invocation.command_path)
                if opened != closed:
                    checker.problems.append(f"pre {' '.join(opened)} closed by post {' '.join(closed)}")

        return Plugin()


class _Adopted:
    def __init__(self, target: str, host: Host, checker: _Checker) -> None:
        self.target = target
        self.host = host
        self.checker = checker


_ADOPTED: list[_Adopted] = []
_HOMES: list[str] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hooked-cli", "adopting a CLI under its own test suite")
    group.addoption("--adopt", action="append", default=[], metavar="MODULE:ATTR=NAME",
                    help="adopt this CLI in place (host NAME, telemetry declared, delivery off) and check its runs")


def pytest_configure(config: pytest.Config) -> None:
    specs = config.getoption("adopt", default=[]) or []
    if not specs:
        return
    from .hooks.adoption import adopt, plugin_manager_of
    from .hooks.host import Host
    from .telemetry import Telemetry, scheduler

    home = tempfile.mkdtemp(prefix="adopted-home-")
    _HOMES.append(home)
    # Delivery off for the whole session: what would be sent stays spooled in `home`.
    scheduler.after_spool = lambda settings, totals: None
    scheduler.start_flusher = lambda *args, **kwargs: False
    scheduler.deliver_inline = lambda *args, **kwargs: False
    for spec in specs:
        target, _, name = spec.partition("=")
        module, _, attribute = target.partition(":")
        if not (module and attribute and name):
            raise pytest.UsageError(f"--adopt {spec!r}: give module:attribute=NAME")
        obj: Any = importlib.import_module(module)
        for part in attribute.split("."):
            obj = getattr(obj, part)
        host = Host(name, plugins=[Telemetry()])
        os.environ[host.env("HOME")] = os.path.join(home, host.stem)
        _notice_seen(host)
        adopt(obj, host)
        checker = _Checker()
        plugin_manager_of(obj).register(checker.plugin(), name=f"adopt-checker-{name}")
        _ADOPTED.append(_Adopted(target, host, checker))


def _notice_seen(host: Host) -> None:
    """The one-time notice counts as shown: it would add a paragraph to the first output a test checks."""
    from .telemetry import state
    from .telemetry.settings import paths_of

    os.environ[host.env("TELEMETRY_NOTICE_DISABLED")] = "1"
    paths = paths_of(host)
    paths.folder("telemetry")
    with state.updating(paths) as edit:
        edit.state = edit.state.replace(heartbeat_day="1970-01-01")  # a day long past: not a first run


def pytest_runtest_teardown(item: pytest.Item) -> None:
    for adopted in _ADOPTED:
        if adopted.checker.open:
            adopted.checker.problems.append(f"{item.nodeid}: pre without post: {adopted.checker.open}")
            adopted.checker.open.clear()


def _report(adopted: _Adopted) -> tuple[str, list[str]]:
    checker = adopted.checker
    events = spooled_events(adopted.host)
    names: dict[str, int] = {}
    for event in events:
        names[event["event"]] = names.get(event["event"], 0) + 1
    problems = list(checker.problems)
    foreign = sorted(name for name in names if "testkube" in name.lower())
    if foreign:
        problems.append(f"events named after Testkube: {foreign}")
    line = (f"adopted {adopted.target} as {adopted.host.display_name}: {checker.pairs} pre/post pairs, "
            f"{checker.alone} posts alone (usage errors, help), exit codes {dict(sorted(checker.codes.items()))}, "
            f"events {json.dumps(dict(sorted(names.items())))}, problems {len(problems)}")
    return line, problems


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if any(_report(adopted)[1] for adopted in _ADOPTED) and session.exitstatus == 0:
        session.exitstatus = 1


def pytest_unconfigure(config: pytest.Config) -> None:
    import shutil

    while _HOMES:
        shutil.rmtree(_HOMES.pop(), ignore_errors=True)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for adopted in _ADOPTED:
        line, problems = _report(adopted)
        terminalreporter.write_line(line)
        for problem in problems[:20]:
            terminalreporter.write_line(f"  problem: {problem}")

