"""First contact: nothing leaves the machine before the notice has been seen on a terminal.

The CLI runs as a user runs it: a new process, its stderr a pipe, a file or a
real pseudo-terminal (`run_in_terminal`), against a real collector. Delivery
is inline (conftest), so what a run sends has arrived when it exits.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_in_terminal, run_testkube

from testkube_telemetry_plugin import send_heartbeat
from testkube_telemetry_plugin.cli import TESTKUBE

NOTICE = "collects anonymous usage data"


@pytest.fixture
def uninformed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A user who has not seen the notice: conftest's variable that says they know of it is gone."""
    monkeypatch.delenv("TESTKUBE_TELEMETRY_NOTICE_DISABLED")


def run_with_stderr_in_a_file(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    log = tmp_path / "stderr.log"
    with open(log, "w") as handle:
        done = subprocess.run([sys.executable, "-m", "testkube_telemetry_plugin", *args], stdout=subprocess.PIPE,
                              stderr=handle, text=True, timeout=60)
    return done.returncode, done.stdout, log.read_text()


def pending(home: Path) -> list[str]:
    shown = run_testkube("telemetry", "show", "--json")
    return [message["event"] for message in json.loads(shown.stdout)["pending"]]


@pytest.mark.parametrize("stderr_goes_to", ["a pipe", "a file"])
def test_nothing_leaves_before_the_notice_is_seen_on_a_terminal(site, collector, isolated, uninformed, tmp_path,
                                                                stderr_goes_to) -> None:
    for _ in range(2):  # not seen: shown again on every run, and nothing is sent
        if stderr_goes_to == "a pipe":
            ran = run_testkube("ends", "ok")
            code, out, err = ran.returncode, ran.stdout, ran.stderr
        else:
            code, out, err = run_with_stderr_in_a_file(tmp_path, "ends", "ok")
        assert (code, out) == (0, "ok 1\n") and NOTICE in err and "DO_NOT_TRACK=1" in err
        assert collector.requests == []
    assert pending(isolated).count("testkube_cli_command") == 2  # kept, not lost
    # At a terminal: the notice first, then the command's output, then everything goes.
    code, shown, _ = run_in_terminal("ends", "ok")
    assert code == 0 and NOTICE in shown and "ok 1" in shown
    assert shown.index(NOTICE) < shown.index("ok 1")
    events = collector.events()
    assert events.count("testkube_cli_command") == 3 and events.count("testkube_cli_install") == 1
    assert pending(isolated) == []
    # Seen once on a terminal is enough: no notice again, there or anywhere.
    code, shown, _ = run_in_terminal("ends", "ok")
    assert code == 0 and NOTICE not in shown
    again = run_testkube("ends", "ok")
    assert (again.stdout, again.stderr) == ("ok 1\n", "")
    assert collector.events().count("testkube_cli_command") == 5


def test_the_notice_on_a_terminals_stderr_counts_while_stdout_is_piped(site, collector, uninformed) -> None:
    code, shown, out = run_in_terminal("ends", "ok", stdout_piped=True)
    assert (code, out) == (0, "ok 1\n")  # the command's output stays clean
    assert NOTICE in shown
    assert collector.events().count("testkube_cli_command") == 1


@pytest.mark.parametrize("how", ["enable telemetry", "enabled = true in config.toml"])
def test_an_explicit_yes_needs_no_terminal(site, collector, isolated, uninformed, how) -> None:
    if how == "enable telemetry":
        assert run_testkube("enable", "telemetry").returncode == 0
    else:
        isolated.mkdir()
        (isolated / "config.toml").write_text("[telemetry]\nenabled = true\n")
    ran = run_testkube("ends", "ok")
    assert (ran.returncode, ran.stdout, ran.stderr) == (0, "ok 1\n", "")  # told already: no notice
    assert "testkube_cli_command" in collector.events()


def test_a_servers_heartbeat_is_not_held_back(site, collector, isolated, uninformed) -> None:
    ran = run_testkube("telemetry", "heartbeat")
    assert ran.returncode == 0 and "delivered" in ran.stdout, ran.stderr
    assert collector.events() == ["testkube-heartbeat"]
    assert send_heartbeat(TESTKUBE) is not None
    assert collector.events() == ["testkube-heartbeat", "testkube-heartbeat"]


def test_flush_shows_the_notice_on_a_terminal_and_elsewhere_says_why_it_waits(site, collector, isolated,
                                                                              uninformed) -> None:
    assert run_testkube("ends", "ok").returncode == 0
    held = run_testkube("telemetry", "flush")
    assert held.returncode == 1 and "wait until the notice has been shown on a terminal" in held.stderr
    assert collector.requests == []
    status = json.loads(run_testkube("telemetry", "status", "--json").stdout)
    assert (status["enabled"], status["may_send"], status["informed_by"]) == (True, False, None)
    assert "Nothing is sent yet: the notice has not been shown on a terminal" in run_testkube(
        "telemetry", "status").stdout
    code, shown, _ = run_in_terminal("telemetry", "flush")
    assert code == 0 and NOTICE in shown and "segment: 3 sent" in shown
    assert sorted(collector.events()) == ["testkube-heartbeat", "testkube_cli_command", "testkube_cli_install"]


def test_notice_disabled_silences_only_the_notice(site, collector) -> None:
    ran = run_testkube("ends", "ok", env={"TESTKUBE_TELEMETRY_NOTICE_DISABLED": "1"})
    assert (ran.stdout, ran.stderr) == ("ok 1\n", "")
    assert collector.events() == ["testkube_cli_install", "testkube-heartbeat", "testkube_cli_command"]


def test_someone_never_told_sends_no_opt_out_event(site, collector, isolated, uninformed) -> None:
    assert run_testkube("ends", "ok").returncode == 0
    assert run_testkube("disable", "telemetry").returncode == 0
    assert collector.requests == [] and pending(isolated) == []  # nothing ever left, nothing is left


def test_enable_after_disable_needs_no_second_notice(site, collector, isolated, uninformed) -> None:
    code, shown, _ = run_in_terminal("ends", "ok")
    assert code == 0 and NOTICE in shown
    assert run_testkube("disable", "telemetry").returncode == 0
    assert "testkube_cli_telemetry_disabled" in collector.events()
    assert run_testkube("enable", "telemetry").returncode == 0
    ran = run_testkube("ends", "ok")
    assert (ran.stdout, ran.stderr) == ("ok 1\n", "")
    assert collector.events()[-1] == "testkube_cli_command"


def test_a_usage_error_on_a_first_run_at_a_terminal_shows_the_notice_too(site, collector, uninformed) -> None:
    code, shown, _ = run_in_terminal("no-such-command")
    assert code == 2 and NOTICE in shown and "No such command" in shown
    assert "testkube_cli_command" in collector.events()


def test_a_command_that_runs_others_shows_the_notice_once(site, collector, isolated, uninformed, tmp_path) -> None:
    """`ctx.invoke` fires the hooks again inside the run; the user is told once, on the terminal and elsewhere."""
    code, out, err = run_with_stderr_in_a_file(tmp_path, "ends", "relay")
    assert (code, out.count("deep "), err.count(NOTICE)) == (0, 2, 1)
    code, shown, _ = run_in_terminal("ends", "relay")
    assert code == 0 and shown.count(NOTICE) == 1 and shown.count("deep ") == 2


def test_a_servers_heartbeat_does_not_carry_the_commands_held_for_the_notice(site, collector, isolated,
                                                                            uninformed) -> None:
    ran = run_testkube("ends", "ok")  # stderr is a pipe: the notice is not seen, the events are held
    assert ran.returncode == 0 and NOTICE in ran.stderr and collector.requests == []
    held = pending(isolated)
    assert "testkube_cli_command" in held
    assert run_testkube("telemetry", "heartbeat").returncode == 0
    assert send_heartbeat(TESTKUBE) is not None
    # The operator's heartbeat goes; what the uninformed user's commands left stays on the machine.
    assert set(collector.events()) == {"testkube-heartbeat"}
    assert pending(isolated) == held
