"""When events leave the machine (issue 22): batched in interactive use, at once in CI and for `flush`, never lost.

A flusher costs a few commands' worth of CPU, so in interactive use one is
started only once a batch of new events is pending or the oldest has waited
long enough; these tests check that nothing is lost on the way, whichever
delivery finally sends what waits, and that `status` says when that will be.
"""

from __future__ import annotations

import calendar
import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
from conftest import run_testkube, spool_of
from test_hardening import wait_for_flusher

from testkube_telemetry_plugin import _fs
from testkube_telemetry_plugin.telemetry.scheduler import BATCH_EVENTS, MAX_WAIT_S

COMMAND = "testkube_cli_command"


def pending(env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    shown = run_testkube("telemetry", "show", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    return list(json.loads(shown.stdout)["pending"])


def status(env: dict[str, str] | None = None) -> dict[str, Any]:
    shown = run_testkube("telemetry", "status", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    return dict(json.loads(shown.stdout))


def epoch(text: str) -> float:
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def settled(home: Any, collector: Any, quiet_s: float = 1.0) -> None:
    """Until no flusher holds the lock and the collector has had no request for `quiet_s`: a flusher lets
    go of the lock for its last look, and may take it again (a burst appended a batch meanwhile)."""
    end = time.monotonic() + 60
    while time.monotonic() < end:
        wait_for_flusher(home)
        seen = len(collector.requests)
        time.sleep(quiet_s)
        if len(collector.requests) == seen and not _fs.is_held(str(home / "telemetry" / "flusher.lock")):
            return
    raise AssertionError("deliveries went on for a minute")


def test_sparse_commands_wait_for_a_batch_and_flush_delivers_every_event(site, collector, isolated,
                                                                         monkeypatch) -> None:
    monkeypatch.setenv("TESTKUBE_TELEMETRY_DELIVERY", "background")
    for _ in range(5):  # a person at a terminal: a command now and then
        assert run_testkube("ends", "ok").returncode == 0
        time.sleep(0.3)
    waiting = pending()
    assert [m["event"] for m in waiting].count(COMMAND) == 5
    assert collector.requests == []  # no flusher per command: they wait for a batch
    started = time.time()
    due = status()["next_delivery"]
    assert due["policy"] == "batched" and due["due_now"] is False and due["new_events"] == len(waiting)
    assert due["batch_events"] == BATCH_EVENTS
    assert started + MAX_WAIT_S - 60 < epoch(due["due_at"]) <= started + MAX_WAIT_S  # when the oldest has waited
    human = run_testkube("telemetry", "status").stdout
    assert f"Next delivery: with the first command after {due['due_at']}, or once {BATCH_EVENTS} new events" in human
    flushed = run_testkube("telemetry", "flush")
    assert flushed.returncode == 0, flushed.stderr
    assert sorted(m["messageId"] for m in collector.messages()) == sorted(m["messageId"] for m in waiting)
    assert pending() == [] and status()["next_delivery"]["due_at"] is None


WORKER = """
import sys
from testkube_telemetry_plugin.cli import make_cli
cli = make_cli()
for i in range(int(sys.argv[1])):
    cli.main(["ends", "ok"], prog_name="testkube", standalone_mode=False)
"""


@pytest.mark.parametrize("then", ["a command in CI", "a command half an hour later", "flush"])
def test_what_a_burst_leaves_pending_goes_with_the_next_delivery(then, site, collector, isolated, monkeypatch,
                                                                 cli, runner) -> None:
    monkeypatch.setenv("TESTKUBE_TELEMETRY_DELIVERY", "background")
    commands = 2 * BATCH_EVENTS + 17
    burst = subprocess.run([sys.executable, "-c", WORKER, str(commands)], env=dict(os.environ),
                           capture_output=True, text=True, timeout=300)
    assert burst.returncode == 0, burst.stderr
    settled(isolated, collector)  # whatever the burst started has delivered and gone
    tail = len(pending())  # fewer than a batch: the last flusher's last look left them
    for _ in range(3 if tail <= BATCH_EVENTS - 4 else 0):  # then the user stops: a few more, still under a batch
        assert run_testkube("ends", "ok").returncode == 0
    settled(isolated, collector)
    during = len(collector.requests)
    left = [m["messageId"] for m in pending()]
    assert 3 <= len(left) < BATCH_EVENTS  # too few for a delivery of their own
    # A delivery starts per batch of new events and sends what is pending, up to 100 events a request:
    # a few requests for the burst, not one per command.
    assert 1 <= during <= 2 * (commands // BATCH_EVENTS) + 2, during
    if then == "a command in CI":
        assert run_testkube("ends", "ok", env={"CI": "true"}).returncode == 0
        assert collector.wait_for(lambda: set(left) <= {m["messageId"] for m in collector.messages()}, 30)
    elif then == "a command half an hour later":
        real_time = time.time
        monkeypatch.setattr(time, "time", lambda: real_time() + MAX_WAIT_S + 1)
        assert runner.invoke(cli, ["ends", "ok"]).exit_code == 0  # starts a real flusher: the oldest waited
        assert collector.wait_for(lambda: set(left) <= {m["messageId"] for m in collector.messages()}, 30)
    else:
        assert run_testkube("telemetry", "flush").returncode == 0
    wait_for_flusher(isolated)
    delivered = [m for m in collector.messages() if m["event"] == COMMAND]
    assert len({m["messageId"] for m in delivered}) >= commands  # every command of the burst, none lost
    assert set(left) <= {m["messageId"] for m in collector.messages()}


def test_in_ci_each_command_is_delivered_at_once(site, collector, isolated, monkeypatch) -> None:
    monkeypatch.setenv("TESTKUBE_TELEMETRY_DELIVERY", "background")
    monkeypatch.setenv("CI", "true")
    for number in range(1, 4):
        assert run_testkube("ends", "ok").returncode == 0
        assert collector.wait_for(lambda n=number: collector.events().count(COMMAND) == n, 10)
    assert status()["next_delivery"]["policy"] == "ci"


KEEP_APPENDING = """
import sys
from testkube_telemetry_plugin.cli import TESTKUBE
from testkube_telemetry_plugin.telemetry.events import new_event, new_record
from testkube_telemetry_plugin.telemetry.settings import Paths
from testkube_telemetry_plugin.telemetry.spool import Spool
spool = Spool(Paths(sys.argv[1], ".testkube.toml"))
while True:
    event = new_event("testkube_cli_command", {"n": 1})
    spool.append(new_record(TESTKUBE, [event]))
    print(event["messageId"], flush=True)  # only once the append has returned
"""


@pytest.mark.reliability
def test_a_process_killed_after_spooling_loses_nothing(isolated) -> None:
    """No fsync per command: once the append returned, the kernel has the record, and SIGKILL cannot take it."""
    for _ in range(5):
        writer = subprocess.Popen([sys.executable, "-c", KEEP_APPENDING, str(isolated)], stdout=subprocess.PIPE,
                                  text=True)
        assert writer.stdout is not None
        spooled = [writer.stdout.readline().strip() for _ in range(200)]
        writer.send_signal(signal.SIGKILL)
        writer.communicate(timeout=30)
        spool = spool_of(isolated)
        on_disk = {spool.load(e)["events"][0]["messageId"] for e in spool.entries()}
        assert set(spooled) <= on_disk


def test_a_host_calling_the_cli_in_process_starts_one_flusher_per_due_delivery(
    cli, runner, collector, isolated, monkeypatch
) -> None:
    """Commands run in-process take milliseconds; a new flusher takes a tenth of a second to take the
    delivery lock itself.  Each command in between found no delivery running and started one more."""
    from conftest import spool_events

    from testkube_telemetry_plugin.telemetry import scheduler

    monkeypatch.setenv("TESTKUBE_TELEMETRY_DELIVERY", "background")
    assert runner.invoke(cli, ["ends", "ok"]).exit_code == 0  # the id, the install event, the day's heartbeat
    spooled = spool_events(isolated, 60)  # a delivery is due with the next command
    started = []
    real_start = scheduler.start_flusher

    def counted(*args: object) -> bool:  # the real start, counted
        result = real_start(*args)  # type: ignore[arg-type]
        started.append(result)
        return result

    monkeypatch.setattr(scheduler, "start_flusher", counted)
    for _ in range(10):
        assert runner.invoke(cli, ["ends", "ok"]).exit_code == 0
    assert collector.wait_for(lambda: set(spooled) <= {m["messageId"] for m in collector.messages()})
    assert started == [True]
