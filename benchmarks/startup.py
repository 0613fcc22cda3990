"""`testkube <trivial command>` against a bare Click group of the same shape.

Prints the median of each and the ratio. Target: at most 1.25x.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import PYTHON, base_env, compare, scratch_home  # noqa: E402

# Both run the way a console script does (`-c`, no runpy); the `testkube`
# script that pip writes is exactly `from ...host import main; main()`.
TESTKUBE = "import sys; from testkube_telemetry_plugin.cli import main; sys.exit(main())"
BARE = """
import click
@click.group()
def cli():
    pass
@cli.command()
def plugins():
    click.echo("none")
cli(prog_name="bare")
"""


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    env = base_env(scratch_home())
    off = {**env, "DO_NOT_TRACK": "1"}
    on = {**env, "TESTKUBE_TELEMETRY_SEGMENT_URL": "http://127.0.0.1:9"}
    medians = compare(
        {
            "bare click group": ([PYTHON, "-c", BARE, "plugins"], env),
            "testkube plugins (telemetry off)": ([PYTHON, "-c", TESTKUBE, "plugins"], off),
            "testkube plugins (telemetry on)": ([PYTHON, "-c", TESTKUBE, "plugins"], on),
        },
        runs,
    )
    bare = medians["bare click group"]
    for name, value in medians.items():
        print(f"{name:36s} {value:7.1f} ms   {value / bare:5.2f}x")


if __name__ == "__main__":
    main()
