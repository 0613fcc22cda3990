"""Settings, the telemetry commands, the anonymous id and the first-run notice."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest
from conftest import run_testkube

from testkube_telemetry_plugin import Host, Telemetry
from testkube_telemetry_plugin.cli import TESTKUBE
from testkube_telemetry_plugin.telemetry import config as anonymous_id
from testkube_telemetry_plugin.telemetry import config as config_read
from testkube_telemetry_plugin.telemetry import record, settings

SETTINGS_DOC = (Path(__file__).parent.parent / "docs" / "settings.md").read_text(encoding="utf-8")


def write_config(home: Path, text: str) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(text)
    return path


def load(host: Host = TESTKUBE) -> settings.Settings:
    return settings.load(host)


# --- docs/settings.md's precedence table, row by row --------------------------------------
def precedence_rows() -> list[list[str]]:
    table = SETTINGS_DOC.split("<!-- precedence:", 1)[1].split("\n\n", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("|")][2:]  # after the header and rule
    return [[cell.strip().strip("`") for cell in row.strip("|").split("|")] for row in rows]


def test_the_precedence_table_has_rows() -> None:
    assert len(precedence_rows()) >= 12


@pytest.mark.parametrize("row", precedence_rows(), ids=lambda row: " / ".join(row[:4]))
def test_precedence_table_row(row, isolated, monkeypatch) -> None:
    do_not_track, project, user, consent, expected, source = row
    monkeypatch.delenv("TESTKUBE_TELEMETRY_SEGMENT_URL")
    host = Host("testkube", plugin_group="testkube.plugins",
                plugins=[Telemetry(segment_url="https://analytics.testkube.io", consent=consent)])
    if do_not_track:
        monkeypatch.setenv("DO_NOT_TRACK", do_not_track)
    if project:
        Path(".testkube.toml").write_text(f"[telemetry]\n{project}\n")
    if user:
        write_config(isolated, f"[telemetry]\n{user}\n")
    loaded = load(host)
    assert (loaded.enabled, loaded.decision.source) == (expected.startswith("on"), source)
    assert loaded.collectors["segment_url"] == "https://analytics.testkube.io"  # a project never redirects
    quick = settings.load(host, full=False)
    assert (quick.decision.enabled, quick.decision.source) == (loaded.enabled, source)  # the hot path agrees


def test_a_project_file_says_which_keys_it_ignored(isolated) -> None:
    Path(".testkube.toml").write_text('[telemetry]\nconsent = "opt-out"\nsegment_url = "https://x.example"\n')
    warnings = " ".join(load().warnings)
    assert "ignored consent, segment_url" in warnings and "can only turn telemetry off" in warnings
    Path(".testkube.toml").write_text('[telemetry]\nenabled = true\nconsent = "opt-out"\n')
    assert "ignored consent, enabled;" in " ".join(load().warnings)  # `enabled = true` is ignored too
    Path(".testkube.toml").write_text('[telemetry]\nenabled = false\n')
    assert not any("ignored" in warning for warning in load().warnings)


@pytest.mark.parametrize("name", ["DO_NOT_TRACK", "TESTKUBE_TELEMETRY_DISABLED"])
@pytest.mark.parametrize("value,off", [("1", True), ("TRUE", True), ("yes", True), ("maybe", True),
                                       ("0", False), ("false", False), ("", False)])
def test_env_switches(monkeypatch, name, value, off) -> None:
    monkeypatch.setenv(name, value)
    assert load().enabled is (not off)


def test_another_hosts_variables_are_its_own(monkeypatch) -> None:
    mycli = Host("mycli")
    monkeypatch.setenv("TESTKUBE_TELEMETRY_DISABLED", "1")
    assert load(mycli).enabled and not load().enabled
    monkeypatch.setenv("MYCLI_TELEMETRY_DISABLED", "1")
    assert not load(mycli).enabled


def test_project_file_is_found_above_the_working_directory(tmp_path, monkeypatch) -> None:
    (tmp_path / "work" / ".testkube.toml").write_text("[telemetry]\nenabled = false\n")
    deep = tmp_path / "work" / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    loaded = load()
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
    for folder in (isolated, isolated / "telemetry", isolated / "telemetry" / "spool", isolated / "cache"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for path in isolated.rglob("*"):
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


# --- broken configs -------------------------------------------------------------
BROKEN = [
    ("[telemetry\nenabled = true\n", "line 1", "not valid TOML"),
    ("telemetry = 3\n", "line 1", "`telemetry` must be a table"),
    ("[telemetry]\nenabled = true\nenabled = false\n", "line 3", "not valid TOML"),
    (b"\xff\xfe[telemetry]", None, "not UTF-8"),
    ('[telemetry]\nenabled = "maybe"\n', "line 2", "`enabled` must be true or false"),
    ("[telemetry]\nenabled = 1\n", "line 2", "`enabled` must be true or false"),
    ('[telemetry]\nenabled = true\nconsent = "sometimes"\n', "line 3", "`consent` must be"),
    ("[telemetry]\nx = " + "[" * 5000 + "]" * 5000 + "\n", None, "not valid TOML"),
]


@pytest.mark.parametrize("content,line,problem", BROKEN)
def test_broken_config_means_off_one_sentence_and_enable_refuses(isolated, cli, runner, content, line,
                                                                 problem) -> None:
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
    # The way out `status` offers is `disable` (which repairs: tests/test_choice.py), never `enable`.
    assert "disable telemetry` repairs it" in status.stdout.splitlines()[-1]
    for command in (["enable", "telemetry"], ["telemetry", "reset"]):
        refused = runner.invoke(cli, command)
        if command[-1] == "reset":  # off: reset creates nothing, and so needs no rewrite
            assert refused.exit_code == 0 and "no id is kept or created" in refused.stdout
            continue
        assert refused.exit_code == 1
        assert problem in refused.stderr and "not changed" in refused.stderr
        if line:
            assert line in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    assert path.read_bytes() == before


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
    monkeypatch.setattr(anonymous_id, "MACHINE_ID_FILES", (str(machine),))
    runner.invoke(cli, ["ends", "ok"])
    first = load()
    assert first.anonymous_id == anonymous_id.derive(first.salt or "", "0123456789abcdef0123456789abcdef")
    assert "0123456789abcdef" not in (first.anonymous_id or "")
    runner.invoke(cli, ["ends", "ok"])
    assert load().anonymous_id == first.anonymous_id
    result = runner.invoke(cli, ["telemetry", "reset"])
    assert result.exit_code == 0
    renewed = load().anonymous_id
    assert renewed and renewed != first.anonymous_id and renewed in result.stdout
    assert "Dropped 4 pending events." in result.stdout  # install, heartbeat, 2 commands
    # The same person goes on under a new id: no install event (that would count a second
    # installation), only the day's heartbeat with the next command.
    assert json.loads(runner.invoke(cli, ["telemetry", "show", "--json"]).stdout)["pending"] == []
    assert runner.invoke(cli, ["ends", "ok"]).exit_code == 0
    pending = json.loads(runner.invoke(cli, ["telemetry", "show", "--json"]).stdout)["pending"]
    assert [(m["event"], m["anonymousId"]) for m in pending] == [("testkube-heartbeat", renewed),
                                                                  ("testkube_cli_command", renewed)]


def test_reset_while_off_creates_no_id(isolated, cli, runner, monkeypatch) -> None:
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    result = runner.invoke(cli, ["telemetry", "reset"])
    assert result.exit_code == 0 and "no id is kept or created" in result.stdout
    assert not (isolated / "config.toml").exists()
    write_config(isolated, "[telemetry]\nenabled = false\n")
    monkeypatch.delenv("DO_NOT_TRACK")
    assert runner.invoke(cli, ["telemetry", "reset"]).exit_code == 0
    assert "anonymous_id" not in (isolated / "config.toml").read_text()


def test_no_machine_id_gives_a_random_id(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(anonymous_id, "MACHINE_ID_FILES", (str(tmp_path / "missing"),))
    monkeypatch.setattr(anonymous_id.sys, "platform", "linux")
    lock = str(tmp_path / "lock" / "config.lock")
    a, _, created_a = anonymous_id.ensure_anonymous_id(str(tmp_path / "a" / "config.toml"), lock, "")
    b, _, _ = anonymous_id.ensure_anonymous_id(str(tmp_path / "b" / "config.toml"), lock, "")
    assert created_a and a != b and re.fullmatch("[0-9a-f]{64}", a) and re.fullmatch("[0-9a-f]{64}", b)


# --- notice ------------------------------------------------------------------------
def test_no_notice_when_disabled(site, monkeypatch) -> None:
    monkeypatch.delenv("TESTKUBE_TELEMETRY_NOTICE_DISABLED")
    result = run_testkube("ends", "ok", env={"DO_NOT_TRACK": "1"})
    assert (result.stdout, result.stderr) == ("ok 1\n", "")


def test_opt_in_consent_asks_once_on_a_terminal(isolated, cli, runner, monkeypatch) -> None:
    write_config(isolated, '[telemetry]\nconsent = "opt-in"\n')
    monkeypatch.setattr(record, "is_interactive", lambda: True)
    declined = runner.invoke(cli, ["ends", "ok"], input="n\n")
    assert declined.exit_code == 0 and "Help improve Testkube" in declined.stderr
    assert not load().enabled
    again = runner.invoke(cli, ["ends", "ok"], input="y\n")
    assert again.exit_code == 0 and "Help improve" not in again.stderr  # asked once: a "no" is not asked again
    assert not load().enabled and not (isolated / "telemetry" / "spool").exists()


def test_opt_in_consent_given_on_a_terminal_turns_it_on(isolated, cli, runner, monkeypatch) -> None:
    write_config(isolated, '[telemetry]\nconsent = "opt-in"\n')
    monkeypatch.setattr(record, "is_interactive", lambda: True)
    result = runner.invoke(cli, ["ends", "ok"], input="y\n")
    assert result.exit_code == 0 and "Help improve Testkube" in result.stderr
    assert load().enabled
    assert not (isolated / "telemetry" / "spool").exists()  # consent covers the next commands


def test_opt_in_never_asks_in_ci_and_stays_off(isolated, cli, runner, monkeypatch) -> None:
    write_config(isolated, '[telemetry]\nconsent = "opt-in"\n')
    monkeypatch.setenv("CI", "true")
    result = runner.invoke(cli, ["ends", "ok"], input="y\n")
    assert result.stderr == "" and not load().enabled


# --- commands ----------------------------------------------------------------------
STATUS_KEYS = {
    "enabled", "decided_by", "reason", "off_by_problem", "may_send", "informed_by", "ci", "anonymous_id",
    "config_file", "project_file", "consent", "delivery", "collectors", "pending_events", "next_delivery", "not_sent",
    "problems",
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
    segment, ga = data["collectors"]["segment"], data["collectors"]["ga4"]
    assert segment["write_key_set"] is True and segment["pending_events"] == 3 and segment["failures"] == 1
    assert segment["last_error"] == "connection refused" and segment["next_retry_at"]  # the cause, named
    assert ga["url"] == "https://www.google-analytics.com/mp/collect" and ga["measurement_id"] == "G-TEST"
    assert ga["api_secret_set"] is True and ga["problem"] is None
    assert data["pending_events"] == 3
    human = runner.invoke(cli, ["telemetry", "status"]).stdout
    assert "segment: http://127.0.0.1:9/v1/batch (write key set); 3 pending; 1 failure(s)" in human
    for text in (result.stdout, human):
        assert "super-secret" not in text


def test_status_says_when_no_collector_is_configured(isolated, runner, monkeypatch) -> None:
    import click

    from testkube_telemetry_plugin.hooks.group import HookedGroup

    monkeypatch.setenv("MYCLI_HOME", str(isolated.parent / "mycli-home"))

    @click.group(cls=HookedGroup, host=Host("mycli", plugins=[Telemetry()]))
    def mycli() -> None:
        pass

    @mycli.command()
    def hello() -> None:
        click.echo("hi")

    assert runner.invoke(mycli, ["hello"]).exit_code == 0
    human = runner.invoke(mycli, ["--telemetry", "status"]).stdout  # no root-level forms unless asked for
    assert "Collectors: none configured; events stay on this machine (`mycli --telemetry show`)." in human
    assert len(json.loads(runner.invoke(mycli, ["--telemetry", "show", "--json"]).stdout)["pending"]) == 3


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


def test_project_disable_and_enable(isolated, cli, runner) -> None:
    result = runner.invoke(cli, ["telemetry", "disable", "--project"])
    assert result.exit_code == 0
    assert Path(".testkube.toml").read_text().endswith("[telemetry]\nenabled = false\n")
    status = json.loads(runner.invoke(cli, ["status", "telemetry", "--json"]).stdout)
    assert (status["enabled"], status["decided_by"]) == (False, "project")
    # The way back that `status` gives works as it says.
    hint = runner.invoke(cli, ["telemetry", "status"]).stdout.strip().splitlines()[-1]
    suggested = __import__("re").search(r"`testkube ([^`]+)`", hint)[1].split()
    assert suggested == ["enable", "telemetry", "--project"], hint
    runner.invoke(cli, suggested)
    assert load().enabled


def test_a_hosts_own_commands_are_never_replaced_or_changed(site, runner) -> None:
    """A host with root-level forms keeps every command it has: its own `status` group stays as it was
    (no `telemetry` subcommand added to it), the free verbs get their forms, `--telemetry` reaches the rest."""
    import click

    from testkube_telemetry_plugin import HookedGroup

    @click.group(cls=HookedGroup, host=TESTKUBE)
    def root() -> None:
        pass

    @root.group("status")
    def host_status() -> None:
        """The host's own status group."""

    @host_status.command("cluster")
    def cluster() -> None:
        click.echo("cluster is fine")

    assert set(root.list_commands(click.Context(root))) >= {"status", "enable", "disable", "telemetry"}
    assert root.commands["status"] is host_status
    assert host_status.list_commands(click.Context(host_status)) == ["cluster"]
    assert runner.invoke(root, ["status", "cluster"]).stdout == "cluster is fine\n"
    assert runner.invoke(root, ["status", "telemetry"]).exit_code == 2  # the host's group decides, as before
    status = runner.invoke(root, ["--telemetry", "status", "--json"])
    assert status.exit_code == 0 and json.loads(status.stdout)["decided_by"] == "default"
    enable = root.commands["enable"]
    assert enable.list_commands(click.Context(enable)) == ["telemetry"]  # type: ignore[attr-defined]


