"""Delivery against a real collector on 127.0.0.1: formats, limits, retries, the flusher."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time

import pytest
from conftest import (
    DEAD_URL,
    ID,
    flusher_process,
    paths_at,
    pending_records,
    run_testkube,
    spool_events,
    spool_of,
    state_of,
    with_id,
)

from testkube_telemetry_plugin.telemetry.spool import Spool

SEED_FIELDS = {"anonymousId", "context", "event", "integrations", "messageId", "timestamp", "type", "properties"}


def test_batch_shape_and_every_field(cli, runner, collector, monkeypatch, isolated) -> None:
    monkeypatch.setenv("TESTKUBE_TELEMETRY_SEGMENT_WRITE_KEY", "write-key-1")
    result = runner.invoke(cli, ["create", "test", "t", "--type", "k6/script", "--file", "x.js"])
    assert result.exit_code == 0
    (request,) = collector.accepted()
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["Authorization"] == "Basic " + base64.b64encode(b"write-key-1:").decode()
    body = request["json"]
    assert set(body) == {"batch", "sentAt"} and body["sentAt"].endswith("Z")
    names = [m["event"] for m in body["batch"]]
    assert names == ["testkube_cli_install", "testkube-heartbeat", "testkube_cli_command", "testkube_cli_create_test"]
    for message in body["batch"]:
        assert set(message) == SEED_FIELDS
        assert message["type"] == "track" and message["integrations"] == {}
        assert len(message["anonymousId"]) == 64
        assert message["context"]["library"] == {"name": "testkube-telemetry-plugin", "version": "0.1.0"}
        assert time.strptime(message["timestamp"][:19], "%Y-%m-%dT%H:%M:%S")
    assert len({m["messageId"] for m in body["batch"]}) == 4
    assert pending_records(isolated) == 0


def test_one_spool_record_per_command_whatever_the_number_of_collectors(cli, runner, collector, monkeypatch,
                                                                       isolated) -> None:
    monkeypatch.setenv("TESTKUBE_TELEMETRY_DELIVERY", "background")
    monkeypatch.setenv("TESTKUBE_TELEMETRY_SEGMENT_URL", "http://127.0.0.1:9")  # nothing gets delivered
    monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_URL", "http://127.0.0.1:9/mp/collect")
    monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_MEASUREMENT_ID", "G-TEST1")
    (isolated / "telemetry").mkdir(parents=True)
    (isolated / "telemetry" / "retry-at").write_text(str(time.time() + 600))  # no flusher starts
    for _ in range(3):
        runner.invoke(cli, ["ends", "ok"])
    folder = isolated / "telemetry" / "spool"
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == ["current"]
    records = (folder / "current").read_text().splitlines()
    assert len(records) == 3  # one line per command, read by every collector's delivery
    assert [e.events for e in Spool(paths_at(folder.parent.parent)).entries()] == [3, 1, 1]  # install+heartbeat+command, then one each


def test_non_latin1_write_key_is_sent_not_crashed(cli, runner, collector, monkeypatch) -> None:
    monkeypatch.setenv("TESTKUBE_TELEMETRY_SEGMENT_WRITE_KEY", "clé-€")
    assert runner.invoke(cli, ["ends", "ok"]).exit_code == 0
    (request,) = collector.accepted()
    assert request["headers"]["Authorization"] == "Basic " + base64.b64encode("clé-€:".encode()).decode()


def test_600_events_go_in_batches_of_at_most_100_and_500_kb(isolated, collector, cli, runner) -> None:
    with_id(isolated)
    ids = spool_events(isolated, 600, pad=1500)
    result = runner.invoke(cli, ["telemetry", "flush"])
    assert result.exit_code == 0, result.output
    assert "segment: 600 sent, 0 kept for retry, 0 dropped" in result.stdout
    requests = collector.accepted()
    assert len(requests) >= 6
    assert all(len(r["json"]["batch"]) <= 100 and r["json_size"] <= 500 * 1024 for r in requests)
    assert all(r["headers"].get("Content-Encoding") == "gzip" for r in requests)
    assert sorted(m["messageId"] for m in collector.messages()) == sorted(ids)
    assert {m["anonymousId"] for m in collector.messages()} == {ID}  # the id is added when sent


def test_60_events_go_to_ga4_in_three_requests_and_to_segment(isolated, collector, two_sinks, cli, runner,
                                                              monkeypatch) -> None:
    monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_API_SECRET", "s3cret")
    with_id(isolated)
    spool_events(isolated, 60)
    assert runner.invoke(cli, ["telemetry", "flush"]).exit_code == 0
    ga = collector.accepted("/mp/collect")
    assert [len(r["json"]["events"]) for r in ga] == [25, 25, 10]
    for request in ga:
        assert request["query"] == {"measurement_id": ["G-TEST1"], "api_secret": ["s3cret"]}
        assert request["json"]["client_id"] == ID
        for event in request["json"]["events"]:
            assert event["name"] == "testkube_cli_command"
            assert event["params"]["engagement_time_msec"] == 1 and event["params"]["session_id"]
    assert len(collector.messages()) == 60
    assert pending_records(isolated) == 0  # each record went once both collectors had it


def test_a_record_waits_for_the_collector_that_failed_and_only_it(isolated, collector, two_sinks, cli,
                                                                  runner) -> None:
    with_id(isolated)
    ids = spool_events(isolated, 5)
    collector.plan(("status", 200), *[("status", 500)] * 3)  # Segment accepts, GA4 fails three times
    first = runner.invoke(cli, ["telemetry", "flush"])
    assert first.exit_code == 1 and "segment: 5 sent" in first.stdout and "ga4: 0 sent, 5 kept" in first.stdout
    assert pending_records(isolated) == 5
    second = runner.invoke(cli, ["telemetry", "flush"])
    assert second.exit_code == 0 and "ga4: 5 sent" in second.stdout
    assert "segment: 0 sent" in second.stdout  # Segment had them all: nothing was sent to it twice
    assert sorted(m["messageId"] for m in collector.messages()) == sorted(ids)
    assert pending_records(isolated) == 0


@pytest.mark.parametrize("failure", [("status", 500), ("status", 429, {"Retry-After": "0"}), ("close",),
                                     ("status", 503), ("status", 304), ("status", 408)])
def test_retryable_answers_lose_nothing(isolated, collector, cli, runner, failure) -> None:
    """Redirects are retried too: tests/test_hardening.py (never followed, to a second collector)."""
    with_id(isolated)
    ids = spool_events(isolated, 5)
    collector.plan(failure)
    result = runner.invoke(cli, ["telemetry", "flush"])
    assert result.exit_code == 0, result.output
    assert sorted(m["messageId"] for m in collector.messages()) == sorted(ids)
    assert state_of(isolated).counters.get("dropped_rejected", 0) == 0


def test_retry_after_as_an_http_date_is_honoured(isolated, collector, cli, runner, monkeypatch) -> None:
    from email.utils import formatdate

    monkeypatch.setenv("TESTKUBE_TELEMETRY_DELIVERY", "background")
    with_id(isolated)
    spool_events(isolated, 1)
    collector.plan(("status", 503, {"Retry-After": formatdate(time.time() + 900, usegmt=True)}))
    assert runner.invoke(cli, ["telemetry", "flush", "--timeout", "3"]).exit_code == 1
    status = json.loads(runner.invoke(cli, ["telemetry", "status", "--json"]).stdout)["collectors"]["segment"]
    retry = time.mktime(time.strptime(status["next_retry_at"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert 800 < retry - time.time() <= 901
    assert status["failures"] >= 1 and status["last_error"] == "HTTP 503"


def test_connection_refused_keeps_events_until_the_collector_is_back(isolated, cli, runner, monkeypatch) -> None:
    with_id(isolated)
    ids = spool_events(isolated, 3)
    refused = runner.invoke(cli, ["telemetry", "flush", "--timeout", "5"])
    assert refused.exit_code == 1
    assert "segment: 0 sent, 3 kept for retry, 0 dropped" in refused.stdout
    assert state_of(isolated).collectors["segment"].failures >= 1
    from collector import Collector

    with Collector() as back:
        monkeypatch.setenv("TESTKUBE_TELEMETRY_SEGMENT_URL", back.url)
        assert runner.invoke(cli, ["telemetry", "flush"]).exit_code == 0
        assert sorted(m["messageId"] for m in back.messages()) == sorted(ids)
    assert state_of(isolated).collectors["segment"].failures == 0


def test_400_drops_the_batch_and_counts_it(isolated, collector, cli, runner) -> None:
    with_id(isolated)
    spool_events(isolated, 4)
    collector.plan(("status", 400))
    result = runner.invoke(cli, ["telemetry", "flush"])
    assert result.exit_code == 1
    assert "segment: 0 sent, 0 kept for retry, 4 dropped" in result.stdout
    assert state_of(isolated).counters["dropped_rejected"] == 4
    assert pending_records(isolated) == 0


@pytest.mark.parametrize("url", ["not a url", "http://collector.example.com", "ftp://127.0.0.1/x"])
def test_unusable_urls_open_no_socket(isolated, cli, runner, monkeypatch, connections, url) -> None:
    monkeypatch.setenv("TESTKUBE_TELEMETRY_SEGMENT_URL", url)
    assert runner.invoke(cli, ["ends", "ok"]).stdout == "ok 1\n"
    result = runner.invoke(cli, ["telemetry", "flush"])
    assert result.exit_code == 1 and "kept for retry" in result.stdout
    assert connections == []
    problem = json.loads(runner.invoke(cli, ["telemetry", "status", "--json"]).stdout)["collectors"]["segment"]
    assert problem["problem"]


def test_show_prints_exactly_what_was_sent(cli, runner, collector) -> None:
    runner.invoke(cli, ["ends", "ok"])
    shown = json.loads(runner.invoke(cli, ["telemetry", "show", "--json"]).stdout)
    assert shown["pending"] == []
    assert [entry["payload"] for entry in shown["sent"]] == collector.messages()
    human = runner.invoke(cli, ["telemetry", "show"]).stdout
    assert "Pending events (0):" in human and "-- to segment at" in human


def test_a_detached_flusher_delivers_after_the_cli_exits(site, collector, monkeypatch) -> None:
    monkeypatch.setenv("TESTKUBE_TELEMETRY_DELIVERY", "background")
    monkeypatch.setenv("CI", "true")  # delivered at once (interactive use waits for a batch: test_batching.py)
    collector.plan(("hold",))
    result = run_testkube("ends", "ok")
    # The CLI has exited while the collector still holds the flusher's request:
    # the command never waited for the network.
    assert result.returncode == 0 and result.stdout == "ok 1\n"
    assert collector.holding.wait(10)
    assert collector.accepted() == []
    collector.release()
    assert collector.wait_for(lambda: "testkube_cli_command" in collector.events())


def test_inline_delivery_keeps_events_when_the_deadline_passes(site, collector, monkeypatch, isolated) -> None:
    monkeypatch.setenv("TESTKUBE_TELEMETRY_DEADLINE", "0.5")
    collector.plan(("hold",))
    result = run_testkube("ends", "ok")
    assert result.returncode == 0 and collector.holding.is_set()
    spooled = spool_of(isolated)
    assert [e.events for e in spooled.entries()] == [3]  # install, heartbeat, command
    collector.release()


def test_two_flushers_never_run_at_once(isolated, collector) -> None:
    with_id(isolated)
    ids = spool_events(isolated, 10)
    collector.plan(("hold",))
    first = flusher_process()
    assert collector.holding.wait(10)
    second = flusher_process()
    assert second.wait(10) == 0  # found the lock held and left
    assert first.poll() is None
    collector.release()
    assert first.wait(40) == 0
    delivered = [m["messageId"] for m in collector.messages()]
    assert sorted(delivered) == sorted(ids)  # each exactly once


def test_debug_prints_labelled_events_and_sends_nothing(site, collector, isolated) -> None:
    result = run_testkube("ends", "ok", env={"TESTKUBE_TELEMETRY_DEBUG": "1"})
    assert result.stdout == "ok 1\n"
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and all(line.startswith("[telemetry] {") for line in lines)
    printed = [json.loads(line.split(" ", 1)[1]) for line in lines]
    assert [m["event"] for m in printed] == ["testkube_cli_install", "testkube-heartbeat", "testkube_cli_command"]
    assert not (isolated / "telemetry" / "spool").exists()
    assert collector.requests == []


def test_flush_says_what_it_waits_for_within_a_second_and_honours_timeout(isolated, collector, cli,
                                                                            runner) -> None:
    with_id(isolated)
    spool_events(isolated, 3)
    collector.plan(("hold",))
    started = time.monotonic()
    result = runner.invoke(cli, ["telemetry", "flush", "--timeout", "2"])
    took = time.monotonic() - started
    still_spooled = pending_records(isolated)
    collector.release()
    assert result.exit_code == 1
    assert "Waiting for segment (http://127.0.0.1:" in result.stderr
    assert "Gave up after 2 s" in result.stderr
    assert took < 10  # 2 s and the test's slack: not the collector's 30 s hold
    assert still_spooled == 3


@pytest.mark.parametrize("timeout", ["nan", "NaN", "-nan"])
def test_flush_refuses_a_timeout_that_is_not_a_number(isolated, collector, cli, runner, timeout) -> None:
    # Bad input the user typed: a one-line usage error, nothing sent and no failure recorded against
    # the collector (a NaN deadline made every request fail at once, as "not a valid HTTP answer").
    with_id(isolated)
    spool_events(isolated, 3)
    result = runner.invoke(cli, ["telemetry", "flush", "--timeout", timeout])
    assert result.exit_code == 2
    assert "Invalid value for '--timeout'" in result.stderr
    assert pending_records(isolated) == 3 and collector.requests == []
    status = json.loads(runner.invoke(cli, ["telemetry", "status", "--json"]).stdout)
    assert not status["collectors"]["segment"].get("failures"), status["collectors"]["segment"]


def test_backoff_stops_flushers_from_starting(isolated, cli, runner, monkeypatch) -> None:
    from testkube_telemetry_plugin.telemetry import scheduler

    with_id(isolated)
    spool_events(isolated, 1)
    runner.invoke(cli, ["telemetry", "flush", "--timeout", "3"])  # dead collector: back-off set
    started = []
    monkeypatch.setattr(scheduler, "start_flusher", lambda *args: started.append(args) or True)
    monkeypatch.setenv("TESTKUBE_TELEMETRY_DELIVERY", "background")
    runner.invoke(cli, ["ends", "ok"])
    assert started == []
    (isolated / "telemetry" / "retry-at").write_text(repr(time.time() - 1))  # the pause is over
    runner.invoke(cli, ["ends", "ok"])
    assert len(started) == 1


def test_flush_never_prints_the_ga4_api_secret(isolated, collector, cli, runner, monkeypatch, connections) -> None:
    monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_URL", "http://ga.example.com/mp/collect")
    monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_MEASUREMENT_ID", "G-TEST1")
    monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_API_SECRET", "ga-super-secret")
    with_id(isolated)
    spool_events(isolated, 2)
    result = runner.invoke(cli, ["telemetry", "flush"])
    assert result.exit_code == 1
    assert "ga4: 0 sent, 2 kept for retry" in result.stdout and "plain http" in result.stderr
    status = runner.invoke(cli, ["telemetry", "status"]).stdout + runner.invoke(
        cli, ["telemetry", "status", "--json"]).stdout
    assert "ga-super-secret" not in result.stdout + result.stderr + status
    assert all(address[0] == "127.0.0.1" for address in connections)


def test_spool_ignores_files_that_are_not_its_own(isolated) -> None:
    spool_events(isolated, 2)
    folder = isolated / "telemetry" / "spool"
    for stray in ("notes.txt", ".tmp-half-written.json", "segment", "current.bak", "seg"):
        (folder / stray).write_text("[]")
    assert len(Spool(paths_at(folder.parent.parent)).entries()) == 2


def test_next_heartbeat_reports_what_was_rejected(isolated, collector, cli, runner, monkeypatch) -> None:
    import time as time_module

    runner.invoke(cli, ["ends", "ok"])  # today's heartbeat is out
    spool_events(isolated, 4)
    collector.plan(("status", 400))
    runner.invoke(cli, ["telemetry", "flush"])
    real_gmtime = time_module.gmtime
    monkeypatch.setattr(time_module, "gmtime", lambda t=None: real_gmtime((t or time_module.time()) + 86400))
    runner.invoke(cli, ["ends", "ok"])
    heartbeats = [m["properties"] for m in collector.messages() if m["event"] == "testkube-heartbeat"]
    assert [(h["dropped_events"], h["rejected_events"], h["oversized_events"]) for h in heartbeats] == [
        (0, 0, 0), (0, 4, 0)]
    assert {h["source"] for h in heartbeats} == {"cli"}
    assert state_of(isolated).counters["dropped_rejected"] == 0


@pytest.mark.parametrize("collectors", [1, 2])
def test_flush_shows_progress_on_a_terminal_even_for_a_few_events(site, isolated, collector, monkeypatch,
                                                                   collectors) -> None:
    import pty
    import threading

    if collectors == 2:
        monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_URL", collector.url + "/mp/collect")
        monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_MEASUREMENT_ID", "G-TEST1")
    with_id(isolated)
    spool_events(isolated, 3)
    collector.plan(("hold",))
    threading.Timer(2.0, collector.release).start()
    main, secondary = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "testkube_telemetry_plugin", "telemetry", "flush"],
                               stdin=secondary, stdout=subprocess.PIPE, stderr=secondary, env=dict(os.environ))
    os.close(secondary)
    out, _ = process.communicate(timeout=60)
    seen = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(main)
    assert process.returncode == 0, seen
    # Each event counts once per collector it goes to.
    assert b"Waiting for segment" in seen and f"Sending: 0/{3 * collectors} events".encode() in seen
    assert b"segment: 3 sent" in out


HOLD_LOCK = """
import sys, time
from testkube_telemetry_plugin import _fs as locking
fd = locking.acquire(sys.argv[1])
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_flush_says_it_waits_for_a_background_flusher_then_gives_up_at_its_timeout(site, collector, isolated) -> None:
    with_id(isolated)
    spool_events(isolated, 3)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(isolated / "telemetry" / "flusher.lock"), "30"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        result = run_testkube("telemetry", "flush", "--timeout", "1.5")
        assert result.returncode == 1
        assert result.stderr.splitlines() == [
            "Waiting for the background flusher to finish...",
            "A background flusher is still delivering after 1.5 s; try again later.",
        ]
        assert collector.requests == []
    finally:
        holder.kill()
        holder.communicate()
    assert run_testkube("telemetry", "flush").returncode == 0
    assert len(collector.messages()) == 3


