"""Nothing the user typed, and nothing personal, leaves the machine; nothing at all when off.

The notice promises: "It never includes argument values, paths, names or
secrets; `testkube telemetry show` shows exactly what is sent."  Each test here
tries to break a piece of that the way an outsider would: real error messages
from real tools, random values typed on a real command line, a real collector.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest
from conftest import DEAD_URL, PLUGINS_SRC, run_testkube, spool_of
from error_corpus import CORPUS
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from testkube_telemetry_plugin.telemetry.scrub.vocabulary import WORDS as _WORDS

WORDS = frozenset(_WORDS.split())
WORDS_CASEFOLDED = {word.casefold() for word in WORDS}

PLACEHOLDER = re.compile(r"<[a-z]+>")


def leaves(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item)
    elif value is not None:
        yield str(value)


def everything_on_disk(home: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in home.rglob("*") if p.is_file())


# --- real error messages, through the real pipeline ---------------------------------
def test_the_corpus_through_hook_spool_and_collector(cli, runner, collector, isolated, monkeypatch) -> None:
    kinds = ["click", "value", "os"]
    for number, case in enumerate(CORPUS):
        monkeypatch.setenv("SAMPLE_ERROR", case.message)
        monkeypatch.setenv("SAMPLE_ERROR_KIND", kinds[number % 3])
        assert runner.invoke(cli, ["ends", "corpus"]).exit_code == 1
    assert runner.invoke(cli, ["telemetry", "flush"]).exit_code == 0
    errors = [m["properties"] for m in collector.messages() if m["event"] == "testkube_cli_error"]
    assert len(errors) == len(CORPUS)
    wire = json.dumps([r["json"] for r in collector.requests]).lower()
    disk = everything_on_disk(isolated).lower()
    for case, error in zip(CORPUS, errors):
        for secret in case.secrets:
            assert secret.lower() not in error["message"].lower(), (secret, case.message)
            if len(secret) >= 6:  # distinctive enough to look for in every byte sent and kept
                assert secret.lower() not in wire, (secret, case.message)
                assert secret.lower() not in disk, (secret, case.message)
    useful = sum(case.keeps.lower() in error["message"].lower() for case, error in zip(CORPUS, errors))
    ratio = useful / len(CORPUS)
    print(f"\nusefulness through the pipeline: {useful}/{len(CORPUS)} = {ratio:.0%}")
    assert ratio >= 0.80
    assert {e["error_type"] for e in errors} == {"ClickException", "ValueError", "OSError"}


# --- random values typed on the command line -------------------------------------------
VALUES = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=24),
    st.text("abcdefghijklmnopqrstuvwxyz0123456789-_. '\"/@:=", min_size=1, max_size=24),
    st.sampled_from(sorted(WORDS)[:4000:7]),  # values that are ordinary words
    st.builds(lambda a, b: f"{a} {b}", st.sampled_from(["John", "acme", "prod"]), st.sampled_from(["Smith", "eu1"])),
)


def cli_words() -> set[str]:
    """Command names and option flags of the reference CLI and the sample plugin: the CLI's own words."""
    import click

    from testkube_telemetry_plugin.cli import make_cli

    found: set[str] = set()

    def walk(command: click.Command) -> None:
        found.add((command.name or "").casefold())
        for param in command.params:
            found.update(opt.casefold() for opt in getattr(param, "opts", []))
        for sub in getattr(command, "commands", {}).values():
            walk(sub)

    root = make_cli()
    root.list_commands(click.Context(root))
    sys.path.insert(0, str(PLUGINS_SRC))
    try:  # the commands the `site` fixture's plugins add are the CLI's own words too
        for module in ("sample_plugin", "echo_plugin"):
            importlib.import_module(module).testkube_register_commands(root)
            del sys.modules[module]  # the `site` fixture imports its own copy
    finally:
        sys.path.remove(str(PLUGINS_SRC))
    walk(root)
    return found


def meaningful(value: str) -> bool:
    """Values the scrubber is asked to remove: with a letter or digit, not a CLI word, not a flag."""
    return (any(ch.isalnum() for ch in value) and not value.startswith("-") and value.strip() == value
            and value.casefold() not in OWN)


