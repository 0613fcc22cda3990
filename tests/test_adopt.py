"""`adopt(obj, host)` on CLIs that are already built, as other projects build them; and what events mean.

Uses this project's own pytest plugin (`run_cli`, from the `pytest11` entry
point): each CLI runs in-process with a recording plugin, its home in the
test's folder, and the events it would send captured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click
import pluggy
import pytest
from click_default_group import DefaultGroup

from testkube_telemetry_plugin import HookedGroup, Host, Telemetry, adopt, hookimpl
from testkube_telemetry_plugin.cli import TESTKUBE, make_cli
from testkube_telemetry_plugin.hooks import specs
from testkube_telemetry_plugin.hooks.adoption import plugin_manager_of

TESTS = Path(__file__).parent


def paths(result: Any) -> list[tuple[str, str, Any]]:
    """(hook, path, exit code or None) of each hook call."""
    return [(call["hook"], " ".join(call["path"]), call.get("exit_code")) for call in result.hooks]


def same(runner: Any, build: Any, args: list[str], prog: str, adopted: Any) -> None:
    """The unadopted CLI prints and exits exactly as the adopted one did (the one-time notice aside)."""
    from testkube_telemetry_plugin.telemetry.record import notice_text

    plain = runner.invoke(build(), args, prog_name=prog)
    stderr = adopted.stderr.replace(notice_text(Host(prog)) + "\n", "")
    assert (adopted.exit_code, adopted.stdout, stderr) == (plain.exit_code, plain.stdout, plain.stderr)


# -- CLIs as their projects build them ----------------------------------------------------------------
def server() -> click.Group:
    """A module-level DefaultGroup, as sqlite-utils, llm and datasette have (console script -> instance)."""

    @click.group(cls=DefaultGroup, default="serve", default_if_no_args=True)
    @click.version_option("1.0", prog_name="srv")
    def srv() -> None:
        """A server."""

    @srv.command()
    @click.argument("what", required=False, default="all")
    def serve(what: str) -> None:
        click.echo(f"serving {what}")

    @srv.command()
    def stop() -> None:
        click.echo("stopped")

    return srv


def joiner() -> click.Command:
    """A single command with interspersed options, as black and cookiecutter are."""

    @click.command()
    @click.argument("src", nargs=-1)
    @click.option("-u", "--upper", is_flag=True)
    @click.option("--code", type=int, default=0)
    def join(src: tuple[str, ...], upper: bool, code: int) -> None:
        """Join SRC words."""
        text = " ".join(src)
        click.echo(text.upper() if upper else text)
        if code:
            sys.exit(code)

    return join


class OwnMain(click.Group):
    """A group whose main() never calls super().main() (rich-click's, Typer's) and maps Ctrl-C to 130 (Typer's),
    with `group_class = type` (Click's idiom, rich-click's default): subgroups are of this class too."""

    group_class = type

    def main(self, args: Any = None, prog_name: Any = None, complete_var: Any = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        args = list(sys.argv[1:] if args is None else args)
        try:
            with self.make_context(prog_name or "own", args, **extra) as ctx:
                self.invoke(ctx)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except (KeyboardInterrupt, click.Abort):
            sys.exit(130)
        sys.exit(0)


def own_main(cls: type = OwnMain, **extra: Any) -> click.Group:
    @click.group(cls=cls, **extra)
    def own() -> None:
        """Own main."""

    @own.group()
    def db() -> None:
        """A subgroup: built by group_class = type, so of the root's class."""

    @db.command()
    def migrate() -> None:
        click.echo("migrated")

    @own.command()
    def interrupt() -> None:
        raise KeyboardInterrupt

    return own


# -- adopt(): any built command -------------------------------------------------------------------------
@pytest.mark.parametrize("args,expected", [
    (["stop"], [("pre", "srv stop", None), ("post", "srv stop", 0)]),
    ([], [("pre", "srv serve", None), ("post", "srv serve", 0)]),
    (["x"], [("pre", "srv serve", None), ("post", "srv serve", 0)]),
    (["--version"], [("post", "srv", 0)]),
    (["stop", "--bad"], [("post", "srv stop", 2)]),
    (["status"], [("pre", "srv serve", None), ("post", "srv serve", 0)]),  # never taken from the default command
])
def test_a_built_default_group_keeps_its_output_and_fires_one_pair_per_command(run_cli, runner, args,
                                                                             expected) -> None:
    cli = adopt(server(), Host("srv", version="1.0", plugins=[Telemetry()]))
    result = run_cli(cli, args, prog_name="srv")
    same(runner, server, args, "srv", result)
    assert paths(result) == expected
    assert result.posts[-1]["exit_code"] == result.exit_code
    assert "telemetry" not in cli.commands and "status" not in cli.commands  # nothing added at the root


def test_the_telemetry_form_of_a_host_that_did_not_ask_for_root_commands(run_cli) -> None:
    cli = adopt(server(), Host("srv", version="1.0", plugins=[Telemetry()]))
    run_cli(cli, ["stop"])
    status = run_cli(cli, ["--telemetry", "status", "--json"])
    assert status.exit_code == 0 and json.loads(status.stdout)["enabled"] is True
    assert paths(status)[-2:] == [("pre", "srv telemetry status", None), ("post", "srv telemetry status", 0)]
    assert "Turn it off with `srv --telemetry disable`" in run_cli(cli, ["--telemetry", "status"]).stdout
    off = run_cli(cli, ["--telemetry", "disable"])
    assert off.exit_code == 0
    assert json.loads(run_cli(cli, ["--telemetry", "status", "--json"]).stdout)["enabled"] is False
    usage = run_cli(cli, ["--telemetry", "nosuch"])
    assert usage.exit_code == 2 and "Usage: srv --telemetry [OPTIONS] COMMAND" in usage.stderr


@pytest.mark.parametrize("args,code,expected", [
    (["a", "--upper", "b"], 0, "A B\n"),  # interspersed options keep working
    (["--upper", "a", "--", "--telemetry"], 0, "A --TELEMETRY\n"),
    (["a", "--telemetry", "status"], 2, ""),  # claimed as the first word only: elsewhere a usage error, as before
    (["--telemetr"], 2, ""),
    (["--help"], 0, None),
    (["x", "--code", "3"], 3, "x\n"),
])
def test_a_single_command_keeps_its_parsing_usage_and_help(run_cli, runner, args, code, expected) -> None:
    cli = adopt(joiner(), Host("join", plugins=[Telemetry()]))
    result = run_cli(cli, args, prog_name="join")
    same(runner, joiner, args, "join", result)
    assert result.exit_code == code
    if expected is not None:
        assert result.stdout == expected
    posts = result.posts
    assert len(posts) == 1 and posts[0]["path"] == ("join",) and posts[0]["exit_code"] == code
    assert [call["hook"] for call in result.hooks].count("pre") == (1 if code != 2 and args != ["--help"] else 0)


def test_a_single_commands_telemetry_form(run_cli) -> None:
    cli = adopt(joiner(), Host("join", plugins=[Telemetry()]))
    shown = run_cli(cli, ["a", "b"])
    assert "Opt out with `join --telemetry disable`" in shown.stderr  # the form that works in this CLI
    status = run_cli(cli, ["--telemetry", "status"])
    assert status.exit_code == 0 and status.stdout.startswith("Telemetry is on")
    assert [e["properties"]["command"] for e in shown.events if e["event"] == "join_cli_command"] == ["(none)"]


def test_adopt_returns_what_the_console_script_calls_and_is_idempotent() -> None:
    cli = server()
    host = Host("srv")
    assert adopt(cli, host) is cli and adopt(cli, host) is cli
    with pytest.raises(ValueError, match="already adopted"):
        adopt(cli, Host("other"))


def test_the_hosts_identity_is_required_and_never_taken_from_a_function_name() -> None:
    with pytest.raises(TypeError, match="Host needs a name"):
        Host()
    with pytest.raises(TypeError, match="host"):
        adopt(server(), None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="needs the host's identity"):  # at build time, not on the first run
        @click.group(cls=HookedGroup)
        def cli() -> None:
            pass


def test_hosts_name_everything_after_themselves(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MYCLI_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    host = Host("my-cli")
    assert (host.plugin_group, host.env_prefix, host.project, host.hook_names) == (
        "my-cli.plugins", "MY_CLI", "my_cli", ("register_commands", "pre_command", "post_command"))
    if sys.platform.startswith("linux"):
        assert host.home_dir() == str(tmp_path / "config" / "my-cli")  # XDG-style where the platform has it
        assert host.cache_place() == (str(tmp_path / "cache"), "my-cli")
        monkeypatch.setenv("XDG_CONFIG_HOME", "relative")  # the spec ignores a relative one
        assert host.home_dir() == str(tmp_path / ".config" / "my-cli")
    monkeypatch.setenv("MY_CLI_HOME", str(tmp_path / "chosen"))
    assert host.home_dir() == str(tmp_path / "chosen") and host.cache_place() == (str(tmp_path / "chosen"), "cache")
    assert TESTKUBE.home_dir() == os.environ["TESTKUBE_HOME"]
    assert TESTKUBE.hook_names == ("testkube_register_commands", "testkube_pre_command", "testkube_post_command")


# -- base order, main() that skips super(), group_class = type --------------------------------------------
class HookedFirst(HookedGroup, OwnMain):
    pass


class HookedSecond(OwnMain, HookedGroup):
    pass


@pytest.mark.parametrize("cls", [HookedFirst, HookedSecond], ids=["HookedGroup first", "HookedGroup second"])
def test_either_base_order_behind_a_main_that_skips_super(run_cli, cls) -> None:
    cli = own_main(cls, host=Host("own"))
    result = run_cli(cli, ["db", "migrate"], prog_name="own")
    assert (result.exit_code, result.stdout) == (0, "migrated\n")
    assert paths(result) == [("pre", "own db migrate", None), ("post", "own db migrate", 0)]
    sub = cli.commands["db"]
    assert type(sub) is cls and "_hooked_root" not in vars(sub)  # one root: the instance built with a host
    interrupted = run_cli(cli, ["interrupt"], prog_name="own")
    assert interrupted.exit_code == 130
    assert paths(interrupted) == [("pre", "own interrupt", None), ("post", "own interrupt", 130)]


def test_the_real_exit_status_after_the_clis_own_main_mapped_it(tmp_path: Path) -> None:
    """A real process: the CLI's main() maps Ctrl-C to 130; the post hook says 130, not Click's 1."""
    log = tmp_path / "records.jsonl"
    code = ("import sys; sys.path[:0] = [%r, %r]\n"
            "from test_adopt import own_main\n"
            "from testkube_telemetry_plugin import adopt, Host\n"
            "adopt(own_main(), Host('own', plugins=['recording_plugin']))(['interrupt'], prog_name='own')\n"
            % (str(TESTS), str(TESTS / "plugins")))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "RECORDING_PLUGIN_LOG": str(log)})
    assert result.returncode == 130, result.stderr
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["hook"], r["path"], r.get("exit_code")) for r in records] == [
        ("pre", ["own", "interrupt"], None), ("post", ["own", "interrupt"], 130)]


