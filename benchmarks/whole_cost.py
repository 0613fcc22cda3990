"""A command's whole cost (issue 22): its CPU and the CPU of every process it leaves behind.

Each command runs under a meter (benchmarks/_meter.py), a process of its own
that is the commands' child subreaper: a detached flusher is re-parented to
it when the command exits, and a case ends only when every such process has
exited, its CPU (user + system, from `wait4`) counted.  testkube and a bare
Click group of the same shape run alternately in the same run, each case in
a fresh TESTKUBE_HOME (and HOME) in a scratch folder, against a collector on
127.0.0.1 in a process of its own (its CPU is not counted).  No GA4 is set.
Each home is first set up as a user's is: `enable telemetry` (an explicit
opt-in), one command (caches, the install event, the day's heartbeat) and
`telemetry flush`, so nothing is pending when timing starts.

Rows (targets from the issue):

  interactive  20 `noop` 3.6 s apart, the bare group's between them: total CPU per command vs bare
  burst        50 `noop` back to back, each paired with a bare one (no pause): same
  ci           CI=true, 3 `noop` 1 s apart, no flush: from the last command's end to the last arrival
  flush        600 failing `run test x` (1,800 events) with the collector down, the back-off recorded
               and a flusher lingering; the collector comes up: wall time of `telemetry flush`
  wall         wall clock of `noop`, telemetry on / off, vs bare (as startup.py measures it)

Every timed command is checked to exit 0 (the failing ones to exit 1), and
every on-case to have delivered each of its commands' events (after a last
`telemetry flush` where a case leaves some pending on purpose), so a broken
telemetry can never look cheap.

    python benchmarks/whole_cost.py [--quick] [--rows interactive,burst,ci,flush,wall]

The default run takes 6 to 7 minutes (the interactive row alone is over a
minute a round, by nature); `--quick` takes about two and is for a sanity check.
"""

from __future__ import annotations

import argparse
import calendar
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Optional

sys.path.insert(0, str(Path(__file__).parent))
from _common import (  # noqa: E402
    BARE,
    SITE,
    TESTKUBE,
    CollectorProcess,
    Meter,
    Whole,
    clean_env,
    compare,
    free_port,
    plugin_site,
)

NOOP = ["noop"]
COMMAND_NOOP = "testkube_cli_command noop"  # what the collector tallies: "event command"
COMMAND_RUN_TEST = "testkube_cli_command run test"
FAILING = ["run", "test", "x"]
RUN_PLUGIN = '''
import click
from testkube_telemetry_plugin import hookimpl

@hookimpl
def testkube_register_commands(cli):
    @cli.group()
    def run():
        """Run things."""

    @run.command("test")
    @click.argument("name")
    def test(name):
        """Run a test: here it always fails, as a test run against a cluster that is down does."""
        raise click.ClickException(f"execution of {name} failed")
'''

INTERACTIVE_SPACING_S = 3.6
CI_SPACING_S = 1.0
CI_LIMIT_S = 10.0
CI_GIVE_UP_S = 30.0
FLUSH_SETTLE_S = 0.3  # after the command that starts the last try, before asking `status` whether it was refused
WRITE_KEY = "bench-key"


class Row:
    def __init__(self, name: str, measured: str, baseline: str, ratio: Optional[float], target: str,
                 passed: bool) -> None:
        self.name, self.measured, self.baseline, self.ratio = name, measured, baseline, ratio
        self.target, self.passed = target, passed


def say(text: str) -> None:
    print(text, flush=True)


def on_env(collector_url: str, case: str, **variables: str) -> dict[str, str]:
    """A fresh home whose events go to `case` at the collector, with a write key (a later version
    may send nowhere without one)."""
    return clean_env(TESTKUBE_TELEMETRY_SEGMENT_URL=f"{collector_url}/{case}",
                     TESTKUBE_TELEMETRY_SEGMENT_WRITE_KEY=WRITE_KEY, **variables)


def set_up(meter: Meter, env: dict[str, str]) -> None:
    """A home as a user's is before the timed commands, nothing pending, nothing left running."""
    meter.run(TESTKUBE + ["enable", "telemetry"], env)  # an explicit opt-in: informed, whatever the notice rules
    meter.run(TESTKUBE + ["plugins"], env)  # caches, the install event, the day's heartbeat
    meter.run(TESTKUBE + ["telemetry", "flush"], env)
    meter.finish()


def warm_bare(meter: Meter, env: dict[str, str]) -> None:
    meter.run(BARE + NOOP, env)
    meter.finish()


def arrived(collector: CollectorProcess, case: str, kind: str = COMMAND_NOOP) -> tuple[int, float]:
    """(events of `kind` the case's collector has, the last one's arrival as time.time())."""
    found = collector.tally(case)["kinds"].get(kind, {})
    return int(found.get("count", 0)), float(found.get("last_at", 0.0))