OWN = cli_words()

# Commands whose outcome does not depend on the value: what they spool must not either.
STABLE = [
    lambda v: ["create", "test", v, "--type", v, "--git-uri", v],  # succeeds
    lambda v: ["run", "test", v, "--fail"],  # fails with the value in its message
    lambda v: [v],  # unknown command
    lambda v: ["ends", "message", f"cannot reach {v}: connection refused"],  # free text holding the value
]
# Commands that succeed or fail depending on the value (`--count 3` is fine, `--count x` is not).
VARYING = [
    lambda v: ["ends", "ok", "--count", v],
    lambda v: ["ends", "ok", v],
    lambda v: ["init", "--cluster-type", v],
]


def tokens(text: str) -> set[str]:
    return set(re.split(r"[\s'\"(),.:;=]+", PLACEHOLDER.sub(" ", text).casefold()))


def shape(shown: list[dict]) -> list[dict]:
    """Messages without what may differ between runs: ids, times, durations, the free text, enumerations."""
    volatile = {"messageId", "timestamp", "anonymousId"}
    varying = {"duration_ms", "message", "test_type"}
    return [{k: ({p: x for p, x in v.items() if p not in varying} if k == "properties" else v)
             for k, v in m.items() if k not in volatile} for m in shown]


CONTROL = "zq9xv"  # a value no sentence holds: what a command says for it is its fixed text


def run_each(cli, runner, home: str, commands: list, typed: str) -> list[tuple[int, Optional[str]]]:
    """(exit code, the error message spooled for it or None) for each command, run with `typed`."""
    found = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TESTKUBE_HOME", home)
        for build in commands:
            code = runner.invoke(cli, build(typed)).exit_code
            shown = json.loads(runner.invoke(cli, ["telemetry", "show", "--json"]).stdout)["pending"]
            errors = [m["properties"]["message"] for m in shown if m["event"] == "testkube_cli_error"]
            found.append((code, errors[-1] if code else None))
            spool_of(home).purge()
    return found


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=VALUES.filter(meaningful))
def test_typed_values_never_reach_the_spool(value, cli, runner, tmp_path) -> None:
    with tempfile.TemporaryDirectory(dir=tmp_path) as home:
        control = run_each(cli, runner, home, STABLE + VARYING, CONTROL)
    with tempfile.TemporaryDirectory(dir=tmp_path) as home:
        typed = run_each(cli, runner, home, STABLE + VARYING, value)
        raw = "\n".join(p.read_text(errors="replace") for p in Path(home).rglob("*") if p.is_file())
    assert sum(code != 0 for code, _ in typed) >= 3  # run --fail, the unknown command and the message always fail
    for (code, message), (control_code, control_message) in zip(typed, control):
        if message is None:
            continue
        # Where the control value got the same kind of answer, the sentence's own words are known:
        # the typed value may appear only as one of them ("for" in "Invalid value for ...").
        fixed = control_message if control_code == code and control_message else ""
        text = PLACEHOLDER.sub(" ", message).casefold()
        if len(value) >= 3 and value.casefold() not in fixed.casefold():
            assert value.casefold() not in text, (value, message)  # removed inside longer words too
        assert value.casefold() not in tokens(message) or value.casefold() in tokens(fixed), (value, message)
    if len(value) >= 6 and value.casefold() not in WORDS_CASEFOLDED:
        assert value not in raw  # in no file under the home at all


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=VALUES.filter(meaningful), other=VALUES.filter(meaningful))
def test_what_is_spooled_does_not_depend_on_what_was_typed(value, other, cli, runner, tmp_path) -> None:
    shown, codes = {}, {}
    for typed in (value, other):
        with tempfile.TemporaryDirectory(dir=tmp_path) as home, pytest.MonkeyPatch.context() as patch:
            patch.setenv("TESTKUBE_HOME", home)
            codes[typed] = [runner.invoke(cli, build(typed)).exit_code for build in STABLE]
            shown[typed] = shape(json.loads(runner.invoke(cli, ["telemetry", "show", "--json"]).stdout)["pending"])
    # Two values the CLI itself treats alike (Click 8.1 takes a leading ":" or "/" for an option prefix):
    assume(codes[value] == codes[other])
    assert shown[value] == shown[other]


