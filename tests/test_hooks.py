"""The hook contract, seen from a third-party plugin installed through an entry point."""

from __future__ import annotations

import json
import shutil
import sys
import threading
import types
from pathlib import Path

import click
import pytest
from conftest import install_plugin, run_testkube

from testkube_telemetry_plugin import HookedGroup, Host, current_invocation, hookimpl
from testkube_telemetry_plugin.hooks.manager import discover

# (arguments, exit code the shell sees, exception type the hook is told)
EXIT_PATHS = [
    (["ends", "ok"], 0, None),
    (["ends", "click-error"], 1, "ClickException"),
    (["ends", "ctx-exit"], 3, "Exit"),
    (["ends", "sys-exit"], 4, "SystemExit"),
    (["ends", "boom"], 1, "ValueError"),
    (["ends", "interrupt"], 1, "KeyboardInterrupt"),
    (["ends", "nested", "deep", "--level", "2"], 0, None),
    # Usage errors: the exception's class differs between Click versions.
    (["no-such-command"], 2, "usage"),
    (["ends", "ok", "--no-such-option"], 2, "usage"),
    (["ends", "ok", "--count", "many"], 2, "usage"),
    (["create", "test"], 2, "usage"),
]


def hook_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("args,code,exception", EXIT_PATHS)
def test_hooks_fire_around_every_exit_path_in_a_real_process(
    site: Path, tmp_path: Path, args: list[str], code: int, exception: str | None
) -> None:
    log = tmp_path / "hooks.jsonl"
    result = run_testkube(*args, env={"SAMPLE_HOOK_LOG": str(log)})
    assert result.returncode == code, result.stderr
    calls = hook_log(log)
    post = calls[-1]
    assert post["hook"] == "post"
    assert post["exit_code"] == code == result.returncode
    if exception == "usage":
        assert post["status"] == "usage_error"
    else:
        assert post["exception"] == exception
    assert [c["hook"] for c in calls].count("post") == 1
    parsed = code != 2  # usage errors end before the callback: no pre hook
    assert [c["hook"] for c in calls] == (["pre", "post"] if parsed else ["post"])


def test_pre_hook_sees_the_full_path_and_parsed_params(cli, runner) -> None:
    import sample_plugin

    result = runner.invoke(cli, ["ends", "nested", "deep", "--level", "5"], env={"SAMPLE_COUNT": "7"})
    assert result.exit_code == 0, result.output
    (pre, pre_data), (post, post_data) = sample_plugin.CALLS
    assert (pre, post) == ("pre", "post")
    assert pre_data["path"] == ["testkube", "ends", "nested", "deep"]
    assert pre_data["params"] == {"level": 5}
    assert pre_data["sources"] == {"level": "COMMANDLINE"}
    assert post_data["facts"] == {"level": 5}


def test_params_say_where_each_value_came_from(cli, runner) -> None:
    import sample_plugin

    runner.invoke(cli, ["ends", "ok"], env={"SAMPLE_COUNT": "7"})
    assert sample_plugin.CALLS[0][1]["params"] == {"count": 7}
    assert sample_plugin.CALLS[0][1]["sources"] == {"count": "ENVIRONMENT"}
    sample_plugin.CALLS.clear()
    runner.invoke(cli, ["ends", "ok"])
    assert sample_plugin.CALLS[0][1]["sources"] == {"count": "DEFAULT"}


def test_unknown_command_is_not_put_in_the_path(cli, runner) -> None:
    import sample_plugin

    result = runner.invoke(cli, ["ends", "alice-secret.yaml"])
    assert result.exit_code == 2
    assert sample_plugin.CALLS[-1][1]["path"] == ["testkube", "ends"]
    # Click < 8.2 takes a leading "/" for an option prefix and shows help instead
    # of failing; either way the unknown name stays out of the path.
    runner.invoke(cli, ["ends", "/home/alice/x.yaml"])
    assert sample_plugin.CALLS[-1][1]["path"] == ["testkube", "ends"]


def test_facts_set_by_a_command_reach_the_post_hook(cli, runner) -> None:
    import sample_plugin

    result = runner.invoke(cli, ["create", "testsuite", "smoke", "--steps", "4"])
    assert result.exit_code == 0
    assert sample_plugin.CALLS[-1][1]["facts"] == {"steps": 4}
    assert current_invocation() is None  # nothing leaks out of the run


