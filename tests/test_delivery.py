"""Delivery against a real collector on 127.0.0.1: formats, limits, retries, the flusher."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import run_testkube

from testkube_telemetry_plugin import events as events_module
from testkube_telemetry_plugin.settings import load_settings
from testkube_telemetry_plugin.spool import Spool
from testkube_telemetry_plugin.state import read_state

SEED_FIELDS = {"anonymousId", "context", "event", "integrations", "messageId", "timestamp", "type", "properties"}
ID = "a" * 64


def spool_events(home: Path, count: int, pad: int = 0, sinks=("segment",)) -> list[str]:
    spool = Spool(home / "telemetry" / "spool")
    ids = []
    for i in range(count):
        message = events_module.track("testkube_cli_command", ID, {"n": i, "pad": "x" * pad})
        ids.append(message["messageId"])
        spool.append(sinks, [message])
    return ids


def flusher_process() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "testkube_telemetry_plugin.flusher"], env=dict(os.environ))


def kill_flusher_mid_batch(collector) -> None:
    """Start a flusher, SIGKILL it while the collector holds its request, let go."""
    collector.holding.clear()
    collector.released.clear()
    collector.plan(("hold",))
    flusher = flusher_process()
    assert collector.holding.wait(10)
    flusher.send_signal(signal.SIGKILL)
    flusher.wait(10)
    collector.release()


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
    assert Spool(isolated / "telemetry" / "spool").count(["segment"]) == 0


def test_600_events_go_in_several_requests_under_500_kb(isolated, collector, cli, runner) -> None:
    ids = spool_events(isolated, 600, pad=1500)
    result = runner.invoke(cli, ["telemetry", "flush"])
    assert result.exit_code == 0, result.output
    assert "segment: 600 sent, 0 kept for retry, 0 dropped" in result.stdout
    requests = collector.accepted()
    assert len(requests) >= 2
    assert all(r["json_size"] <= 500 * 1024 for r in requests)
    assert all(r["headers"].get("Content-Encoding") == "gzip" for r in requests)
    assert sorted(m["messageId"] for m in collector.messages()) == sorted(ids)


def test_60_events_go_to_ga4_in_three_requests(isolated, collector, cli, runner, monkeypatch) -> None:
    monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_URL", collector.url + "/mp/collect")
    monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_MEASUREMENT_ID", "G-TEST1")
    monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_API_SECRET", "s3cret")
    spool_events(isolated, 60, sinks=("segment", "ga4"))
    assert runner.invoke(cli, ["telemetry", "flush"]).exit_code == 0
    ga = collector.accepted("/mp/collect")
    assert [len(r["json"]["events"]) for r in ga] == [25, 25, 10]
    for request in ga:
        assert request["query"] == {"measurement_id": ["G-TEST1"], "api_secret": ["s3cret"]}
        assert request["json"]["client_id"] == ID
        for event in request["json"]["events"]:
            assert event["name"] == "testkube_cli_command"
            assert event["params"]["engagement_time_msec"] == 1 and event["params"]["session_id"]
    assert len(collector.messages()) == 60  # Segment got them too


@pytest.mark.parametrize("failure", [("status", 500), ("status", 429, {"Retry-After": "0"}), ("close",), ("status", 503)])
def test_retryable_failures_lose_nothing(isolated, collector, cli, runner, failure) -> None:
    ids = spool_events(isolated, 5)
    collector.plan(failure)
    result = runner.invoke(cli, ["telemetry", "flush"])
    assert result.exit_code == 0, result.output
    assert sorted(m["messageId"] for m in collector.messages()) == sorted(ids)


def test_connection_refused_keeps_events_until_the_collector_is_back(isolated, cli, runner, monkeypatch) -> None:
    ids = spool_events(isolated, 3)
    refused = runner.invoke(cli, ["telemetry", "flush"])
    assert refused.exit_code == 1
    assert "segment: 0 sent, 3 kept for retry, 0 dropped" in refused.stdout
    assert read_state(isolated / "telemetry")["backoff"]["segment"]["failures"] >= 1
    from collector import Collector

    with Collector() as back:
        monkeypatch.setenv("TESTKUBE_TELEMETRY_SEGMENT_URL", back.url)
        assert runner.invoke(cli, ["telemetry", "flush"]).exit_code == 0
        assert sorted(m["messageId"] for m in back.messages()) == sorted(ids)
    assert "segment" not in read_state(isolated / "telemetry").get("backoff", {})


def test_400_drops_the_batch_and_counts_it(isolated, collector, cli, runner) -> None:
    spool_events(isolated, 4)
    collector.plan(("status", 400))
    result = runner.invoke(cli, ["telemetry", "flush"])
    assert result.exit_code == 1
    assert "segment: 0 sent, 0 kept for retry, 4 dropped" in result.stdout
    assert read_state(isolated / "telemetry")["dropped_rejected"] == 4
    assert Spool(isolated / "telemetry" / "spool").count(["segment"]) == 0


def test_redirect_to_another_host_is_refused(isolated, collector, cli, runner, connections) -> None:
    spool_events(isolated, 1)
    collector.plan(*[("status", 307, {"Location": "http://127.0.0.2:1/v1/batch"})] * 3)
    result = runner.invoke(cli, ["telemetry", "flush"])
    assert result.exit_code == 1 and "redirect to another host refused" in result.stderr
    assert all(address[0] == "127.0.0.1" for address in connections)


@pytest.mark.parametrize("url", ["not a url", "http://collector.example.com", "ftp://127.0.0.1/x"])
def test_unusable_urls_open_no_socket(isolated, cli, runner, monkeypatch, connections, url) -> None:
    monkeypatch.setenv("TESTKUBE_TELEMETRY_SEGMENT_URL", url)
    assert runner.invoke(cli, ["ends", "ok"]).stdout == "ok 1\n"
    result = runner.invoke(cli, ["telemetry", "flush"])
    assert result.exit_code == 1 and "kept for retry" in result.stdout
    assert connections == []
    assert "problem" in runner.invoke(cli, ["telemetry", "status", "--json"]).stdout


def test_show_prints_exactly_what_was_sent(cli, runner, collector) -> None:
    runner.invoke(cli, ["ends", "ok"])
    shown = json.loads(runner.invoke(cli, ["telemetry", "show", "--json"]).stdout)
    assert shown["pending"] == []
    assert [entry["payload"] for entry in shown["sent"]] == collector.messages()
    human = runner.invoke(cli, ["telemetry", "show"]).stdout
    assert "Pending events (0):" in human and "-- to segment at" in human


def test_a_detached_flusher_delivers_after_the_cli_exits(site, collector, monkeypatch) -> None:
    monkeypatch.setenv("TESTKUBE_TELEMETRY_DELIVERY", "background")
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
    assert Spool(isolated / "telemetry" / "spool").count(["segment"]) == 4 - 1  # install, heartbeat, command
    collector.release()


def test_two_flushers_never_run_at_once(isolated, collector) -> None:
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


def test_spool_survives_a_flusher_killed_mid_batch(isolated, collector, cli, runner) -> None:
    ids = spool_events(isolated, 20)
    kill_flusher_mid_batch(collector)
    assert Spool(isolated / "telemetry" / "spool").count(["segment"]) == 20
    assert runner.invoke(cli, ["telemetry", "flush"]).exit_code == 0
    assert set(ids) <= {m["messageId"] for m in collector.messages()}


def test_opt_out_event_is_the_last_one_sent(cli, runner, collector, isolated) -> None:
    runner.invoke(cli, ["ends", "ok"])
    result = runner.invoke(cli, ["disable", "telemetry"])
    assert result.exit_code == 0 and "Telemetry is off" in result.stdout
    assert collector.events()[-1] == "testkube_cli_telemetry_disabled"
    sent = len(collector.requests)
    runner.invoke(cli, ["ends", "ok"])
    runner.invoke(cli, ["telemetry", "flush"])
    assert len(collector.requests) == sent
    assert not (isolated / "telemetry" / "spool").exists()
    assert load_settings().anonymous_id is None  # the id is gone with the opt-out


def test_debug_prints_events_and_sends_nothing(site, collector, isolated) -> None:
    result = run_testkube("ends", "ok", env={"TESTKUBE_TELEMETRY_DEBUG": "1"})
    assert result.stdout == "ok 1\n"
    printed = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert [m["event"] for m in printed][-1] == "testkube_cli_command"
    assert not (isolated / "telemetry" / "spool").exists()
    assert collector.requests == []


def test_flush_shows_progress_for_many_events(isolated, collector, cli, runner) -> None:
    spool_events(isolated, 250)
    result = runner.invoke(cli, ["telemetry", "flush"])
    assert result.exit_code == 0
    assert "Sending" in result.stderr
    assert "segment: 250 sent" in result.stdout


def test_backoff_stops_flushers_from_starting(isolated, cli, runner, monkeypatch) -> None:
    from testkube_telemetry_plugin import flusher

    spool_events(isolated, 1)
    runner.invoke(cli, ["telemetry", "flush"])  # dead collector: back-off set
    settings = load_settings()
    assert flusher.start_if_needed(settings, isolated / "telemetry") is False


def test_flush_never_prints_the_ga4_api_secret(isolated, collector, cli, runner, monkeypatch, connections) -> None:
    monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_URL", "http://ga.example.com/mp/collect")
    monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_MEASUREMENT_ID", "G-TEST1")
    monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_API_SECRET", "ga-super-secret")
    spool_events(isolated, 2, sinks=("segment", "ga4"))
    result = runner.invoke(cli, ["telemetry", "flush"])
    assert result.exit_code == 1
    assert "ga4: 0 sent, 2 kept for retry" in result.stdout and "plain http" in result.stderr
    assert "ga-super-secret" not in result.stdout + result.stderr
    assert all(address[0] == "127.0.0.1" for address in connections)


def test_spool_ignores_files_that_are_not_its_own(isolated) -> None:
    spool = Spool(isolated / "telemetry" / "spool")
    spool_events(isolated, 2)
    folder = Path(spool.sink_dir("segment"))
    for stray in ("notes.txt", ".tmp-half-written.json", "1-2-3-n4-b5.json", "x" * 20 + "-1-ab-n1-b9.json"):
        (folder / stray).write_text("[]")
    assert spool.count(["segment"]) == 2 and len(spool.chunks("segment")) == 2


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
    assert [(h["dropped_events"], h["rejected_events"], h["oversized_events"]) for h in heartbeats] == [(0, 0, 0), (0, 4, 0)]
    assert "dropped_rejected" not in read_state(isolated / "telemetry")