def test_usage_errors_send_a_fixed_value_free_sentence(cli, runner) -> None:
    runner.invoke(cli, ["acme-corp-prod-cluster"])
    runner.invoke(cli, ["plugins", "John Smith"])
    runner.invoke(cli, ["ends", "ok", "--count", "many"])
    runner.invoke(cli, ["ends", "ok", "--pasword", "hunter2"])
    runner.invoke(cli, ["status"])  # a group with no subcommand: the help text is not a message
    shown = json.loads(runner.invoke(cli, ["telemetry", "show", "--json"]).stdout)["pending"]
    messages = [m["properties"]["message"] for m in shown if m["event"] == "testkube_cli_error"]
    text = " ".join(messages)
    for typed in ("acme", "John", "Smith", "many", "pasword", "hunter2", "Usage:", "Options:"):
        assert typed not in text
    assert "No such command <arg>." in messages
    assert any(m.startswith("Invalid value for '--count'") for m in messages)


# --- opting out leaves nothing behind -----------------------------------------------------
def test_disable_leaves_no_id_salt_or_secret_anywhere_under_the_home(cli, runner, collector, isolated,
                                                                      monkeypatch) -> None:
    monkeypatch.setenv("TESTKUBE_TELEMETRY_SEGMENT_WRITE_KEY", "wk-0123456789")
    for args in (["ends", "ok"], ["ends", "boom"], ["telemetry", "status"]):
        runner.invoke(cli, args)
    config = (isolated / "config.toml").read_text()
    old_id = re.search(r'anonymous_id = "([0-9a-f]{64})"', config)[1]
    salt = re.search(r'salt = "([0-9a-f]+)"', config)[1]
    assert old_id in everything_on_disk(isolated)  # the test can see it before
    assert runner.invoke(cli, ["disable", "telemetry"]).exit_code == 0
    disk = everything_on_disk(isolated)
    for secret in (old_id, salt, "wk-0123456789"):
        assert secret not in disk
    assert collector.events()[-1] == "testkube_cli_telemetry_disabled"
    assert collector.messages()[-1]["anonymousId"] == old_id


