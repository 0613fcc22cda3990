"""The user's choice, as the commands write it: opting out always works, enable says when it cannot,
a project's file goes where the repository commits it, and reset starts no new installation."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ID, run_testkube

HOST_TABLE = '[cluster]   # the host CLI\'s own settings\nname = "dev"  # keep me\n'
SALT = "0123456789abcdef0123456789abcdef"
IDENTITY = f'anonymous_id = "{ID}"\nsalt = "{SALT}"\n'

# (what config.toml holds, what must still be there afterwards, whether a copy is kept beside it)
ANY_CONTENT = {
    "enabled is not a boolean": (HOST_TABLE + '\n[telemetry]\nenabled = "maybe"\n' + IDENTITY, HOST_TABLE, False),
    "enabled is a number": (HOST_TABLE + "\n[telemetry]\nenabled = 1\n" + IDENTITY, HOST_TABLE, False),
    "consent is not a choice": (HOST_TABLE + '\n[telemetry]\nenabled = true\nconsent = "sometimes"\n' + IDENTITY,
                                HOST_TABLE, False),
    "telemetry is not a table": ("telemetry = 3\n" + HOST_TABLE, HOST_TABLE, False),
    "telemetry is an array of tables": (HOST_TABLE + "\n[[telemetry]]\nenabled = true\n", HOST_TABLE, False),
    "a duplicate key": (HOST_TABLE + "\n[telemetry]\nenabled = true\nenabled = false\n" + IDENTITY,
                        HOST_TABLE, True),
    "an unclosed header": (HOST_TABLE + "\n[telemetry\nenabled = true\n", HOST_TABLE, True),
    "nested too deeply": (HOST_TABLE + "\n[telemetry]\n" + IDENTITY + "x = " + "[" * 5000 + "]" * 5000 + "\n",
                          HOST_TABLE, True),
    "invalid elsewhere": ('[cluster\nname = "dev"\n\n[telemetry]\nenabled = true\n' + IDENTITY,
                          '[cluster\nname = "dev"\n', True),
    # Notepad's byte-order mark makes the file invalid TOML, and hid the table's header from the repair.
    "a byte-order mark before the table": ("\ufeff[telemetry]\nenabled = true\n" + IDENTITY + "\n" + HOST_TABLE,
                                           HOST_TABLE, True),
    "not UTF-8 elsewhere": (b'[cluster]\nname = "d\xffv"\n\n[telemetry]\nenabled = true\n' + IDENTITY.encode(),
                            b'[cluster]\nname = "d\xffv"\n', True),
}


@pytest.mark.parametrize("case", list(ANY_CONTENT))
def test_disable_turns_it_off_and_exits_0_whatever_the_config_holds(site, isolated, case) -> None:
    content, kept, copied = ANY_CONTENT[case]
    isolated.mkdir()
    path = isolated / "config.toml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    ran = run_testkube("disable", "telemetry")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "Telemetry is off. Nothing more will be collected or sent.\n"
    after = path.read_bytes()
    assert after.startswith(kept if isinstance(kept, bytes) else kept.encode())  # the rest as it was
    assert ID.encode() not in after and SALT.encode() not in after
    backups = sorted(isolated.glob("config.toml.bak*"))
    assert len(backups) == int(copied)
    for backup in backups:  # a copy keeps the user's content, never the id
        assert ID.encode() not in backup.read_bytes() and SALT.encode() not in backup.read_bytes()
        assert str(backup) in ran.stderr
    status = json.loads(run_testkube("telemetry", "status", "--json").stdout)
    assert status["enabled"] is False
    if case in ("invalid elsewhere", "not UTF-8 elsewhere"):
        # Off because the rest is still broken, and off once the user fixes it.
        assert status["off_by_problem"] and "still not" in ran.stderr
        path.write_bytes(after.replace(b"[cluster\n", b"[cluster]\n").replace(b"d\xffv", b"dev"))
        status = json.loads(run_testkube("telemetry", "status", "--json").stdout)
    assert (status["enabled"], status["decided_by"], status["off_by_problem"]) == (False, "user", False)
    assert status["anonymous_id"] is None


@pytest.mark.parametrize("config", [None, '[telemetry]\nenabled = "maybe"\n'])
def test_disable_where_nothing_was_ever_recorded_warns_of_nothing(site, isolated, config) -> None:
    # The first command on a machine, or a config that kept telemetry off: no `telemetry/` folder, so no
    # delivery can be in flight, and `disable` must not say that one "did not stop" and "may still send".
    if config is not None:
        isolated.mkdir(mode=0o700)
        (isolated / "config.toml").write_text(config)
    ran = run_testkube("disable", "telemetry")
    assert ran.returncode == 0
    assert ran.stdout == "Telemetry is off. Nothing more will be collected or sent.\n"
    assert ran.stderr == ""


@pytest.mark.parametrize("kind", ["a folder", "a symbolic link"])
def test_disable_moves_aside_what_is_not_a_file_of_ours(site, isolated, tmp_path, kind) -> None:
    isolated.mkdir()
    path = isolated / "config.toml"
    elsewhere = tmp_path / "dotfiles-config.toml"
    elsewhere.write_text("[telemetry]\nenabled = true\n")
    if kind == "a folder":
        path.mkdir()
    else:
        path.symlink_to(elsewhere)
    ran = run_testkube("disable", "telemetry")
    assert ran.returncode == 0 and "moved to" in ran.stderr, ran.stderr
    assert path.is_file() and not path.is_symlink() and "enabled = false" in path.read_text()
    assert elsewhere.read_text() == "[telemetry]\nenabled = true\n"  # never written through the link
    aside = isolated / "config.toml.bak"
    assert aside.is_dir() if kind == "a folder" else aside.is_symlink()
    assert json.loads(run_testkube("telemetry", "status", "--json").stdout)["decided_by"] == "user"


def test_status_offers_disable_not_enable_for_a_broken_config(site, isolated) -> None:
    isolated.mkdir()
    (isolated / "config.toml").write_text('[telemetry]\nenabled = "maybe"\n')
    last = run_testkube("telemetry", "status").stdout.strip().splitlines()[-1]
    assert "enable" not in last and "`testkube disable telemetry` repairs it" in last


@pytest.mark.parametrize("variable", ["DO_NOT_TRACK", "TESTKUBE_TELEMETRY_DISABLED"])
def test_enable_under_an_opt_out_variable_writes_nothing_and_says_why(site, isolated, variable) -> None:
    ran = run_testkube("enable", "telemetry", env={variable: "1"})
    assert ran.returncode == 0
    assert f"Telemetry stays off: {variable}=1 is set. Nothing was written; unset {variable}" in ran.stdout
    assert not (isolated / "config.toml").exists()
    isolated.mkdir(exist_ok=True)
    (isolated / "config.toml").write_text("[telemetry]\nenabled = false\n")
    assert run_testkube("enable", "telemetry", env={variable: "yes"}).returncode == 0
    assert (isolated / "config.toml").read_text() == "[telemetry]\nenabled = false\n"


def run_in(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "testkube_telemetry_plugin", *args], cwd=folder,
                          capture_output=True, text=True, timeout=60, env=dict(os.environ))


@pytest.mark.parametrize("git", ["a folder", "a file (a worktree)"])
def test_project_disable_writes_at_the_repository_root_readable_by_all(site, tmp_path, git) -> None:
    repo = tmp_path / "repo"
    deep = repo / "sub" / "deep"
    deep.mkdir(parents=True)
    if git == "a folder":
        (repo / ".git").mkdir()
    else:
        (repo / ".git").write_text("gitdir: /elsewhere/.git/worktrees/repo\n")
    ran = run_in(deep, "telemetry", "disable", "--project")
    assert ran.returncode == 0, ran.stderr
    written = repo / ".testkube.toml"
    assert f"Telemetry is off for everyone working in {repo} (.testkube.toml)." in ran.stdout
    assert written.read_text().endswith("[telemetry]\nenabled = false\n") and not (deep / ".testkube.toml").exists()
    assert stat.S_IMODE(written.stat().st_mode) == 0o644  # it is committed: everyone reads it
    status = json.loads(run_in(deep, "telemetry", "status", "--json").stdout)
    assert (status["enabled"], status["decided_by"], status["project_file"]) == (False, "project", str(written))
    # The way back removes the setting (a project file cannot turn telemetry on) and keeps the mode.
    assert run_in(deep, "enable", "telemetry", "--project").returncode == 0
    assert "enabled =" not in written.read_text() and stat.S_IMODE(written.stat().st_mode) == 0o644
    status = json.loads(run_in(deep, "telemetry", "status", "--json").stdout)
    assert status["enabled"] is True and status["problems"] == []


def test_project_disable_edits_the_nearest_project_file_in_the_repository(site, tmp_path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "sub" / "deep").mkdir(parents=True)
    nearest = repo / "sub" / ".testkube.toml"
    nearest.write_text("# the sub-project's own\n")
    assert run_in(repo / "sub" / "deep", "disable", "telemetry", "--project").returncode == 0
    text = nearest.read_text()
    assert text.startswith("# the sub-project's own\n") and text.endswith("[telemetry]\nenabled = false\n")
    assert not (repo / ".testkube.toml").exists()


def test_project_disable_outside_a_repository_says_where_it_wrote(site, tmp_path) -> None:
    plain = tmp_path / "plain" / "folder"
    plain.mkdir(parents=True)
    if any((parent / ".git").exists() for parent in plain.parents):
        pytest.skip("the temporary folder is inside a git repository")
    ran = run_in(plain, "telemetry", "disable", "--project")
    assert ran.returncode == 0
    assert "No repository here or above (no .git)" in ran.stderr and str(plain) in ran.stderr
    assert stat.S_IMODE((plain / ".testkube.toml").stat().st_mode) == 0o644


def test_reset_sends_no_install_event(site, collector, isolated) -> None:
    assert run_testkube("ends", "ok").returncode == 0
    assert collector.events().count("testkube_cli_install") == 1
    reset = run_testkube("telemetry", "reset")
    assert reset.returncode == 0 and "New anonymous id" in reset.stdout
    assert run_testkube("ends", "ok").returncode == 0
    assert run_testkube("telemetry", "flush").returncode == 0
    events = collector.events()
    assert events.count("testkube_cli_install") == 1 and events.count("testkube_cli_command") == 2
    assert len({m["anonymousId"] for m in collector.messages()}) == 2  # a new id, the same installation


def test_project_disable_keeps_the_users_pending_events(site, collector, tmp_path, monkeypatch) -> None:
    """`disable --project` turns telemetry off for one repository only: the events the user's other commands
    left pending (batched, not yet due) are still theirs to send, not acknowledged with the opt-out event."""
    monkeypatch.setenv("TESTKUBE_TELEMETRY_DELIVERY", "background")
    for _ in range(3):
        assert run_testkube("ends", "ok").returncode == 0
    assert collector.requests == []  # fewer than a batch: kept for later
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    ran = run_in(repo, "telemetry", "disable", "--project")
    assert ran.returncode == 0, ran.stderr
    assert "testkube_cli_telemetry_disabled" in collector.events()
    flushed = run_testkube("telemetry", "flush")  # outside the repository telemetry is still on
    assert flushed.returncode == 0, flushed.stderr
    assert collector.events().count("testkube_cli_command") == 3, flushed.stdout
