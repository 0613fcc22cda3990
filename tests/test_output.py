"""Honest output and safe defaults: no secret in any output, JSON whenever asked, exit codes a server
can watch, settings that are not UTF-8, and collectors that are never contacted without their credentials."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from conftest import run_in_terminal, run_testkube

from testkube_telemetry_plugin.cli import DEFAULT_PLUGINS

WRITE_KEY = "wk-SECRET-7f3a"
API_SECRET = "as-SECRET-91c2"
QUERY_SECRET = "q-SECRET-55d0"
PASSWORD = "pw-SECRET-3e8b"
SECRETS = (WRITE_KEY, API_SECRET, QUERY_SECRET, PASSWORD)

EVERY_COMMAND: list[tuple[tuple[str, ...], dict[str, str]]] = [
    (("ends", "ok"), {}),
    (("--debug", "ends", "ok"), {}),
    (("ends", "ok"), {"TESTKUBE_DEBUG": "1"}),
    (("ends", "ok"), {"TESTKUBE_TRACE_PLUGINS": "1"}),
    (("ends", "ok"), {"TESTKUBE_TELEMETRY_DEBUG": "1"}),
    (("telemetry", "status"), {}),
    (("--debug", "telemetry", "status", "--json"), {"TESTKUBE_TRACE_PLUGINS": "1"}),
    (("status", "telemetry"), {}),
    (("telemetry", "show"), {}),
    (("telemetry", "show", "--json"), {}),
    (("telemetry", "flush", "--timeout", "5"), {}),
    (("telemetry", "heartbeat"), {}),
    (("telemetry", "heartbeat", "--json"), {"TESTKUBE_TELEMETRY_DEBUG": "1"}),
    (("--debug", "telemetry", "heartbeat", "--json", "--lenient"), {}),
    (("telemetry", "reset"), {}),
    (("disable", "telemetry"), {"TESTKUBE_TELEMETRY_DEBUG": "1"}),
    (("enable", "telemetry"), {}),
    (("telemetry", "disable"), {}),
    (("telemetry", "enable"), {"DO_NOT_TRACK": "1"}),
    (("telemetry", "status"), {}),
]


@pytest.mark.parametrize("segment", ["usable", "with user info in its URL"])
def test_no_secret_in_any_output_of_any_command(site, collector, monkeypatch, segment) -> None:
    monkeypatch.setenv("TESTKUBE_TELEMETRY_SEGMENT_WRITE_KEY", WRITE_KEY)
    if segment != "usable":
        monkeypatch.setenv("TESTKUBE_TELEMETRY_SEGMENT_URL", collector.url.replace("://", f"://user:{PASSWORD}@"))
    monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_URL", f"{collector.url}/mp/collect?proxy_token={QUERY_SECRET}")
    monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_MEASUREMENT_ID", "G-TEST1")
    monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_API_SECRET", API_SECRET)
    seen = []
    for args, env in EVERY_COMMAND:
        collector.plan(("stall", 1.0))  # a slow answer: `flush` says what it waits for
        ran = run_testkube(*args, env=env)
        assert "Traceback" not in ran.stderr, (args, ran.stderr)
        seen.append((args, ran.stdout + ran.stderr))
    collector.plan(("stall", 1.0))
    assert run_testkube("ends", "ok").returncode == 0
    code, shown, _ = run_in_terminal("telemetry", "flush", "--timeout", "5")  # progress on a terminal
    seen.append((("telemetry", "flush", "(terminal)"), shown))
    for args, text in seen:
        for secret in SECRETS:
            assert secret not in text, (args, secret, text)
    assert any("Waiting for" in text for _, text in seen)  # the URLs were shown: masked
    assert any("***" in text for _, text in seen)
    assert collector.requests  # the usable collectors did get requests: the secrets were in use


def test_status_masks_a_refused_urls_credentials(isolated, cli, runner, monkeypatch) -> None:
    monkeypatch.setenv("TESTKUBE_TELEMETRY_SEGMENT_URL", f"https://user:{PASSWORD}@collector.example")
    human = runner.invoke(cli, ["telemetry", "status"]).stdout
    assert "segment: https://***@collector.example/v1/batch" in human and "refused" in human
    assert PASSWORD not in human and PASSWORD not in runner.invoke(cli, ["telemetry", "status", "--json"]).stdout


@pytest.mark.parametrize("mark", ["#", "?", "/", "\\"])
def test_status_masks_a_password_that_holds_a_url_delimiter(isolated, cli, runner, monkeypatch, mark) -> None:
    # Unescaped, `#` or `?` ends the authority for a URL parser: what comes before it is still the password.
    monkeypatch.setenv("TESTKUBE_TELEMETRY_SEGMENT_URL", f"https://user:{PASSWORD}{mark}tail@collector.example")
    human = runner.invoke(cli, ["telemetry", "status"]).stdout
    printed = runner.invoke(cli, ["telemetry", "status", "--json"]).stdout
    assert "refused" in human
    for text in (human, printed):
        assert PASSWORD not in text and "user:" not in text, text


def test_heartbeat_json_is_json_in_every_state(site, isolated, monkeypatch) -> None:
    off = run_testkube("telemetry", "heartbeat", "--json", env={"DO_NOT_TRACK": "1"})
    assert off.returncode == 0 and json.loads(off.stdout)["message"] is None
    debug = run_testkube("telemetry", "heartbeat", "--json", env={"TESTKUBE_TELEMETRY_DEBUG": "1"})
    assert debug.returncode == 0 and json.loads(debug.stdout)["message"]["event"] == "testkube-heartbeat"
    spooled = run_testkube("telemetry", "heartbeat", "--json")  # the collector is down: kept, not a problem
    assert spooled.returncode == 0 and json.loads(spooled.stdout)["delivered"] is False
    (isolated / "config.toml").write_text('[telemetry]\nenabled = "maybe"\n')
    broken = run_testkube("telemetry", "heartbeat", "--json")
    printed = json.loads(broken.stdout)
    assert broken.returncode == 1 and printed["enabled"] is False and "`enabled` must be" in printed["problem"]
    for args in (("telemetry", "status", "--json"), ("telemetry", "show", "--json"), ("plugins", "--json")):
        json.loads(run_testkube(*args).stdout)


def test_heartbeat_fails_visibly_on_a_problem_and_not_on_a_choice(site, isolated, monkeypatch) -> None:
    isolated.mkdir()
    isolated.chmod(0o2775)  # the usual fsGroup volume: group-writable, so not trusted
    problem = run_testkube("telemetry", "heartbeat")
    assert problem.returncode == 1 and "can be written by other users" in problem.stderr
    assert run_testkube("telemetry", "heartbeat", "--lenient").returncode == 0
    isolated.chmod(0o700)
    chosen = run_testkube("telemetry", "heartbeat", env={"TESTKUBE_TELEMETRY_DISABLED": "1"})
    assert chosen.returncode == 0 and "no heartbeat sent" in chosen.stderr
    (isolated / "config.toml").write_text("[telemetry]\nenabled = false\n")
    assert run_testkube("telemetry", "heartbeat").returncode == 0
    monkeypatch.delenv("TESTKUBE_TELEMETRY_SEGMENT_URL")  # on, but nowhere to send: a problem
    (isolated / "config.toml").unlink()
    nowhere = run_testkube("telemetry", "heartbeat")
    assert nowhere.returncode == 1 and "no collector can be sent to" in nowhere.stderr


def test_settings_that_are_not_utf8_never_crash_status_or_flush(site, collector, monkeypatch) -> None:
    bad = os.fsdecode(b"\xff\xfe")
    monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_MEASUREMENT_ID", "G-" + bad)
    monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_API_SECRET", bad + "secret")
    monkeypatch.setenv("TESTKUBE_TELEMETRY_DELIVERY", bad)
    monkeypatch.setenv("TESTKUBE_TELEMETRY_DEADLINE", bad)
    for args in (("ends", "ok"), ("telemetry", "status"), ("telemetry", "status", "--json"), ("telemetry", "flush"),
                 ("telemetry", "show"), ("telemetry", "heartbeat", "--lenient"), ("telemetry", "reset")):
        ran = run_testkube(*args)
        assert ran.returncode in (0, 1) and "Traceback" not in ran.stderr, (args, ran.stderr)
    status = json.loads(run_testkube("telemetry", "status", "--json").stdout)
    assert "not UTF-8 text" in status["collectors"]["ga4"]["problem"]
    assert any("TESTKUBE_TELEMETRY_GA_API_SECRET is not UTF-8 text" in p for p in status["problems"])
    assert collector.ga_events() == [] and collector.messages()  # GA4 never contacted; Segment is
    for variable in ("DO_NOT_TRACK", "TESTKUBE_TELEMETRY_SEGMENT_URL", "TESTKUBE_HOME"):
        with monkeypatch.context() as patched:
            patched.setenv(variable, (os.environ.get(variable, "") if variable == "TESTKUBE_HOME" else "") + bad)
            for args in (("telemetry", "status"), ("telemetry", "flush"), ("disable", "telemetry")):
                ran = run_testkube(*args)
                assert ran.returncode in (0, 1) and "Traceback" not in ran.stderr, (variable, args, ran.stderr)


# -- safe defaults ---------------------------------------------------------------------------------------
def test_the_reference_host_sends_nowhere_until_a_collector_with_credentials_is_set(site, monkeypatch) -> None:
    assert all(not plugin.collectors for plugin in DEFAULT_PLUGINS)
    monkeypatch.delenv("TESTKUBE_TELEMETRY_SEGMENT_URL")
    assert run_testkube("ends", "ok").returncode == 0
    status = json.loads(run_testkube("telemetry", "status", "--json").stdout)
    assert status["collectors"] == {} and status["pending_events"] == 3
    human = run_testkube("telemetry", "status").stdout
    assert "Collectors: none configured; events stay on this machine" in human
    assert "TESTKUBE_TELEMETRY_SEGMENT_URL and TESTKUBE_TELEMETRY_SEGMENT_WRITE_KEY" in human
    flushed = run_testkube("telemetry", "flush")
    assert flushed.returncode == 0 and "No collector is configured" in flushed.stdout


@pytest.mark.parametrize("missing", ["segment write key", "ga4 api secret"])
def test_a_collector_without_its_credentials_is_never_contacted(site, collector, monkeypatch, missing) -> None:
    if missing == "segment write key":
        monkeypatch.delenv("TESTKUBE_TELEMETRY_SEGMENT_WRITE_KEY")
        name, variable, words = "segment", "TESTKUBE_TELEMETRY_SEGMENT_WRITE_KEY", "no write key is set"
    else:
        monkeypatch.delenv("TESTKUBE_TELEMETRY_SEGMENT_URL")
        monkeypatch.delenv("TESTKUBE_TELEMETRY_GA_API_SECRET")
        monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_URL", collector.url + "/mp/collect")
        monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_MEASUREMENT_ID", "G-TEST1")
        name, variable, words = "ga4", "TESTKUBE_TELEMETRY_GA_API_SECRET", "no api secret is set"
    for args in (("ends", "ok"), ("telemetry", "flush"), ("telemetry", "heartbeat", "--lenient")):
        assert "Traceback" not in run_testkube(*args).stderr
    assert collector.requests == []
    human = run_testkube("telemetry", "status").stdout
    line = next(text for text in human.splitlines() if text.startswith(f"{name}: "))
    assert f"problem: {words}, so it is never contacted (set {variable})" in line
    flushed = run_testkube("telemetry", "flush")
    assert flushed.returncode == 1 and words in flushed.stderr


DOCS = [Path(__file__).parent.parent / "README.md", *sorted((Path(__file__).parent.parent / "docs").glob("*.md"))]
# Real addresses the docs name as facts, not as examples to copy: the GA4 endpoint is the collector's default.
FACTS = {"www.google-analytics.com"}


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.name)
def test_documentation_examples_use_reserved_hosts(doc) -> None:
    for url in re.findall(r"https?://[^\s)`'\"<>\]]+", doc.read_text(encoding="utf-8")):
        host = re.sub(r"^[^@/]*@", "", url.split("://", 1)[1]).split("/")[0].split(":")[0].lower()
        reserved = host.endswith((".invalid", ".example", ".test", ".localhost")) or host in (
            "localhost", "127.0.0.1") or re.search(r"(^|\.)example\.(com|net|org)$", host)
        assert reserved or host in FACTS, f"{doc.name}: {url} is a live host; use .invalid or .example"


def test_a_switch_set_to_a_word_that_is_not_yes_or_no_is_named_by_status(site, collector, isolated,
                                                                         monkeypatch) -> None:
    """`TESTKUBE_TELEMETRY_DEBUG=maybe` counts as not set (events are spooled, not printed), and so does
    `..._NOTICE_DISABLED=sure` (the notice is shown, nothing leaves before it is seen): status says so."""
    monkeypatch.setenv("TESTKUBE_TELEMETRY_DEBUG", "maybe")
    monkeypatch.setenv("TESTKUBE_TELEMETRY_NOTICE_DISABLED", "sure")
    ran = run_testkube("ends", "ok")
    assert (ran.returncode, ran.stdout) == (0, "ok 1\n")
    assert "collects anonymous usage data" in ran.stderr and "[telemetry]" not in ran.stderr
    pending = json.loads(run_testkube("telemetry", "show", "--json").stdout)["pending"]
    assert "testkube_cli_command" in [m["event"] for m in pending] and collector.requests == []
    status = json.loads(run_testkube("telemetry", "status", "--json").stdout)
    assert status["delivery"] != "debug (printed, not sent)"
    assert [p for p in status["problems"] if "yes/no" in p] == [
        "TESTKUBE_TELEMETRY_DEBUG='maybe' is not a yes/no value; taken as not set",
        "TESTKUBE_TELEMETRY_NOTICE_DISABLED='sure' is not a yes/no value; taken as not set"]
    monkeypatch.setenv("TESTKUBE_TELEMETRY_DEBUG", "off")
    monkeypatch.setenv("TESTKUBE_TELEMETRY_NOTICE_DISABLED", "1")
    assert json.loads(run_testkube("telemetry", "status", "--json").stdout)["problems"] == []
