"""The package's shape: three floors with imports flowing one way, and nothing heavy on a command's path.

The floors (docs/architecture.md): the hook library (`hooks/`), the telemetry
plugin (`telemetry/`), the app (`cli.py`, `__main__.py`, the package's
`__init__.py` and the `plugin.py` entry point); `_fs.py`, `_values.py` and
`_version.py` are shared by both lower floors and import nothing of ours above
them.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "testkube_telemetry_plugin"
NAME = "testkube_telemetry_plugin"
SHARED = {"_fs", "_values", "_version"}
APP = {"cli", "__main__", "__init__", "plugin", "pytest_plugin"}


def floor_of(module: str) -> str:
    """'library', 'plugin', 'shared' or 'app' for a dotted module name inside the package."""
    parts = module.split(".")[1:]
    if not parts:
        return "app"
    if parts[0] == "hooks":
        return "library"
    if parts[0] == "telemetry":
        return "plugin"
    if parts[0] in SHARED:
        return "shared"
    assert parts[0] in APP, f"{module} is on no floor: put it in hooks/, telemetry/, or name it as the app"
    return "app"


# What each floor may import of the package (itself included).
MAY_IMPORT = {
    "shared": {"shared"},
    "library": {"shared", "library"},
    "plugin": {"shared", "library", "plugin"},
    "app": {"shared", "library", "plugin", "app"},
}


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__" and len(parts) > 1 and parts[-2] != NAME:
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, source: str | None = None) -> set[str]:
    """Every module of the package that `path` imports, at the top or inside a function."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(source if source is not None else path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == NAME)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != NAME:
                continue
            for alias in node.names:  # `from . import spool` imports a module; `from . import hint`, a name
                submodule = PACKAGE.parent / f"{target}.{alias.name}".replace(".", os.sep)
                is_module = submodule.is_dir() or submodule.with_suffix(".py").exists()
                found.add(f"{target}.{alias.name}" if is_module else target)
    return found


def upward_imports(path: Path, source: str | None = None) -> list[str]:
    floor = floor_of(module_name(path))
    return sorted(target for target in imports_of(path, source) if floor_of(target) not in MAY_IMPORT[floor])


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("module", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_imports_flow_one_way_app_plugin_library(module: Path) -> None:
    assert upward_imports(module) == []


def test_a_planted_upward_import_is_caught() -> None:
    group = PACKAGE / "hooks" / "group.py"
    planted = group.read_text(encoding="utf-8") + "\nfrom ..telemetry import record\nfrom .. import cli\n"
    assert upward_imports(group, planted) == [f"{NAME}.cli", f"{NAME}.telemetry.record"]
    record = PACKAGE / "telemetry" / "record.py"
    planted = record.read_text(encoding="utf-8") + "\n\ndef f():\n    from ..cli import TESTKUBE\n"
    assert upward_imports(record, planted) == [f"{NAME}.cli"]


def test_the_library_names_no_plugin() -> None:
    for path in (PACKAGE / "hooks").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for word in ("telemetry", "Telemetry", "segment", "ga4", "collector"):
            assert word not in text, f"{path.name} mentions {word!r}"


LIBRARY_ONLY_CLI = """
import sys
import click
from testkube_telemetry_plugin.hooks.group import HookedGroup
from testkube_telemetry_plugin.hooks.host import Host

@click.group(cls=HookedGroup, host=Host("solo", version="1.0", plugins=["echo_plugin"]))
def solo():
    pass

@solo.command()
def hello():
    click.echo("hello")

try:
    solo(["hello"], prog_name="solo")
except SystemExit as exc:
    ours = sorted(name for name in sys.modules if name.startswith("testkube_telemetry_plugin"))
    print(exc.code, " ".join(ours), file=sys.stderr)
"""


def test_a_cli_built_from_the_library_alone_imports_no_telemetry_module(site: Path, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", LIBRARY_ONLY_CLI], capture_output=True, text=True, timeout=60,
                            cwd=tmp_path, env={**os.environ, "HOME": str(tmp_path), "SOLO_HOME": str(tmp_path / "s")})
    assert result.stdout == "hello\n", result.stderr
    code, modules = result.stderr.strip().split(" ", 1)
    assert code == "0"
    assert all(floor_of(name) in ("library", "shared") or name == NAME for name in modules.split()), modules
    assert f"{NAME}.hooks.group" in modules.split()


def test_importing_the_group_does_not_build_the_testkube_cli() -> None:
    code = ("import sys; from testkube_telemetry_plugin import HookedGroup; "
            "print('testkube_telemetry_plugin.cli' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# What docs/delivery.md says no command's path imports (the flusher, `flush`, `status` and `show` may).
NEVER_ON_A_COMMANDS_PATH = {
    "pathlib", "dataclasses", "requests", "urllib3", "hashlib", "random", "subprocess", "json", "tomllib",
    "tomlkit", "shutil", "importlib.metadata", "socket", f"{NAME}.telemetry.delivery",
    f"{NAME}.telemetry.delivery.loop", f"{NAME}.telemetry.delivery.http", f"{NAME}.telemetry.acks",
    f"{NAME}.telemetry.config", f"{NAME}.telemetry.scrub", f"{NAME}.telemetry.commands.choice",
    f"{NAME}.telemetry.commands.status", f"{NAME}.telemetry.commands.flush", f"{NAME}.telemetry.commands.heartbeat",
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
    # Under an opt-out nothing is written, the cache included: a user who opted out after using it reads
    # the cache left from then (one who never had one scans the installed distributions on each command).
    if telemetry == "off":
        modules_at_exit(CONSOLE_SCRIPT, "plugins", cwd=work, env={"TESTKUBE_TELEMETRY_DELIVERY": "background"})
    for _ in range(3):
        imported = modules_at_exit(CONSOLE_SCRIPT, "plugins", cwd=work, env=env) - floor
    assert f"{NAME}.plugin" in imported
    assert (f"{NAME}.telemetry.spool" in imported) == (telemetry == "on")  # it did record, or not
    assert not imported & NEVER_ON_A_COMMANDS_PATH, sorted(imported & NEVER_ON_A_COMMANDS_PATH)
