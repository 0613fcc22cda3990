"""10,000 events from the spool to a local collector, next to Segment's own Python client.

Both send the same events to the same collector in the same run.  Ours starts
from the spool on disk (what 10,000 commands left) and deletes each record
only after the collector's 2xx; Segment's client starts from memory and keeps
nothing if the process dies.  Time is measured without tracemalloc; peak
memory comes from a separate pass.

    python benchmarks/delivery.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import _Healthy, healthy_collector  # noqa: E402

EVENTS = 10_000
PROPERTIES = {"command": "create test", "exit_code": 0, "status": "success", "duration_ms": 12.5}


def spool_events(home: str) -> None:
    from testkube_telemetry_plugin.cli import TESTKUBE
    from testkube_telemetry_plugin.events import base_properties, new_event, new_record
    from testkube_telemetry_plugin.spool import Spool

    os.makedirs(os.path.join(home, "telemetry"), mode=0o700, exist_ok=True)
    with open(os.path.join(home, "config.toml"), "w") as handle:
        handle.write(f'[telemetry]\nanonymous_id = "{"a" * 64}"\nsalt = "s"\n')
    spool = Spool(os.path.join(home, "telemetry", "spool"))
    base = base_properties(TESTKUBE)
    for _ in range(EVENTS):  # one record per command, as commands leave them
        spool.append(new_record(TESTKUBE, [new_event("testkube_cli_command", {**base, **PROPERTIES})]))


def ours(url: str, measure_memory: bool) -> tuple[int, float, int]:
    """(events sent, seconds, peak bytes or 0)."""
    from testkube_telemetry_plugin.cli import TESTKUBE
    from testkube_telemetry_plugin.delivery import deliver
    from testkube_telemetry_plugin.settings import load_settings

    with tempfile.TemporaryDirectory() as home:
        os.environ["TESTKUBE_HOME"] = home
        os.environ["TESTKUBE_TELEMETRY_SEGMENT_URL"] = url
        spool_events(home)
        settings = load_settings(TESTKUBE)
        if measure_memory:
            tracemalloc.start()
        started = time.perf_counter()
        report = deliver(settings, time.monotonic() + 600)
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] if measure_memory else 0
        tracemalloc.stop()
    return report.sinks["segment"].sent, elapsed, peak


def segments_client(url: str) -> tuple[int, float]:
    from segment.analytics import Client

    before = _Healthy.received
    client = Client("bench", host=url, upload_size=100, max_queue_size=EVENTS + 1)
    started = time.perf_counter()
    for _ in range(EVENTS):
        client.track("a" * 64, "testkube_cli_command", PROPERTIES)
    client.flush()
    elapsed = time.perf_counter() - started
    client.join()
    return (EVENTS if _Healthy.received > before else 0), elapsed


def main() -> None:
    url, server = healthy_collector()
    before = _Healthy.received
    sent, seconds, _ = ours(url, measure_memory=False)
    requests = _Healthy.received - before
    per_request = sent / max(requests, 1)
    print(f"10,000 spooled events to a local collector ({requests} requests, {per_request:.0f} per request):")
    print(f"  testkube-telemetry-plugin      {sent:6d} sent in {seconds:6.2f} s   {sent / seconds:9,.0f} events/s")
    try:
        theirs, their_seconds = segments_client(url)
    except ImportError:
        print("  (Segment's client is not installed: pip install segment-analytics-python)")
    else:
        print(f"  Segment's analytics-python     {theirs:6d} sent in {their_seconds:6.2f} s   "
              f"{theirs / their_seconds:9,.0f} events/s")
        print(f"  ratio: {(sent / seconds) / (theirs / their_seconds):.2f}x its throughput   (target >= 3x)")
    _, _, peak = ours(url, measure_memory=True)
    print(f"  peak memory while delivering (separate pass, tracemalloc): {peak / 1024 / 1024:.1f} MiB")
    server.shutdown()
    sys.exit(0 if sent == EVENTS else 1)


if __name__ == "__main__":
    main()