def test_after_disable_an_opted_out_process_reads_no_telemetry_file(cli, runner, isolated, monkeypatch) -> None:
    runner.invoke(cli, ["ends", "ok"])
    runner.invoke(cli, ["disable", "telemetry"])
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    opened: list[str] = []
    real_open = os.open

    def watched(path, *args, **kwargs):
        opened.append(os.fspath(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", watched)
    assert runner.invoke(cli, ["ends", "ok"]).stdout == "ok 1\n"
    touched = [p for p in opened if p.startswith(str(isolated)) and not p.endswith(".entry-points")]
    assert touched == []


def test_an_unconfirmed_opt_out_goes_to_a_flusher_that_clears_up_after_its_try(site, collector, isolated) -> None:
    assert run_testkube("ends", "ok").returncode == 0
    assert collector.wait_for(lambda: "testkube_cli_command" in collector.events())  # the sent log holds the id
    old_id = re.search(r'anonymous_id = "([0-9a-f]{64})"', (isolated / "config.toml").read_text())[1]
    result = run_testkube("disable", "telemetry", env={"TESTKUBE_TELEMETRY_SEGMENT_URL": DEAD_URL})
    assert result.returncode == 0
    assert "The opt-out event is handed to a background flusher" in result.stderr
    # At once, only the opt-out record (in the spool, for the flusher) still holds the old id.
    outside_spool = "\n".join(p.read_text(errors="replace") for p in isolated.rglob("*")
                              if p.is_file() and (isolated / "telemetry" / "spool") not in p.parents)
    assert old_id not in outside_spool
    assert not (isolated / "telemetry" / "heartbeat-day").exists()
    deadline = time.monotonic() + 30  # the flusher's own hard limit
    while (isolated / "telemetry").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (isolated / "telemetry").exists()
    assert old_id not in everything_on_disk(isolated)


def test_an_opt_out_no_flusher_can_take_is_purged_at_once(cli, runner, isolated, monkeypatch) -> None:
    from testkube_telemetry_plugin.telemetry import scheduler

    runner.invoke(cli, ["ends", "ok"])  # the collector is down (a refused port)
    old_id = re.search(r'anonymous_id = "([0-9a-f]{64})"', (isolated / "config.toml").read_text())[1]
    monkeypatch.setattr(scheduler, "start_flusher", lambda host, paths: False)  # e.g. no process can start
    result = runner.invoke(cli, ["disable", "telemetry"])
    assert result.exit_code == 0 and "background flusher" not in result.stderr
    assert not (isolated / "telemetry").exists()
    assert old_id not in everything_on_disk(isolated)


def test_a_project_file_cannot_redirect_events_to_its_own_collector(cli, runner, collector, isolated) -> None:
    from collector import Collector

    with Collector() as theirs:
        Path(".testkube.toml").write_text(f'[telemetry]\nsegment_url = "{theirs.url}"\nconsent = "opt-out"\n')
        runner.invoke(cli, ["ends", "ok"])
        assert theirs.requests == []
    assert "testkube_cli_command" in collector.events()


def test_debug_prints_the_opt_out_event_labelled_and_sends_nothing(cli, runner, collector, isolated,
                                                                   monkeypatch) -> None:
    runner.invoke(cli, ["ends", "ok"])
    sent = len(collector.requests)
    monkeypatch.setenv("TESTKUBE_TELEMETRY_DEBUG", "1")
    result = runner.invoke(cli, ["disable", "telemetry"])
    assert result.exit_code == 0
    printed = [line for line in result.stderr.splitlines() if line.startswith("[telemetry] ")]
    assert [json.loads(line.split(" ", 1)[1])["event"] for line in printed] == ["testkube_cli_telemetry_disabled"]
    assert len(collector.requests) == sent


# --- off means off ------------------------------------------------------------------------
def disable_by(layer: str, isolated: Path, monkeypatch) -> None:
    if layer == "do_not_track":
        monkeypatch.setenv("DO_NOT_TRACK", "1")
    elif layer == "env":
        monkeypatch.setenv("TESTKUBE_TELEMETRY_DISABLED", "true")
    elif layer == "project":
        Path(".testkube.toml").write_text("[telemetry]\nenabled = false\n")
    else:
        isolated.mkdir(exist_ok=True)
        (isolated / "config.toml").write_text("[telemetry]\nenabled = false\n")


@pytest.mark.parametrize("layer", ["do_not_track", "env", "project", "user"])
def test_off_by_any_layer_means_no_socket_and_no_event(layer, cli, runner, collector, isolated, monkeypatch,
                                                       connections) -> None:
    disable_by(layer, isolated, monkeypatch)
    for args in (["ends", "ok"], ["ends", "boom"], ["run", "test", "x"], ["telemetry", "flush"],
                 ["telemetry", "status"], ["disable", "telemetry"], ["telemetry", "heartbeat"]):
        runner.invoke(cli, args)
    assert connections == []
    assert collector.requests == []
    assert not (isolated / "telemetry" / "spool").exists()


def test_disable_sends_exactly_one_opt_out_event_and_nothing_after(cli, runner, collector) -> None:
    runner.invoke(cli, ["ends", "ok"])
    before = len(collector.messages())
    runner.invoke(cli, ["telemetry", "disable"])
    after = collector.messages()[before:]
    assert [m["event"] for m in after] == ["testkube_cli_telemetry_disabled"]
    for args in (["ends", "ok"], ["telemetry", "flush"], ["disable", "telemetry"]):
        runner.invoke(cli, args)
    assert len(collector.messages()) == before + 1


def test_run_in_a_subprocess_the_notice_promise_holds(site, collector, isolated) -> None:
    """The whole promise, end to end, as a user's shell runs it."""
    secret = "acme-payments-checkout"
    result = run_testkube("run", "test", secret, "--fail", env={"TESTKUBE_TELEMETRY_DELIVERY": "inline"})
    assert result.returncode == 1 and secret in result.stderr  # the user sees their own value...
    assert collector.wait_for(lambda: "testkube_cli_error" in collector.events())
    assert secret not in json.dumps([r["json"] for r in collector.requests])  # ...the collector never does
    assert secret not in everything_on_disk(isolated)
