"""Real CLIs from PyPI (pinned in tox's `adoption` envs), adopted from outside with `adopt()`.

For each: ten or more invocations (help, version, runs, usage errors, a real
Ctrl-C) run unadopted and adopted in real processes through
`tests/adoption/launch.py`, and the suite checks that

- stdout, stderr and the exit code are the same (the one-time notice aside),
  except `NAME --telemetry ...`, which was a usage error and now works;
- exactly one hook pair fires per command that ran (a post alone where none
  ran), pre and post matching, and the last post carries the exit code;
- the events go out under the CLI's own name, with no Testkube event;
- its own opt-out is reachable (`NAME --telemetry disable`), and after it
  nothing more is recorded.

The CLIs are not this project's dependencies: in an env without them these
tests skip, and with ADOPTION_SUITE=1 (the tox envs) a missing one fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

import pytest

from testkube_telemetry_plugin import Host
from testkube_telemetry_plugin.telemetry.record import notice_text

TESTS = Path(__file__).parent
LAUNCH = TESTS / "adoption" / "launch.py"
CTRL_C = "<ctrl-c>"  # as the stdin of an invocation: send SIGINT once the process waits for input

# name: (the distribution it needs, [(args, stdin), ...])
INVOCATIONS: dict[str, tuple[str, list[tuple[list[str], Optional[str]]]]] = {
    "sqlite-utils": ("sqlite_utils", [
        (["--help"], None), (["tables", "--help"], None), (["--version"], None),
        (["tables", "data.db"], None), (["data.db", "select name from t order by id"], None),  # the default command
        (["rows", "data.db", "t"], None),  # `rows` runs `query` through ctx.invoke
        (["query", "data.db", "select * from nosuch"], None), (["tables"], None), (["tables", "data.db", "--bad"], None),
        (["status"], None),  # a word the default command receives, as before
        (["insert", "data.db", "t", "-"], CTRL_C),
    ]),
    "flask": ("flask", [
        (["--help"], None), (["--version"], None), (["routes", "--help"], None), (["--app", "app", "routes"], None),
        (["--app", "nosuch", "routes"], None), (["nosuch"], None), (["--app", "app", "routes", "--bad"], None),
        (["--app", "app", "routes", "--sort", "x"], None), (["--app", "app", "shell"], CTRL_C),
        (["run", "--help"], None),
    ]),
    "black": ("black", [
        (["--help"], None), (["--version"], None), (["--check", "good.py"], None), (["--check", "ugly.py"], None),
        (["bad.py"], None), (["--bad"], None), (["missing.py"], None), (["-c", "x  =  1"], None),
        (["--telemetr"], None), (["good.py", "--telemetry", "status"], None), (["-"], CTRL_C),
    ]),
    "cookiecutter": ("cookiecutter", [
        (["--help"], None), (["--version"], None), (["tpl", "--no-input", "-o", "out"], None),
        (["--no-input", "tpl", "-o", "out", "name=other"], None), (["nosuch-template", "--no-input"], None),
        (["--bad"], None), ([], None), (["tpl", "--no-input", "-o", "out", "--telemetry"], None),
        (["tpl", "-o", "out"], CTRL_C), (["tpl", "--list-installed"], None),
    ]),
    "rich-click": ("rich_click", [
        (["--help"], None), (["--version"], None), (["--bad"], None), (["nosuch_module:cli"], None),
        (["runme:cli", "--help"], None), (["runme:cli", "hello"], None), (["runme:cli", "nosuch"], None),
        (["--output", "html", "runme:cli", "--help"], None), (["runme:cli", "--bad"], None),
        (["runme:cli", "wait"], CTRL_C),
    ]),
    "rich-group": ("rich_click", [
        (["--help"], None), (["hello", "--name", "x"], None), (["db", "migrate", "--to", "3"], None),
        (["db", "--help"], None), (["db", "migrate"], None), (["nosuch"], None), (["fail"], None),
        (["--verbose", "hello"], None), ([], None), (["hello", "--bad"], None), (["wait"], CTRL_C),
    ]),
    "typer-group": ("typer", [
        (["--help"], None), (["hello", "--name", "x"], None), (["hello", "--help"], None), (["nosuch"], None),
        (["db", "migrate", "--to", "3"], None), (["db", "migrate"], None), (["fail"], None), ([], None),
        (["--verbose", "hello"], None), (["db", "migrate", "--to", "x"], None), (["wait"], CTRL_C),
    ]),
    "typer-single": ("typer", [
        (["a", "--upper", "b"], None), (["--help"], None), (["--bad"], None), ([], None),
        (["a", "--telemetry", "status"], None), (["--", "--telemetry"], None), (["a", "--upper", "--upper"], None),
        (["x", "y", "z"], None), (["--upper"], None), (["x", "--wait"], CTRL_C),
    ]),
}
REQUIRED = os.environ.get("ADOPTION_SUITE") == "1"


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def prepare(work: Path) -> None:
    """The files the invocations use, laid anew before each run so both runs see the same."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    import sqlite3

    with sqlite3.connect(work / "data.db") as db:
        db.execute("create table t (id integer primary key, name text)")
        db.executemany("insert into t (name) values (?)", [("ann",), ("bob",)])
    db.close()
    (work / "app.py").write_text("from flask import Flask\napp = Flask(__name__)\n\n\n"
                                 "@app.route('/')\ndef index():\n    return 'hi'\n")
    (work / "good.py").write_text("x = 1\n")
    (work / "ugly.py").write_text("x  =  [1,2]\n")
    (work / "bad.py").write_text("x = (\n")
    template = work / "tpl"
    (template / "{{cookiecutter.name}}").mkdir(parents=True)
    (template / "cookiecutter.json").write_text('{"name": "demo"}\n')
    (template / "{{cookiecutter.name}}" / "README.txt").write_text("{{cookiecutter.name}}\n")
    (work / "runme.py").write_text(
        "import sys\nimport click\n\n\n@click.group()\ndef cli():\n    '''A script rich-click runs.'''\n\n\n"
        "@cli.command()\ndef hello():\n    click.echo('hello')\n\n\n"
        "@cli.command()\ndef wait():\n    sys.stdin.readline()\n")


