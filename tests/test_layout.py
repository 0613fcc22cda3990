"""The package's shape, as the design asks: small modules, no reaching up into the host app."""

from __future__ import annotations

import ast
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
