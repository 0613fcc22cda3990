"""CI runs: the host's policy, no notice, no install event, one id per CI system and repository.

Each "job" is the console script in a new process with a fresh home, as a CI
job's machine has it, against a real collector.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from conftest import run_testkube

from testkube_telemetry_plugin import HookedGroup, Host, Telemetry

GITHUB = {"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "team/app"}


def job(tmp_path: Path, number: int, variables: dict[str, str], *args: str) -> str:
    """One CI job with a fresh home; returns its stderr."""
    home = tmp_path / f"job-{number}"
    ran = run_testkube(*(args or ("ends", "ok")), env={**variables, "TESTKUBE_HOME": str(home)})
    assert ran.returncode == 0 and ran.stdout == "ok 1\n", ran.stderr
    assert not (home / "config.toml").exists()  # nothing to keep: the id is derived, never stored
    return ran.stderr


@pytest.fixture
def uninformed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TESTKUBE_TELEMETRY_NOTICE_DISABLED")


def test_jobs_of_one_repository_are_one_installation(site, collector, tmp_path, uninformed) -> None:
    for number in range(3):
        assert job(tmp_path, number, GITHUB) == ""  # no notice: nobody reads it in CI
    messages = collector.messages()
    assert {m["anonymousId"] for m in messages} == {messages[0]["anonymousId"]}
    assert [m["event"] for m in messages].count("testkube_cli_command") == 3
    assert "testkube_cli_install" not in [m["event"] for m in messages]
    assert all(m["properties"]["ci_provider"] == "github-actions" for m in messages)


def test_the_id_depends_on_the_ci_system_and_the_repository_and_nothing_else(site, collector, tmp_path) -> None:
    variants = [
        GITHUB,
        {**GITHUB, "GITHUB_RUN_ID": "99", "GITHUB_SHA": "abc"},  # another run of the same repository
        {**GITHUB, "GITHUB_REPOSITORY": "Team/App"},  # spelled another way
        {**GITHUB, "GITHUB_REPOSITORY": "team/other"},
        {"GITLAB_CI": "true", "CI_SERVER_HOST": "github.com", "CI_PROJECT_PATH": "team/app"},
        {"CI": "true"},  # a CI that names no repository
    ]
    ids = []
    for number, variables in enumerate(variants):
        before = len(collector.messages())
        job(tmp_path, number, variables)
        ids.append({m["anonymousId"] for m in collector.messages()[before:]})
    assert all(len(found) == 1 for found in ids)
    assert ids[0] == ids[1] == ids[2]
    assert len({next(iter(found)) for found in ids[2:]}) == 4
    raw = json.dumps(collector.messages())
    assert "team/app" not in raw and "team/other" not in raw  # only the keyed hash leaves


def test_a_repository_url_with_credentials_gives_the_same_id_and_never_leaves(site, collector, tmp_path) -> None:
    base = {"CODEBUILD_BUILD_ID": "b:1"}
    job(tmp_path, 1, {**base, "CODEBUILD_SOURCE_REPO_URL": "https://github.com/team/app.git"})
    job(tmp_path, 2, {**base, "CODEBUILD_SOURCE_REPO_URL": "https://user:s3cr3t@github.com/team/app"})
    assert len({m["anonymousId"] for m in collector.messages()}) == 1
    assert "s3cr3t" not in json.dumps(collector.requests)


def test_status_and_reset_in_ci(site, tmp_path, monkeypatch) -> None:
    for name, value in GITHUB.items():
        monkeypatch.setenv(name, value)
    status = json.loads(run_testkube("telemetry", "status", "--json").stdout)
    assert (status["ci"], status["may_send"], status["informed_by"]) == ("github-actions", True, "ci")
    assert len(status["anonymous_id"]) == 64
    reset = run_testkube("telemetry", "reset")
    assert reset.returncode == 0 and "nothing to reset" in reset.stdout
    assert json.loads(run_testkube("telemetry", "status", "--json").stdout)["anonymous_id"] == status["anonymous_id"]


def test_a_host_can_collect_nothing_in_ci(isolated, runner, monkeypatch) -> None:
    monkeypatch.setenv("MYCLI_HOME", str(isolated.parent / "mycli-home"))
    monkeypatch.setenv("MYCLI_TELEMETRY_SEGMENT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("MYCLI_TELEMETRY_SEGMENT_WRITE_KEY", "k")

    @click.group(cls=HookedGroup, host=Host("mycli", plugins=[Telemetry(ci="off")]))
    def mycli() -> None:
        pass

    @mycli.command()
    def hello() -> None:
        click.echo("hi")

    monkeypatch.setenv("BUILDKITE", "true")
    assert runner.invoke(mycli, ["hello"]).stdout == "hi\n"
    status = json.loads(runner.invoke(mycli, ["--telemetry", "status", "--json"]).stdout)
    assert (status["enabled"], status["decided_by"], status["pending_events"]) == (False, "ci", 0)
    assert "collects nothing in CI" in status["reason"]
    monkeypatch.delenv("BUILDKITE")
    assert json.loads(runner.invoke(mycli, ["--telemetry", "status", "--json"]).stdout)["enabled"] is True
    with pytest.raises(ValueError, match="Telemetry.ci"):
        Telemetry(ci="sometimes")


def test_ci_delivers_promptly_with_background_delivery(site, collector, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TESTKUBE_TELEMETRY_DELIVERY", "background")
    job(tmp_path, 1, GITHUB)
    assert collector.wait_for(lambda: "testkube_cli_command" in collector.events(), 20)


def test_a_clusters_hash_in_ci_cannot_be_matched_from_the_id_it_travels_with(site, collector, tmp_path) -> None:
    """The jobs of a repository hash a cluster's UID alike, with a key that is never sent: were the key the
    id (in every message), whoever holds the messages could check a known UID against them."""
    from testkube_telemetry_plugin.telemetry.config import keyed_hash

    uid = "3f2c6f1e-9b7a-4c1d-8e2f-0a1b2c3d4e5f"
    for number, variables in enumerate([GITHUB, GITHUB, {**GITHUB, "GITHUB_REPOSITORY": "team/other"}]):
        home = tmp_path / f"job-{number}"
        ran = run_testkube("init", env={**variables, "TESTKUBE_HOME": str(home), "SAMPLE_CLUSTER_ID": uid})
        assert ran.returncode == 0, ran.stderr
    inits = [m for m in collector.messages() if m["event"] == "testkube_cli_init"]
    hashes = [m["properties"]["cluster_id"] for m in inits]
    assert len(hashes) == 3 and hashes[0] == hashes[1] != hashes[2]  # one repository, one hash
    for message in inits:
        assert message["properties"]["cluster_id"] != keyed_hash(message["anonymousId"], "cluster", uid)
    assert uid not in json.dumps(collector.messages())