def test_current_invocation_is_the_running_commands_in_its_thread_only(runner) -> None:
    seen: dict[str, object] = {}

    @click.group(cls=HookedGroup, name="threads", host=Host("threads"))
    def root() -> None:
        pass

    @root.command()
    def work() -> None:
        seen["command"] = current_invocation()
        worker = threading.Thread(target=lambda: seen.__setitem__("thread", current_invocation()))
        worker.start()
        worker.join()

    assert runner.invoke(root, ["work"]).exit_code == 0
    assert seen["command"] is not None and seen["command"].command_path == ("threads", "work")  # type: ignore[attr-defined]
    assert seen["thread"] is None
    assert current_invocation() is None


def test_a_command_run_by_another_is_marked_nested_in_its_hooks(runner) -> None:
    """`ctx.invoke` fires the inner command's pre and post inside the outer's; only the outer one is what
    the user typed, and a plugin that acts once a command line (a notice, say) needs to tell them apart."""
    calls: list[tuple[str, tuple[str, ...], bool]] = []

    @hookimpl
    def testkube_pre_command(invocation) -> None:
        calls.append(("pre", invocation.subcommand, invocation.nested))

    @hookimpl
    def testkube_post_command(invocation, outcome) -> None:
        calls.append(("post", invocation.subcommand, invocation.nested))

    recorder = types.ModuleType("recorder")  # a plugin is a module
    recorder.testkube_pre_command = testkube_pre_command  # type: ignore[attr-defined]
    recorder.testkube_post_command = testkube_post_command  # type: ignore[attr-defined]

    @click.group(cls=HookedGroup, name="relay", host=Host("relay"))
    def root() -> None:
        pass

    root.plugin_manager.register(recorder, "recorder")

    @root.command()
    def inner() -> None:
        click.echo("inner")

    @root.command()
    @click.pass_context
    def outer(ctx: click.Context) -> None:
        ctx.invoke(inner)

    assert runner.invoke(root, ["outer"]).output == "inner\n"
    assert calls == [("pre", ("outer",), False), ("pre", ("inner",), True), ("post", ("inner",), True),
                     ("post", ("outer",), False)]


def test_help_lists_every_plugin_command(site: Path) -> None:
    result = run_testkube("--help")
    assert result.returncode == 0
    for name in ("create", "run", "init", "ends", "echo-plugin", "telemetry", "plugins"):
        assert f"  {name}" in result.stdout