def test_a_context_made_by_hand_is_a_run_closed_by_invoke() -> None:
    cli = adopt(server(), Host("srv"))
    seen: list[tuple[str, int]] = []

    class Recorder:
        @hookimpl
        def testkube_post_command(self, invocation: Any, outcome: Any) -> None:
            seen.append((" ".join(invocation.command_path), outcome.exit_code))

    plugin_manager_of(cli).register(Recorder())
    with cli.make_context("srv", ["stop"]) as ctx:
        cli.invoke(ctx)
    assert seen == [("srv stop", 0)]


# -- hook names that fit any host, and a host's own plugin manager -----------------------------------------
def test_neutral_hook_names_and_the_librarys_marker_both_work(run_cli) -> None:
    host = Host("neutral")
    cli = adopt(joiner(), host)
    calls: list[str] = []

    class Own:  # the host's own marker and names
        @host.hookimpl
        def post_command(self, invocation: Any, outcome: Any) -> None:
            calls.append("own")

    class Library:  # the library's marker, with the reference names
        @hookimpl
        def testkube_post_command(self, invocation: Any, outcome: Any) -> None:
            calls.append("library")

    manager = plugin_manager_of(cli)
    own, library = Own(), Library()
    manager.register(own)
    manager.register(library)
    assert run_cli(cli, ["a"]).exit_code == 0
    assert sorted(calls) == ["library", "own"]
    # Each is registered under the host's neutral name and nothing else. (This looked up a fresh, never
    # registered Own(), whose hook callers are None, and asserted that an empty set was a subset: it could
    # not fail.)
    for plugin in (own, library):
        assert {caller.name for caller in manager.get_hookcallers(plugin) or []} == {"post_command"}, plugin