def waiting(pid: int) -> bool:
    """The process sleeps and its CPU time stands still: it is waiting for input."""
    samples = []
    for _ in range(4):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return False
        samples.append((fields[0], int(fields[11]) + int(fields[12])))
        time.sleep(0.1)
    return all(state == "S" for state, _ in samples) and len({cpu for _, cpu in samples}) == 1


def launch(name: str, args: list[str], stdin: Optional[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    command = [sys.executable, str(LAUNCH), name, *args]
    if stdin != CTRL_C:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, cwd=cwd,
                              input=stdin or "")
        return done.returncode, done.stdout, done.stderr
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env, cwd=cwd)
    deadline = time.monotonic() + 60
    time.sleep(0.3)
    while not waiting(process.pid):
        assert process.poll() is None, f"{name} {args} ended before it waited for input"
        assert time.monotonic() < deadline, f"{name} {args} never waited for input"
    process.send_signal(signal.SIGINT)
    time.sleep(0.2)
    out, err = process.communicate(timeout=60)  # closes stdin: a CLI that carries on after Ctrl-C ends at EOF
    return process.returncode, out, err


def check_hooks(records: list[dict[str, Any]], code: int, label: str) -> list[tuple[str, ...]]:
    """Pre and post match; exactly one post closes the run, with the exit code. Returns the outermost paths."""
    assert records, f"{label}: no hook fired"
    stack: list[tuple[str, ...]] = []
    outermost = []
    for record in records:
        path = tuple(record["path"])
        if record["hook"] == "pre":
            stack.append(path)
            continue
        if stack:
            assert stack.pop() == path, f"{label}: post {path} does not close the pre before it"
        if not stack:
            outermost.append(path)
    assert not stack, f"{label}: a pre without its post"
    assert len(outermost) == 1, f"{label}: {len(outermost)} runs recorded for one command line"
    assert records[-1]["hook"] == "post" and records[-1]["exit_code"] == code, f"{label}: {records[-1]}"
    return outermost