def delivered(meter: Meter, env: dict[str, str], collector: CollectorProcess, case: str,
              expected: int) -> tuple[int, float]:
    """How many of the case's `expected` command events had arrived on their own, and the CPU of the
    `flush` that then sends the rest (so a design that keeps a few pending on purpose passes, and says
    what sending them cost); stop the benchmark unless all of them arrived."""
    before = arrived(collector, case)[0]
    flushed = meter.run(TESTKUBE + ["telemetry", "flush"], env)
    left = meter.finish()
    after = arrived(collector, case)[0]
    if after < expected:
        raise SystemExit(f"{case}: only {after} of {expected} command events reached the collector: "
                         "telemetry is broken, and its cost would mean nothing")
    return before, (flushed.cpu_ms + left.left_cpu_ms if before < expected else 0.0)


def pending_line(on_time: int, commands: int, flush_ms: float, whole: Whole, bare_ms: float) -> str:
    """What the row leaves out when events wait for a batch: the final `flush` that sent them, charged to
    the commands (an upper bound: a flusher costs less than `flush`, a whole command of its own)."""
    line = f"{on_time}/{commands} events delivered without a flush"
    if flush_ms:
        charged = whole.per_command_ms + flush_ms / max(whole.commands, 1)
        line += (f"; the final flush took {flush_ms:.0f} ms CPU: {charged:.1f} ms/command, "
                 f"{charged / bare_ms:.2f}x, if charged to these commands")
    return line


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


def cpu_line(label: str, whole: Whole) -> str:
    n = max(whole.commands, 1)
    return (f"{label} {whole.per_command_ms:6.1f} ms/command (the command {whole.commands_cpu_ms / n:5.1f}, "
            f"left behind {whole.left_cpu_ms / n:5.1f} in {whole.left_processes / n:4.2f} processes)")


def cpu_row(name: str, target: float, tk: list[float], bare: list[float]) -> Row:
    ratios = [t / b for t, b in zip(tk, bare)]
    ratio = statistics.median(ratios)
    say(f"  => testkube {statistics.median(tk):.1f} ms, bare {statistics.median(bare):.1f} ms per command; "
        f"median ratio {ratio:.2f}x (rounds: {', '.join(f'{r:.2f}' for r in ratios)})")
    return Row(name, f"{statistics.median(tk):.1f} ms CPU/cmd", f"bare {statistics.median(bare):.1f} ms",
               ratio, f"<= {target:.2f}x", ratio <= target)


def interactive(collector: CollectorProcess, commands: int, rounds: int) -> list[Row]:
    name = f"interactive: {commands} commands {INTERACTIVE_SPACING_S:g} s apart"
    say(f"{name} ({rounds} round(s), the bare group's command half-way between testkube's)")
    tk_cpu, bare_cpu = [], []
    for r in range(rounds):
        case = f"interactive{r}"
        env = on_env(collector.url, case)
        with Meter() as tk, Meter() as bare:
            set_up(tk, env)
            warm_bare(bare, env)
            sides = [(tk, TESTKUBE), (bare, BARE)]
            if r % 2:
                sides.reverse()
            beat = time.monotonic()
            for i in range(commands):
                for k, (meter, script) in enumerate(sides):
                    sleep_until(beat + (i + k / 2) * INTERACTIVE_SPACING_S)
                    meter.run(script + NOOP, env)
            whole, base = tk.finish(), bare.finish()
            on_time, flush_ms = delivered(tk, env, collector, case, commands)
        tk_cpu.append(whole.per_command_ms)
        bare_cpu.append(base.per_command_ms)
        say(f"  round {r + 1}: {cpu_line('testkube', whole)}; bare {base.per_command_ms:5.1f}; "
            f"{pending_line(on_time, commands, flush_ms, whole, base.per_command_ms)}")
    return [cpu_row(name, 1.15, tk_cpu, bare_cpu)]


def burst(collector: CollectorProcess, commands: int, rounds: int) -> list[Row]:
    name = f"burst: {commands} commands back to back"
    say(f"{name} ({rounds} round(s), each testkube command paired with a bare one, no pause)")
    tk_cpu, bare_cpu = [], []
    for r in range(rounds):
        case = f"burst{r}"
        env = on_env(collector.url, case)
        with Meter() as tk, Meter() as bare:
            set_up(tk, env)
            warm_bare(bare, env)
            sides = [(tk, TESTKUBE), (bare, BARE)]
            if r % 2:
                sides.reverse()
            for _ in range(commands):
                for meter, script in sides:
                    meter.run(script + NOOP, env)
            whole, base = tk.finish(), bare.finish()
            on_time, flush_ms = delivered(tk, env, collector, case, commands)
        tk_cpu.append(whole.per_command_ms)
        bare_cpu.append(base.per_command_ms)
        say(f"  round {r + 1}: {cpu_line('testkube', whole)}; bare {base.per_command_ms:5.1f}; "
            f"{pending_line(on_time, commands, flush_ms, whole, base.per_command_ms)}")
    return [cpu_row(name, 1.10, tk_cpu, bare_cpu)]


