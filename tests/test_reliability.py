"""Faults, load and crashes with real processes (`pytest -m reliability`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import kill_flusher_mid_batch, run_testkube, spool_events, spool_of, state_of, with_id

from testkube_telemetry_plugin.cli import TESTKUBE
from testkube_telemetry_plugin.telemetry import spool as spool_module
from testkube_telemetry_plugin.telemetry.record import notice_text

pytestmark = pytest.mark.reliability
NOTICE = notice_text(TESTKUBE)

WORKER = """
import sys
from testkube_telemetry_plugin.cli import make_cli
cli = make_cli()
for i in range(int(sys.argv[1])):
    cli.main(["ends", "ok"], prog_name="testkube", standalone_mode=False)
"""


def flush_until_done(runner, cli, tries: int = 6) -> None:
    for _ in range(tries):
        if runner.invoke(cli, ["telemetry", "flush"]).exit_code == 0:
            return
    raise AssertionError("flush never completed")


def test_twenty_processes_fifty_commands_each_through_a_misbehaving_collector(
    site, collector, cli, runner, monkeypatch
) -> None:
    monkeypatch.setenv("TESTKUBE_TELEMETRY_DELIVERY", "background")
    chaos = [("status", 500), ("status", 429, {"Retry-After": "1"}), ("close",), ("status", 200),
             ("stall", 11), ("status", 503), ("close",), ("status", 429, {"Retry-After": "0"})]
    collector.plan(*chaos * 2)
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, "50"], env=dict(os.environ),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(20)
    ]
    for worker in workers:
        _, errors = worker.communicate(timeout=180)
        assert worker.returncode == 0, errors
    monkeypatch.setenv("TESTKUBE_TELEMETRY_DELIVERY", "inline")
    flush_until_done(runner, cli)
    commands = {m["messageId"] for m in collector.messages() if m["event"] == "testkube_cli_command"}
    assert len(commands) == 1000
    assert len([m for m in collector.messages() if m["event"] == "testkube_cli_install"]) >= 1


def test_flusher_killed_ten_times_loses_nothing(isolated, collector, cli, runner) -> None:
    with_id(isolated)
    ids = spool_events(isolated, 200)
    for _ in range(10):
        kill_flusher_mid_batch(collector)
    assert len(spool_of(isolated).entries()) == 200
    flush_until_done(runner, cli)
    assert set(ids) <= {m["messageId"] for m in collector.messages()}


def test_spool_cap_holds_and_the_drop_count_is_right(isolated, cli, runner, monkeypatch) -> None:
    from testkube_telemetry_plugin.telemetry.events import new_event, new_record

    spool = spool_of(isolated)
    filler = [new_event("x", {}) for _ in range(50)]
    for _ in range(spool_module.MAX_EVENTS // 50 - 1):
        spool.append(new_record(TESTKUBE, filler))
    before = sum(e.events for e in spool.entries())
    for _ in range(120):
        runner.invoke(cli, ["ends", "ok"])
    after = sum(e.events for e in spool.entries())
    added = 120 + 2  # 120 command events, the install event and the heartbeat
    assert after <= spool_module.MAX_EVENTS
    assert spool.counts()[0] == after  # the running count agrees with a listing
    dropped = state_of(isolated).counters["dropped_spool"]
    assert dropped == before + added - after
    assert dropped % 50 == 0 and dropped > 0  # whole oldest records went first


def baseline(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = run_testkube(*args, env={**(env or {}), "DO_NOT_TRACK": "1"})
    return result.returncode, result.stdout, result.stderr


# Broken config files: tests/test_hardening.py's FILE_KINDS, run through real processes too.
BAD_ENVS = [
    {"TESTKUBE_TELEMETRY_SEGMENT_URL": "not a url"},
    {"TESTKUBE_TELEMETRY_DELIVERY": "sideways"},
    {"TESTKUBE_TELEMETRY_DEADLINE": "-5"},
    {"TESTKUBE_TELEMETRY_DEBUG": "perhaps"},
    {"DO_NOT_TRACK": "maybe"},
    {"TESTKUBE_LOAD_PLUGINS": ",,,sample,,"},
]
COMMANDS = [["ends", "ok"], ["ends", "ctx-exit"], ["ends", "boom"], ["no-such"]]


def same_as_disabled(args: list[str], env: dict[str, str] | None = None) -> None:
    result = run_testkube(*args, env=env)
    stderr = result.stderr.replace(NOTICE + "\n", "")
    assert (result.returncode, result.stdout, stderr) == baseline(args, env)


@pytest.mark.parametrize("env", BAD_ENVS)
def test_absurd_env_values_change_nothing(site, env) -> None:
    for args in COMMANDS:
        same_as_disabled(args, env)


def test_config_folder_full_spool_and_unusable_home(site, isolated, tmp_path, monkeypatch) -> None:
    (isolated / "config.toml").mkdir(parents=True)
    for args in COMMANDS:
        same_as_disabled(args)
    os.rmdir(isolated / "config.toml")
    (isolated / "telemetry").mkdir()
    (isolated / "telemetry" / "spool").write_text("a file where the spool folder should be")
    for args in COMMANDS:
        same_as_disabled(args)
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    monkeypatch.setenv("TESTKUBE_HOME", str(blocker / "home"))
    for args in COMMANDS:
        same_as_disabled(args)


def test_non_utf8_arguments_and_a_huge_error_message(site, isolated, cli, runner) -> None:
    env = dict(os.environ)
    raw = subprocess.run([sys.executable, "-m", "testkube_telemetry_plugin", b"ends", b"\xff\xfe"],
                         capture_output=True, env=env, timeout=60)
    off = subprocess.run([sys.executable, "-m", "testkube_telemetry_plugin", b"ends", b"\xff\xfe"],
                         capture_output=True, env={**env, "DO_NOT_TRACK": "1"}, timeout=60)
    notice = (NOTICE + "\n").encode()
    assert (raw.returncode, raw.stdout, raw.stderr.replace(notice, b"")) == (off.returncode, off.stdout, off.stderr)
    assert raw.returncode != 0 or b"Usage:" in raw.stdout  # Click 8.1 shows help for "\xff\xfe"
    # 1 MB is over the kernel's limit for one argument: run it in-process.
    huge = "word " * 200_000
    off = runner.invoke(cli, ["ends", "message", huge], env={"DO_NOT_TRACK": "1"})
    on = runner.invoke(cli, ["ends", "message", huge])
    assert (on.exit_code, on.stdout, on.stderr.replace(NOTICE + "\n", "")) == (1, off.stdout, off.stderr)
    pending = json.loads(runner.invoke(cli, ["telemetry", "show", "--json"]).stdout)["pending"]
    errors = [m for m in pending if m["event"] == "testkube_cli_error"]
    assert errors and all(len(m["properties"]["message"]) <= 200 for m in errors)