@pytest.mark.parametrize("name", list(INVOCATIONS))
def test_a_real_cli_adopted_from_outside(name: str, tmp_path: Path) -> None:
    module, invocations = INVOCATIONS[name]
    if not installed(module):
        if REQUIRED:
            pytest.fail(f"{module} is not installed in this adoption env")
        pytest.skip(f"{module} is not installed (tox -e adoption installs it)")
    work, home, log = tmp_path / "work", tmp_path / "home", tmp_path / "records.jsonl"
    telemetry_home = tmp_path / "telemetry-home"
    host = Host(name)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("XDG_", "TESTKUBE_", host.env_prefix + "_", "FLASK_")) and key != "DO_NOT_TRACK"}
    env.update(HOME=str(home), COLUMNS="100", TERM="dumb", NO_COLOR="1", PYTHONPATH=os.pathsep.join(
        [str(TESTS), str(TESTS / "plugins"), str(work), *sys.path]))
    adopted_env = {**env, "ADOPT": "1", "RECORDING_PLUGIN_LOG": str(log), host.env("HOME"): str(telemetry_home)}
    notice = notice_text(host) + "\n"
    posts = 0
    for args, stdin in invocations:
        label = f"{name} {' '.join(args)}"
        for folder in (work, home):
            prepare(folder) if folder is work else (shutil.rmtree(folder, ignore_errors=True), folder.mkdir())
        plain = launch(name, args, stdin, env, work)
        for folder in (work, home):
            prepare(folder) if folder is work else (shutil.rmtree(folder, ignore_errors=True), folder.mkdir())
        log.unlink(missing_ok=True)
        adopted = launch(name, args, stdin, adopted_env, work)
        adopted = (adopted[0], adopted[1], adopted[2].replace(notice, "", 1))
        assert adopted == plain, label
        records = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        check_hooks(records, adopted[0], label)
        posts += sum(record["hook"] == "post" for record in records)
        assert {r["host"]["name"] for r in records} == {name}
    assert len(invocations) >= 10 and any(stdin == CTRL_C for _, stdin in invocations)

    # The telemetry form: a usage error before adoption, the telemetry commands after.
    prepare(work)
    plain = launch(name, ["--telemetry", "status"], None, env, work)
    assert plain[0] == 2 and "--telemetry" in plain[2]
    log.unlink(missing_ok=True)
    shown = launch(name, ["--telemetry", "show", "--json"], None, adopted_env, work)
    assert shown[0] == 0, shown
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert check_hooks(records, 0, "--telemetry show") == [(name, "telemetry", "show")]
    events = json.loads(shown[1])["pending"]
    names = {event["event"] for event in events}
    stem = "".join(ch if ch.isalnum() else "_" for ch in name)
    assert f"{stem}_cli_command" in names and f"{stem}_cli_install" in names
    assert not [event for event in names if "testkube" in event.lower()]
    commands = [e["properties"]["command"] for e in events if e["event"] == f"{stem}_cli_command"]
    assert len(commands) == posts and all(e["properties"]["host"] == name for e in events)  # one per post

    # Its own opt-out: reachable, and nothing recorded after it.
    off = launch(name, ["--telemetry", "disable"], None, adopted_env, work)
    assert off[0] == 0, off
    status = json.loads(launch(name, ["--telemetry", "status", "--json"], None, adopted_env, work)[1])
    assert status["enabled"] is False
    launch(name, invocations[0][0], None, adopted_env, work)
    after = json.loads(launch(name, ["--telemetry", "show", "--json"], None, adopted_env, work)[1])["pending"]
    assert not [e for e in after if e["event"] == f"{stem}_cli_command"]


DOCUMENTED = """
import sys
from testkube_telemetry_plugin.hooks.adoption import root_of
FORM = sys.argv[1]
namespace = {}
exec(FORM, namespace)
adopted = [value for value in namespace.values() if "_hooked_root" in getattr(value, "__dict__", {})]
assert len(adopted) == 1, adopted
sys.stderr.write(root_of(adopted[0]).host.display_name + "\\n")
adopted[0](["--help"], prog_name="x")
"""