def ci(collector: CollectorProcess, commands: int, rounds: int) -> list[Row]:
    name = f"CI (CI=true): {commands} commands {CI_SPACING_S:g} s apart, no flush"
    say(f"{name} ({rounds} round(s)): from the last command's end to its events' last arrival")
    lateness = []
    for r in range(rounds):
        case = f"ci{r}"
        env = on_env(collector.url, case, CI="true")
        with Meter() as meter:
            set_up(meter, env)
            start = time.monotonic()
            for i in range(commands):
                sleep_until(start + i * CI_SPACING_S)
                last = meter.run(TESTKUBE + NOOP, env)
            count, last_at = arrived(collector, case)
            while count < commands and time.time() < last.ended_at + CI_GIVE_UP_S:
                time.sleep(0.02)
                count, last_at = arrived(collector, case)
            whole = meter.finish()
        late = last_at - last.ended_at if count >= commands else float("inf")
        lateness.append(late)
        say(f"  round {r + 1}: {count}/{commands} events arrived, the last {late:.2f} s after the last command; "
            f"{cpu_line('testkube', whole)}")
    worst = max(lateness)
    shown = f"{worst:.2f} s after the last" if worst != float("inf") else f"not all within {CI_GIVE_UP_S:g} s"
    return [Row(name, shown, "-", None, f"<= {CI_LIMIT_S:g} s", worst <= CI_LIMIT_S)]


def collector_status(meter: Meter, env: dict[str, str]) -> tuple[Optional[float], Optional[int]]:
    """(seconds until the back-off is due, failures in a row), as `telemetry status --json` tells them
    ("when the next try is", "how many failures in a row"); None for what it does not tell."""
    shown = meter.run(TESTKUBE + ["telemetry", "status", "--json"], env, capture=True).stdout
    try:
        collectors = json.loads(shown).get("collectors", {})
    except (ValueError, AttributeError):
        return None, None
    due, failures = [], []
    for status in collectors.values():
        for key, value in status.items():
            if "next" in key and isinstance(value, str):
                try:
                    due.append(calendar.timegm(time.strptime(value, "%Y-%m-%dT%H:%M:%SZ")) + 1.0)  # whole seconds
                except ValueError:
                    pass
            elif "fail" in key and isinstance(value, int):
                failures.append(value)
    return (max(due) - time.time() if due else None), (sum(failures) if failures else None)


def refused_try(meter: Meter, env: dict[str, str], command: list[str], failures: Optional[int]) -> int:
    """Run `command` (it fails, its events are spooled); once the delivery it starts has been refused
    (`status` counts one more failure; or FLUSH_SETTLE_S if it does not say), how many processes it
    left behind are still running."""
    meter.run(command, env, expect=1)
    time.sleep(FLUSH_SETTLE_S)
    deadline, now = time.monotonic() + 5.0, None
    while failures is not None and meter.alive() and time.monotonic() < deadline:
        now = collector_status(meter, env)[1]
        if now is None or now > failures:
            break
    alive = meter.alive()
    if alive and failures is not None and now is not None:
        say(f"  a delivery started by the last command was refused (failures in a row: {failures} -> {now})")
    return alive