def test_a_damaged_record_is_counted_once_whatever_the_number_of_collectors(isolated, collector, two_sinks,
                                                                             cli, runner) -> None:

    with_id(isolated)
    good = spool_events(isolated, 2)
    with open(isolated / "telemetry" / "spool" / "current", "ab") as current:
        current.write(b'1\t{"events": "not a list"}\n')  # a record of the wrong shape, between good ones
    good += spool_events(isolated, 2)
    assert runner.invoke(cli, ["telemetry", "flush"]).exit_code == 0
    assert sorted(m["messageId"] for m in collector.messages()) == sorted(good)
    assert len(collector.ga_events()) == 4
    assert state_of(isolated).counters["dropped_corrupt"] == 1


def test_past_5_mb_the_spool_drops_its_oldest_events_first(isolated) -> None:
    from testkube_telemetry_plugin.telemetry.spool import MAX_BYTES

    ids = spool_events(isolated, 300, pad=20_000)  # about 6 MB of 20 KB events, oldest first
    spool = spool_of(isolated)
    kept = [spool.load(entry)["events"][0]["messageId"] for entry in spool.entries()]
    assert 200 < len(kept) < 300
    assert kept == ids[-len(kept):]  # what is gone is the oldest, and nothing else
    folder = isolated / "telemetry" / "spool"
    assert sum(p.stat().st_size for p in folder.iterdir() if p.name == "current" or p.name.startswith("seg-")) <= MAX_BYTES


