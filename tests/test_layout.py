"""The package's shape, as the design asks: small modules, no reaching up into the host app."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "testkube_telemetry_plugin"
MODULES = sorted(PACKAGE.glob("*.py"))
# The contract's machinery and the reference app; every other module belongs to the telemetry plugin.
HOST_SIDE = {"__init__", "__main__", "hookspecs", "host", "invocation", "values", "adoption", "words", "hooked",
             "pluginmanager", "discovery", "safefs", "cli"}


@pytest.mark.parametrize("module", MODULES, ids=lambda path: path.name)
def test_every_module_is_under_300_lines(module: Path) -> None:
    assert len(module.read_text(encoding="utf-8").splitlines()) < 300


@pytest.mark.parametrize("module", [m for m in MODULES if m.stem not in HOST_SIDE], ids=lambda path: path.name)
def test_the_telemetry_plugin_never_imports_the_host_app_or_its_machinery(module: Path) -> None:
    imported = set()
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            imported.add(node.module or "")
            imported.update(alias.name for alias in node.names if node.module is None)
    assert not imported & {"cli", "hooked", "adoption", "pluginmanager"}, imported  # what it needs comes in hooks


def test_importing_the_group_does_not_build_the_testkube_cli() -> None:
    code = ("import sys; from testkube_telemetry_plugin import HookedGroup; "
            "print('testkube_telemetry_plugin.cli' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# What the README says no command's path imports (the flusher, `flush`, `status` and `show` may).
NEVER_ON_A_COMMANDS_PATH = {
    "pathlib", "dataclasses", "requests", "urllib3", "hashlib", "random", "subprocess", "json", "tomllib",
    "tomlkit", "shutil", "importlib.metadata", "socket", "testkube_telemetry_plugin.delivery",
    "testkube_telemetry_plugin.acks", "testkube_telemetry_plugin.settings",
}
REPORT_MODULES = """
import atexit, os, sys
atexit.register(lambda: os.write(2, ("modules: " + " ".join(sorted(sys.modules)) + "\\n").encode()))
"""
CONSOLE_SCRIPT = REPORT_MODULES + """
from testkube_telemetry_plugin.cli import main
sys.argv[0] = "testkube"
sys.exit(main())
"""


def modules_at_exit(code: str, *args: str, cwd: Path, env: dict[str, str]) -> set[str]:
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd,
                            env={**os.environ, **env}, timeout=60)
    assert result.returncode == 0, result.stderr
    return set(result.stderr.rsplit("modules: ", 1)[1].split())


@pytest.mark.parametrize("telemetry", ["on", "off"])
def test_a_commands_path_imports_none_of_the_heavy_modules(isolated, collector, telemetry) -> None:
    env = {"DO_NOT_TRACK": "1"} if telemetry == "off" else {"TESTKUBE_TELEMETRY_DELIVERY": "background"}
    # What the interpreter, Click and pluggy load anyway (an editable install's finder loads pathlib).
    work = Path.cwd()  # on sys.path (`-c`), and nothing is written there: the entry-point cache holds
    floor = modules_at_exit(REPORT_MODULES + "import click, pluggy", cwd=work, env=env)
    # The first run writes the config (a new id) and the entry-point cache, the second the config's summary.
    for _ in range(3):
        imported = modules_at_exit(CONSOLE_SCRIPT, "plugins", cwd=work, env=env) - floor
    assert "testkube_telemetry_plugin.plugin" in imported
    assert ("testkube_telemetry_plugin.spool" in imported) == (telemetry == "on")  # it did record, or not
    assert not imported & NEVER_ON_A_COMMANDS_PATH, sorted(imported & NEVER_ON_A_COMMANDS_PATH)
