"""The scrubber sends nothing the user typed and nothing private, and stays useful.

The corpus is real-shaped errors with planted private values; the property
tests plant random typed values (unicode, quotes, regex metacharacters, plain
English words) in message templates.  They call `_scrub`, the pipeline without
the never-raise safety net, so a bug cannot pass as a placeholder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from testkube_telemetry_plugin.telemetry.scrub import (
    MAX_MESSAGE_CHARS,
    _scrub,
    local_names,
    scrub,
    usage_error_message,
)
from testkube_telemetry_plugin.telemetry.scrub.allowlist import KINDS

sys.path.insert(0, str(Path(__file__).parent))
from error_corpus import CORPUS, Case  # noqa: E402

PLACEHOLDERS = tuple(f"<{kind}>" for kind in KINDS)
TEMPLATES = (
    "test {v} failed",
    "No such file: {v}",
    'could not reach "{v}"',
    "{v}",
    "failed to create {v}: already exists",
)
ENGLISH = st.sampled_from(
    ["error", "not", "found", "file", "test", "failed", "a", "no", "No such file", "to", "create", "exists",
     "already", "could", "reach", "such", "File", "ERROR", "t", "s", "ed", "ile", "ail", "failed to", "arg",
     "value", "<arg>", "<value>"]
)
UNICODE = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)
TRICKY = st.text(" '\"\\.*+?()[]{}|^$-_/:@<>aZ9éßİ\u00a0\t", min_size=1, max_size=12)
NAMES = st.sampled_from(["John Smith", "jdoe", "José García", "acme-prod", "S3cr3t!pass", "x", "ab", "İstanbul"])
TYPED = st.one_of(ENGLISH, UNICODE, TRICKY, NAMES, st.builds("{} {}".format, ENGLISH, NAMES))


def is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def leaked(value: str, output: str) -> bool:
    """Whether `value` survives in `output`: anywhere if 3+ characters, else as a whole token.

    Placeholders are the scrubber's own words (<arg> contains "arg"), so they are
    taken out first -- replaced by a space, so no new neighbours are made.
    """
    for placeholder in PLACEHOLDERS:
        output = output.replace(placeholder, " ")
    text, needle = output.casefold(), value.casefold()
    if len(value) >= 3:
        return needle in text
    at = text.find(needle)
    while at >= 0:
        end = at + len(needle)
        starts = not (is_word(needle[0]) and at > 0 and is_word(text[at - 1]))
        ends = not (is_word(needle[-1]) and end < len(text) and is_word(text[end]))
        if starts and ends:
            return True
        at = text.find(needle, at + 1)
    return False


# --- the corpus -------------------------------------------------------------------


def test_corpus_is_big_and_well_formed() -> None:
    assert len(CORPUS) == 114  # as docs/privacy.md says: adding a case means saying so there
    for case in CORPUS:
        assert case.keeps and case.keeps == case.keeps.lower()
        assert all(secret in case.message for secret in case.secrets), case.message


@pytest.mark.parametrize("case", CORPUS, ids=[c.message[:40] for c in CORPUS])
def test_corpus_leaks_nothing(case: Case) -> None:
    output = _scrub(case.message, (), (), MAX_MESSAGE_CHARS)
    assert scrub(case.message) == output
    for secret in case.secrets:
        assert secret.lower() not in output.lower(), (secret, output)


def test_corpus_stays_useful() -> None:
    kept = [case for case in CORPUS if case.keeps in scrub(case.message).lower()]
    ratio = len(kept) / len(CORPUS)
    print(f"\nscrubbed corpus keeps its meaning in {len(kept)}/{len(CORPUS)} cases ({ratio:.0%})")
    assert ratio >= 0.80


# --- typed values, by construction ----------------------------------------------


@settings(max_examples=600, deadline=None)
@given(value=TYPED, template=st.sampled_from(TEMPLATES))
def test_typed_values_never_survive(value: str, template: str) -> None:
    assume(any(ch.isalnum() for ch in value))  # values without a letter or digit carry nothing
    output = _scrub(template.format(v=value), [value], (), MAX_MESSAGE_CHARS)
    assert not leaked(value, output), output


@settings(max_examples=300, deadline=None)
@given(value=TYPED, template=st.sampled_from(TEMPLATES))
def test_the_leak_check_can_fail(value: str, template: str) -> None:
    """The check above is honest: a scrubber that changes nothing fails it every time.

    Except for a value that contains a placeholder's text ("<arg>"): it cannot be
    told apart from the scrubber's own output, so it is left out here.
    """
    assume(any(ch.isalnum() for ch in value))
    assume(not any(placeholder in value.casefold() for placeholder in PLACEHOLDERS))
    assert leaked(value, template.format(v=value))


def test_typed_values_inside_longer_words_and_short_ones_as_tokens() -> None:
    assert scrub("cannot open acme-prod-db", typed=["prod"]) == "cannot open <value>-<arg>-db"
    assert "prod" not in scrub("cannot open acme-prod-db", typed=["prod"])
    assert scrub("x is not a valid id; x", typed=["x"]) == "<arg> is not a valid id; <arg>"
    assert scrub("no such file: NOT", typed=["not"]) == "no such file: <arg>"
    assert scrub("no such file: a.b(c)*", typed=["a.b(c)*"]) == "no such file: <arg>"


def test_a_typed_value_longer_than_the_window_is_still_removed() -> None:
    blob = "Zq" * 30_000  # pasted as an argument, echoed by the error
    for prefix in ("", "error: ", "x " * 1500):
        out = scrub(prefix + blob + " not found", typed=[blob])
        assert "zqzq" not in out.lower()


def test_none_for_typed_and_own_words_is_tolerated() -> None:
    assert _scrub("connection refused", None, None, MAX_MESSAGE_CHARS) == "connection refused"  # type: ignore[arg-type]


def test_own_words_are_kept_even_when_typed() -> None:
    out = scrub("Missing option '--name'. See 'create --help'.", typed=["--name", "create"],
                own_words=["--name", "create", "--help"])
    assert out == "Missing option '--name'. See 'create --help'."


# --- shapes the allow-list names -----------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('resource "acme" not found', "resource <value> not found"),
        ("No such file: /home/alice/x.yaml", "No such file: <path>"),
        ("could not resolve host gitlab.example.com", "could not resolve host <host>"),
        ("for user jdoe on host build-agent-07", "for user <user> on host <host>"),
        ('password="S3cr3t!pass" rejected', "password=<secret> rejected"),
        ("DB_PASSWORD=Pa55w0rd! is wrong", "DB_PASSWORD=<secret> is wrong"),
        ('{"token": "x1"}', '{"token": <secret>}'),
        ("password: error found", "password: <secret> found"),
        ("--password 'open sesame' was refused", "--password <secret> was refused"),
        ("Authorization: Bearer abc.def", "Authorization: Bearer <secret>"),
        ("api key: error", "api key: <secret>"),
        ("dial tcp 10.0.12.7:6443: i/o timeout", "dial tcp <address>: i/o timeout"),
        ("upload to s3://acme-backups-2024 failed", "upload to <url> failed"),
        ("pull registry.acme.io/team/api:1.2 failed", "pull <host> failed"),
        ("exit code 137, request 123456 failed", "exit code 137, request <number> failed"),
        ("open C:\\Users\\Jane Doe\\kube\\config: denied", "open <path>: denied"),
        ("mail jane.doe@acme.com failed", "mail <email> failed"),
        ("Got unexpected extra argument (John Smith)", "Got unexpected extra argument (<value>)"),
        ("{'password': 'a b c', 'user': 'jdoe'}", "{'password': <secret>, 'user': <user>}"),
        ("export PASSWORD='not found' failed", "export PASSWORD=<secret> failed"),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG is bad", "aws_secret_access_key = <secret> is bad"),
        ("x-api-key: error; refreshToken=not", "x-api-key: <secret>; refreshToken=<secret>"),
        ("private key: open; access key: test", "private key: <secret>; access key: <secret>"),
        ("Basic authentication failed, Basic dXNlcjpwYXNz sent", "Basic authentication failed, Basic <secret> sent"),
        ("token eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl", "token <secret>"),
        ("key ghp_abcdefghijklmnopqrstuvwxyz012345 and AKIAIOSFODNN7EXAMPLE", "key <secret> and <secret>"),
        ("ip fe80::1ff:fe23:4567:890a and [::1]:8080 and 10.0.0.0/8", "ip <ip> and <address> and <ip>"),
        ("open ./deploy/values.yaml and ~/.kube/config and run.sh", "open <path> and <path> and <path>"),
        ("lookup minio.storage.svc.cluster.local: no such host", "lookup <host>: no such host"),
        ("deployments.apps is invalid: at 10:22:31", "deployments.apps is invalid: at 10:22:31"),
        ("signed by J.D. and A-B, e.g. x-api-key", "signed by <value>. and <value>, e.g. x-api-key"),
    ],
)
def test_kinds_are_named(text: str, expected: str) -> None:
    assert scrub(text) == expected


def test_local_names_are_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "qzuser")
    monkeypatch.setenv("HOSTNAME", "qzhost.corp.example")
    monkeypatch.setenv("HOME", "/srv/qzhome")
    assert {"qzuser", "qzhost.corp.example", "qzhost", "/srv/qzhome"} <= set(local_names())
    out = scrub("QZUSER cannot write /srv/qzhome/.kube on qzhost")
    assert out == "<user> cannot write <path> on <host>"


# --- never raises, always bounded ------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(
    text=st.text(max_size=3000),
    typed=st.lists(st.text(max_size=20), max_size=4),
    own=st.lists(st.text(max_size=10), max_size=3),
    limit=st.integers(1, 400),
)
def test_random_text_never_raises_and_is_bounded(text: str, typed: list[str], own: list[str], limit: int) -> None:
    assert len(_scrub(text or "x", typed, own, limit)) <= limit
    assert len(scrub(text, typed, own, limit)) <= limit


def test_empty_and_degenerate_inputs() -> None:
    assert scrub(None) == scrub("") == ""
    assert scrub("error", limit=0) == ""
    assert len(scrub("connection refused " * 50, limit=1)) == 1


def test_a_megabyte_returns_and_keeps_nothing_half_cut() -> None:
    assert len(scrub("x" * 1_000_000)) <= MAX_MESSAGE_CHARS
    assert len(scrub("word " * 200_000)) <= MAX_MESSAGE_CHARS
    # a typed value straddling the internal cut is still removed whole
    for shift in range(0, 12):
        text = "a " * (2000 - shift) + "John Smith " + "b " * 500_000
        assert not leaked("John", scrub(text, typed=["John Smith"], limit=10_000))


def test_output_is_deterministic() -> None:
    text = CORPUS[0].message + " " + CORPUS[40].message
    assert len({scrub(text, typed=["refused", "acme"], own_words=["--name"]) for _ in range(5)}) == 1


# --- Click usage errors --------------------------------------------------------


@click.group()
@click.option("--verbose", is_flag=True)
def cli(verbose: bool) -> None:
    """A small CLI."""


@cli.command()
@click.option("--name", required=True)
@click.option("--count", type=int)
@click.argument("target")
def create(name: str, count: int, target: str) -> None:
    """Create something."""


@cli.command()
@click.option("--count", type=int, default=1)
@click.option("--kind", type=click.Choice(["k6", "postman"]))
@click.option("--dry", is_flag=True)
def run(count: int, kind: str, dry: bool) -> None:
    """Run something."""


OWN = ["create", "run", "--name", "--count", "--kind", "--dry", "--verbose", "TARGET"]


def usage_error(args: list[str]) -> click.UsageError:
    with pytest.raises(click.UsageError) as info:
        cli.main(args, prog_name="tk", standalone_mode=False)
    return info.value


@pytest.mark.parametrize(
    ("args", "expected", "private"),
    [
        (["acme-corp-prod-cluster"], "No such command <arg>.", "acme"),
        (["run", "John Smith"], "Got unexpected extra argument(s).", "john"),
        (["run", "--count", "many"], "Invalid value for '--count': is not a valid integer.", "many"),
        (["run", "--pasword", "S3cr3t"], "No such option <arg>.", "pasword"),
        (["create", "acme-target"], "Missing option '--name'.", "acme"),
        (["create", "--name", "acme-name"], "Missing argument 'TARGET'.", "acme"),
        (["create", "acme-target", "--name"], "Option '--name' requires an argument.", "acme"),
        (["--verbose"], "Missing command.", "verbose-not-here"),
        (["run", "--kind", "acme-kind"], "Invalid value for '--kind': is not one of the choices.", "acme"),
        (["run", "--dry=acme"], "Option '--dry' does not take a value.", "acme"),
        (["run", "-Z"], "No such option <arg>.", "-z"),
    ],
)
def test_usage_errors_have_fixed_forms(args: list[str], expected: str, private: str) -> None:
    message = usage_error_message(usage_error(args), typed=args, own_words=OWN)
    assert message == expected
    assert private not in message.lower()


def test_unknown_option_is_kept_when_it_is_the_clis_own() -> None:
    error = usage_error(["run", "--name", "x"])
    assert usage_error_message(error, typed=["run", "--name", "x"], own_words=OWN) == "No such option '--name'."
    assert usage_error_message(error) == "No such option <arg>."


def test_no_args_is_help() -> None:
    if not hasattr(click.exceptions, "NoArgsIsHelpError"):
        pytest.skip("Click < 8.2 prints the help and exits 0: there is no usage error to report")
    group = click.Group("tk", commands={"run": run}, no_args_is_help=True)
    with pytest.raises(click.UsageError) as info:
        group.main([], prog_name="tk", standalone_mode=False)
    assert usage_error_message(info.value) == "No arguments given; help shown."


def test_unknown_shapes_fall_back_to_scrub() -> None:
    error = click.UsageError("cannot use jdoe with /home/jdoe/x.yaml")
    assert usage_error_message(error, typed=["jdoe"]) == "cannot use <arg> with <path>"
    bad = click.BadParameter("'ab' is weird", param_hint="--code")
    assert usage_error_message(bad, typed=["ab"]) == "Invalid value for '--code'."


# --- import cost ------------------------------------------------------------------


def test_importing_scrub_does_not_import_click_or_socket() -> None:
    code = "import sys, testkube_telemetry_plugin.telemetry.scrub; print('click' in sys.modules, 'socket' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.split() == ["False", "False"]  # socket only when a message is scrubbed
