"""10,000 events from the spool to a local collector, next to Segment's own Python client.

Both send the same events to the same collector in the same run, in batches
of 100 (Segment's default), in interleaved rounds; the ratio is the median of
the rounds' ratios.  The collector runs in a process of its own, as a real
one does, so neither client shares its interpreter with it.  Ours starts
from the spool on disk (what 10,000 commands left) and deletes each record
only after the collector's 2xx; Segment's client starts from memory and keeps
nothing if the process dies.  Time is measured without tracemalloc; peak
memory comes from a separate pass.

    python benchmarks/delivery.py [rounds]
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import CollectorProcess  # noqa: E402

EVENTS = 10_000
PROPERTIES = {"command": "create test", "exit_code": 0, "status": "success", "duration_ms": 12.5}


def spool_events(home: str) -> None:
    from testkube_telemetry_plugin.cli import TESTKUBE
    from testkube_telemetry_plugin.telemetry.events import base_properties, new_event, new_record
    from testkube_telemetry_plugin.telemetry.settings import paths_of
    from testkube_telemetry_plugin.telemetry.spool import Spool

    os.makedirs(os.path.join(home, "telemetry"), mode=0o700, exist_ok=True)
    with open(os.path.join(home, "config.toml"), "w") as handle:
        handle.write(f'[telemetry]\nanonymous_id = "{"a" * 64}"\nsalt = "s"\n')
    os.environ["TESTKUBE_HOME"] = home
    spool = Spool(paths_of(TESTKUBE))
    base = base_properties(TESTKUBE)
    for _ in range(EVENTS):  # one record per command, as commands leave them
        spool.append(new_record(TESTKUBE, [new_event("testkube_cli_command", {**base, **PROPERTIES})]))


def ours(url: str, template: str, measure_memory: bool) -> tuple[int, float, int]:
    """(events sent, seconds, peak bytes or 0), from a copy of the spooled `template` home."""
    from testkube_telemetry_plugin.cli import TESTKUBE
    from testkube_telemetry_plugin.telemetry.delivery.loop import deliver
    from testkube_telemetry_plugin.telemetry.settings import load as load_settings

    with tempfile.TemporaryDirectory() as scratch:
        home = os.path.join(scratch, "home")
        shutil.copytree(template, home)
        os.environ["TESTKUBE_HOME"] = home
        os.environ["TESTKUBE_TELEMETRY_SEGMENT_URL"] = url
        settings = load_settings(TESTKUBE)
        if measure_memory:
            tracemalloc.start()
        started = time.perf_counter()
        report = deliver(settings, time.monotonic() + 600)
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] if measure_memory else 0
        tracemalloc.stop()
    return report.collectors["segment"].sent, elapsed, peak


def segments_client(url: str, collector: CollectorProcess) -> tuple[int, float]:
    from segment.analytics import Client

    before = collector.received()
    client = Client("bench", host=url, upload_size=100, max_queue_size=EVENTS + 1)
    started = time.perf_counter()
    for _ in range(EVENTS):
        client.track("a" * 64, "testkube_cli_command", PROPERTIES)
    client.flush()
    elapsed = time.perf_counter() - started
    client.join()
    return (EVENTS if collector.received() > before else 0), elapsed


def flush_command(url: str, collector: CollectorProcess) -> tuple[int, float]:
    """`testkube telemetry flush` with 600 failed commands pending (1,800 events), as a user runs it."""
    import subprocess

    from _common import TESTKUBE, base_env

    env = {**base_env(), "TESTKUBE_TELEMETRY_SEGMENT_URL": url, "TESTKUBE_TELEMETRY_DELIVERY": "inline",
           "TESTKUBE_TELEMETRY_DEADLINE": "0.01"}  # record only: the commands themselves send nothing in time
    home = env["TESTKUBE_HOME"]
    os.makedirs(os.path.join(home, "telemetry"), mode=0o700, exist_ok=True)
    with open(os.path.join(home, "telemetry", "retry-at"), "w") as handle:
        handle.write(repr(time.time() + 3600))  # as if offline until now: nothing was delivered
    from testkube_telemetry_plugin.cli import TESTKUBE as HOST
    from testkube_telemetry_plugin.telemetry.events import base_properties, new_event, new_record
    from testkube_telemetry_plugin.telemetry.settings import Paths
    from testkube_telemetry_plugin.telemetry.spool import Spool

    spool = Spool(Paths(home, ".testkube.toml"))
    base = base_properties(HOST)
    for _ in range(600):  # what `run test x` failing 600 times leaves: usage, run and error events
        spool.append(new_record(HOST, [
            new_event("testkube_cli_command", {**base, "command": "run test", "exit_code": 1, "status": "error"}),
            new_event("testkube_cli_run_test", {**base, "duration_ms": 812.5, "status": "error"}),
            new_event("testkube_cli_error", {**base, "command": "run test", "error_type": "ClickException",
                                             "exit_code": 1, "message": "execution of <arg> failed"}),
        ]))
    with open(os.path.join(home, "config.toml"), "w") as handle:
        handle.write(f'[telemetry]\nanonymous_id = "{"b" * 64}"\nsalt = "s"\n')
    before = collector.received()
    started = time.perf_counter()
    subprocess.run(TESTKUBE + ["telemetry", "flush"], env=env, check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    return collector.received() - before, elapsed


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    collector = CollectorProcess()
    url = collector.url
    template = tempfile.mkdtemp()
    try:
        spool_events(template)
        try:
            import segment.analytics  # noqa: F401
        except ImportError:
            print("  (Segment's client is not installed: pip install segment-analytics-python)")
            theirs_available = False
        else:
            theirs_available = True
        sent_counts, our_seconds, their_seconds, requests = [], [], [], []
        for _ in range(rounds):
            before = collector.received()
            sent, seconds, _ = ours(url, template, measure_memory=False)
            requests.append(collector.received() - before)
            sent_counts.append(sent)
            our_seconds.append(seconds)
            if theirs_available:
                theirs, elapsed = segments_client(url, collector)
                their_seconds.append(elapsed if theirs == EVENTS else float("inf"))
        sent, seconds = min(sent_counts), statistics.median(our_seconds)
        per_request = sent / max(statistics.median(requests), 1)
        print(f"10,000 spooled events to a local collector in its own process ({statistics.median(requests):.0f} "
              f"requests, {per_request:.0f} per request), median of {rounds} interleaved rounds:")
        print(f"  testkube-telemetry-plugin      {sent:6d} sent in {seconds:6.2f} s   {sent / seconds:9,.0f} events/s")
        if their_seconds:
            median = statistics.median(their_seconds)
            print(f"  Segment's analytics-python     {EVENTS:6d} sent in {median:6.2f} s   "
                  f"{EVENTS / median:9,.0f} events/s")
            ratio = statistics.median(t / o for t, o in zip(their_seconds, our_seconds))
            spread = ", ".join(f"{t / o:.2f}" for t, o in zip(their_seconds, our_seconds))
            print(f"  ratio: {ratio:.2f}x its throughput (rounds: {spread})   (no target: issue 22 withdrew it)")
        flush_requests, flush_seconds = flush_command(url, collector)
        print(f"  `testkube telemetry flush`, 600 failed commands (1,800 events) pending: {flush_seconds:.2f} s "
              f"in {flush_requests} requests   (target <= 0.30 s)")
        _, _, peak = ours(url, template, measure_memory=True)
        print(f"  peak memory while delivering (separate pass, tracemalloc): {peak / 1024 / 1024:.1f} MiB")
    finally:
        collector.stop()
        shutil.rmtree(template, ignore_errors=True)
    sys.exit(0 if sent == EVENTS else 1)


if __name__ == "__main__":
    main()