def test_flush_names_a_lock_it_refuses_in_one_line(site, collector, isolated) -> None:
    with_id(isolated)
    spool_events(isolated, 2)
    (isolated / "telemetry" / "flusher.lock").mkdir()  # not a file we would lock
    result = run_testkube("telemetry", "flush", "--timeout", "2")
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("Cannot deliver: ")
    assert "Traceback" not in result.stderr and collector.requests == []


# -- a third collector: one class and one registration line ----------------------------------------------------
def test_a_collector_added_by_one_class_and_one_registration_is_delivered_to_shown_and_listed(
        site, runner, collector, monkeypatch, request) -> None:
    from testkube_telemetry_plugin import Host, Telemetry
    from testkube_telemetry_plugin.cli import make_cli
    from testkube_telemetry_plugin.telemetry import collectors

    # A testkube host that declares no collector of its own: the echo collector alone.
    cli = make_cli(Host("testkube", plugin_group="testkube.plugins",
                        plugins=[Telemetry(product="Testkube", root_commands=True)]))

    class Echo(collectors.Collector):
        """A collector that takes Segment's batch body at `<echo_url>/echo`."""

        name = "echo"
        prefix = "echo_"
        settings = ("echo_url",)

        def endpoint(self):
            return collectors.checked_url(self.values["echo_url"] + "/echo")

        def request(self, messages):
            body = json.dumps({"batch": list(messages)}).encode()
            return body, {"Content-Type": "application/json"}, list(messages)

    collectors.register(Echo)
    request.addfinalizer(lambda: collectors.REGISTRY.pop("echo"))
    monkeypatch.delenv("TESTKUBE_TELEMETRY_SEGMENT_URL")
    monkeypatch.setenv("TESTKUBE_TELEMETRY_ECHO_URL", collector.url)

    assert runner.invoke(cli, ["ends", "ok"]).exit_code == 0  # the command delivers (inline) to it
    (received,) = collector.accepted("/echo")
    assert [m["event"] for m in received["json"]["batch"]] == ["testkube_cli_install", "testkube-heartbeat",
                                                                "testkube_cli_command"]
    assert collector.accepted("/v1/batch") == []
    status = json.loads(runner.invoke(cli, ["telemetry", "status", "--json"]).stdout)
    assert list(status["collectors"]) == ["echo"]
    assert status["collectors"]["echo"]["url"] == collector.url and status["collectors"]["echo"]["problem"] is None
    shown = json.loads(runner.invoke(cli, ["telemetry", "show", "--json"]).stdout)
    assert {entry["sink"] for entry in shown["sent"]} == {"echo"} and len(shown["sent"]) == 3
    text = runner.invoke(cli, ["telemetry", "status"]).stdout
    assert f"echo: {collector.url}; 0 pending" in text


