"""What an outside tester found running the CLI as users and servers do: a home that cannot be written,
long-running hosts that call the CLI in-process."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import run_testkube

from testkube_telemetry_plugin import send_heartbeat
from testkube_telemetry_plugin.cli import TESTKUBE


def _unwritable_spool(home: Path) -> None:
    """A home the heartbeat cannot record in: a folder where the spool's totals file (its lock) goes,
    as a read-only, full or foreign-locked home also refuses the write."""
    totals = home / "telemetry" / "spool" / ".count"
    if totals.exists():
        totals.unlink()
    totals.mkdir()


def _unwritable_config_lock(home: Path) -> None:
    lock = home / ".config.lock"
    if lock.exists():
        lock.unlink()
    lock.mkdir()


def test_a_heartbeat_in_a_home_it_cannot_write_fails_in_one_line_not_a_traceback(isolated, collector) -> None:
    assert run_testkube("plugins").returncode == 0  # the home, its id and its spool exist
    for spoil in (_unwritable_config_lock, _unwritable_spool):
        spoil(isolated)
        result = run_testkube("telemetry", "heartbeat", "--json")
        assert "Traceback" not in result.stderr, result.stderr
        assert result.returncode == 1  # --strict: the server's job fails where someone looks
        line = json.loads(result.stdout)
        assert line["message"] is None and line["delivered"] is False
        assert "cannot" in line["problem"] and len(result.stderr.strip().splitlines()) == 1, result.stderr
        lenient = run_testkube("telemetry", "heartbeat", "--lenient")
        assert lenient.returncode == 0 and "Traceback" not in lenient.stderr, lenient.stderr
        for leftover in (isolated / ".config.lock", isolated / "telemetry" / "spool" / ".count"):
            if leftover.is_dir():
                shutil.rmtree(leftover)


def test_send_heartbeat_never_raises_into_the_server_for_an_unwritable_home(isolated, collector) -> None:
    assert run_testkube("plugins").returncode == 0
    _unwritable_config_lock(isolated)
    assert send_heartbeat(TESTKUBE) is None  # no exception reaches the server that called it
    shutil.rmtree(isolated / ".config.lock")
    _unwritable_spool(isolated)
    assert send_heartbeat(TESTKUBE) is None


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


def test_a_clock_that_was_ahead_does_not_hold_the_next_delivery_back_by_as_much(isolated, collector,
                                                                              monkeypatch) -> None:
    """The oldest pending record's time (the spool's totals) was taken while the clock was a day ahead;
    the clock is right again.  Its events must still leave within the usual wait, not a day later."""
    import calendar
    import time

    monkeypatch.setenv("TESTKUBE_TELEMETRY_DELIVERY", "background")
    assert run_testkube("plugins").returncode == 0
    totals = isolated / "telemetry" / "spool" / ".count"
    events, size, since, base = totals.read_text().split()[:4]
    totals.write_text(f"{events} {size} {float(since) + 86400!r} {base}\n")
    assert run_testkube("plugins").returncode == 0
    status = run_testkube("telemetry", "status", "--json")
    due_at = json.loads(status.stdout)["next_delivery"]["due_at"]
    due = calendar.timegm(time.strptime(due_at, "%Y-%m-%dT%H:%M:%SZ"))
    assert due <= time.time() + 30 * 60 + 5, due_at
