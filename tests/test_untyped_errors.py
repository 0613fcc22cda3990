"""Issue 17: error text the user never typed leaks nothing, through the real CLI, to a real collector.

A plugin's command fails the way an API call fails: the exception's text is a
server's or a tool's message (tests/untyped_corpus.py), never an argument, so
only the allow-list stands between it and the collector.  Each message goes
through `testkube api call`, the spool, a real loopback collector (Segment and
GA4) and the sent log; what arrives is searched for every planted value after
decoding the JSON (non-ASCII travels as \\uXXXX) and in the raw bytes too.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import DEAD_URL, install_plugin, run_testkube

from testkube_telemetry_plugin.cli import make_cli

sys.path.insert(0, str(Path(__file__).parent))
from untyped_corpus import UNTYPED, UntypedCase, figures, leaked, normalise, useful  # noqa: E402

KINDS = ("api", "runtime", "os", "click")
ERROR_TYPES = {"api": "ApiError", "runtime": "RuntimeError", "os": "OSError", "click": "ClickException"}
ISSUE_EXAMPLES = ("+1 415 555 0134", "4000 0566 5566 5564", "3704 0044 0532 0130 00", "user will.short is not allowed",
                  "uid=max.long", "--passwrod=shared-root-access-key", "PASSCODE=7391", "52:54:00:19:84:21",
                  "globex-hr/payroll-check", "０９０ ８７６５ ４３２１")


@pytest.fixture
def api_cli(site: Path) -> Any:
    install_plugin(site, "api-error-plugin", {"apierror": "api_error_plugin"})
    return make_cli()


def searchable(value: Any) -> tuple[str, str]:
    """(decoded text, raw JSON text) of a payload: non-ASCII is searched as itself and as the wire spells it."""
    return json.dumps(value, ensure_ascii=False), json.dumps(value)


def distinctive(case: UntypedCase) -> list[str]:
    """Planted values long enough to look for in every byte sent or kept (ids and times hold short digit runs)."""
    return [p.value for p in case.planted if len(normalise(p.value)) >= 6]


def assert_nowhere(values: list[str], decoded: str, raw: str, where: str) -> None:
    text = normalise(decoded).casefold()
    for value in values:
        assert normalise(value).casefold() not in text, (value, where)
        assert value.casefold() not in raw.casefold(), (value, where)


def test_the_corpus_is_big_new_and_well_formed() -> None:
    assert len(UNTYPED) >= 150
    assert len({case.message for case in UNTYPED}) == len(UNTYPED)
    for case in UNTYPED:
        assert case.planted and case.keeps, case.message
        assert all(planted.value in case.message for planted in case.planted), case.message
        assert all(phrase == phrase.lower() for phrase in case.keeps), case.message
        assert not any(example in case.message for example in ISSUE_EXAMPLES), case.message
    kinds = {planted.kind for case in UNTYPED for planted in case.planted}
    assert {"phone", "card", "iban", "ssn", "date", "postcode", "cvv", "pin", "expiry", "user", "name",
            "secret"} <= kinds
    languages = {case.source for case in UNTYPED}
    assert {"de", "fr", "es", "pt", "ja", "zh"} <= languages


def test_the_leak_check_can_fail() -> None:
    """Each planted value counts as leaked in its own unscrubbed message: the checks below are not empty."""
    for case in UNTYPED:
        for planted in case.planted:
            assert leaked(planted, case.message), planted
        assert useful(case, case.message.lower())


CHUNK = 30  # commands recorded, then delivered: the sent log keeps its last 100 entries (one per message and sink)


def test_untyped_errors_through_the_cli_the_collector_and_the_sent_log(api_cli, runner, two_sinks, isolated,
                                                                        monkeypatch) -> None:
    collector = two_sinks
    sent_log = isolated / "telemetry" / "sent.jsonl"
    for first in range(0, len(UNTYPED), CHUNK):
        chunk = UNTYPED[first:first + CHUNK]
        # Recorded while no collector answers, then delivered by `telemetry flush` in one go.
        monkeypatch.setenv("TESTKUBE_TELEMETRY_SEGMENT_URL", DEAD_URL)
        monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_URL", DEAD_URL + "/mp/collect")
        for number, case in enumerate(chunk, first):
            monkeypatch.setenv("UNTYPED_ERROR", case.message)
            monkeypatch.setenv("UNTYPED_ERROR_KIND", KINDS[number % len(KINDS)])
            result = runner.invoke(api_cli, ["api", "call"])
            assert result.exit_code == 1, (case.message, result.output)
        monkeypatch.setenv("TESTKUBE_TELEMETRY_SEGMENT_URL", collector.url)
        monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_URL", collector.url + "/mp/collect")
        sent_log.unlink(missing_ok=True)  # so that it holds exactly this chunk's deliveries
        assert runner.invoke(api_cli, ["telemetry", "flush"]).exit_code == 0
        lines = sent_log.read_bytes().decode("utf-8").splitlines()
        assert sum(line.count('"testkube_cli_error"') for line in lines) == 2 * len(chunk)  # both sinks
        sent_decoded, _ = searchable([json.loads(line) for line in lines])
        for case in chunk:
            assert_nowhere(distinctive(case), sent_decoded, "\n".join(lines), "sent.jsonl")

    errors = [m["properties"] for m in collector.messages() if m["event"] == "testkube_cli_error"]
    assert [e["error_type"] for e in errors] == [ERROR_TYPES[KINDS[n % len(KINDS)]] for n in range(len(UNTYPED))]
    ga = [e["params"] for e in collector.ga_events() if e["name"] == "testkube_cli_error"]
    assert len(ga) == len(UNTYPED)
    outputs = [e["message"] for e in errors]
    for case, output, params in zip(UNTYPED, outputs, ga):
        for planted in case.planted:
            assert not leaked(planted, output), (planted, output)
            assert not leaked(planted, params["message"]), (planted, params["message"])
    decoded, raw = searchable([r["json"] for r in collector.requests])
    disk = "\n".join(p.read_bytes().decode("utf-8", "replace") for p in isolated.rglob("*") if p.is_file())
    for case in UNTYPED:
        assert_nowhere(distinctive(case), decoded, raw, "collector")
        assert_nowhere(distinctive(case), disk, disk, "TESTKUBE_HOME")

    found = figures(outputs)
    print("\nissue 17 corpus through the CLI: " + "; ".join(f"{k} {v[0]}/{v[1]}" for k, v in found.items()))
    assert found["all planted values"][0] == 0
    useful_count, total = found["useful messages"]
    assert useful_count / total >= 0.97, [(c.keeps, o) for c, o in zip(UNTYPED, outputs) if not useful(c, o)]


# Every message whose planted value is not ASCII (full-width, Arabic-Indic, Persian, Devanagari digits, accents),
# and the first of each other language: through a real process, as a shell runs it.
IN_A_PROCESS = sorted({n for n, case in enumerate(UNTYPED) if any(not p.value.isascii() for p in case.planted)}
                      | {next(n for n, case in enumerate(UNTYPED) if case.source == lang)
                         for lang in ("de", "fr", "es", "pt", "zh")})


@pytest.mark.parametrize("index", IN_A_PROCESS, ids=[UNTYPED[n].source + str(n) for n in IN_A_PROCESS])
def test_a_real_process_sends_none_of_it(index, site, collector, isolated) -> None:
    """The console script as a shell runs it, for the messages whose private values are not ASCII."""
    install_plugin(site, "api-error-plugin", {"apierror": "api_error_plugin"})
    case = UNTYPED[index]
    result = run_testkube("api", "call", env={"UNTYPED_ERROR": case.message, "UNTYPED_ERROR_KIND": "api"})
    assert result.returncode == 1, result.stderr
    # Whatever the delivery policy and the machine's load, `flush` delivers what the command spooled.
    assert run_testkube("telemetry", "flush").returncode == 0
    assert "testkube_cli_error" in collector.events()
    message = next(m for m in collector.messages() if m["event"] == "testkube_cli_error")["properties"]["message"]
    for planted in case.planted:
        assert not leaked(planted, message), (planted, message)
    decoded, raw = searchable([r["json"] for r in collector.requests])
    sent = (isolated / "telemetry" / "sent.jsonl").read_bytes().decode("utf-8")
    sent_decoded, _ = searchable([json.loads(line) for line in sent.splitlines()])
    assert_nowhere(distinctive(case), decoded, raw, "collector")
    assert_nowhere(distinctive(case), sent_decoded, sent, "sent.jsonl")


# --- properties fed by option values are enumerations ------------------------------------------------


@pytest.mark.parametrize(("typed", "sent"), [
    ("k6/script", "k6/script"),
    ("K6/Script", "k6/script"),
    ("cypress:v10/test", "cypress:v10/test"),
    ("maven:jdk11/project", "maven:jdk11/project"),
    ("gradle/integrationtest", "gradle/integrationTest"),
    ("zap/baseline", "zap/baseline"),
    ("globex-hr/payroll-check", "other"),
    ("container-executor-acme/test", "other"),
    ("k6/script-will-short", "other"),
])
def test_test_type_is_an_executor_type_or_other(cli, runner, typed: str, sent: str) -> None:
    assert runner.invoke(cli, ["create", "test", "t1", "--type", typed]).exit_code == 0
    shown = json.loads(runner.invoke(cli, ["telemetry", "show", "--json"]).stdout)["pending"]
    created = [m["properties"] for m in shown if m["event"] == "testkube_cli_create_test"]
    assert created[-1]["test_type"] == sent
    if sent == "other":
        assert typed.lower() not in json.dumps(shown).lower()


def test_every_option_fed_property_is_an_enumeration() -> None:
    """Each property whose value comes from an option the user types is cleaned to a fixed set of values."""
    from testkube_telemetry_plugin.telemetry import catalogue

    for rule in catalogue.COMMAND_EVENTS:
        for prop in rule.props:
            if not any(isinstance(s, (catalogue.Option, catalogue.KindOf)) for s in prop.sources):
                continue
            sent = {prop.clean(value, lambda v: v) for value in ("Will Short onboarding", "globex/payroll", "x")}
            assert sent <= {"other", None, "git", "file", "uri", "string"}, (prop.name, sent)