# --- the hot path's summary of the config -------------------------------------------
def test_summary_is_reused_while_unchanged_and_holds_nothing_secret(isolated, monkeypatch) -> None:
    path = write_config(isolated, '[telemetry]\nenabled = true\nanonymous_id = "' + "b" * 64 + '"\nsalt = "pepper"\n'
                                  'segment_write_key = "wk-123"\n')
    paths = TESTKUBE.home_dir()
    first = settings.user_summary(settings.paths_of(TESTKUBE))
    assert first.table == {"enabled": True, "anonymous_id": settings.SET, "salt": settings.SET,
                           "segment_write_key": settings.SET}
    assert settings.load(TESTKUBE, full=False).has_id
    summary = (Path(paths) / "cache" / settings.SUMMARY_FILE).read_text()
    assert "b" * 64 not in summary and "pepper" not in summary and "wk-123" not in summary

    def no_parse(path: str):
        raise AssertionError("parsed again although the file did not change")

    with monkeypatch.context() as patched:
        patched.setattr(config_read, "read_config", no_parse)
        assert settings.user_summary(settings.paths_of(TESTKUBE)).table["enabled"] is True
    path.write_text("[telemetry]\nenabled = false\n" + " " * (len(path.read_text()) - 29))  # same size
    assert settings.user_summary(settings.paths_of(TESTKUBE)).table == {"enabled": False}
