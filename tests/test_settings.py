"""Settings, the telemetry commands, the anonymous id and the first-run notice."""

from __future__ import annotations

import itertools
import json
import stat
from pathlib import Path

import pytest
from conftest import run_testkube

from testkube_telemetry_plugin import identity, settings
from testkube_telemetry_plugin.host import make_cli

ID_RE = r"^[0-9a-f]{64}$"


def write_config(home: Path, text: str) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(text)
    return path


# --- precedence: every combination of the four layers -----------------------
ENV = [None, "1", "0"]
PROJECT = [None, False, True]
USER = [None, False, True]
CONSENT = ["opt-out", "opt-in"]


def expected(env, project, user, consent) -> tuple[bool, str]:
    if env == "1":
        return False, "env"
    if project is False:
        return False, "project"
    if user is not None:
        return user, "user"
    return consent == "opt-out", "default"


@pytest.mark.parametrize(
    "env,project,user,consent", list(itertools.product(ENV, PROJECT, USER, CONSENT))
)
def test_precedence_of_all_layers(isolated, monkeypatch, env, project, user, consent) -> None:
    monkeypatch.setattr(settings, "DEFAULT_CONSENT", consent)
    if env is not None:
        monkeypatch.setenv("DO_NOT_TRACK", env)
    if project is not None:
        Path(".testkube.toml").write_text(f"[telemetry]\nenabled = {str(project).lower()}\n")
    if user is not None:
        write_config(isolated, f"[telemetry]\nenabled = {str(user).lower()}\n")
    loaded = settings.load_settings()
    assert (loaded.enabled, loaded.decision.source) == expected(env, project, user, consent)


@pytest.mark.parametrize("name", ["DO_NOT_TRACK", "TESTKUBE_TELEMETRY_DISABLED"])
@pytest.mark.parametrize("value,off", [("1", True), ("TRUE", True), ("yes", True), ("maybe", True),
                                       ("0", False), ("false", False), ("", False)])
def test_env_switches(monkeypatch, name, value, off) -> None:
    monkeypatch.setenv(name, value)
    assert settings.load_settings().enabled is (not off)


def test_project_file_is_found_above_the_working_directory(tmp_path, monkeypatch) -> None:
    (tmp_path / "work" / ".testkube.toml").write_text("[telemetry]\nenabled = false\n")
    deep = tmp_path / "work" / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    loaded = settings.load_settings()
    assert not loaded.enabled and str(tmp_path / "work" / ".testkube.toml") in loaded.decision.reason


# --- editing keeps the user's file byte for byte ------------------------------
ORIGINAL = """# my settings, keep this comment
[cluster]   # the host CLI's own table
name = "dev"  # inline comment
namespaces = ["a",   "b"]

[telemetry]
# I like to know what is sent
enabled = false   # for now

[unknown.table]
x = 1
"""


def test_enable_edits_only_the_enabled_value(isolated, cli, runner) -> None:
    path = write_config(isolated, ORIGINAL)
    result = runner.invoke(cli, ["telemetry", "enable"])
    assert result.exit_code == 0, result.output
    assert path.read_text() == ORIGINAL.replace("enabled = false   # for now", "enabled = true   # for now")
    runner.invoke(cli, ["disable", "telemetry"])
    assert path.read_text() == ORIGINAL


def test_files_are_private(isolated, cli, runner) -> None:
    runner.invoke(cli, ["ends", "ok"])
    assert stat.S_IMODE((isolated / "config.toml").stat().st_mode) == 0o600
    assert stat.S_IMODE((isolated / "telemetry").stat().st_mode) == 0o700
    for path in (isolated / "telemetry").rglob("*"):
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


# --- broken configs -------------------------------------------------------------
BROKEN = [
    ("[telemetry\nenabled = true\n", "line 1", "not valid TOML"),
    ("telemetry = 3\n", "line 1", "`telemetry` must be a table"),
    ("[telemetry]\nenabled = true\nenabled = false\n", "line 3", "not valid TOML"),
    (b"\xff\xfe[telemetry]", None, "not UTF-8"),
]
# Parseable files with a wrong value: off until fixed, and `enable`/`disable` fix them.
WRONG_VALUES = [
    ('[telemetry]\nenabled = "maybe"\n', "line 2", "`enabled` must be true or false"),
    ("[telemetry]\nenabled = 1\n", "line 2", "`enabled` must be true or false"),
    ('[telemetry]\nenabled = true\nconsent = "sometimes"\n', "line 3", "`consent` must be"),
]