# -- inline delivery (issue 18, section 7) and failures that name their cause ------------------------------
def test_inline_delivery_to_a_collector_that_never_answers_is_a_failure_recorded_and_backed_off(
        site, collector, isolated) -> None:
    collector.plan(("hold",))  # accepts, never answers (for 30 s)
    # Inline, with a deadline a loaded machine can meet: the default 0.5 s also pays for the delivery's
    # imports and the spool's reading, and on a busy CI worker it ran out before the request was sent
    # (nothing to record: the state had no entry for the collector).
    result = run_testkube("ends", "ok", env={"TESTKUBE_TELEMETRY_DEADLINE": "3"})
    try:
        assert result.returncode == 0 and result.stdout == "ok 1\n"
        # The command ended at its own deadline, not the collector's 30 s: the request it sent is still
        # held, unanswered, and the timeout it recorded is no longer than the deadline the user set.
        assert collector.holding.is_set() and collector.requests == [], collector.requests
        status = state_of(isolated).collectors["segment"]
        assert status.failures == 1 and status.last_error.startswith("timeout") and status.next_attempt > time.time()
        budget = float(status.last_error.split("no answer in ", 1)[1].split(" s", 1)[0])
        assert 0 < budget <= 3, status.last_error
        launched = time.time()
        assert run_testkube("ends", "ok").returncode == 0
        # Backing off: not tried again before its time (the first back-off may be as short as 1 s, with jitter,
        # and a loaded machine can take that long to start the second command: then it must try).
        tries = len(collector.requests) + collector.holding.is_set()
        assert tries == (1 if launched < status.next_attempt else 2), (launched, status.next_attempt)
        shown = run_testkube("telemetry", "status").stdout
        assert "failure(s), last: timeout" in shown and "next try at" in shown
    finally:
        collector.release()


