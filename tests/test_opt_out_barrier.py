"""Opting out is a barrier (issue 19): once `disable` or `reset` returns, no process sends the old id.

Each kind of delivery (a command's background flusher, `telemetry flush`, a
command's inline delivery, a `heartbeat --every` loop) runs as a real process
against a collector that takes 0.7 s to answer each request, with five
batches waiting, and is caught in the middle by a real `disable` or `reset`.
The collector notes when each request arrived: none carrying the old id may
arrive after the opt-out returned, except the opt-out event itself, which
comes last; and once it is out, no file under the home holds the old id.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from collector import Collector
from conftest import ID, run_testkube, spool_events, with_id

pytestmark = pytest.mark.reliability

KINDS = ("flusher", "flush", "inline", "heartbeat")
ANSWER_S = 0.7
OPT_OUT_EVENT = "testkube_cli_telemetry_disabled"


def launch(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "testkube_telemetry_plugin", *args], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})})


def start_delivery(kind: str) -> subprocess.Popen[str]:
    """The delivery of `kind`, in a process of its own, sending what is spooled."""
    if kind == "flusher":  # a command finds a batch pending, starts one, and exits
        return launch("ends", "ok", env={"TESTKUBE_TELEMETRY_DELIVERY": "background"})
    if kind == "flush":
        return launch("telemetry", "flush", "--timeout", "60")
    if kind == "inline":
        return launch("ends", "ok", env={"TESTKUBE_TELEMETRY_DELIVERY": "inline", "TESTKUBE_TELEMETRY_DEADLINE": "30"})
    return launch("telemetry", "heartbeat", "--every", "1s")


def carries(request: dict[str, Any], anonymous_id: str) -> list[str]:
    """The events of `request` (a Segment batch) sent under `anonymous_id`."""
    return [m["event"] for m in request["json"].get("batch", []) if m.get("anonymousId") == anonymous_id]


def everything_on_disk(home: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in home.rglob("*") if p.is_file())


@pytest.mark.parametrize("verb", ["disable", "reset"])
@pytest.mark.parametrize("kind", KINDS)
def test_after_an_opt_out_returns_no_request_carries_the_old_id(kind, verb, site, isolated, monkeypatch) -> None:
    with Collector(default=("slow", ANSWER_S)) as slow:
        monkeypatch.setenv("TESTKUBE_TELEMETRY_SEGMENT_URL", slow.url)
        with_id(isolated)
        waiting = set(spool_events(isolated, 500))  # five batches of 100
        delivery = start_delivery(kind)
        try:
            assert slow.wait_for(lambda: len(slow.requests) >= 1, 30), delivery.communicate(timeout=5)
            opted = run_testkube(*(["disable", "telemetry"] if verb == "disable" else ["telemetry", "reset"]))
            returned_at = time.time()
            assert opted.returncode == 0, opted.stderr
            if verb == "disable":  # the opt-out event arrives (handed to a flusher: the collector is slow)
                assert slow.wait_for(lambda: any(OPT_OUT_EVENT in carries(r, ID) for r in slow.requests), 30)
            time.sleep(4 * ANSWER_S)  # time for any delivery that did not stop to send again
        finally:
            if kind == "heartbeat":
                delivery.send_signal(signal.SIGTERM)
            delivery.communicate(timeout=60)
        requests = sorted(slow.requests, key=lambda r: r["arrived_at"])
    old = [r for r in requests if carries(r, ID)]
    events = [e for r in old for e in carries(r, ID)]
    others = [r["arrived_at"] for r in old if OPT_OUT_EVENT not in carries(r, ID)]
    assert [t - returned_at for t in others if t > returned_at] == []  # none after the opt-out returned
    sent_before = {m["messageId"] for r in old for m in r["json"]["batch"]} & waiting
    assert 0 < len(sent_before) < len(waiting), "the opt-out did not come in the middle of the delivery"
    if verb == "disable":
        assert events.count(OPT_OUT_EVENT) == 1
        (last,) = [r for r in old if OPT_OUT_EVENT in carries(r, ID)]
        assert carries(last, ID) == [OPT_OUT_EVENT] and last["arrived_at"] > max(others)  # alone, and last
    else:
        assert OPT_OUT_EVENT not in events
    deadline = time.monotonic() + 30  # a flusher with the opt-out event clears up after sending it
    while ID in everything_on_disk(isolated) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ID not in everything_on_disk(isolated)


def test_disable_with_no_collector_keeps_no_copy_of_the_id(isolated, runner, monkeypatch) -> None:
    """The opt-out event could never be sent: it is not spooled, so no record holds the old id."""
    import re

    import click

    from testkube_telemetry_plugin import Host, Telemetry
    from testkube_telemetry_plugin.hooks.group import HookedGroup

    home = isolated.parent / "mycli-home"
    monkeypatch.setenv("MYCLI_HOME", str(home))
    monkeypatch.setenv("MYCLI_TELEMETRY_NOTICE_DISABLED", "1")  # informed: an opt-out event would be due

    @click.group(cls=HookedGroup, host=Host("mycli", plugins=[Telemetry()]))  # declares no collector
    def mycli() -> None:
        pass

    @mycli.command()
    def hello() -> None:
        click.echo("hi")

    assert runner.invoke(mycli, ["hello"]).exit_code == 0
    old_id = re.search(r'anonymous_id = "([0-9a-f]{64})"', (home / "config.toml").read_text())[1]
    assert runner.invoke(mycli, ["--telemetry", "disable"]).exit_code == 0  # its form of the telemetry commands
    assert old_id not in everything_on_disk(home)


def test_the_opt_out_handed_to_a_flusher_waits_for_a_delivery_still_holding_the_lock(collector, isolated) -> None:
    """`disable` hands its event to a flusher when it cannot deliver it in time; if another process (a
    command's inline delivery, or `disable`'s own worker as it exits) still holds the delivery lock, the
    flusher waits for it, sends the event and clears up, rather than leave the old id on disk."""
    from conftest import paths_at

    from testkube_telemetry_plugin.telemetry import scheduler

    with_id(isolated)
    spool_events(isolated, 3)
    fd = scheduler.claim_delivery(paths_at(isolated))
    assert fd is not None
    try:
        opted = run_testkube("disable", "telemetry", env={"TESTKUBE_TELEMETRY_DEADLINE": "0.5"})
        assert opted.returncode == 0, opted.stderr
        time.sleep(1.0)  # the handed-off flusher has started and found the lock taken
        assert collector.requests == [] and ID in everything_on_disk(isolated)
    finally:
        scheduler.release_delivery(fd)
    assert collector.wait_for(lambda: OPT_OUT_EVENT in collector.events(), 25)
    assert [m["anonymousId"] for m in collector.messages()] == [ID]  # the opt-out event alone
    deadline = time.monotonic() + 25
    while ID in everything_on_disk(isolated) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ID not in everything_on_disk(isolated)
