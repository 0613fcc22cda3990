"""The adoption suite: Click CLIs written the way other projects write them
(tests/adoption/clis.py), each run unadopted and adopted as docs/plugins.md says,
with plugins installed through real entry points (tests/plugins/).

For every CLI: the adopted one prints the same stdout and stderr and exits with
the same code as the unadopted one, and the recording plugin sees exactly one
pre/post pair per command that ran (a post alone when none ran: usage errors,
--help), each with its own path, parameters, exit code and exception.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import click
import pytest
from adoption import clis
from conftest import install_plugin, run_testkube

from testkube_telemetry_plugin.cli import make_cli

TESTS = Path(__file__).parent
# (entry-point name, module) of the plugins every test here can load; ADOPT_LOAD_PLUGINS picks.
PLUGINS = {"record": "recording_plugin", "raising": "raising_plugin", "ordering": "ordering_plugin",
           "command": "command_plugin"}
Seq = list[tuple[Any, ...]]


# -- set-up --------------------------------------------------------------------
@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A site folder with the adoption plugins under `adopt.plugins` (and the recorder
    under `mycli.plugins`); only the recorder is loaded unless a test says otherwise."""
    folder = tmp_path / "site"
    folder.mkdir()
    for name, module in PLUGINS.items():
        install_plugin(folder, f"adopt-{name}", {name: module}, group=clis.PLUGIN_GROUP)
    mycli = tmp_path / "mycli-site"
    install_plugin(mycli, "mycli-record", {"record": "recording_plugin"}, group="mycli.plugins")
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.syspath_prepend(str(mycli))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(folder), str(mycli), str(TESTS), *sys.path]))
    for name in list(os.environ):
        if name.startswith(("ADOPT_", "MYCLI_")) or name.endswith("_COMPLETE") or name in (
                "RAISING_PLUGIN", "RECORDING_PLUGIN_LOG"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ADOPT_LOAD_PLUGINS", "record")
    import ordering_plugin
    import raising_plugin
    import recording_plugin

    recording_plugin.RECORDS.clear()
    ordering_plugin.CALLS.clear()
    raising_plugin.RAISED.clear()
    return recording_plugin


def seq(records: list[dict]) -> Seq:
    """The hook calls as (hook, path, params[, exit_code, exception]) tuples."""
    found: Seq = []
    for record in records:
        path = " ".join(record["path"])
        if record["hook"] == "pre":
            found.append(("pre", path, record["params"]))
        else:
            found.append(("post", path, record["params"], record["exit_code"], record["exception"]))
    return found


def ran(path: str, params: dict[str, Any], code: int = 0, exception: Optional[str] = None) -> Seq:
    """What a command that ran must leave: one pre, then one post."""
    return [("pre", path, params), ("post", path, params, code, exception)]


def post_only(path: str, code: int, exception: Optional[str], params: Optional[dict[str, Any]] = None) -> Seq:
    """What a unit in which no command ran must leave: one post."""
    return [("post", path, params or {}, code, exception)]


def result_of(result: Any) -> tuple[Any, ...]:
    return (result.exit_code, result.stdout, result.stderr, type(result.exception).__name__)


def compare(runner: Any, build: Callable[[bool], click.Group], args: list[str], prog: str,
            recorder: Any, **kwargs: Any) -> Any:
    """Run the CLI unadopted, then adopted: same output, same exit code. The adopted result."""
    plain = runner.invoke(build(False), args, prog_name=prog, **kwargs)
    assert recorder.RECORDS == []  # commands shared with adopted CLIs fire nothing outside one
    hooked = runner.invoke(build(True), args, prog_name=prog, **kwargs)
    assert result_of(hooked) == result_of(plain)
    return hooked


def script(folder: Path, name: str, body: str) -> Path:
    """A script file named `name` (no .py: Click takes the program name from it)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"from adoption import clis\n{body}\n")
    return path


def run(path: Path, *args: str, env: Optional[dict[str, str]] = None,
        stdin: Optional[str] = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(path), *args], capture_output=True, text=True, timeout=60,
                          input=stdin, env={**os.environ, **(env or {})})


def logged(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# -- one record per command, output unchanged --------------------------------------
USAGE = "UsageError"
CASES: list[tuple[str, Callable[[bool], click.Group], str, list[str], Seq]] = [
    # plain runs and nested plain groups
    ("plain", clis.nested, "tool", ["hello", "--name", "ann"], ran("tool hello", {"name": "ann"})),
    ("group option", clis.nested, "tool", ["--verbose", "hello"], ran("tool hello", {"name": "world"})),
    ("nested", clis.nested, "tool", ["db", "migrate", "--to", "5"], ran("tool db migrate", {"to": 5})),
    ("nested twice", clis.nested, "tool", ["db", "schema", "show", "users"],
     ran("tool db schema show", {"table": "users"})),
    ("ClickException", clis.nested, "tool", ["fail"], ran("tool fail", {}, 1, "ClickException")),
    ("ctx.exit(3)", clis.nested, "tool", ["exit3"], ran("tool exit3", {}, 3, "Exit")),
    ("exception", clis.nested, "tool", ["boom"], ran("tool boom", {}, 1, "ValueError")),
    # usage errors and --help: no command ran, one post
    ("unknown command", clis.nested, "tool", ["nosuch"], post_only("tool", 2, USAGE, {"verbose": False})),
    ("unknown nested command", clis.nested, "tool", ["db", "nosuch"], post_only("tool db", 2, USAGE)),
    ("bad option", clis.nested, "tool", ["hello", "--bad"], post_only("tool hello", 2, USAGE)),
    ("bad value", clis.nested, "tool", ["db", "migrate", "--to", "x"], post_only("tool db migrate", 2, USAGE)),
    ("missing option", clis.nested, "tool", ["db", "migrate"], post_only("tool db migrate", 2, USAGE)),
    ("--help", clis.nested, "tool", ["--help"], post_only("tool", 0, None)),
    ("nested --help", clis.nested, "tool", ["db", "schema", "--help"], post_only("tool db schema", 0, None)),
    ("leaf --help", clis.nested, "tool", ["db", "migrate", "--help"], post_only("tool db migrate", 0, None)),
    # chain=True: one pair per command, each with its own params
    ("chain", clis.chained, "pipe", ["a", "--n", "5", "b"],
     ran("pipe a", {"n": 5}) + ran("pipe b", {"label": "b"})),
    ("chain order", clis.chained, "pipe", ["b", "--label", "x", "a"],
     ran("pipe b", {"label": "x"}) + ran("pipe a", {"n": 1})),
    ("chain stops", clis.chained, "pipe", ["a", "stop", "b"],
     ran("pipe a", {"n": 1}) + ran("pipe stop", {}, 1, "ClickException")),
    ("chain usage error", clis.chained, "pipe", ["a", "b", "--bad"], post_only("pipe b", 2, USAGE)),
    # invoke_without_command
    ("no subcommand", clis.bare, "app", [], ran("app", {"color": True})),
    ("no subcommand, option", clis.bare, "app", ["--no-color"], ran("app", {"color": False})),
    ("subgroup without command", clis.bare, "app", ["config", "--all"], ran("app config", {"show_all": True})),
    ("through both", clis.bare, "app", ["config", "get", "k"], ran("app config get", {"key": "k"})),
    # the LazyGroup of Click's docs, at the root and under it, in both base-class orders
    ("lazy command", clis.lazy, "big", ["heavy", "--size", "3"], ran("big heavy", {"size": 3})),
    ("lazy group", clis.lazy, "big", ["tools", "sharpen", "x"], ran("big tools sharpen", {"name": "x"})),
    ("lazy, hooked first", functools.partial(clis.lazy, hooked_first=True), "big", ["heavy"],
     ran("big heavy", {"size": 1})),
    ("eager under lazy", clis.lazy, "big", ["light"], ran("big light", {})),
    ("nested lazy", clis.lazy, "big", ["more", "deep"], ran("big more deep", {})),
    ("nested lazy, unknown", clis.lazy, "big", ["more", "nosuch"], post_only("big more", 2, USAGE)),
    ("lazy --help", clis.lazy, "big", ["--help"], post_only("big", 0, None)),
    # click-default-group, in both base-class orders
    ("default, no args", clis.defaulted, "srv", [], ran("srv serve", {"host": "localhost", "port": "8000"})),
    ("default, an argument", clis.defaulted, "srv", ["8080"], ran("srv serve", {"host": "localhost", "port": "8080"})),
    ("default by name", clis.defaulted, "srv", ["serve", "--host", "h", "9"], ran("srv serve", {"host": "h", "port": "9"})),
    ("not the default", clis.defaulted, "srv", ["stop"], ran("srv stop", {})),
    ("default --help", clis.defaulted, "srv", ["--help"], post_only("srv", 0, None)),
    ("default, bad option", clis.defaulted, "srv", ["stop", "--bad"], post_only("srv stop", 2, USAGE)),
    ("hooked first, no args", functools.partial(clis.defaulted, hooked_first=True), "srv", [],
     ran("srv serve", {"host": "localhost", "port": "8000"})),
    ("hooked first, an argument", functools.partial(clis.defaulted, hooked_first=True), "srv", ["8080"],
     ran("srv serve", {"host": "localhost", "port": "8080"})),
    ("hooked first, stop", functools.partial(clis.defaulted, hooked_first=True), "srv", ["stop"],
     ran("srv stop", {})),
]


@pytest.mark.parametrize("build,prog,args,expected", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_same_output_and_one_record_per_command(plugins, runner, build, prog, args, expected) -> None:
    result = compare(runner, build, args, prog, plugins)
    assert seq(plugins.RECORDS) == expected
    assert plugins.RECORDS[-1]["exit_code"] == result.exit_code


def test_plugin_reports_show_in_debug_mode_only(plugins, runner, monkeypatch) -> None:
    quiet = runner.invoke(clis.chained(True), ["a", "b"], prog_name="pipe")
    assert "recorded" not in quiet.stderr
    monkeypatch.setenv("ADOPT_DEBUG", "1")
    debug = runner.invoke(clis.chained(True), ["a", "b"], prog_name="pipe")
    assert (debug.exit_code, debug.stdout) == (quiet.exit_code, quiet.stdout)
    assert debug.stderr == quiet.stderr + "pipe: recorded pipe a -> 0\npipe: recorded pipe b -> 0\n"


@pytest.mark.parametrize("hooked_first", [False, True], ids=["DefaultGroup first", "HookedGroup first"])
def test_a_plugin_command_runs_through_default_groups_lookup(plugins, runner, monkeypatch, hooked_first) -> None:
    monkeypatch.setenv("ADOPT_LOAD_PLUGINS", "record,command")
    build = functools.partial(clis.defaulted, True, hooked_first)
    result = runner.invoke(build(), ["plugged-in", "--times", "2"], prog_name="srv")
    assert (result.exit_code, result.stdout) == (0, "plugged-in ran 2\n")
    assert seq(plugins.RECORDS) == ran("srv plugged-in", {"times": 2})
    assert "plugged-in" in runner.invoke(build(), ["--help"], prog_name="srv").stdout


@pytest.mark.parametrize("build", [
    functools.partial(clis.defaulted, True, False), functools.partial(clis.defaulted, True, True),
    functools.partial(clis.lazy, True, False), functools.partial(clis.lazy, True, True),
    functools.partial(clis.nested, True), functools.partial(clis.chained, True),
], ids=["DefaultGroup first", "HookedGroup first", "LazyGroup first", "HookedGroup first (lazy)",
        "plain", "chain"])
def test_plugin_commands_exist_before_any_lookup(plugins, monkeypatch, build) -> None:
    """A context made by hand, as documentation generators (sphinx-click) make one."""
    monkeypatch.setenv("ADOPT_LOAD_PLUGINS", "command")
    cli = build()
    found = cli.get_command(click.Context(cli, info_name="x"), "plugged-in")
    assert found is not None and found.name == "plugged-in"
    cli = build()
    assert "plugged-in" in cli.list_commands(click.Context(cli, info_name="x"))


# -- shell completion ----------------------------------------------------------------
@pytest.mark.parametrize("build,prog,lists_commands", [
    (clis.nested, "tool", True), (clis.lazy, "big", True), (clis.chained, "pipe", True),
    # default_if_no_args: with no word typed yet, DefaultGroup resolves to its default command
    (functools.partial(clis.defaulted, hooked_first=False), "srv", False),
    (functools.partial(clis.defaulted, hooked_first=True), "srv", False),
])
def test_completion_fires_no_hooks_and_completes_plugin_commands(plugins, runner, monkeypatch, build, prog,
                                                                 lists_commands) -> None:
    monkeypatch.setenv("ADOPT_LOAD_PLUGINS", "record,command")

    def complete(adopted: bool, words: str) -> list[str]:
        env = {f"_{prog.upper()}_COMPLETE": "bash_complete", "COMP_WORDS": words,
               "COMP_CWORD": str(len(words.split(" ")) - 1)}
        result = runner.invoke(build(adopted), [], prog_name=prog, env=env)
        assert result.exit_code == 0
        return result.stdout.splitlines()

    assert complete(True, f"{prog} plugged-in --t") == ["plain,--times"]
    adopted, unadopted = complete(True, f"{prog} "), complete(False, f"{prog} ")
    if lists_commands:
        assert complete(True, f"{prog} plug") == ["plain,plugged-in"]
        assert sorted(adopted) == sorted([*unadopted, "plain,plugged-in"])
    else:
        assert adopted == unadopted
    assert plugins.RECORDS == []


def test_program_name_and_completion_variable_come_from_clicks_detection(plugins, tmp_path: Path) -> None:
    log = tmp_path / "records.jsonl"
    env = {"RECORDING_PLUGIN_LOG": str(log)}
    hooked = script(tmp_path / "hooked", "my-tool", "clis.nested(True)()")
    plain = script(tmp_path / "plain", "my-tool", "clis.nested(False)()")

    result = run(hooked, "hello", env=env)
    assert (result.returncode, result.stdout) == (0, "hello world\n")
    (pre, post) = logged(log)
    assert pre["path"] == post["path"] == ["my-tool", "hello"]
    assert post["host"]["display_name"] == "my-tool" and post["host"]["plugin_group"] == clis.PLUGIN_GROUP

    log.unlink()
    complete = {**env, "ADOPT_LOAD_PLUGINS": "record,command", "_MY_TOOL_COMPLETE": "bash_complete",
                "COMP_WORDS": "my-tool plug", "COMP_CWORD": "1"}
    result = run(hooked, env=complete)
    assert (result.returncode, result.stdout, result.stderr) == (0, "plain,plugged-in\n", "")
    assert logged(log) == []

    # The group's own name is not the program's: its variable means nothing to Click, nor to the hooks.
    other = {**env, "_TOOL_COMPLETE": "bash_complete", "COMP_WORDS": "tool ", "COMP_CWORD": "1"}
    adopted, unadopted = run(hooked, env=other), run(plain, env=other)
    assert (adopted.returncode, adopted.stdout, adopted.stderr) == (
        unadopted.returncode, unadopted.stdout, unadopted.stderr)
    assert "Usage: my-tool" in adopted.stdout + adopted.stderr
    assert [(r["hook"], r["path"], r["exit_code"]) for r in logged(log)] == [("post", ["my-tool"], adopted.returncode)]


# -- REPLs -----------------------------------------------------------------------------------
REPL_LINES = "add milk --tag food\ntags list --long\nnosuch\nfail\nadd\nadd eggs\n"
REPL_RECORDS = (
    ran("notes add", {"text": "milk", "tag": "food"})
    + ran("notes tags list", {"long_": True})
    + post_only("notes", 2, USAGE)
    + ran("notes fail", {}, 1, "ClickException")
    + post_only("notes add", 2, USAGE)
    + ran("notes add", {"text": "eggs", "tag": "none"})
)
# What each post hook is told the user typed: the line's words, not the command that read them.
REPL_ARGV = [line.split() for line in REPL_LINES.splitlines()]


def argv_of_posts(records: list[dict]) -> list[list[str]]:
    return [record["argv"] for record in records if record["hook"] == "post"]


@pytest.fixture
def prompt_input(monkeypatch: pytest.MonkeyPatch) -> Any:
    """click-repl at a terminal: its PromptSession reads from a prompt_toolkit pipe."""
    import click_repl._repl
    import click_repl.core
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    monkeypatch.setattr(click_repl._repl, "ISATTY", True)
    monkeypatch.setattr(click_repl.core, "ISATTY", True)
    with contextlib.ExitStack() as pipes:

        def feed(text: str) -> None:
            pipe = pipes.enter_context(create_pipe_input())
            pipe.send_text(text)
            pipe.close()  # the writing end: the REPL reads the lines, then end of input
            monkeypatch.setitem(clis.PROMPT_KWARGS, "input", pipe)
            monkeypatch.setitem(clis.PROMPT_KWARGS, "output", DummyOutput())

        yield feed


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # click-repl uses click.MultiCommand
def test_click_repl_at_a_prompt_fires_one_pair_per_line(plugins, runner, prompt_input) -> None:
    prompt_input(REPL_LINES)
    plain = runner.invoke(clis.shells(False), ["repl"], prog_name="notes")
    prompt_input(REPL_LINES)
    hooked = runner.invoke(clis.shells(True), ["repl"], prog_name="notes")
    assert result_of(hooked) == result_of(plain)
    assert "added milk [food]" in hooked.stdout and "added eggs [none]" in hooked.stdout
    assert seq(plugins.RECORDS) == [("pre", "notes repl", {})] + REPL_RECORDS + [("post", "notes repl", {}, 0, None)]
    assert argv_of_posts(plugins.RECORDS) == [*REPL_ARGV, ["repl"]]


def test_click_repl_reading_a_pipe_in_a_real_process(plugins, tmp_path: Path) -> None:
    log = tmp_path / "records.jsonl"
    hooked = run(script(tmp_path / "hooked", "notes", "clis.shells(True)()"), "repl",
                 env={"RECORDING_PLUGIN_LOG": str(log)}, stdin=REPL_LINES)
    plain = run(script(tmp_path / "plain", "notes", "clis.shells(False)()"), "repl", stdin=REPL_LINES)
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert hooked.returncode == 0 and "added eggs [none]" in hooked.stdout
    assert seq(logged(log)) == [("pre", "notes repl", {})] + REPL_RECORDS + [("post", "notes repl", {}, 0, None)]
    assert argv_of_posts(logged(log)) == [*REPL_ARGV, ["repl"]]


def test_a_repl_making_a_context_per_line(plugins, runner) -> None:
    hooked = compare(runner, clis.shells, ["shell"], "notes", plugins, input=REPL_LINES)
    assert "added eggs [none]" in hooked.stdout
    assert seq(plugins.RECORDS) == [("pre", "notes shell", {})] + REPL_RECORDS + [("post", "notes shell", {}, 0, None)]
    assert argv_of_posts(plugins.RECORDS) == [*REPL_ARGV, ["shell"]]


def test_a_repl_calling_ctx_invoke_and_forward(plugins, runner) -> None:
    lines = "add milk food\ntags long\nadd eggs\nforward\n"
    hooked = compare(runner, clis.shells, ["batch"], "notes", plugins, input=lines)
    assert hooked.stdout == "added milk [food]\ntags (long=True)\nadded eggs [none]\ntags (long=False)\n"
    assert seq(plugins.RECORDS) == (
        [("pre", "notes batch", {})]
        + ran("notes add", {"text": "milk", "tag": "food"})
        + ran("notes tags list", {"long_": True})  # where the command lives, not where it was called from
        + ran("notes add", {"text": "eggs", "tag": "none"})
        + ran("notes tags list", {"long_": False})  # ctx.forward
        + [("post", "notes batch", {}, 0, None)]
    )


# -- pluggy's semantics, with isolation -------------------------------------------------
def test_wrappers_of_both_styles_see_the_result_and_tryfirst_trylast_hold(plugins, runner, monkeypatch) -> None:
    import ordering_plugin

    monkeypatch.setenv("ADOPT_LOAD_PLUGINS", "record,ordering")
    compare(runner, clis.nested, ["hello"], "tool", plugins)
    calls = ordering_plugin.CALLS
    assert calls.index("tryfirst") < calls.index("trylast")
    for style in ("old-style", "new-style"):
        assert calls.index(f"{style} wrapper: before") < calls.index("tryfirst")
        assert (f"{style} wrapper: after", ["first", "last"]) in calls[calls.index("trylast"):]
    assert len(calls) == 6  # one post hook call: each implementation once
    assert seq(plugins.RECORDS) == ran("tool hello", {"name": "world"})


def test_hook_call_monitoring(plugins, runner) -> None:
    cli = clis.nested(True)
    seen: list[tuple[str, str, list[str]]] = []
    cli.plugin_manager.add_hookcall_monitoring(
        lambda name, impls, kwargs: seen.append(("before", name, [impl.plugin_name for impl in impls])),
        lambda outcome, name, impls, kwargs: seen.append(("after", name, outcome.get_result())),
    )
    assert runner.invoke(cli, ["db", "migrate", "--to", "1"], prog_name="tool").exit_code == 0
    assert seen == [  # the host's own hook names (no Testkube prefix); the recorder uses the library's marker
        ("before", "register_commands", []), ("after", "register_commands", []),
        ("before", "pre_command", ["record"]), ("after", "pre_command", []),
        ("before", "post_command", ["record"]), ("after", "post_command", []),
    ]


def test_trace_plugins_prints_calls_to_stderr_only(plugins, tmp_path: Path) -> None:
    tool = script(tmp_path / "bin", "tool", "clis.nested(True)()")
    quiet = run(tool, "hello", "--name", "ann")
    traced = run(tool, "hello", "--name", "ann", env={"ADOPT_TRACE_PLUGINS": "1"})
    assert (traced.returncode, traced.stdout) == (quiet.returncode, quiet.stdout) == (0, "hello ann\n")
    assert quiet.stderr == "said hello\n"
    for hook in ("register_commands", "pre_command", "post_command"):
        assert f"\n{hook}:\n" in traced.stderr and f"Results of {hook}: " in traced.stderr
    assert "Hook implementations: ['record']" in traced.stderr
    assert "said hello\n" in traced.stderr


@pytest.mark.parametrize("kind", ["KeyboardInterrupt", "SystemExit", "Exception"])
@pytest.mark.parametrize("where", ["pre", "post", "both", "wrapper"])
def test_a_raising_hook_changes_neither_output_nor_exit_code(plugins, tmp_path: Path, where, kind) -> None:
    log = tmp_path / "records.jsonl"
    hooked = script(tmp_path / "hooked", "tool", "clis.nested(True)()")
    plain = run(script(tmp_path / "plain", "tool", "clis.nested(False)()"), "exit3")
    env = {"ADOPT_LOAD_PLUGINS": "record,raising", "RAISING_PLUGIN": f"{where}:{kind}",
           "RECORDING_PLUGIN_LOG": str(log)}
    broken = run(hooked, "exit3", env=env)
    assert (broken.returncode, broken.stdout, broken.stderr) == (3, plain.stdout, plain.stderr)
    # The raising plugin runs first (tryfirst); the recorder still sees the whole pair.
    assert seq(logged(log)) == ran("tool exit3", {}, 3, "Exit")
    debug = run(hooked, "exit3", env={**env, "ADOPT_DEBUG": "1"})
    assert (debug.returncode, debug.stdout) == (3, plain.stdout)
    name = "RuntimeError" if kind == "Exception" else kind
    # A host other than Testkube names its hooks without Testkube's prefix.
    if where == "wrapper":
        assert f"a wrapper of post_command failed: {name}" in debug.stderr
    for hook in (["pre", "post"] if where == "both" else [where] if where != "wrapper" else []):
        assert f"plugin 'raising' failed in {hook}_command: {name}" in debug.stderr


@pytest.mark.parametrize("kind", ["KeyboardInterrupt", "SystemExit", "Exception"])
def test_raising_hooks_in_a_chain_and_a_repl(plugins, runner, monkeypatch, kind) -> None:
    import raising_plugin

    monkeypatch.setenv("ADOPT_LOAD_PLUGINS", "record,raising")
    monkeypatch.setenv("RAISING_PLUGIN", f"both:{kind}")
    compare(runner, clis.chained, ["a", "--n", "5", "b"], "pipe", plugins)
    assert seq(plugins.RECORDS) == ran("pipe a", {"n": 5}) + ran("pipe b", {"label": "b"})
    assert len(raising_plugin.RAISED) == 4
    plugins.RECORDS.clear()
    compare(runner, clis.shells, ["shell"], "notes", plugins, input="add milk\nnosuch\n")
    assert seq(plugins.RECORDS) == (
        [("pre", "notes shell", {})] + ran("notes add", {"text": "milk", "tag": "none"})
        + post_only("notes", 2, USAGE) + [("post", "notes shell", {}, 0, None)]
    )


# -- a host that is not Testkube ---------------------------------------------------------------
@pytest.mark.parametrize("form", ["one-line", "host"])
def test_a_non_testkube_host_leaves_testkube_alone(plugins, tmp_path: Path, isolated: Path, form) -> None:
    home = tmp_path / "user-home"
    home.mkdir()
    log = tmp_path / "records.jsonl"
    hooked = script(tmp_path / "hooked", "mycli", f"clis.mycli({form!r})()")
    plain = script(tmp_path / "plain", "mycli", "clis.mycli('plain')()")
    without_home = {k: v for k, v in os.environ.items() if k != "TESTKUBE_HOME"}
    for env in ({**without_home, "HOME": str(home)}, {**os.environ, "HOME": str(home)}):  # TESTKUBE_HOME unset, set
        for args in (["--help"], ["greet", "ann"], ["fail"], ["nosuch"]):
            adopted = subprocess.run([sys.executable, str(hooked), *args], capture_output=True, text=True,
                                     env={**env, "RECORDING_PLUGIN_LOG": str(log)}, timeout=60)
            unadopted = subprocess.run([sys.executable, str(plain), *args], capture_output=True, text=True,
                                       env=env, timeout=60)
            assert (adopted.returncode, adopted.stdout, adopted.stderr) == (
                unadopted.returncode, unadopted.stdout, unadopted.stderr)  # no notice, no telemetry commands
            assert "telemetry" not in adopted.stdout + adopted.stderr
    assert not (home / ".testkube").exists() and not isolated.exists()
    assert set(os.listdir(home)) <= {".mycli"}  # the declared host's own folder (its entry-point cache)
    records = logged(log)
    assert [(r["hook"], r["path"], r["exit_code"]) for r in records if r["hook"] == "post"] == [
        ("post", ["mycli"], 0), ("post", ["mycli", "greet"], 0), ("post", ["mycli", "fail"], 1),
        ("post", ["mycli"], 2)] * 2
    hosts = {json.dumps(r["host"], sort_keys=True) for r in records}
    assert [json.loads(h) for h in hosts] == [{
        "name": "mycli", "display_name": "mycli", "version": "2.0",
        "plugin_group": "mycli.plugins", "env_prefix": "MYCLI"}]


def test_a_non_testkube_host_in_process_gets_no_telemetry(plugins, runner, isolated: Path, tmp_path: Path,
                                                          monkeypatch) -> None:
    home = tmp_path / "user-home"
    monkeypatch.setenv("HOME", str(home))
    for form in ("one-line", "host"):
        cli = clis.mycli(form)
        result = runner.invoke(cli, ["greet", "ann"], prog_name="mycli-dev")
        assert (result.exit_code, result.stdout, result.stderr) == (0, "hi ann\n", "")
        assert "telemetry" not in cli.commands
        assert [name for name, _ in cli.plugin_manager.list_name_plugin()] == ["record"]
    assert not isolated.exists() and not (home / ".testkube").exists()
    # Not declared: the program's name as Click detects it. Declared: the declared name.
    assert [r["path"][0] for r in plugins.RECORDS if r["hook"] == "post"] == ["mycli-dev", "mycli"]


def test_a_host_with_telemetry_of_its_own_uses_its_own_name_and_folder(plugins, runner, isolated: Path,
                                                                      tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "user-home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("MYCLI_TELEMETRY_DELIVERY", "inline")
    result = runner.invoke(clis.mycli("telemetry"), ["greet", "ann"], prog_name="mycli")
    assert (result.exit_code, result.stdout) == (0, "hi ann\n")
    # The notice names the opt-out form that works here: a host that did not ask for root-level commands
    # gets none (its command names stay its own), and reaches telemetry through `--telemetry`.
    assert "MyCLI collects anonymous usage data" in result.stderr and "`mycli --telemetry disable`" in result.stderr
    assert "`mycli --telemetry show`" in result.stderr and "mycli telemetry show" not in result.stderr
    assert "estkube" not in result.stderr
    shown = runner.invoke(clis.mycli("telemetry"), ["--telemetry", "show", "--json"], prog_name="mycli")
    pending = json.loads(shown.stdout)["pending"]
    commands = [e["properties"] for e in pending if e["event"] == "mycli_cli_command"]  # events named after it
    assert [(c["host"], c["host_version"], c["command"]) for c in commands] == [("mycli", "2.0", "greet")]
    assert runner.invoke(clis.mycli("telemetry"), ["telemetry", "show"], prog_name="mycli").exit_code == 2
    # Its home is the platform's place for it: $XDG_CONFIG_HOME/mycli here.
    assert (Path(os.environ["XDG_CONFIG_HOME"]) / "mycli").is_dir()
    assert not (home / ".testkube").exists() and not isolated.exists()


# -- the catalogue reads options by the flags users type ------------------------------------
@pytest.mark.parametrize("args,expected", [
    (["create", "test", "t1", "--type", "k6/script", "--file", "/home/alice/t.js"],
     {"test_type": "k6/script", "test_source": "file"}),
    (["create", "test", "t1", "-t", "curl/test"], {"test_type": "curl/test"}),
])
def test_catalogue_finds_options_whatever_their_python_names(runner, tmp_path: Path, monkeypatch, args,
                                                             expected) -> None:
    folder = tmp_path / "testkube-site"
    install_plugin(folder, "renamed-options", {"renamed": "renamed_options_plugin"})
    install_plugin(folder, "recorder", {"record": "recording_plugin"})
    monkeypatch.syspath_prepend(str(folder))
    import recording_plugin

    recording_plugin.RECORDS.clear()
    cli = make_cli()
    assert runner.invoke(cli, args).stdout == "created t1\n"
    post = recording_plugin.RECORDS[-1]
    assert post["path"] == ["testkube", "create", "test"]
    assert post["options"]["--type"] == post["options"]["-t"] == post["params"]["test_type"]
    assert post["options"]["--file"] == post["params"]["file_"]
    pending = json.loads(runner.invoke(make_cli(), ["telemetry", "show", "--json"]).stdout)["pending"]
    created = [e["properties"] for e in pending if e["event"] == "testkube_cli_create_test"]
    assert len(created) == 1
    assert {k: v for k, v in created[0].items() if k.startswith("test_")} == expected


# -- docs/plugins.md's plugin project, as a user installs it ----------------------------------
def readme_plugin_project() -> dict[str, str]:
    """docs/plugins.md's plugin project: each block under "A plugin, as a project" that starts with `# <file>`."""
    text = (TESTS.parent / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = text.split("## A plugin, as a project", 1)[1].split("\n## ", 1)[0]
    files = {}
    for block in re.findall(r"```[a-z]*\n(.*?)```", section, re.S):
        named = re.fullmatch(r"# ([\w.-]+\.(?:toml|py))", block.partition("\n")[0])
        if named:
            files[named.group(1)] = block
    return files


def builds_pyproject_here() -> bool:
    """Whether this interpreter can build the project without an isolated build environment:
    setuptools 61+ reads `[project]`; before 70.1 it needs `wheel` for `bdist_wheel`."""
    from importlib import metadata

    try:
        version = tuple(int(part) for part in metadata.version("setuptools").split(".")[:2])
        if version >= (70, 1):
            return True
        return version >= (61, 0) and bool(metadata.version("wheel"))
    except (metadata.PackageNotFoundError, ValueError):
        return False


@pytest.mark.reliability
def test_the_readme_plugin_project_installs_and_runs(tmp_path: Path, isolated: Path) -> None:
    files = readme_plugin_project()
    assert set(files) == {"pyproject.toml", "testkube_hello.py"}
    project = tmp_path / "testkube-hello"
    project.mkdir()
    for name, text in files.items():
        (project / name).write_text(text, encoding="utf-8")
    target = tmp_path / "target"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(project)]
    if builds_pyproject_here():
        pip.insert(4, "--no-build-isolation")
    installed = subprocess.run(pip, capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr
    env = {"PYTHONPATH": os.pathsep.join([str(target), *sys.path])}

    listed = run_testkube("--help", env=env)
    assert re.search(r"^  hello +Say hello\.$", listed.stdout, re.M), listed.stdout
    ran = run_testkube("hello", "--name", "ann", env=env)
    assert (ran.returncode, ran.stdout) == (0, "hello ann\n")
    assert ran.stderr.endswith("testkube hello exited 0\n")  # after the one-time telemetry notice
    plugins = run_testkube("plugins", env=env)
    assert "hello  (testkube-hello 0.1.0)  hooks: testkube_post_command, testkube_register_commands" in plugins.stdout


# -- docs/plugins.md's adoption examples, run as written ------------------------------------------
def readme_adoption_examples() -> list[str]:
    text = (TESTS.parent / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = text.split("## Adopting the contract in another Click CLI", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


# Run after each example: a command on its group, and a plugin that reports each post hook on stderr.
EXAMPLE_RUN = """
import sys, types
from testkube_telemetry_plugin import hookimpl

@mycli.command()
def hello():
    click.echo("hello")

reporter = types.ModuleType("reporter")
reporter.post = hookimpl(specname="testkube_post_command")(
    lambda invocation, outcome: print("post", " ".join(invocation.command_path), outcome.exit_code, file=sys.stderr))
mycli.plugin_manager.register(reporter, "reporter")
mycli(sys.argv[1:], prog_name="mycli")
"""


@pytest.mark.parametrize("index", range(3))
def test_each_documented_adoption_example_runs_as_written_and_fires_the_hooks(index: int, isolated: Path,
                                                                              tmp_path: Path) -> None:
    examples = readme_adoption_examples()
    assert len(examples) == 3
    home = tmp_path / "mycli"
    env = {**os.environ, "HOME": str(tmp_path), "MYCLI_HOME": str(home),
           "MYCLI_TELEMETRY_SEGMENT_URL": "http://127.0.0.1:9", "MYCLI_TELEMETRY_DELIVERY": "inline"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", examples[index] + EXAMPLE_RUN, *args], capture_output=True,
                              text=True, timeout=60, cwd=tmp_path, env=env)

    helped = run("--help")
    assert helped.returncode == 0 and helped.stdout.startswith("Usage: mycli"), helped.stderr
    ran = run("hello")
    assert (ran.returncode, ran.stdout) == (0, "hello\n"), ran.stderr
    assert "post mycli hello 0" in ran.stderr.splitlines()
    spooled = "".join(path.read_text() for path in home.glob("telemetry/spool/*"))
    if "Telemetry(" in examples[index]:  # the host asked for telemetry: its own events, under its own name
        assert '"event":"mycli_cli_command"' in spooled and "testkube" not in spooled
    else:  # no telemetry, no files
        assert spooled == "" and not (tmp_path / ".testkube").exists()
