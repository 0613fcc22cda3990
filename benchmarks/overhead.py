"""A command's telemetry work, and that it stays flat as the spool fills up offline.

Cases, each against `testkube noop` with telemetry off (pair-by-pair ratios,
and the difference in milliseconds): on with a healthy collector, on with a
collector that never answers (background, and inline with its default
deadline), and on while offline with 10,000 events already waiting, in a few
spool files and in 10,000 of one record each (what an older version, or a
collector failing for weeks, may leave).  Targets (issue 19): the offline
cases within 2 ms of the offline case with an empty spool; inline delivery
never more than its deadline (0.5 s); `telemetry status` and `telemetry show`
under 0.3 s with the 10,000 events in 10,000 files.

    python benchmarks/overhead.py [runs]
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import (  # noqa: E402
    TESTKUBE,
    base_env,
    compare,
    healthy_collector,
    report,
    scratch_home,
    silent_collector,
    timed,
)

DEAD = "http://127.0.0.1:9"  # connection refused at once: offline
PENDING = 10_000
STATUS_TARGET_S = 0.3


def offline_home(pending: int, files: int = 0) -> str:
    """A home whose collector is unreachable and backing off, with `pending` events waiting, in `files`
    closed spool files of one record each (the rest, or all, in the usual files)."""
    from testkube_telemetry_plugin.cli import TESTKUBE as HOST
    from testkube_telemetry_plugin.telemetry.events import new_event, new_record
    from testkube_telemetry_plugin.telemetry.settings import Paths
    from testkube_telemetry_plugin.telemetry.spool import Spool

    home = scratch_home()
    telemetry = os.path.join(home, "telemetry")
    os.makedirs(telemetry, mode=0o700)
    with open(os.path.join(home, "config.toml"), "w") as handle:
        handle.write(f'[telemetry]\nenabled = true\nanonymous_id = "{"a" * 64}"\nsalt = "s"\n')
    spool = Spool(Paths(home, ".testkube.toml"))
    for i in range(pending - files):
        spool.append(new_record(HOST, [new_event("testkube_cli_command", {"command": "noop", "n": i})]))
    if files:
        spool.append(new_record(HOST, [new_event("testkube_cli_command", {"command": "noop", "n": 0})]))
        line = spool._read("current")[0] + b"\n"  # one real record, written as the spool writes it
        os.remove(os.path.join(spool.folder, "current"))
        start = time.time_ns() - 10**12
        for number in range(files):
            with open(os.path.join(spool.folder, f"seg-{start + number:020d}-000000"), "wb") as handle:
                handle.write(line)
        spool.recount()
    with open(os.path.join(telemetry, "retry-at"), "w") as handle:
        handle.write(repr(time.time() + 3000))  # offline: the collector asked for a long pause
    return home


def wall(args: list[str], env: dict[str, str], runs: int) -> float:
    for _ in range(2):
        timed(args, env)  # warm: bytecode, page cache
    return statistics.median(timed(args, env) for _ in range(runs)) / 1000


def inline_attempts(url: str, runs: int) -> tuple[float, float, float]:
    """Inline delivery to a collector that never answers, its back-off cleared before each command (so
    every command makes an attempt): (median, max, telemetry-off median) wall ms."""
    env = {**base_env(), "TESTKUBE_TELEMETRY_SEGMENT_URL": url, "TESTKUBE_TELEMETRY_DELIVERY": "inline"}
    off = {**env, "DO_NOT_TRACK": "1"}
    timed(TESTKUBE + ["noop"], env)
    attempts, offs = [], []
    for _ in range(runs):
        for name in ("retry-at", "state.json"):
            try:
                os.remove(os.path.join(env["TESTKUBE_HOME"], "telemetry", name))
            except FileNotFoundError:
                pass
        attempts.append(timed(TESTKUBE + ["noop"], env))
        offs.append(timed(TESTKUBE + ["noop"], off))
    return statistics.median(attempts), max(attempts), statistics.median(offs)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    url, _server = healthy_collector()
    silent = silent_collector()
    command = TESTKUBE + ["noop"]
    many_files = {**base_env(offline_home(PENDING, files=PENDING)), "TESTKUBE_TELEMETRY_SEGMENT_URL": DEAD}
    cases = {
        "on, healthy collector": (command, {**base_env(), "TESTKUBE_TELEMETRY_SEGMENT_URL": url}),
        "on, collector never answers": (command, {**base_env(), "TESTKUBE_TELEMETRY_SEGMENT_URL": silent}),
        "on, inline, collector never answers": (command, {**base_env(), "TESTKUBE_TELEMETRY_SEGMENT_URL": silent,
                                                          "TESTKUBE_TELEMETRY_DELIVERY": "inline"}),
        "on, offline, empty spool": (command, {**base_env(offline_home(0)), "TESTKUBE_TELEMETRY_SEGMENT_URL": DEAD}),
        "on, offline, 10,000 events pending": (
            command, {**base_env(offline_home(PENDING)), "TESTKUBE_TELEMETRY_SEGMENT_URL": DEAD}),
        "on, offline, 10,000 events in 10,000 files": (command, many_files),
    }
    # Off: a home used before opting out, so the hook library reads its entry-point cache (a home that was
    # never used with telemetry on has none, and every command scans the installed distributions).
    used = base_env()
    timed(command, used)
    cases["off, a home never used with telemetry on"] = (command, {**base_env(), "DO_NOT_TRACK": "1"})
    results = compare((command, {**used, "DO_NOT_TRACK": "1"}), cases, runs)
    report(f"overhead, {runs} interleaved runs, median of pair-by-pair ratios to telemetry off:",
           "testkube noop, telemetry off (a home used before)", results)
    off = results["baseline"][0]
    for name, (median, _) in results.items():
        if name != "baseline":
            print(f"  {name:58s} {median - off:+6.1f} ms over off")
    empty = results["on, offline, empty spool"][0]
    for name in ("on, offline, 10,000 events pending", "on, offline, 10,000 events in 10,000 files"):
        print(f"  {name[len('on, offline, '):]} vs an empty spool: {results[name][0] - empty:+.1f} ms per command"
              "   (target <= +2 ms)")
    median, worst, quiet = inline_attempts(silent, max(runs // 4, 5))
    print(f"  inline delivery, collector never answers, an attempt every command: {median - quiet:+.0f} ms over off "
          f"(worst {worst - quiet:+.0f} ms)   (target <= its 500 ms deadline)")
    for verb in ("status", "show"):
        seconds = wall(TESTKUBE + ["telemetry", verb, "--json"], many_files, max(runs // 4, 5))
        print(f"  `telemetry {verb} --json`, 10,000 events in 10,000 files: {seconds:.2f} s"
              f"   (target < {STATUS_TARGET_S} s)")


if __name__ == "__main__":
    main()
