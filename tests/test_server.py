"""The seed's cluster side: a keyed cluster id, and the heartbeat a server sends."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import run_testkube
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testkube_telemetry_plugin import send_heartbeat
from testkube_telemetry_plugin.cli import TESTKUBE
from testkube_telemetry_plugin.telemetry.catalogue import HEARTBEAT_COUNTS
from testkube_telemetry_plugin.telemetry.config import keyed_hash

SEED_FIELDS = {"anonymousId", "context", "event", "integrations", "messageId", "timestamp", "type", "properties"}
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def salt_of(home: Path) -> str:
    return re.search(r'salt = "([0-9a-f]+)"', (home / "config.toml").read_text())[1]


def init_events(runner, cli) -> list[dict]:
    shown = json.loads(runner.invoke(cli, ["telemetry", "show", "--json"]).stdout)["pending"]
    return [m["properties"] for m in shown if m["event"] == "testkube_cli_init"]


def test_cluster_id_is_a_keyed_hash_stable_here_and_different_elsewhere(cli, runner, isolated, tmp_path,
                                                                        monkeypatch) -> None:
    monkeypatch.setenv("SAMPLE_CLUSTER_ID", "3f2c6f1e-9b7a-4c1d-8e2f-0a1b2c3d4e5f")
    runner.invoke(cli, ["init"])
    runner.invoke(cli, ["init"])
    first, second = init_events(runner, cli)
    assert HEX64.match(first["cluster_id"]) and first["cluster_id"] == second["cluster_id"]
    assert first["cluster_id"] == keyed_hash(salt_of(isolated), "cluster", "3f2c6f1e-9b7a-4c1d-8e2f-0a1b2c3d4e5f")
    monkeypatch.setenv("TESTKUBE_HOME", str(tmp_path / "another-install"))
    runner.invoke(cli, ["init"])
    (elsewhere,) = init_events(runner, cli)
    assert HEX64.match(elsewhere["cluster_id"]) and elsewhere["cluster_id"] != first["cluster_id"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.one_of(
    st.uuids().map(str),  # a kube-system namespace UID
    st.builds(lambda host, port: f"https://{host}.k8s.internal:{port}", st.from_regex(r"[a-z][a-z0-9-]{3,20}",
              fullmatch=True), st.integers(1, 65535)),  # an API server URL
    st.builds(lambda text: f"cluster:{text}", st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=4,
                                                     max_size=40)),  # anything else, made findable
))
def test_the_raw_cluster_id_never_reaches_disk_or_wire(raw, cli, runner, collector, isolated, monkeypatch) -> None:
    monkeypatch.setenv("SAMPLE_CLUSTER_ID", raw)
    before = len(collector.requests)
    assert runner.invoke(cli, ["init"]).exit_code == 0
    assert runner.invoke(cli, ["telemetry", "heartbeat", "--cluster-id", raw]).exit_code == 0
    wire = json.dumps([r["json"] for r in collector.requests[before:]], ensure_ascii=False)
    disk = "\n".join(p.read_text(errors="replace") for p in isolated.rglob("*") if p.is_file())
    assert raw not in wire and json.dumps(raw)[1:-1] not in wire
    assert raw not in disk and json.dumps(raw)[1:-1] not in disk
    hashed = keyed_hash(salt_of(isolated), "cluster", raw)
    sent = [m for r in collector.requests[before:] for m in r["json"]["batch"]]
    assert {m["properties"].get("cluster_id") for m in sent if m["event"] in ("testkube_cli_init",
                                                                               "testkube-heartbeat")} >= {hashed}


def test_heartbeat_sends_the_seeds_message_and_prints_it_with_json(cli, runner, collector, isolated) -> None:
    result = runner.invoke(cli, ["telemetry", "heartbeat", "--json", "--cluster-id", "kube-system-uid-1"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["delivered"] is True
    (request,) = collector.accepted()
    assert set(request["json"]) == {"batch", "sentAt"}
    (message,) = request["json"]["batch"]
    assert message == printed["message"]
    assert set(message) == SEED_FIELDS and message["type"] == "track" and message["integrations"] == {}
    assert message["event"] == "testkube-heartbeat" and HEX64.match(message["anonymousId"])
    assert message["context"]["library"] == {"name": "testkube-telemetry-plugin", "version": "0.1.0"}
    assert message["properties"]["source"] == "server" and HEX64.match(message["properties"]["cluster_id"])
    assert not set(HEARTBEAT_COUNTS) & set(message["properties"])  # the counts go with the CLI's heartbeat only


def test_the_python_call_does_the_same_for_a_server_written_in_python(collector, isolated) -> None:
    message = send_heartbeat(TESTKUBE, cluster_id="kube-system-uid-2")
    assert message is not None and message["event"] == "testkube-heartbeat"
    assert [m["messageId"] for m in collector.messages()] == [message["messageId"]]


def test_every_opt_out_layer_silences_the_heartbeat(cli, runner, collector, isolated, monkeypatch) -> None:
    layers = [("DO_NOT_TRACK", "1"), ("TESTKUBE_TELEMETRY_DISABLED", "yes")]
    for name, value in layers:
        monkeypatch.setenv(name, value)
        result = runner.invoke(cli, ["telemetry", "heartbeat", "--json"])
        assert result.exit_code == 0 and "no heartbeat sent" in result.stderr  # a choice: exit 0
        printed = json.loads(result.stdout)  # --json is JSON when off too
        assert (printed["enabled"], printed["message"], printed["problem"]) == (False, None, None)
        assert name in printed["reason"]
        assert send_heartbeat(TESTKUBE) is None
        monkeypatch.delenv(name)
    Path(".testkube.toml").write_text("[telemetry]\nenabled = false\n")
    assert runner.invoke(cli, ["telemetry", "heartbeat"]).exit_code == 0 and send_heartbeat(TESTKUBE) is None
    os.remove(".testkube.toml")
    runner.invoke(cli, ["disable", "telemetry"])
    assert runner.invoke(cli, ["telemetry", "heartbeat"]).exit_code == 0 and send_heartbeat(TESTKUBE) is None
    assert collector.events() == []  # telemetry was on only for `disable`, which sent nothing before it
    assert not (isolated / "telemetry").exists()


def test_every_sends_on_its_period_survives_an_outage_and_stops_on_sigterm(site, collector, isolated) -> None:
    collector.plan(("status", 503), ("status", 503))  # the collector is down for the first two tries
    process = subprocess.Popen(
        [sys.executable, "-m", "testkube_telemetry_plugin", "telemetry", "heartbeat", "--every", "1s", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )
    try:
        assert collector.wait_for(lambda: len([e for e in collector.events() if e == "testkube-heartbeat"]) >= 5, 40)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    printed = [json.loads(line)["message"]["messageId"] for line in out.splitlines()]
    delivered = [m["messageId"] for m in collector.messages() if m["event"] == "testkube-heartbeat"]
    assert len(printed) >= 5 and set(delivered) <= set(printed)
    assert set(printed[:3]) <= set(delivered)  # sent during the outage: kept, then delivered
    stamps = [time.mktime(time.strptime(m["timestamp"][:19], "%Y-%m-%dT%H:%M:%S"))
              for m in collector.messages() if m["event"] == "testkube-heartbeat"]
    assert max(stamps) - min(stamps) >= 3  # one a second, not all at once
    assert "Traceback" not in err


def test_sigint_also_stops_it_cleanly(site, collector) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "testkube_telemetry_plugin", "telemetry", "heartbeat", "--every", "1h"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )
    assert collector.wait_for(lambda: "testkube-heartbeat" in collector.events(), 20)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0 and "Traceback" not in err and "delivered" in out


def test_every_refuses_a_duration_it_cannot_read(cli, runner) -> None:
    result = runner.invoke(cli, ["telemetry", "heartbeat", "--every", "soon"])
    assert result.exit_code == 2 and "'soon' is not a duration like 30s, 5m, 1h or 1d" in result.stderr


def test_with_the_collector_down_the_heartbeat_is_spooled_and_said_so(cli, runner, monkeypatch) -> None:
    monkeypatch.setenv("TESTKUBE_TELEMETRY_SEGMENT_URL", "http://127.0.0.1:9")
    result = runner.invoke(cli, ["telemetry", "heartbeat"])
    assert result.exit_code == 0 and "spooled; it is sent on the next try" in result.stdout
    message_id = re.search(r"Heartbeat (\S+) spooled", result.stdout)[1]
    pending = json.loads(runner.invoke(cli, ["telemetry", "show", "--json"]).stdout)["pending"]
    spooled = [m for m in pending if m["messageId"] == message_id]
    assert [(m["event"], m["properties"]["source"]) for m in spooled] == [("testkube-heartbeat", "server")]


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