def test_inline_delivery_waits_for_a_flusher_that_is_sending_then_delivers_its_own(site, collector,
                                                                                    isolated) -> None:
    import threading

    with_id(isolated)
    spool_events(isolated, 3)
    collector.plan(("hold",))
    flusher = flusher_process()
    assert collector.holding.wait(10)  # the flusher holds the lock, mid-request
    threading.Timer(1.0, collector.release).start()
    result = run_testkube("ends", "ok", env={"TESTKUBE_TELEMETRY_DEADLINE": "10"})
    assert result.returncode == 0
    ours = [m for m in collector.messages() if m["properties"].get("command") == "ends ok"]
    assert len(ours) == 1  # delivered before the command exited, after the flusher let go
    assert flusher.wait(30) == 0


CAUSES = ["DNS", "refused", "TLS", "timeout", "HTTP status"]


@pytest.mark.parametrize("cause", CAUSES)
def test_a_failure_names_its_cause_in_flush_status_and_the_state(cause, isolated, collector, cli, runner,
                                                                 monkeypatch) -> None:
    import socket

    url, expected = collector.url, ""
    if cause == "DNS":
        url, expected = "https://collector.invalid", "DNS: cannot resolve collector.invalid"

        def no_such_name(host, port, *args, **kwargs):  # the public internet, mocked: no such name
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

        monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    elif cause == "refused":
        url, expected = DEAD_URL, "connection refused"
    elif cause == "TLS":
        url, expected = collector.url.replace("http://", "https://"), "TLS: "
    elif cause == "timeout":
        collector.plan(*[("stall", 5)] * 3)
        expected = "timeout: no answer in"
    else:
        collector.plan(*[("status", 503)] * 3)
        expected = "HTTP 503"
    monkeypatch.setenv("TESTKUBE_TELEMETRY_SEGMENT_URL", url)
    with_id(isolated)
    spool_events(isolated, 2)
    flushed = runner.invoke(cli, ["telemetry", "flush", "--timeout", "2"])
    assert flushed.exit_code == 1
    assert f"  segment: {expected}" in flushed.stderr, flushed.stderr
    assert state_of(isolated).collectors["segment"].last_error.startswith(expected)
    shown = runner.invoke(cli, ["telemetry", "status"]).stdout
    assert f"last: {expected}" in shown, shown


def test_the_flusher_holds_none_of_the_callers_descriptors(site, collector, monkeypatch) -> None:
    """A caller that handed the command a pipe (make's jobserver, a harness's pass_fds) and waits for its
    end is waiting for the command, not for the flusher it started, however long the collector takes."""
    import select

    monkeypatch.setenv("TESTKUBE_TELEMETRY_DELIVERY", "background")
    monkeypatch.setenv("CI", "true")  # a CI run delivers at once: a flusher starts
    collector.plan(("hold",))
    read_end, write_end = os.pipe()
    try:
        ran = run_testkube("ends", "ok", pass_fds=(write_end,))
        os.close(write_end)
        assert ran.returncode == 0 and ran.stdout == "ok 1\n"
        assert collector.holding.wait(10)  # the flusher is mid-request
        ready, _, _ = select.select([read_end], [], [], 5)
        assert ready and os.read(read_end, 1) == b""  # the pipe ended with the command
    finally:
        collector.release()
        os.close(read_end)
    deadline = time.monotonic() + 20
    while "testkube_cli_command" not in collector.events() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "testkube_cli_command" in collector.events()  # and the flusher still delivered