def test_specs_for_any_host_are_the_reference_specs_renamed() -> None:
    neutral = specs.make_hookspecs("mycli", "")
    assert specs.make_hookspecs("testkube", "testkube_") is specs
    for hook in specs.HOOKS:
        reference = getattr(specs, "testkube_" + hook)
        renamed = getattr(neutral, hook)
        assert renamed.__doc__ == reference.__doc__
        assert renamed.__code__.co_varnames == reference.__code__.co_varnames
        assert renamed.mycli_spec == reference.testkube_spec


def test_a_hosts_own_plugin_manager_gets_the_specs_it_lacks(run_cli) -> None:
    """As llm and datasette: their manager has `register_commands(cli)` and calls it at import."""
    project = "hostish"
    spec, impl = pluggy.HookspecMarker(project), pluggy.HookimplMarker(project)

    class HostSpecs:
        @spec
        def register_commands(self, cli: Any) -> None:
            """The host's own."""

    manager = pluggy.PluginManager(project)
    manager.add_hookspecs(HostSpecs)
    seen: list[tuple[str, Any]] = []

    class HostPlugin:
        @impl
        def register_commands(self, cli: Any) -> None:
            seen.append(("register", None))

        @impl
        def post_command(self, invocation: Any, outcome: Any) -> None:
            seen.append(("post", " ".join(invocation.command_path), outcome.exit_code))

    manager.register(HostPlugin(), name="host-plugin")
    before = manager.list_name_plugin()
    cli = adopt(server(), Host("hostish", plugins=[Telemetry()]), plugin_manager=manager)
    assert run_cli(cli, ["stop"]).exit_code == 0
    assert run_cli(cli, ["stop", "--bad"]).exit_code == 2
    # Its post hook fires once per command; its register_commands never (the host calls that itself).
    assert seen == [("post", "hostish stop", 0), ("post", "hostish stop", 2)]
    assert manager.list_name_plugin() == before  # the host's plugin list is unchanged
    with pytest.raises(ValueError, match="project"):
        adopt(server(), Host("other"), plugin_manager=manager)