@pytest.mark.parametrize("content,line,problem", BROKEN)
def test_broken_config_means_off_and_one_clear_sentence(isolated, cli, runner, content, line, problem) -> None:
    isolated.mkdir()
    path = isolated / "config.toml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = path.read_bytes()
    result = runner.invoke(cli, ["ends", "ok"])
    assert (result.exit_code, result.stdout) == (0, "ok 1\n")
    assert not (isolated / "telemetry" / "spool").exists()
    status = runner.invoke(cli, ["telemetry", "status"])
    assert status.exit_code == 0 and "Telemetry is off" in status.stdout
    sentence = next(line_ for line_ in status.stdout.splitlines() if line_.startswith("Problem:"))
    assert str(path) in sentence and problem in sentence
    if line:
        assert line in sentence
    for command in (["enable", "telemetry"], ["telemetry", "disable"]):
        refused = runner.invoke(cli, command)
        assert refused.exit_code == 1
        assert problem in refused.stderr and "not changed" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    assert path.read_bytes() == before


@pytest.mark.parametrize("content,line,problem", WRONG_VALUES)
def test_wrong_values_mean_off_until_fixed(isolated, cli, runner, content, line, problem) -> None:
    path = write_config(isolated, content)
    assert runner.invoke(cli, ["ends", "ok"]).stdout == "ok 1\n"
    assert not (isolated / "telemetry" / "spool").exists()
    data = json.loads(runner.invoke(cli, ["telemetry", "status", "--json"]).stdout)
    assert data["enabled"] is False
    assert data["problems"] == [f"{path}, {line}: {data['problems'][0].split(': ', 1)[1]}"]
    assert problem in data["problems"][0]
    fixed = runner.invoke(cli, ["telemetry", "disable"])
    assert fixed.exit_code == 0
    if "consent" not in content:
        assert "enabled = false" in path.read_text()
        assert settings.load_settings().user.problem is None


def test_config_that_is_a_folder(isolated, cli, runner) -> None:
    (isolated / "config.toml").mkdir(parents=True)
    assert runner.invoke(cli, ["ends", "ok"]).exit_code == 0
    status = runner.invoke(cli, ["telemetry", "status", "--json"])
    assert json.loads(status.stdout)["enabled"] is False
    assert "is a folder" in json.loads(status.stdout)["problems"][0]


def test_unusable_home_never_breaks_the_command(tmp_path, monkeypatch, site) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("TESTKUBE_HOME", str(blocker / "home"))  # cannot be created
    result = run_testkube("ends", "ctx-exit")
    assert (result.returncode, result.stdout, result.stderr) == (3, "leaving with 3\n", "")
    monkeypatch.delenv("TESTKUBE_HOME")
    monkeypatch.delenv("HOME", raising=False)
    result = run_testkube("ends", "ok", env={"HOME": str(blocker)})
    assert (result.returncode, result.stdout) == (0, "ok 1\n")


# --- anonymous id ----------------------------------------------------------------
def test_id_is_hmac_of_machine_id_stable_and_reset_changes_it(isolated, cli, runner, monkeypatch, tmp_path) -> None:
    machine = tmp_path / "machine-id"
    machine.write_text("0123456789abcdef0123456789abcdef\n")
    monkeypatch.setattr(identity, "MACHINE_ID_FILES", (machine,))
    runner.invoke(cli, ["ends", "ok"])
    first = settings.load_settings()
    salt = first.user.table["salt"]
    assert first.anonymous_id == identity.derive(salt, "0123456789abcdef0123456789abcdef")
    assert "0123456789abcdef" not in first.anonymous_id
    runner.invoke(cli, ["ends", "ok"])
    assert settings.load_settings().anonymous_id == first.anonymous_id
    result = runner.invoke(cli, ["telemetry", "reset"])
    assert result.exit_code == 0
    renewed = settings.load_settings().anonymous_id
    assert renewed and renewed != first.anonymous_id and renewed in result.stdout
    assert "Dropped 4 pending events." in result.stdout  # install, heartbeat, 2 commands
    assert json.loads(runner.invoke(cli, ["telemetry", "show", "--json"]).stdout)["pending"] == []