@pytest.mark.parametrize("module", ["sqlite_utils", "black"])
def test_the_documented_forms_run_as_written(module: str, tmp_path: Path) -> None:
    from test_adopt import documented_forms

    if not installed(module):
        if REQUIRED:
            pytest.fail(f"{module} is not installed in this adoption env")
        pytest.skip(f"{module} is not installed (tox -e adoption installs it)")
    (form,) = [form for form in documented_forms() if form.startswith(f"from {module}")]
    done = subprocess.run([sys.executable, "-c", DOCUMENTED, form], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, env={**os.environ, "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: x ") and done.stderr.splitlines()[0] in ("sqlite-utils", "black")


@pytest.mark.parametrize("order", ["RichGroup first", "HookedGroup first"])
def test_rich_click_class_form_in_either_order_keeps_one_root(order: str, run_cli: Any) -> None:
    """rich-click's RichGroup.main() never calls super().main(), and its group_class = type makes every
    subgroup a RichGroup subclass of the root's class: still one root, one pair per command."""
    if not installed("rich_click"):
        if REQUIRED:
            pytest.fail("rich_click is not installed in this adoption env")
        pytest.skip("rich_click is not installed (tox -e adoption installs it)")
    import rich_click

    from testkube_telemetry_plugin import HookedGroup

    bases = (rich_click.RichGroup, HookedGroup) if order == "RichGroup first" else (HookedGroup, rich_click.RichGroup)
    root_class = type("Root", bases, {})

    @rich_click.group(cls=root_class, host=Host("tool"))
    def tool() -> None:
        """A rich tool."""

    @tool.group()
    def db() -> None:
        """Database."""

    @db.command()
    def migrate() -> None:
        rich_click.echo("migrated")

    assert type(db) is root_class and "_hooked_root" not in vars(db)
    result = run_cli(tool, ["db", "migrate"])
    assert (result.exit_code, result.stdout) == (0, "migrated\n")
    assert [(call["hook"], " ".join(call["path"])) for call in result.hooks] == [
        ("pre", "tool db migrate"), ("post", "tool db migrate")]
    helped = run_cli(tool, ["db", "--help"])
    assert helped.exit_code == 0 and [call["status"] for call in helped.posts] == ["help"]


@pytest.mark.filterwarnings("ignore:.*will be removed in Click 9.0:DeprecationWarning")  # Typer 0.25 on Click 8.2+
def test_typer_in_process_and_typer_run(run_cli: Any) -> None:
    """typer.testing.CliRunner builds the command itself (not through app()): it is adopted all the same;
    and `typer.run(main)`'s app, through adopt_function."""
    if not installed("typer"):
        if REQUIRED:
            pytest.fail("typer is not installed in this adoption env")
        pytest.skip("typer is not installed (tox -e adoption installs it)")
    from adoption import written

    from testkube_telemetry_plugin import Telemetry, adopt, adopt_function

    app = adopt(written.typer_group(), Host("tool", plugins=[Telemetry()]))
    result = run_cli(app, ["db", "migrate", "--to", "3"])
    assert (result.exit_code, result.stdout) == (0, "migrated to 3\n")
    assert [(c["hook"], " ".join(c["path"])) for c in result.hooks] == [("pre", "tool db migrate"),
                                                                       ("post", "tool db migrate")]
    assert run_cli(app, ["fail"]).posts[-1]["exit_code"] == 4
    assert "tool_cli_command" in {event["event"] for event in result.events}

    def main(name: str, upper: bool = False) -> None:
        print(name.upper() if upper else name)

    run = adopt_function(main, Host("solo"))
    ran = run_cli(run, ["ann", "--upper"])
    assert (ran.exit_code, ran.stdout) == (0, "ANN\n")
    assert [(c["hook"], " ".join(c["path"]), c.get("exit_code")) for c in ran.hooks] == [
        ("pre", "solo", None), ("post", "solo", 0)]
