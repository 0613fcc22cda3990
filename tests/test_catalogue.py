"""The event catalogue: Testkube's command shapes, the README, GA4 names."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from testkube_telemetry_plugin import catalogue, events, ga4

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def pending(runner, cli) -> list[dict]:
    return json.loads(runner.invoke(cli, ["telemetry", "show", "--json"]).stdout)["pending"]


def only(events: list[dict], name: str) -> dict:
    found = [e for e in events if e["event"] == name]
    assert len(found) == 1, [e["event"] for e in events]
    return found[0]["properties"]


COMMON = {"os", "arch", "python", "host", "host_version", "plugin_version", "ci", "ci_provider"}


@pytest.mark.parametrize(
    "args,event,props",
    [
        (["create", "test", "t1", "--type", "k6/script", "--git-uri", "https://u:p@git.example.com/r.git"],
         "testkube_cli_create_test", {"test_type": "k6/script", "test_source": "git"}),
        (["create", "test", "t1", "--type", "curl/test", "--file", "/home/alice/t.json"],
         "testkube_cli_create_test", {"test_type": "curl/test", "test_source": "file"}),
        (["create", "test", "t1", "--type", "Alice's Secret Type", "--uri", "https://x.example.com/a"],
         "testkube_cli_create_test", {"test_type": "other", "test_source": "uri"}),
        (["create", "testsuite", "s1", "--steps", "4"], "testkube_cli_create_testsuite", {"steps": 4}),
        (["create", "testworkflow", "w", "--steps", "3", "--templates", "2"],
         "testkube_cli_create_testworkflow", {"steps": 3, "templates": 2}),
        (["create", "testworkflowtemplate", "tpl"], "testkube_cli_create_testworkflowtemplate", {}),
        (["run", "test", "t1"], "testkube_cli_run_test", {"status": "success"}),
        (["run", "test", "t1", "--fail"], "testkube_cli_run_test", {"status": "error"}),
        (["run", "testsuite", "s1"], "testkube_cli_run_testsuite", {"status": "success"}),
        (["run", "testworkflow", "w"], "testkube_cli_run_testworkflow", {"status": "success", "templates": 2}),
        (["init", "--cluster-type", "gke"], "testkube_cli_init", {"cluster_type": "gke"}),
        (["init", "--cluster-type", "Alice's laptop cluster"], "testkube_cli_init", {"cluster_type": "other"}),
    ],
)
def test_command_shapes_map_to_catalogue_events(cli, runner, args, event, props) -> None:
    runner.invoke(cli, args)
    events = pending(runner, cli)
    got = only(events, event)
    specific = {k: v for k, v in got.items() if k not in COMMON}
    specific.pop("duration_ms", None) if "run" in args[0] else None
    assert specific == props
    if args[0] == "run":
        assert isinstance(got["duration_ms"], float)
    command = only(events, "testkube_cli_command")
    assert command["command"] == " ".join(args[:2] if args[0] != "init" else args[:1])
    rule = next(r for r in catalogue.COMMAND_EVENTS if r.event == event)
    assert set(got) - COMMON <= {p.name for p in rule.props}  # only this event's own properties


def test_install_and_heartbeat_once(cli, runner, isolated) -> None:
    for _ in range(3):
        runner.invoke(cli, ["ends", "ok"])
    names = [e["event"] for e in pending(runner, cli)]
    assert names.count("testkube_cli_install") == 1
    assert names.count("testkube-heartbeat") == 1
    assert names.count("testkube_cli_command") == 3


def test_heartbeat_again_on_a_new_utc_day(cli, runner, isolated, monkeypatch) -> None:
    import time as time_module

    runner.invoke(cli, ["ends", "ok"])
    real_gmtime = time_module.gmtime
    monkeypatch.setattr(time_module, "gmtime", lambda t=None: real_gmtime((t or time_module.time()) + 86400))
    runner.invoke(cli, ["ends", "ok"])
    runner.invoke(cli, ["ends", "ok"])
    names = [e["event"] for e in pending(runner, cli)]
    assert names.count("testkube-heartbeat") == 2
    assert names.count("testkube_cli_install") == 1


def test_error_event_for_failures(cli, runner) -> None:
    runner.invoke(cli, ["ends", "click-error"])
    error = only(pending(runner, cli), "testkube_cli_error")
    assert (error["error_type"], error["exit_code"], error["message"]) == ("ClickException", 1, "it did not work")


def test_readme_documents_every_event_and_property() -> None:
    rows = {}
    for line in README.splitlines():
        match = re.match(r"^\| `([^`]+)` \| [^|]+ \|([^|]*)\|$", line)
        if match:
            rows[match[1]] = set(re.findall(r"`([^`]+)`", match[2]))
    catalogue_rows = {rule.event: {p.name for p in rule.props} for rule in catalogue.COMMAND_EVENTS}
    catalogue_rows.update({name: set(props) for name, (_, props) in catalogue.GENERAL_EVENTS.items()})
    assert rows == catalogue_rows
    for name in catalogue.COMMON_PROPS:
        assert f"`{name}`" in README


@pytest.mark.parametrize("event", [r.event for r in catalogue.COMMAND_EVENTS] + list(catalogue.GENERAL_EVENTS))
def test_every_event_name_is_valid_for_ga4(event) -> None:
    name = ga4.ga_name(event, ga4.RESERVED_EVENT_NAMES)
    assert ga4.VALID_NAME.match(name) and not name.startswith(ga4.RESERVED_PREFIXES)


def test_ga4_conversion_rules() -> None:
    assert ga4.ga_name("testkube-heartbeat") == "testkube_heartbeat"
    assert ga4.ga_name("_private") == "tk_private"
    assert ga4.ga_name("google_thing") == "tk_google_thing"
    assert ga4.ga_name("session_start", ga4.RESERVED_EVENT_NAMES) == "tk_session_start"
    assert ga4.ga_name("9lives") == "tk_9lives"
    assert len(ga4.ga_name("x" * 80)) == 40
    message = {"event": "e", "anonymousId": "a", "timestamp": "2026-11-26T10:00:00.250Z",
               "properties": {f"p{i}": "v" * 300 for i in range(40)} | {"ok": True}}
    event = ga4.to_event(message)
    assert len(event["params"]) == 25
    assert event["params"]["engagement_time_msec"] == 1 and "session_id" in event["params"]
    assert all(len(str(v)) <= 100 for v in event["params"].values())
    assert event["timestamp_micros"] == 1795687200250000


@settings(max_examples=300, deadline=None)
@given(value=st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
))
def test_records_are_written_as_the_json_dumps_would_write(value) -> None:
    """The hot path's JSON (the C encoder, no `json` import) is `json.dumps`'s, byte for byte."""
    assert events.to_json(value) == json.dumps(value, separators=(",", ":"))


def test_the_fallback_encoder_is_json_dumps_and_refuses_what_json_refuses(monkeypatch) -> None:
    monkeypatch.setattr(events, "_encoder", None)
    monkeypatch.setattr(events, "_c_encoder", lambda: None)
    assert events.to_json({"a": [1, "é", None]}) == '{"a":[1,"\\u00e9",null]}'
    with pytest.raises(TypeError):
        events.to_json({"a": object()})
