"""A command's telemetry work, and that it stays flat as the spool fills up offline.

Cases, each against `testkube noop` with telemetry off (pair-by-pair ratios,
and the difference in milliseconds): on with a healthy collector, on with a
collector that never answers, and on while offline with 10,000 events
already waiting (the case a laptop on a plane reaches).  Target: the last is
within 2 ms of the offline case with an empty spool.

    python benchmarks/overhead.py [runs]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import TESTKUBE, base_env, compare, healthy_collector, report, scratch_home, silent_collector  # noqa: E402

DEAD = "http://127.0.0.1:9"  # connection refused at once: offline


def offline_home(pending: int) -> str:
    """A home whose collector is unreachable and backing off, with `pending` events waiting."""
    from testkube_telemetry_plugin.cli import TESTKUBE as HOST
    from testkube_telemetry_plugin.telemetry.events import new_event, new_record
    from testkube_telemetry_plugin.telemetry.spool import Spool

    home = scratch_home()
    telemetry = os.path.join(home, "telemetry")
    os.makedirs(telemetry, mode=0o700)
    spool = Spool(os.path.join(telemetry, "spool"))
    for i in range(pending):
        spool.append(new_record(HOST, [new_event("testkube_cli_command", {"command": "noop", "n": i})]))
    with open(os.path.join(telemetry, "retry-at"), "w") as handle:
        handle.write(repr(time.time() + 3000))  # offline: the collector asked for a long pause
    return home


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    url, _server = healthy_collector()
    command = TESTKUBE + ["noop"]
    cases = {
        "on, healthy collector": (command, {**base_env(), "TESTKUBE_TELEMETRY_SEGMENT_URL": url}),
        "on, collector never answers": (command, {**base_env(), "TESTKUBE_TELEMETRY_SEGMENT_URL": silent_collector()}),
        "on, offline, empty spool": (command, {**base_env(offline_home(0)), "TESTKUBE_TELEMETRY_SEGMENT_URL": DEAD}),
        "on, offline, 10,000 events pending": (
            command, {**base_env(offline_home(10_000)), "TESTKUBE_TELEMETRY_SEGMENT_URL": DEAD}),
    }
    results = compare((command, {**base_env(), "DO_NOT_TRACK": "1"}), cases, runs)
    report(f"overhead, {runs} interleaved runs, median of pair-by-pair ratios to telemetry off:",
           "testkube noop, telemetry off", results)
    off = results["baseline"][0]
    for name, (median, _) in results.items():
        if name != "baseline":
            print(f"  {name:58s} {median - off:+6.1f} ms over off")
    grown = results["on, offline, 10,000 events pending"][0] - results["on, offline, empty spool"][0]
    print(f"  10,000 pending vs empty spool: {grown:+.1f} ms per command   (target <= +2 ms)")


if __name__ == "__main__":
    main()
