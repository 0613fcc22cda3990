"""What every command pays: `testkube noop` against a bare Click group of the same shape.

Rows (each a median of pair-by-pair ratios to the bare group, same run):
the floor any pluggy host pays (`import click, pluggy`), testkube with
telemetry off and on (a healthy local collector), and the straightforward
peer: pluggy's own entry-point loading plus Segment's Python client sending
synchronously (as Testkube's Go CLI does), with a healthy collector and,
with `--silent-peer`, one that never answers.  A third-party plugin (`noop`)
is installed for every case.

    python benchmarks/startup.py [runs] [--silent-peer]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import (  # noqa: E402
    BARE,
    FLOOR,
    TESTKUBE,
    base_env,
    compare,
    console_script,
    healthy_collector,
    report,
    silent_collector,
    timed,
)

PEER = console_script("peer", """
    import os
    import click
    import pluggy
    from segment import analytics

    manager = pluggy.PluginManager("testkube")
    manager.load_setuptools_entrypoints("testkube.plugins")

    @click.group()
    def cli():
        pass

    @cli.command()
    def noop():
        click.echo("noop")

    if __name__ == "__main__":
        try:
            cli(standalone_mode=False)
        finally:
            analytics.write_key = "bench"
            analytics.host = os.environ["PEER_COLLECTOR"]
            analytics.sync_mode = True
            analytics.track("a" * 64, "testkube_cli_command", {"command": "noop"})
""")


def peer_available() -> bool:
    try:
        import segment.analytics  # noqa: F401
    except ImportError:
        print("  (Segment's client is not installed: pip install segment-analytics-python; peer rows skipped)")
        return False
    return True


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    runs = int(args[0]) if args else 40
    url, _server = healthy_collector()
    on = {**base_env(), "TESTKUBE_TELEMETRY_SEGMENT_URL": url}
    off = {**base_env(), "DO_NOT_TRACK": "1"}
    cases = {
        "import click, pluggy (the floor of any pluggy host)": (FLOOR, base_env()),
        "testkube noop, telemetry off (DO_NOT_TRACK=1)": (TESTKUBE + ["noop"], off),
        "testkube noop, telemetry on (healthy collector)": (TESTKUBE + ["noop"], on),
    }
    if peer_available():
        cases["peer: pluggy entry points + Segment client, sync (healthy)"] = (
            PEER + ["noop"], {**base_env(), "PEER_COLLECTOR": url})
    results = compare((BARE + ["noop"], base_env()), cases, runs)
    report(f"startup, {runs} interleaved runs, median of pair-by-pair ratios to the bare group:",
           "bare Click group (noop)", results,
           {"testkube noop, telemetry off (DO_NOT_TRACK=1)": 1.08,
            "testkube noop, telemetry on (healthy collector)": 1.10})
    floor = results["import click, pluggy (the floor of any pluggy host)"][0]
    for name in ("testkube noop, telemetry off (DO_NOT_TRACK=1)", "testkube noop, telemetry on (healthy collector)"):
        print(f"  {name} vs the floor: {results[name][0] / floor:5.2f}x of medians")
    peer = results.get("peer: pluggy entry points + Segment client, sync (healthy)")
    if peer is not None:
        ours = results["testkube noop, telemetry on (healthy collector)"]
        print(f"  peer / testkube (telemetry on): {peer[0] / ours[0]:.2f}x   (target > 3x)")
        if "--silent-peer" in sys.argv:
            silent = {**base_env(), "PEER_COLLECTOR": silent_collector()}
            seconds = [timed(PEER + ["noop"], silent) / 1000 for _ in range(2)]
            print(f"  peer with a collector that never answers: {min(seconds):.1f} s per command")
            ours_silent = {**on, "TESTKUBE_TELEMETRY_SEGMENT_URL": silent["PEER_COLLECTOR"]}
            print(f"  testkube with the same collector: {timed(TESTKUBE + ['noop'], ours_silent):.0f} ms")


if __name__ == "__main__":
    main()
