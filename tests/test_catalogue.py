"""The event catalogue: Testkube's command shapes, docs/events.md, GA4 names."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from testkube_telemetry_plugin.telemetry import catalogue, collectors, events

EVENTS_DOC = (Path(__file__).parent.parent / "docs" / "events.md").read_text(encoding="utf-8")


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
    rule = next(r for r in catalogue.EVENTS if r.event == event)
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


def test_the_docs_list_every_event_and_property() -> None:
    rows = {}
    for line in EVENTS_DOC.splitlines():
        match = re.match(r"^\| `([^`]+)` \| [^|]+ \|([^|]*)\|$", line)
        if match:
            rows[match[1]] = set(re.findall(r"`([^`]+)`", match[2]))
    catalogue_rows = {entry.event: {p.name for p in entry.props} for entry in catalogue.EVENTS}
    assert rows == catalogue_rows
    for prop in catalogue.COMMON:
        assert f"`{prop.name}`" in EVENTS_DOC


GA4_VALID_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")  # from the Measurement Protocol's reference


@pytest.mark.parametrize("event", [entry.event for entry in catalogue.EVENTS])
def test_every_event_reaches_ga4_under_its_own_name(event) -> None:
    """GA4 gets the catalogue's name with `-` as `_`: never truncated, prefixed or merged with another."""
    name = collectors.ga_name(event, collectors.GA4_RESERVED_EVENT_NAMES)
    assert name == event.replace("-", "_")
    assert GA4_VALID_NAME.match(name) and not name.startswith(collectors.GA4_RESERVED_PREFIXES)
    others = {collectors.ga_name(e.event, collectors.GA4_RESERVED_EVENT_NAMES) for e in catalogue.EVENTS
              if e.event != event}
    assert name not in others


def test_ga4_conversion_rules() -> None:
    assert collectors.ga_name("testkube-heartbeat") == "testkube_heartbeat"
    assert collectors.ga_name("_private") == "tk_private"
    assert collectors.ga_name("google_thing") == "tk_google_thing"
    assert collectors.ga_name("session_start", collectors.GA4_RESERVED_EVENT_NAMES) == "tk_session_start"
    assert collectors.ga_name("9lives") == "tk_9lives"
    assert len(collectors.ga_name("x" * 80)) == 40
    message = {"event": "e", "anonymousId": "a", "timestamp": "2026-11-26T10:00:00.250Z",
               "properties": {f"p{i}": "v" * 300 for i in range(40)} | {"ok": True}}
    event = collectors.ga_event(message)
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


# -- the catalogue is data the code reads --------------------------------------------------------------------
EVERY_KIND_OF_COMMAND = [
    ["ends", "ok"], ["ends", "click-error"], ["ends", "boom"], ["ends", "ctx-exit"], ["no-such"],
    ["ends", "ok", "--count", "many"], ["--help"],
    ["create", "test", "t1", "--type", "k6/script", "--git-uri", "https://git.example.com/r.git"],
    ["create", "testsuite", "s1", "--steps", "4"], ["create", "testworkflow", "w", "--steps", "3", "--templates", "2"],
    ["create", "testworkflowtemplate", "tpl"], ["run", "test", "t1"], ["run", "test", "t1", "--fail"],
    ["run", "testsuite", "s1"], ["run", "testworkflow", "w"], ["init", "--cluster-type", "gke"],
    ["telemetry", "heartbeat", "--cluster-id", "kube-system-uid"], ["telemetry", "reset"],
    ["disable", "telemetry"],
]


def test_every_property_of_every_event_spooled_is_declared_in_the_catalogue(cli, runner, collector,
                                                                              isolated) -> None:
    declared = {entry.event: {p.name for p in entry.props} for entry in catalogue.EVENTS}
    common = {p.name for p in catalogue.COMMON}
    for args in EVERY_KIND_OF_COMMAND:
        runner.invoke(cli, args)
    sent = collector.messages()
    names = {m["event"] for m in sent}
    assert {"testkube_cli_install", "testkube-heartbeat", "testkube_cli_command", "testkube_cli_error",
            "testkube_cli_create_test", "testkube_cli_init", "testkube_cli_telemetry_disabled"} <= names
    for message in sent:
        assert message["event"] in declared, message["event"]
        assert set(message["properties"]) <= declared[message["event"]] | common, message


def test_an_undeclared_property_is_refused_when_the_event_is_built() -> None:
    from testkube_telemetry_plugin.cli import TESTKUBE

    with pytest.raises(KeyError, match="does not declare"):
        catalogue.build(TESTKUBE, catalogue.COMMAND, {}, {"command": "x", "argv": "--token s3cr3t"})
    with pytest.raises(KeyError, match="does not declare"):
        catalogue.build(TESTKUBE, catalogue.INSTALL, {"hostname": "laptop"})


def test_debug_mode_prints_the_very_events_a_real_run_spools(site, collector, isolated, tmp_path) -> None:
    """The same command, once printed in debug mode and once for real: the same events, the same properties."""
    from conftest import run_testkube

    args = ["create", "test", "t1", "--type", "k6/script", "--file", "x.js"]
    debug = run_testkube(*args, env={"TESTKUBE_TELEMETRY_DEBUG": "1"})
    assert debug.returncode == 0 and not (isolated / "telemetry" / "spool").exists()
    printed = [json.loads(line.split(" ", 1)[1]) for line in debug.stderr.splitlines()
               if line.startswith("[telemetry] {")]
    real = run_testkube(*args, env={"TESTKUBE_TELEMETRY_DELIVERY": "inline"})
    assert real.returncode == 0
    sent = collector.messages()

    def shape(messages: list[dict]) -> list[tuple[str, dict]]:
        volatile = {"duration_ms"}
        return [(m["event"], {k: v for k, v in m["properties"].items() if k not in volatile}) for m in messages]

    assert [m["event"] for m in printed] == ["testkube_cli_install", "testkube-heartbeat", "testkube_cli_command",
                                             "testkube_cli_create_test"]
    assert shape(printed) == shape(sent)