def flush_takeover(commands: int) -> list[Row]:
    events = commands * 3  # each failed `run test`: its usage, run and error events
    name = f"flush of {events:,} pending events while a flusher lingers"
    say(f"{name}: {commands} failing commands with the collector down, the collector comes up, "
        "`telemetry flush` is timed")
    port, case = free_port(), "flush"
    run_site = plugin_site("run-site", "bench_run_plugin", "bench-run", RUN_PLUGIN)  # adds `run test NAME`
    env = on_env(f"http://127.0.0.1:{port}", case, PYTHONPATH=os.pathsep.join((SITE, run_site)))
    failing = TESTKUBE + FAILING
    up_for_set_up = CollectorProcess(port, tally=True)
    later = CollectorProcess(port, tally=True, deferred=True)  # down (refused) until `up()`
    try:
        with Meter() as meter:
            set_up(meter, env)
            up_for_set_up.stop()  # from now on connections are refused
            started = time.monotonic()
            meter.run_many(failing, env, commands - 1, parallel=2, expect=1)
            quiet = meter.finish()
            say(f"  {commands - 1} failing commands in {time.monotonic() - started:.0f} s "
                f"({quiet.left_processes} processes left behind, {quiet.left_cpu_ms / 1000:.1f} s of their CPU)")
            wait, failures = collector_status(meter, env)
            if wait is not None and wait > 0:
                say(f"  the back-off is due in {wait:.0f} s (`telemetry status`): waiting for it")
                time.sleep(min(wait, 120.0))
            # The last command finds the back-off due: a delivery starts, meets the refusal, backs off again.
            extra = 0
            lingering = refused_try(meter, env, failing, failures)
            while not lingering and extra < 30:  # none was started (the back-off said later): try again soon
                time.sleep(2.0)
                extra += 1
                lingering = refused_try(meter, env, failing, collector_status(meter, env)[1])
            later.up()
            flushed = meter.run(TESTKUBE + ["telemetry", "flush"], env)
            count = arrived(later, case, COMMAND_RUN_TEST)[0]
            pending = later.tally(case)["events"]
            meter.finish()
    finally:
        later.stop()
    total = commands + extra
    if count < total:
        raise SystemExit(f"flush: only {count} of {total} failed commands' events arrived after `flush`")
    seconds = flushed.wall_ms / 1000
    say(f"  {pending:,} events pending ({total} failed commands), {lingering} process(es) left behind running "
        f"when `flush` started: `flush` took {seconds:.2f} s")
    if not lingering:
        say("  (no left-behind process was running: the row's premise did not hold this time)")
    return [Row(name, f"{seconds:.2f} s", "-", None, "<= 0.5 s", seconds <= 0.5)]


def wall(collector: CollectorProcess, runs: int) -> list[Row]:
    say(f"wall clock of `noop` ({runs} interleaved runs, median of pair-by-pair ratios to the bare group)")
    case = "wall"
    env = on_env(collector.url, case)
    with Meter() as meter:
        set_up(meter, env)
    off = clean_env(DO_NOT_TRACK="1")  # opted out from the very first run: a home that never had a cache
    used = clean_env(home=env["TESTKUBE_HOME"], DO_NOT_TRACK="1")  # opted out after using it: its caches kept
    results = compare((BARE + NOOP, env), {"on": (TESTKUBE + NOOP, env), "off": (TESTKUBE + NOOP, off),
                                           "off, home used before": (TESTKUBE + NOOP, used)}, runs)
    with Meter() as meter:
        delivered(meter, env, collector, case, runs + 1)  # compare runs each case once more first
    bare = results["baseline"][0]
    rows = []
    for label, target in (("on", 1.10), ("off", 1.08), ("off, home used before", 1.08)):
        median, ratio = results[label]
        say(f"  telemetry {label}: {median:.1f} ms, bare {bare:.1f} ms: {ratio:.2f}x")
        rows.append(Row(f"wall clock, telemetry {label}", f"{median:.1f} ms", f"bare {bare:.1f} ms", ratio,
                        f"<= {target:.2f}x", ratio <= target))
    return rows


def table(rows: list[Row]) -> None:
    width = max(len(row.name) for row in rows)
    say("")
    say(f"{'row':{width}s}  {'measured':>20s}  {'baseline, same run':>18s}  {'ratio':>6s}  {'target':>9s}  result")
    for row in rows:
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "-"
        say(f"{row.name:{width}s}  {row.measured:>20s}  {row.baseline:>18s}  {ratio:>6s}  {row.target:>9s}  "
            f"{'PASS' if row.passed else 'FAIL'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer commands and rounds: a sanity check")
    parser.add_argument("--rows", default="interactive,burst,ci,flush,wall",
                        help="comma-separated: interactive, burst, ci, flush, wall")
    options = parser.parse_args()
    quick = options.quick
    collector = CollectorProcess(tally=True)
    plan: dict[str, Callable[[], list[Row]]] = {
        "interactive": lambda: interactive(collector, 6 if quick else 20, 1 if quick else 3),
        "burst": lambda: burst(collector, 50, 1 if quick else 5),
        "ci": lambda: ci(collector, 3, 1 if quick else 2),
        "flush": lambda: flush_takeover(150 if quick else 600),
        "wall": lambda: wall(collector, 10 if quick else 40),
    }
    chosen = [name.strip() for name in options.rows.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in plan]
    if unknown:
        parser.error(f"unknown row(s): {', '.join(unknown)}")
    say(f"whole cost per command, {'quick' if quick else 'default'} run, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs")
    rows: list[Row] = []
    started = time.monotonic()
    try:
        for name in chosen:
            rows.extend(plan[name]())
    finally:
        collector.stop()
    table(rows)
    say(f"({time.monotonic() - started:.0f} s)")
    sys.exit(0 if all(row.passed for row in rows) else 1)


if __name__ == "__main__":
    main()
