"""Run a real CLI as its console script does: ``python launch.py NAME [ARGS...]``.

With ADOPT=1 the CLI is adopted first, from outside, as docs/plugins.md says
(its source is never edited): ``adopt(obj, Host(NAME, plugins=[Telemetry()]))``,
plus the recording plugin when RECORDING_PLUGIN_LOG is set.  Without it, the
CLI runs exactly as installed.  The program name is NAME either way.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))

# name: (module:attribute the console script reaches, what it is)
TARGETS = {
    "sqlite-utils": ("sqlite_utils.cli:cli", "click-default-group DefaultGroup instance"),
    "flask": ("flask.cli:cli", "FlaskGroup instance"),
    "black": ("black:main", "click.Command (single command)"),
    "cookiecutter": ("cookiecutter.cli:main", "click.Command (single command)"),
    "rich-click": ("rich_click.cli:main", "RichCommand (single command)"),
    "rich-group": ("adoption.written:rich_group", "RichGroup, group_class = type"),
    "typer-group": ("adoption.written:typer_group", "Typer app, group"),
    "typer-single": ("adoption.written:typer_single", "Typer app, single command"),
}


def load(target: str) -> Any:
    module, _, attribute = target.partition(":")
    obj: Any = getattr(importlib.import_module(module), attribute)
    if module == "adoption.written":
        obj = obj()  # a builder: the CLI as its author writes it
    return obj


def main() -> None:
    sys.path[:0] = [os.path.dirname(HERE), os.path.join(os.path.dirname(HERE), "plugins")]
    name = sys.argv.pop(1)
    sys.argv[0] = name
    cli = load(TARGETS[name][0])
    if os.environ.get("ADOPT") == "1":
        from testkube_telemetry_plugin import Host, Telemetry, adopt

        plugins: list[Any] = [Telemetry()]
        if os.environ.get("RECORDING_PLUGIN_LOG"):
            plugins.append("recording_plugin")
        cli = adopt(cli, Host(name, plugins=plugins))
    cli(prog_name=name)


if __name__ == "__main__":
    main()
