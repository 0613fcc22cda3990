"""The home folder is trusted from the root down: folders above it, the wrong owner, relative and `~` homes.

Each case runs the console script as a user (or root) would, and checks what
the command printed, what `status` says, and that nothing was created.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import run_testkube

ANOTHER_USER = 65534  # nobody
as_root = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                             reason="making a folder another user's needs root")


def status_of(**env: str) -> dict:
    ran = run_testkube("telemetry", "status", "--json", env=env)
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout)


def test_a_home_under_a_folder_others_can_write_is_not_used(site, tmp_path, monkeypatch) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # anyone may rename the home away and put their own in its place
    home = shared / "home"
    monkeypatch.setenv("TESTKUBE_HOME", str(home))
    ran = run_testkube("ends", "ok")
    assert (ran.returncode, ran.stdout, ran.stderr) == (0, "ok 1\n", "")  # the command is untouched
    assert not home.exists()
    status = status_of()
    assert (status["enabled"], status["decided_by"], status["off_by_problem"]) == (False, "home", True)
    assert f"{shared} can be written by other users" in status["reason"] and "chmod go-w" in status["reason"]
    disable = run_testkube("disable", "telemetry")
    assert disable.returncode == 0 and "Nothing was written" in disable.stderr and not home.exists()
    heartbeat = run_testkube("telemetry", "heartbeat")
    assert heartbeat.returncode == 1 and "can be written by other users" in heartbeat.stderr


def test_a_sticky_folder_others_can_write_is_fine(site, tmp_path, monkeypatch) -> None:
    shared = tmp_path / "tmp-like"
    shared.mkdir()
    shared.chmod(0o1777)  # as /tmp: only an entry's owner may rename it
    monkeypatch.setenv("TESTKUBE_HOME", str(shared / "home"))
    assert run_testkube("ends", "ok").returncode == 0
    assert status_of()["enabled"] is True and (shared / "home" / "config.toml").exists()


def test_a_link_above_the_home_is_followed_to_where_it_leads_and_checked_there(site, tmp_path, monkeypatch) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    (tmp_path / "link").symlink_to(shared)
    monkeypatch.setenv("TESTKUBE_HOME", str(tmp_path / "link" / "home"))
    assert status_of()["decided_by"] == "home"
    safe = tmp_path / "safe"
    safe.mkdir()
    (tmp_path / "safe-link").symlink_to(safe)
    monkeypatch.setenv("TESTKUBE_HOME", str(tmp_path / "safe-link" / "home"))
    assert status_of()["enabled"] is True


@as_root
def test_a_home_under_a_folder_of_another_user_is_not_used(site, tmp_path, monkeypatch) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    os.chown(theirs, ANOTHER_USER, ANOTHER_USER)  # they may chmod it, then swap what is in it
    monkeypatch.setenv("TESTKUBE_HOME", str(theirs / "home"))
    assert run_testkube("ends", "ok").returncode == 0
    assert not (theirs / "home").exists()
    status = status_of()
    assert status["decided_by"] == "home" and f"{theirs} belongs to another user (uid {ANOTHER_USER})" in status[
        "reason"]


@as_root
def test_root_with_another_users_home_refuses_rather_than_create_files_for_them(site, tmp_path,
                                                                               monkeypatch) -> None:
    alice = tmp_path / "alice"
    alice.mkdir(mode=0o755)
    os.chown(alice, ANOTHER_USER, ANOTHER_USER)
    monkeypatch.delenv("TESTKUBE_HOME")  # `sudo testkube ...` keeping HOME: the home is ~/.testkube
    monkeypatch.setenv("HOME", str(alice))
    ran = run_testkube("ends", "ok")
    assert (ran.returncode, ran.stdout, ran.stderr) == (0, "ok 1\n", "")
    assert list(alice.iterdir()) == []  # nothing of root's in their home
    status = status_of()
    assert status["enabled"] is False and "root with another user's home" in status["reason"]
    human = run_testkube("telemetry", "status").stdout
    assert "sudo" in human and str(alice) in human
    disable = run_testkube("disable", "telemetry")
    assert disable.returncode == 0 and "Nothing was written" in disable.stderr
    assert list(alice.iterdir()) == []


@pytest.mark.parametrize("given", ["relative-home", "./relative-home", "~"])
def test_a_relative_or_tilde_home_is_refused_with_a_message(site, tmp_path, monkeypatch, given) -> None:
    user_home = tmp_path / "user-home"
    user_home.mkdir()
    monkeypatch.setenv("HOME", str(user_home))
    monkeypatch.setenv("TESTKUBE_HOME", given)
    work = Path.cwd()
    before = sorted(work.iterdir())
    ran = run_testkube("ends", "ok")
    assert (ran.returncode, ran.stdout, ran.stderr) == (0, "ok 1\n", "")
    assert sorted(work.iterdir()) == before and list(user_home.iterdir()) == []  # no new home anywhere
    status = status_of()
    assert (status["enabled"], status["decided_by"]) == (False, "home")
    expected = "is your home folder itself" if given == "~" else "is a relative path"
    assert f"TESTKUBE_HOME={given} {expected}" in status["reason"]
    assert sorted(work.iterdir()) == before and list(user_home.iterdir()) == []
