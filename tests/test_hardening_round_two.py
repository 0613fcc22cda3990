"""Hardening, round two (issue 19): odd disks, clocks, collectors and formats.

Each test reproduces what an outside attack found (a hard-link snapshot of
the home, a collector that stalls mid-answer, `Retry-After: ²`, a clock that
was ahead, a full disk mid-record, records and journals of another version,
`localhost` mapped elsewhere, ...) against the real code, files and processes.
The opt-out barrier has its own file (test_opt_out_barrier.py).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import run_testkube, spool_events, spool_of, state_of, with_id
from test_hardening import RawCollector

from testkube_telemetry_plugin import _fs
from testkube_telemetry_plugin.cli import TESTKUBE
from testkube_telemetry_plugin.telemetry import spool as spool_module
from testkube_telemetry_plugin.telemetry.events import new_event, new_record

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


def segment_files(home: Path) -> list[str]:
    return sorted(p.name for p in (home / "telemetry" / "spool").iterdir() if p.name.startswith("seg-"))


def deliver_now(deadline_s: float = 30) -> Any:
    """One delivery in this process, as a flusher runs it (back-off respected)."""
    from testkube_telemetry_plugin.telemetry.delivery.loop import deliver
    from testkube_telemetry_plugin.telemetry.settings import load

    return deliver(load(TESTKUBE), time.monotonic() + deadline_s)


# -- 3. a hard-link snapshot of the home -----------------------------------------------------------------
def test_recording_and_delivery_go_on_while_a_hard_link_snapshot_of_the_home_exists(site, isolated, collector,
                                                                                     tmp_path, monkeypatch) -> None:
    assert run_testkube("ends", "ok").returncode == 0  # delivered at once (inline): the home as a day leaves it
    monkeypatch.setenv("TESTKUBE_TELEMETRY_DELIVERY", "background")  # from now on, the commands' records wait
    spool_events(isolated, 3)  # something in `current`, and totals in `.count`
    backup = tmp_path / "backup"
    subprocess.run(["cp", "-al", str(isolated), str(backup)], check=True)  # as rsnapshot-style backups do
    before = {str(p.relative_to(backup)): p.read_bytes() for p in backup.rglob("*") if p.is_file()}
    assert os.stat(isolated / "telemetry" / "spool" / ".count").st_nlink == 2
    for _ in range(3):
        assert run_testkube("ends", "ok").returncode == 0
    shown = json.loads(run_testkube("telemetry", "show", "--json").stdout)["pending"]
    assert [m["properties"].get("command") for m in shown].count("ends ok") == 3  # every command was recorded
    assert run_testkube("telemetry", "flush").returncode == 0
    assert {m["messageId"] for m in shown} <= {m["messageId"] for m in collector.messages()}
    after = {str(p.relative_to(backup)): p.read_bytes() for p in backup.rglob("*") if p.is_file()}
    assert after == before  # the snapshot is untouched: nothing was written through a second name


# -- 4. a collector that stalls mid-answer ---------------------------------------------------------------
def trickle_body(conn: socket.socket) -> None:  # 200 and a length, then a byte a second
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
    for _ in range(1000):
        conn.sendall(b"x")
        time.sleep(1)


def endless_continue(conn: socket.socket) -> None:
    for _ in range(1000):
        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        time.sleep(0.2)


def trickle_headers(conn: socket.socket) -> None:
    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"y" * 1000:
        conn.sendall(bytes([byte]))
        time.sleep(0.2)


STALLS = {"a body a byte a second": trickle_body, "endless 100 Continue": endless_continue,
          "headers a byte at a time": trickle_headers}


@pytest.mark.parametrize("stall", sorted(STALLS))
def test_a_stalled_answer_is_a_timeout_that_backs_off(stall, isolated, monkeypatch) -> None:
    from testkube_telemetry_plugin.telemetry.delivery import loop

    server = RawCollector(lambda conn: STALLS[stall](conn))
    monkeypatch.setenv("TESTKUBE_TELEMETRY_SEGMENT_URL", server.url)
    monkeypatch.setattr(loop, "REQUEST_TIMEOUT_S", 1.0)  # a flusher's is 10 s: the same code, sooner
    with_id(isolated)
    spool_events(isolated, 3)
    report = deliver_now()
    server.close()
    assert report.collectors["segment"].kept == 3 and spool_of(isolated).entries()
    status = state_of(isolated).collectors["segment"]
    assert status.failures == 1 and status.last_error.startswith("timeout") and status.next_attempt > time.time()
    # The request's deadline ended it, not the answer's pace nor the delivery's 30 s: the timeout recorded
    # (and shown by status) is the request's 1 s. (This was a wall-clock bound on the run, took < 10.)
    budget = float(status.last_error.split("no answer in ", 1)[1].split(" s", 1)[0])
    assert 0 < budget <= 1.0, status.last_error
    assert deliver_now().collectors["segment"].kept == 3 and server.connections == 1  # backing off: not resent


@pytest.mark.reliability
def test_a_flusher_facing_a_stalled_collector_ends_records_it_and_lets_go(isolated) -> None:
    server = RawCollector(trickle_body)
    with_id(isolated)
    spool_events(isolated, 3)
    env = {**os.environ, "TESTKUBE_TELEMETRY_SEGMENT_URL": server.url}
    flusher = subprocess.Popen([sys.executable, "-m", "testkube_telemetry_plugin.telemetry.delivery.flusher"],
                               env={**env, **flusher_process_env()})
    try:
        flusher.wait(25)  # its request's deadline (10 s), well before the watchdog's 30 s
    finally:
        flusher.kill()
        server.close()
    status = state_of(isolated).collectors["segment"]
    assert status.last_error.startswith("timeout") and status.next_attempt > time.time()
    assert not _fs.is_held(str(isolated / "telemetry" / "flusher.lock"))


def flusher_process_env() -> dict[str, str]:
    from testkube_telemetry_plugin.telemetry.scheduler import HOST_ENV, host_to_env

    return {HOST_ENV: host_to_env(TESTKUBE)}


@pytest.mark.reliability
def test_a_heartbeat_loop_facing_a_stalled_collector_lets_go_of_the_lock(site, isolated) -> None:
    server = RawCollector(trickle_body)
    env = {**os.environ, "TESTKUBE_TELEMETRY_SEGMENT_URL": server.url}
    loop = subprocess.Popen([sys.executable, "-m", "testkube_telemetry_plugin", "telemetry", "heartbeat",
                             "--every", "2s"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lock = str(isolated / "telemetry" / "flusher.lock")
    try:
        assert wait_until(lambda: server.connections >= 1, 20)
        assert wait_until(lambda: not _fs.is_held(lock), 20)  # the stalled request ended: the lock is free
        assert loop.poll() is None  # while the loop goes on
        status = state_of(isolated).collectors["segment"]
        assert status.last_error.startswith("timeout")
    finally:
        loop.terminate()
        loop.communicate(timeout=30)
        server.close()


def wait_until(predicate: Any, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


# -- 5. cost flat as the spool grows ---------------------------------------------------------------------
def test_a_failing_collector_does_not_leave_a_spool_file_per_delivery(isolated, collector, cli, runner,
                                                                      monkeypatch) -> None:
    monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_URL", "http://127.0.0.1:9/mp/collect")  # refused, every time
    monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_MEASUREMENT_ID", "G-TEST1")
    with_id(isolated)
    ids = []
    for _ in range(20):  # twenty deliveries: Segment takes each, GA4 refuses each
        ids += spool_events(isolated, 2)
        assert runner.invoke(cli, ["telemetry", "flush", "--timeout", "5"]).exit_code == 1
    assert sorted(m["messageId"] for m in collector.messages()) == sorted(ids)  # Segment had each once
    assert len(segment_files(isolated)) <= 2, segment_files(isolated)
    pending = json.loads(runner.invoke(cli, ["telemetry", "status", "--json"]).stdout)["collectors"]
    assert pending["ga4"]["pending_events"] == 40 and pending["segment"]["pending_events"] == 0


def test_a_command_at_the_cap_reads_only_the_files_it_drops(isolated, monkeypatch) -> None:
    folder = isolated / "telemetry" / "spool"
    spool_events(isolated, 1)  # the folders, `current` and the totals
    line = spool_of(isolated)._read("current")[0] + b"\n"
    for number in range(1, 2001):  # 10,000 events in 2,000 files, as many deliveries might leave them
        (folder / f"seg-{number:020d}-000000").write_bytes(line * 5)
    spool_of(isolated).recount()
    assert spool_of(isolated).counts()[0] == 10_001
    reads: list[str] = []
    real = _fs.read_bytes
    monkeypatch.setattr(_fs, "read_bytes", lambda path, limit: reads.append(path) or real(path, limit))
    spool = spool_of(isolated)
    dropped = spool.append(new_record(TESTKUBE, [new_event("testkube_cli_command", {})]))
    assert dropped >= 2  # the oldest went...
    gone = [name for name in (f"seg-{n:020d}-000000" for n in range(1, 2001)) if not (folder / name).exists()]
    assert gone == [f"seg-{n:020d}-000000" for n in range(1, len(gone) + 1)]  # ...oldest first
    assert len(reads) <= len(gone) + 2, len(reads)  # and only they were read, not the 2,000
    events = sum(e.events for e in spool_of(isolated).entries())
    assert spool.counts()[0] == events <= spool_module.MAX_EVENTS  # the totals agree with the files


# -- 6. Retry-After in any Unicode digit -----------------------------------------------------------------
@pytest.mark.parametrize("value", ["²", "٣", "¹⁰", "1e3", "12abc"])
def test_retry_after_counts_only_ascii_digits(value) -> None:
    from testkube_telemetry_plugin.telemetry.delivery import http

    assert http.retry_after(value) is None  # `str.isdigit` says yes to the first three; `float` refuses them
    assert http.retry_after("120") == 120.0


@pytest.mark.parametrize("value", [b"\xb2", b"\xb9", b"\xb3", b"\xb2\xb3"])  # ², ¹, ³ as a header's latin-1
def test_retry_after_in_superscript_digits_is_a_plain_failure_and_ga4_is_still_tried(value, isolated, collector,
                                                                                      two_sinks, monkeypatch) -> None:
    server = RawCollector(lambda conn: conn.sendall(b"HTTP/1.1 503 Busy\r\nRetry-After: " + value
                                                    + b"\r\nContent-Length: 0\r\n\r\n"))
    monkeypatch.setenv("TESTKUBE_TELEMETRY_SEGMENT_URL", server.url)  # GA4 stays on the healthy collector
    with_id(isolated)
    spool_events(isolated, 2)
    report = deliver_now()
    server.close()
    assert report.collectors["segment"].kept == 2 and report.collectors["ga4"].sent == 2
    status = state_of(isolated).collectors["segment"]
    assert status.failures == 1 and status.last_error == "HTTP 503" and status.next_attempt > time.time()


# -- 7. a clock that was ahead ---------------------------------------------------------------------------
def test_after_a_clock_that_was_ahead_the_cap_still_drops_the_oldest(isolated, monkeypatch) -> None:
    monkeypatch.setattr(spool_module, "MAX_EVENTS", 40)
    monkeypatch.setattr(spool_module, "CAP_FREE_EVENTS", 5, raising=False)
    monkeypatch.setattr(spool_module, "FILE_BYTES", 2048)  # small files, so the cap has files to drop
    real_ns = time.time_ns
    monkeypatch.setattr(time, "time_ns", lambda: real_ns() + 86_400 * 10**9)  # a day ahead...
    first = spool_events(isolated, 10)
    spool_of(isolated).rotate()
    monkeypatch.setattr(time, "time_ns", real_ns)  # ...then set right
    later = spool_events(isolated, 40)
    spool = spool_of(isolated)
    kept = [spool.load(e)["events"][0]["messageId"] for e in spool.entries()]
    everything = first + later
    assert kept == everything[-len(kept):]  # what went is the oldest, the ahead-of-time file first
    assert set(first).isdisjoint(kept) and later[-1] in kept


# -- 9. a torn record after a full disk ------------------------------------------------------------------
def test_a_record_cut_short_never_swallows_the_next(isolated, collector, cli, runner) -> None:
    with_id(isolated)
    good = spool_events(isolated, 1)
    current = isolated / "telemetry" / "spool" / "current"
    with open(current, "ab") as handle:  # a write the disk cut short: no newline
        handle.write(b'1\t{"v": 1, "host": "testkube", "events": [{"event": "testkube_cli_co')
    good += spool_events(isolated, 2)
    assert runner.invoke(cli, ["telemetry", "flush"]).exit_code == 0
    assert sorted(m["messageId"] for m in collector.messages()) == sorted(good)
    assert state_of(isolated).counters["dropped_corrupt"] == 1  # the torn one, counted


def test_a_write_the_full_disk_cut_short_is_taken_back(isolated, collector, cli, runner, monkeypatch) -> None:
    with_id(isolated)
    good = spool_events(isolated, 1)
    real = _fs._write_all

    def half_then_full(fd: int, data: bytes) -> None:
        os.write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_fs, "_write_all", half_then_full)
    with pytest.raises(OSError):
        spool_events(isolated, 1)
    monkeypatch.setattr(_fs, "_write_all", real)
    good += spool_events(isolated, 1)
    assert runner.invoke(cli, ["telemetry", "flush"]).exit_code == 0
    assert sorted(m["messageId"] for m in collector.messages()) == sorted(good)
    assert state_of(isolated).counters.get("dropped_corrupt", 0) == 0  # nothing torn was left to drop


# -- 11. records and journal lines of another version ----------------------------------------------------
def later_record(message_id: str) -> bytes:
    """A record as a later version might write it: a new format number and fields this one does not know."""
    record = {"v": 2, "host": "testkube", "host_version": "9", "shard": 3, "events": [
        {"event": "testkube_cli_command", "messageId": message_id, "timestamp": "2024-05-01T10:00:00.123456+02:00",
         "properties": {"command": "noop", "tags": ["a", "b"], "nested": {"x": 1}}, "context": {"new": True}}]}
    return b"1\t" + json.dumps(record).encode() + b"\n"


def test_a_record_of_a_later_version_is_sent_without_what_this_one_does_not_know(isolated, collector, cli,
                                                                                  runner) -> None:
    with_id(isolated)
    good = spool_events(isolated, 1)
    with open(isolated / "telemetry" / "spool" / "current", "ab") as handle:
        handle.write(later_record("later-1"))
    assert runner.invoke(cli, ["telemetry", "flush"]).exit_code == 0
    sent = {m["messageId"]: m for m in collector.messages()}
    assert set(sent) == {*good, "later-1"}  # not dropped
    later = sent["later-1"]
    assert later["properties"] == {"command": "noop"} and "context" in later and later["context"].get("new") is None
    assert later["timestamp"] == "2024-05-01T08:00:00.123Z"  # converted to UTC and milliseconds
    assert state_of(isolated).counters.get("dropped_corrupt", 0) == 0


def test_a_journal_line_with_more_fields_still_acknowledges(isolated, collector, cli, runner) -> None:
    with_id(isolated)
    spool_events(isolated, 4)
    spool = spool_of(isolated)
    spool.rotate()
    (name,) = spool.files()
    journal = isolated / "telemetry" / "spool" / ".acks"
    journal.write_text(f"segment\t{name}\t4\t1714557600\tfrom-a-later-version\n")
    assert runner.invoke(cli, ["telemetry", "flush"]).exit_code == 0
    assert collector.messages() == []  # Segment had them all already: nothing sent twice


def test_what_this_version_writes_is_what_earlier_versions_read(isolated, collector, two_sinks, cli, runner,
                                                                monkeypatch) -> None:
    """A home shared with an earlier version: journal lines of exactly three fields, records of format 1,
    totals whose first two fields are events and bytes (earlier versions read those and nothing more)."""
    monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_URL", "http://127.0.0.1:9/mp/collect")  # GA4 keeps them pending
    with_id(isolated)
    spool_events(isolated, 5)
    assert runner.invoke(cli, ["telemetry", "flush", "--timeout", "5"]).exit_code == 1
    folder = isolated / "telemetry" / "spool"
    lines = (folder / ".acks").read_bytes().splitlines()
    assert lines and all(len(line.split(b"\t")) == 3 for line in lines)
    events, size = (int(part) for part in (folder / ".count").read_text().split()[:2])
    entries = spool_of(isolated).entries()
    assert (events, size) == (sum(e.events for e in entries), sum(e.size for e in entries))
    for file in [*segment_files(isolated), "current"]:
        if (folder / file).exists():
            for line in (folder / file).read_bytes().splitlines():
                assert json.loads(line.partition(b"\t")[2])["v"] == 1


# -- 12. plain http: decided by the address connected to -------------------------------------------------
def test_plain_http_to_localhost_mapped_elsewhere_is_refused_before_connecting(isolated, cli, runner, monkeypatch,
                                                                               connections) -> None:
    real = socket.getaddrinfo

    def hosts_file_says_elsewhere(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in ("localhost", b"localhost"):  # as an /etc/hosts line `192.0.2.7 localhost` would
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.7", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", hosts_file_says_elsewhere)
    monkeypatch.setenv("TESTKUBE_TELEMETRY_SEGMENT_URL", "http://localhost:8080")
    monkeypatch.setenv("TESTKUBE_TELEMETRY_SEGMENT_WRITE_KEY", "write-key-in-clear")
    with_id(isolated)
    spool_events(isolated, 2)
    result = runner.invoke(cli, ["telemetry", "flush", "--timeout", "5"])
    assert result.exit_code == 1 and "segment: 0 sent, 2 kept for retry" in result.stdout
    assert "plain http to localhost, which is not this machine; refused" in result.stderr
    assert connections == []  # not even a connection: the key never left in clear text
    assert "not this machine" in state_of(isolated).collectors["segment"].last_error


# -- 14. the flusher's watchdog counts from the process's start ------------------------------------------
@pytest.mark.reliability
def test_the_flusher_watchdog_counts_from_when_it_was_started(isolated, collector) -> None:
    from testkube_telemetry_plugin.telemetry.scheduler import STARTED_ENV

    with_id(isolated)
    spool_events(isolated, 3)
    started = time.monotonic() - 31  # as if the command had started it 31 s ago (a machine under heavy load)
    flusher = subprocess.Popen([sys.executable, "-m", "testkube_telemetry_plugin.telemetry.delivery.flusher"],
                               env={**os.environ, **flusher_process_env(), STARTED_ENV: repr(started)})
    assert flusher.wait(20) == -signal.SIGALRM  # its 30 s are over: its watchdog ends it before it does anything
    assert collector.requests == [] and len(spool_of(isolated).entries()) == 3  # nothing lost


# -- 15. timestamps in a record are validated ------------------------------------------------------------
@pytest.mark.parametrize("timestamp", ["yesterday", "2024-02-30T10:00:00.000Z", "2024-01-01 10:00:00",
                                       "9999999999", "2024-01-01T25:00:00.000Z", "２０２４-01-01T00:00:00.000Z"])
def test_a_malformed_timestamp_is_never_sent(timestamp, isolated, collector, cli, runner) -> None:
    with_id(isolated)
    good = spool_events(isolated, 1)
    record = {"v": 1, "host": "testkube", "host_version": "1", "events": [
        {"event": "testkube_cli_command", "messageId": "bad-time", "timestamp": timestamp, "properties": {}}]}
    with open(isolated / "telemetry" / "spool" / "current", "ab") as handle:
        handle.write(b"1\t" + json.dumps(record).encode() + b"\n")
    assert runner.invoke(cli, ["telemetry", "flush"]).exit_code == 0
    assert [m["messageId"] for m in collector.messages()] == good
    assert state_of(isolated).counters["dropped_corrupt"] == 1


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