# -- Testkube's catalogue belongs to the reference host -----------------------------------------------------
def init_cli() -> click.Group:
    @click.group()
    def tool() -> None:
        pass

    @tool.command()
    def init() -> None:
        click.echo("initialised")

    return tool


def test_another_host_gets_the_general_events_only(run_cli) -> None:
    cli = adopt(init_cli(), Host("flask", plugins=[Telemetry()]))
    events = [event["event"] for event in run_cli(cli, ["init"]).events]
    assert "flask_cli_command" in events and "flask_cli_install" in events
    assert not [name for name in events if name.endswith("_cli_init") or "testkube" in name]


def test_the_reference_host_keeps_testkubes_events(run_cli) -> None:
    cli = make_cli()

    @cli.command("init")
    def init() -> None:
        click.echo("initialised")

    events = [event["event"] for event in run_cli(cli, ["init"]).events]
    assert "testkube_cli_init" in events


def test_a_host_declares_its_own_events(run_cli) -> None:
    from testkube_telemetry_plugin.telemetry.catalogue import DURATION, Event

    deploy = Event("flask_cli_init_project", (("init",),), (DURATION,), "a project was initialised")
    cli = adopt(init_cli(), Host("flask", plugins=[Telemetry(events=[deploy])]))
    own = [event for event in run_cli(cli, ["init"]).events if event["event"] == "flask_cli_init_project"]
    assert len(own) == 1 and own[0]["properties"]["duration_ms"] >= 0


# -- what events mean, on every Click version ----------------------------------------------------------------
def nested() -> click.Group:
    @click.group()
    def tool() -> None:
        """A tool."""

    @tool.group()
    def db() -> None:
        """Database."""

    @db.command()
    @click.option("--to", type=int, default=1)
    def migrate(to: int) -> None:
        click.echo(f"migrated to {to}")

    return tool


@pytest.mark.parametrize("args,path", [
    (["--help"], "(none)"), (["db", "--help"], "db"), (["db", "migrate", "--help"], "db migrate"),
    (["db", "migrate", "--to", "3", "--help"], "db migrate"), ([], "(none)"), (["db"], "db"),
])
def test_help_anywhere_and_a_bare_group_are_help_not_a_run_nor_an_error(run_cli, args, path) -> None:
    cli = adopt(nested(), Host("tool", plugins=[Telemetry()]))
    result = run_cli(cli, args)
    assert "Usage: tool" in result.stdout + result.stderr
    (post,) = result.posts
    assert post["status"] == "help" and [c["hook"] for c in result.hooks] == ["post"]
    commands = [e["properties"] for e in result.events if e["event"] == "tool_cli_command"]
    assert [(c["command"], c["status"]) for c in commands] == [(path, "help")]
    assert not [e for e in result.events if e["event"] == "tool_cli_error"]
    # The exit code stays what the shell sees (a bare group: 0 on Click 8.1, 2 since 8.2).
    assert post["exit_code"] == result.exit_code == commands[0]["exit_code"]