def test_no_machine_id_gives_a_random_id(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(identity, "MACHINE_ID_FILES", (tmp_path / "missing",))
    monkeypatch.setattr(identity.sys, "platform", "linux")
    a = identity.ensure_anonymous_id(tmp_path / "a.toml")
    b = identity.ensure_anonymous_id(tmp_path / "b.toml")
    assert a != b and len(a) == 64 and int(a, 16) >= 0


# --- notice ------------------------------------------------------------------------
def test_notice_is_shown_once_on_stderr_never_stdout(site) -> None:
    first = run_testkube("ends", "ok")
    assert first.stdout == "ok 1\n"
    assert "anonymous usage data" in first.stderr and "DO_NOT_TRACK=1" in first.stderr
    second = run_testkube("ends", "ok")
    assert (second.stdout, second.stderr) == ("ok 1\n", "")


def test_no_notice_when_disabled(site) -> None:
    result = run_testkube("ends", "ok", env={"DO_NOT_TRACK": "1"})
    assert (result.stdout, result.stderr) == ("ok 1\n", "")


def test_opt_in_consent_asks_once_on_a_terminal(isolated, cli, runner, monkeypatch) -> None:
    from testkube_telemetry_plugin import environment

    write_config(isolated, '[telemetry]\nconsent = "opt-in"\n')
    monkeypatch.setattr(environment, "is_interactive", lambda: True)
    result = runner.invoke(cli, ["ends", "ok"], input="y\n")
    assert result.exit_code == 0 and "Help improve Testkube" in result.stderr
    assert settings.load_settings().enabled
    assert not (isolated / "telemetry" / "spool").exists()  # consent covers the next commands


def test_opt_in_never_asks_in_ci_and_stays_off(isolated, cli, runner, monkeypatch) -> None:
    write_config(isolated, '[telemetry]\nconsent = "opt-in"\n')
    monkeypatch.setenv("CI", "true")
    result = runner.invoke(cli, ["ends", "ok"], input="y\n")
    assert result.stderr == "" and not settings.load_settings().enabled


# --- commands ----------------------------------------------------------------------
STATUS_KEYS = {
    "enabled", "decided_by", "reason", "anonymous_id", "config_file", "project_file",
    "consent", "delivery", "destinations", "pending_events", "problems",
}


def test_status_json_schema(isolated, cli, runner, monkeypatch) -> None:
    monkeypatch.setenv("TESTKUBE_TELEMETRY_SEGMENT_WRITE_KEY", "wk-super-secret")
    monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_MEASUREMENT_ID", "G-TEST")
    monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_API_SECRET", "ga-super-secret")
    runner.invoke(cli, ["ends", "ok"])
    result = runner.invoke(cli, ["telemetry", "status", "--json"])
    data = json.loads(result.stdout)
    assert set(data) == STATUS_KEYS
    assert data["enabled"] is True and data["decided_by"] == "default"
    assert len(data["anonymous_id"]) == 64
    assert data["config_file"] == str(isolated / "config.toml")
    assert data["destinations"]["segment"]["write_key_set"] is True
    assert data["destinations"]["ga4"] == {
        "configured": True, "url": "https://www.google-analytics.com/mp/collect",
        "measurement_id": "G-TEST", "api_secret_set": True, "problem": None,
    }
    assert isinstance(data["pending_events"], int) and data["pending_events"] >= 3
    human = runner.invoke(cli, ["telemetry", "status"]).stdout
    for text in (result.stdout, human):
        assert "super-secret" not in text


@pytest.mark.parametrize("verb", ["enable", "disable", "status"])
def test_seed_forms_do_what_the_group_does(isolated, cli, runner, verb) -> None:
    seed = runner.invoke(cli, [verb, "telemetry"])
    seed_config = (isolated / "config.toml").read_text() if verb != "status" else None
    group = runner.invoke(cli, ["telemetry", verb])
    assert (seed.exit_code, seed.stdout) == (group.exit_code, group.stdout)
    if seed_config is not None:
        assert (isolated / "config.toml").read_text() == seed_config


def test_env_override_is_said_plainly(cli, runner, monkeypatch) -> None:
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    result = runner.invoke(cli, ["enable", "telemetry"])
    assert result.exit_code == 0
    assert "Telemetry stays off: DO_NOT_TRACK=1 is set." in result.stdout


def test_project_disable_and_enable(isolated, cli, runner, tmp_path) -> None:
    result = runner.invoke(cli, ["telemetry", "disable", "--project"])
    assert result.exit_code == 0
    assert Path(".testkube.toml").read_text().endswith("[telemetry]\nenabled = false\n")
    status = json.loads(runner.invoke(cli, ["status", "telemetry", "--json"]).stdout)
    assert (status["enabled"], status["decided_by"]) == (False, "project")
    runner.invoke(cli, ["enable", "telemetry", "--project"])
    assert settings.load_settings().enabled


def test_existing_verb_groups_get_a_telemetry_subcommand(site) -> None:
    import click

    from testkube_telemetry_plugin.commands import register

    root = click.Group("host")

    @root.group("status")
    def host_status() -> None:
        """The host's own status group."""

    @host_status.command("cluster")
    def cluster() -> None:
        pass

    register(root)
    assert set(root.commands["status"].commands) == {"cluster", "telemetry"}
    assert root.commands["status"] is host_status
    assert set(root.commands["enable"].commands) == {"telemetry"}


def test_make_cli_has_the_telemetry_group(site) -> None:
    cli = make_cli()
    from click import Context

    names = cli.list_commands(Context(cli))
    assert {"telemetry", "enable", "disable", "status"} <= set(names)


def test_parsed_config_is_reused_only_while_the_text_is_unchanged(isolated, monkeypatch) -> None:
    path = write_config(isolated, "[telemetry]\nenabled = true \n")
    assert settings.load_settings().enabled is True

    def no_parse(text: str) -> dict:
        raise AssertionError("parsed again although the file did not change")

    with monkeypatch.context() as patched:
        patched.setattr(settings, "_parse_toml", no_parse)
        assert settings.load_settings().enabled is True
    path.write_text("[telemetry]\nenabled = false\n")  # same length, same second
    assert settings.load_settings().enabled is False
