"""Nothing personal leaves the machine, and nothing at all when telemetry is off."""

from __future__ import annotations

import getpass
import json
import socket
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testkube_telemetry_plugin.scrub import scrub

ALNUM = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=6, max_size=12)
SECRETS = st.one_of(
    st.builds(lambda u, h: f"{u}@{h}.com", ALNUM, ALNUM),
    st.builds(lambda a, b: f"/home/{a}/{b}.yaml", ALNUM, ALNUM),
    st.builds(lambda a, b: f"C:\\Users\\{a}\\{b}", ALNUM, ALNUM),
    st.builds(lambda a: f"./{a}/config", ALNUM),
    st.builds(lambda a, b: f"https://{a}:{b}@git.example.com/r.git", ALNUM, ALNUM),
    st.builds(lambda a: f"https://api.example.com/x?token={a}", ALNUM),
    st.builds(lambda *o: ".".join(map(str, o)), *[st.integers(1, 254)] * 4),
    st.just("2001:db8:85a3::8a2e:370:7334"),
    st.builds(lambda a: "ghp_" + (a * 4)[:36], ALNUM),
    st.builds(lambda a: "github_pat_" + (a * 5)[:40], ALNUM),
    st.builds(lambda a: "AKIA" + (a.upper() * 3)[:16], ALNUM),
    st.builds(lambda a: "xoxb-" + (a * 3)[:24], ALNUM),
    st.builds(lambda a: "Bearer " + (a * 3)[:30], ALNUM),
    st.builds(lambda a, b: f"eyJ{a}.eyJ{b}.{a}{b}", ALNUM, ALNUM),
    st.builds(lambda a: "-----BEGIN RSA PRIVATE KEY-----\n" + a * 5 + "\n-----END RSA PRIVATE KEY-----", ALNUM),
    st.builds(lambda a: (a * 8)[:40], st.text("0123456789abcdef", min_size=8, max_size=8)),
    st.just(getpass.getuser()),
    st.just(socket.gethostname()),
)


def core(secret: str) -> str:
    """The part of a planted value that must not appear anywhere."""
    return secret.split("\n")[1] if "PRIVATE KEY" in secret else secret


@settings(max_examples=200, deadline=None)
@given(secret=SECRETS, prefix=st.sampled_from(["failed to open", "error:", "cannot reach", ""]))
def test_scrub_removes_planted_values(secret: str, prefix: str) -> None:
    text = f"{prefix} {secret} while running"
    assert core(secret) not in scrub(text)


def test_scrub_bounds_length_and_keeps_meaning() -> None:
    assert scrub("No such file: /home/alice/x.yaml") == "No such file: <path>"
    assert len(scrub("word " * 300_000)) <= 200


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secret=SECRETS)
def test_planted_values_never_reach_the_spool_or_the_collector(secret, cli, runner, collector, isolated) -> None:
    needle = core(secret)
    runner.invoke(cli, ["ends", "message", f"could not read {secret}"])      # error message
    runner.invoke(cli, [secret])                                            # unknown command
    runner.invoke(cli, ["ends", secret])                                    # unknown subcommand
    runner.invoke(cli, ["create", "test", secret, "--type", secret, "--git-uri", secret])  # values
    runner.invoke(cli, ["init", "--cluster-type", secret])                  # facts
    runner.invoke(cli, ["ends", "ok", "--count", secret])                   # bad value
    spooled = json.dumps(json.loads(runner.invoke(cli, ["telemetry", "show", "--json"]).stdout))
    sent = json.dumps([r["json"] for r in collector.requests])
    assert collector.requests, "nothing was sent: the test would prove nothing"
    for payload in (spooled, sent):
        assert needle not in payload
        assert needle.lower() not in payload.lower() or len(needle) < 3


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
def test_off_by_any_layer_means_no_socket_and_no_event(layer, cli, runner, collector, isolated, monkeypatch, connections) -> None:
    disable_by(layer, isolated, monkeypatch)
    for args in (["ends", "ok"], ["ends", "boom"], ["run", "test", "x"], ["telemetry", "flush"],
                 ["telemetry", "status"], ["disable", "telemetry"]):
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