@pytest.mark.parametrize("args,error_type", [
    (["nosuch"], "NoSuchCommand"), (["db", "nosuch"], "NoSuchCommand"), (["db", "migrate", "--bad"], "NoSuchOption"),
    (["db", "migrate", "--to", "x"], "BadParameter"),
])
def test_error_type_is_the_same_on_every_click_version(run_cli, args, error_type) -> None:
    cli = adopt(nested(), Host("tool", plugins=[Telemetry()]))
    result = run_cli(cli, args)
    assert result.exit_code == 2 and result.posts[-1]["error_type"] == error_type
    (error,) = [e["properties"] for e in result.events if e["event"] == "tool_cli_error"]
    assert error["error_type"] == error_type


def slow(ctx: click.Context, param: click.Parameter, value: str) -> str:
    time.sleep(0.05)  # parsing that takes time: converting a value, reading a file
    return value


def test_duration_runs_from_the_start_of_argument_parsing_to_the_exit(run_cli) -> None:
    @click.command()
    @click.option("--value", callback=slow, default="x")
    def parsed(value: str) -> None:
        pass

    result = run_cli(adopt(parsed, Host("parsed")), [])
    assert result.posts[0]["duration_ms"] >= 50  # the option's conversion counts: it is part of the command
    failed = run_cli(adopt(nested(), Host("tool")), ["db", "migrate", "--to", "x"])
    assert failed.posts[0]["duration_ms"] > 0


# -- nothing written under an opt-out --------------------------------------------------------------------------
def test_nothing_is_written_under_an_opt_out_variable(tmp_path: Path) -> None:
    home = tmp_path / "user"
    home.mkdir()
    code = ("import sys, click\n"
            "from testkube_telemetry_plugin import adopt, Host, Telemetry\n"
            "@click.command()\n"
            "def hi():\n"
            "    click.echo('hi')\n"
            "adopt(hi, Host('quiet', plugins=[Telemetry()]))(prog_name='quiet')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "QUIET_", "TESTKUBE_"))}
    for variable in ("DO_NOT_TRACK", "QUIET_TELEMETRY_DISABLED"):
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                                cwd=tmp_path, env={**env, "HOME": str(home), variable: "1"})
        assert (result.returncode, result.stdout, result.stderr) == (0, "hi\n", "")
        assert list(home.iterdir()) == []  # no dot-folder, no cache
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            cwd=tmp_path, env={**env, "HOME": str(home)})
    assert result.returncode == 0 and list(home.iterdir())  # without one, its files are made (the check can fail)


# -- the documented forms ---------------------------------------------------------------------------------------
def documented_forms() -> list[str]:
    text = (TESTS.parent / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = text.split("## Adopting a CLI that is already built", 1)[1].split("\n### ", 1)[0]
    import re

    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_each_documented_adoption_form_takes_three_lines_or_fewer() -> None:
    forms = documented_forms()
    assert len(forms) == 5  # built group, single command, Typer app, typer.run, a host's own plugin manager
    for form in forms:
        lines = [line for line in form.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        assert len(lines) <= 3, form
        assert "adopt" in form


# -- the pytest plugin's --adopt, on a project suite ------------------------------------------------------------
PROJECT_CLI = '''
import click

@click.group()
def cli():
    """A project's CLI."""

@cli.command()
@click.argument("name")
def greet(name):
    click.echo(f"hi {name}")
'''
PROJECT_TESTS = '''
from click.testing import CliRunner
from projectcli import cli

def test_greet():
    assert CliRunner().invoke(cli, ["greet", "ann"]).output == "hi ann\\n"

def test_unknown():
    assert CliRunner().invoke(cli, ["nosuch"]).exit_code == 2

def test_broken():
    assert CliRunner().invoke(cli, ["greet"]).exit_code == {code}
'''


@pytest.mark.parametrize("code,session", [(2, 0), (0, 1)], ids=["passing suite", "failing suite"])
def test_adopt_option_runs_a_projects_suite_with_its_cli_adopted(tmp_path: Path, code: int, session: int) -> None:
    (tmp_path / "projectcli.py").write_text(PROJECT_CLI)
    (tmp_path / "test_project.py").write_text(PROJECT_TESTS.format(code=code))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROJECT_", "XDG_")) and k != "DO_NOT_TRACK"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                           "--adopt", "projectcli:cli=project", "test_project.py"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120, env={**env, "HOME": str(tmp_path / "home")})
    assert done.returncode == session, done.stdout + done.stderr
    (summary,) = [line for line in done.stdout.splitlines() if line.startswith("adopted ")]
    assert summary.startswith("adopted projectcli:cli as project: 1 pre/post pairs, 2 posts alone")
    assert '"project_cli_command": 3' in summary and "problems 0" in summary and "testkube" not in summary
    assert not (tmp_path / "home").exists()  # its home was a temporary folder of its own