def test_version_prints_host_and_plugin_versions(site: Path) -> None:
    result = run_testkube("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("testkube 0.1.0 (Python ")
    assert "plugin sample: sample-plugin 1.2.3" in result.stdout
    assert "plugin telemetry: testkube-telemetry-plugin 0.1.0" in result.stdout


def test_plugins_lists_names_distributions_versions_and_hooks(site: Path) -> None:
    rows = json.loads(run_testkube("plugins", "--json").stdout)
    by_name = {row["name"]: row for row in rows}
    assert by_name["sample"] == {
        "name": "sample",
        "distribution": "sample-plugin",
        "version": "1.2.3",
        "hooks": ["testkube_post_command", "testkube_pre_command", "testkube_register_commands"],
    }
    assert by_name["telemetry"]["distribution"] == "testkube-telemetry-plugin"
    human = run_testkube("plugins").stdout
    assert "sample  (sample-plugin 1.2.3)  hooks: testkube_post_command" in human


@pytest.mark.parametrize("where", ["pre", "post"])
def test_a_raising_hook_changes_neither_output_nor_exit_code(site: Path, where: str) -> None:
    run_testkube("ends", "ok")  # the one-time telemetry notice is out of the way
    clean = run_testkube("ends", "ctx-exit")
    broken = run_testkube("ends", "ctx-exit", env={"SAMPLE_RAISE_IN": where})
    assert (broken.returncode, broken.stdout, broken.stderr) == (3, clean.stdout, clean.stderr)
    debug = run_testkube("--debug", "ends", "ctx-exit", env={"SAMPLE_RAISE_IN": where})
    assert debug.returncode == 3 and debug.stdout == clean.stdout
    assert f"plugin 'sample' failed in testkube_{where}_command: RuntimeError" in debug.stderr


def test_other_plugins_still_run_when_one_raises(site: Path, tmp_path: Path) -> None:
    log = tmp_path / "hooks.jsonl"
    # A raising pre hook must not stop the post hooks; a raising post hook must
    # not stop the telemetry plugin's post hook.
    result = run_testkube("ends", "ok", env={"SAMPLE_RAISE_IN": "pre", "SAMPLE_HOOK_LOG": str(log)})
    assert result.returncode == 0
    assert [c["hook"] for c in hook_log(log)] == ["pre", "post"]
    run_testkube("ends", "ok", env={"SAMPLE_RAISE_IN": "post"})
    pending = json.loads(run_testkube("telemetry", "show", "--json").stdout)["pending"]
    commands = [m["properties"]["command"] for m in pending if m["event"] == "testkube_cli_command"]
    assert commands == ["ends ok", "ends ok"]


def test_a_plugin_that_fails_to_import_is_reported_only_in_debug(site: Path) -> None:
    install_plugin(site, "broken-plugin", {"broken": "broken_plugin"})
    run_testkube("plugins")  # the one-time telemetry notice is out of the way
    result = run_testkube("echo-plugin")
    assert (result.returncode, result.stdout, result.stderr) == (0, "echo plugin here\n", "")
    debug = run_testkube("echo-plugin", env={"TESTKUBE_DEBUG": "1"})
    assert debug.returncode == 0 and debug.stdout == "echo plugin here\n"
    assert "plugin 'broken' (broken-plugin) failed to load: ImportError" in debug.stderr


def test_load_plugins_allow_list(site: Path) -> None:
    only_echo = run_testkube("--help", env={"TESTKUBE_LOAD_PLUGINS": "echo"})
    assert "echo-plugin" in only_echo.stdout and "  create" not in only_echo.stdout
    assert "  telemetry" not in only_echo.stdout
    none = run_testkube("plugins", env={"TESTKUBE_LOAD_PLUGINS": ""})
    assert none.stdout == "No plugins loaded.\n"


def test_entry_point_cache_follows_installs_and_removals(site: Path, isolated: Path) -> None:
    cache = (str(isolated), "cache")
    first = {entry.name for entry in discover("testkube.plugins", cache)}
    assert {"sample", "echo"} <= first
    assert list((isolated / "cache").glob("*.entry-points"))
    install_plugin(site, "late-plugin", {"late": "echo_plugin"})
    assert "late" in {entry.name for entry in discover("testkube.plugins", cache)}
    shutil.rmtree(next(site.glob("late_plugin-*.dist-info")))
    assert "late" not in {entry.name for entry in discover("testkube.plugins", cache)}


def test_cache_is_used_when_nothing_changed(site: Path, isolated: Path, monkeypatch) -> None:
    cache = (str(isolated), "cache")
    discover("testkube.plugins", cache)
    from testkube_telemetry_plugin.hooks import manager as discovery

    def no_scan(group: str) -> list:
        raise AssertionError("scanned although nothing changed")

    monkeypatch.setattr(discovery, "scan", no_scan)
    assert {"sample", "echo"} <= {e.name for e in discover("testkube.plugins", cache)}


def test_another_cli_adopts_the_contract_with_one_line(runner, isolated: Path) -> None:
    seen: list[tuple[str, int]] = []

    class Recorder:
        @hookimpl
        def testkube_post_command(self, invocation, outcome) -> None:
            seen.append((" ".join(invocation.command_path), outcome.exit_code))

    @click.group(cls=HookedGroup, plugin_group="mycli.plugins", host_version="2.0")
    def mycli() -> None:
        pass

    @mycli.group()
    def db() -> None:
        pass

    @db.command()
    def migrate() -> None:
        click.echo("migrated")

    recorder = Recorder()
    mycli.plugin_manager.register(recorder)
    try:
        result = runner.invoke(mycli, ["db", "migrate"], prog_name="mycli")
    finally:
        mycli.plugin_manager.unregister(recorder)
    assert result.output == "migrated\n"
    assert seen == [("mycli db migrate", 0)]
    assert mycli.plugin_group == "mycli.plugins" and mycli.host.env("DEBUG") == "MYCLI_DEBUG"


def test_hooks_do_not_fire_during_shell_completion(cli, runner) -> None:
    import sample_plugin

    env = {"_TESTKUBE_COMPLETE": "bash_complete", "COMP_WORDS": "testkube e", "COMP_CWORD": "1"}
    result = runner.invoke(cli, [], env=env, prog_name="testkube")
    assert sample_plugin.CALLS == []
    completed = {line.split(",", 1)[1] for line in result.stdout.splitlines()}
    assert {"ends", "echo-plugin", "enable"} <= completed  # plugin commands complete, with no hook fired



def _namespaces() -> dict[str, object]:
    """Plugin shapes real authors use, and a few odd ones."""
    import types

    class CallableThing:
        def __call__(self, invocation, outcome) -> None:
            pass

    @hookimpl
    def testkube_post_command(invocation, outcome) -> None:
        pass

    @hookimpl(specname="testkube_pre_command", tryfirst=True)
    def before(invocation) -> None:
        pass

    crowded = types.ModuleType("crowded_plugin")
    crowded.__dict__.update(
        testkube_post_command=testkube_post_command, before=before, testkube_register_commands=CallableThing(),
        settings={"a": 1}, name="crowded", json=json, CallableThing=CallableThing, hookimpl=hookimpl,
        wrapped=staticmethod(testkube_post_command),
    )
    lazy = types.ModuleType("lazy_plugin")  # hooks re-exported on demand, as lazy-loader packages do
    lazy.__dict__.update(__getattr__=lambda name: {"testkube_post_command": testkube_post_command}[name],
                         __dir__=lambda: ["testkube_post_command"])

    class ClassPlugin:
        @hookimpl(trylast=True)
        def testkube_post_command(self, invocation, outcome) -> None:
            pass

    return {"crowded": crowded, "lazy": lazy, "class": ClassPlugin, "instance": ClassPlugin()}


def test_plugins_register_exactly_as_with_plain_pluggy() -> None:
    """The manager passes over a module's values that cannot be hooks before pluggy looks at them
    (for speed): what it registers must be what pluggy itself would, for any plugin shape."""
    import pluggy

    from testkube_telemetry_plugin.hooks import specs as hookspecs
    from testkube_telemetry_plugin.hooks.manager import IsolatingPluginManager

    def registered(manager: pluggy.PluginManager) -> dict[str, list[tuple[str, str, bool, bool]]]:
        for name, namespace in _namespaces().items():
            manager.register(namespace, name=name)
        return {hook: sorted((impl.plugin_name, impl.function.__name__, impl.tryfirst, impl.trylast)
                             for impl in getattr(manager.hook, hook).get_hookimpls())
                for hook in ("testkube_pre_command", "testkube_post_command", "testkube_register_commands")}

    plain = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    plain.add_hookspecs(hookspecs)
    ours = registered(IsolatingPluginManager(on_failure=print))
    assert ours == registered(plain)
    assert ("crowded", "before", True, False) in ours["testkube_pre_command"]
    assert {impl[0] for impl in ours["testkube_post_command"]} >= {"crowded", "class", "instance"}


def test_plugins_lists_a_plugin_that_failed_to_load_with_a_one_line_reason(site: Path) -> None:
    install_plugin(site, "broken-plugin", {"broken": "broken_plugin"})
    human = run_testkube("plugins")
    assert human.returncode == 0
    broken = [line for line in human.stdout.splitlines() if line.startswith("broken ")]
    assert broken == ["broken  (broken-plugin 1.0)  failed to load: ImportError: broken_plugin needs a module that is not installed"]
    rows = {row["name"]: row for row in json.loads(run_testkube("plugins", "--json").stdout)}
    assert rows["broken"]["error"] == "ImportError: broken_plugin needs a module that is not installed" and rows["broken"]["hooks"] == []
    assert "error" not in rows["sample"]
    assert "plugin broken" not in run_testkube("--version").stdout  # --version lists what is loaded


def test_the_entry_point_scan_finds_what_importlib_metadata_finds(site: Path, tmp_path: Path, monkeypatch) -> None:
    """The scan reads the folders on sys.path itself (importing importlib.metadata costs ~30 ms a command for
    an opted-out user, whose home keeps no cache): it must find exactly what importlib.metadata finds."""
    from testkube_telemetry_plugin.hooks import manager

    shadow = tmp_path / "shadow"  # a second copy of a distribution, later on sys.path: the first one wins
    shadow.mkdir()
    install_plugin(shadow, "Sample_Plugin", {"shadowed": "sample_plugin"}, "9.9")
    (site / "odd_name-2.0.dist-info").mkdir()
    (site / "odd_name-2.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: Odd.Name\nVersion: 2.0\n")
    (site / "odd_name-2.0.dist-info" / "entry_points.txt").write_text(
        "# a comment\n[other.group]\nx = y\n\n[testkube.plugins]\n odd = odd_module:plugin [extra] \n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(sys, "path", [*sys.path, str(shadow)])
    for group in ("testkube.plugins", "console_scripts", "pytest11", "other.group", "no.such.group"):
        assert manager.scan(group) == manager._scan_with_importlib(group), group
    found = {entry.name: entry for entry in manager.scan("testkube.plugins")}
    assert "shadowed" not in found and found["sample"].version == "1.2.3"
    assert (found["odd"].value, found["odd"].distribution, found["odd"].version) == (
        "odd_module:plugin [extra]", "Odd.Name", "2.0")
