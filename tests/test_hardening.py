"""Hostile homes, hostile files, hostile collectors (issue 10).

Each test plants something a careless plugin would trip over (a symbolic link
to a canary, another user's home, garbage in a file it reads, a collector that
redirects, trickles or never stops talking) and checks that the host command is
unchanged, nothing prints a traceback, the canary is untouched, and good events
still arrive.  Slow ones (many processes, SIGKILL) are marked `reliability`.
"""

from __future__ import annotations

import calendar
import ctypes
import ctypes.util
import json
import os
import re
import shutil
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from click.testing import CliRunner
from conftest import kill_flusher_mid_batch, run_testkube, spool_events, spool_of, state_of, with_id
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from testkube_telemetry_plugin._fs import sealed, unsealed
from testkube_telemetry_plugin.cli import TESTKUBE, make_cli
from testkube_telemetry_plugin.telemetry.record import notice_text
from testkube_telemetry_plugin.telemetry.spool import Spool

NOTICE = notice_text(TESTKUBE) + "\n"
HOST_COMMANDS = [["ends", "ok"], ["ends", "ctx-exit"]]
OWN_COMMANDS = [["telemetry", "status"], ["telemetry", "status", "--json"], ["telemetry", "show"],
                ["telemetry", "show", "--json"], ["telemetry", "flush", "--timeout", "10"]]
CANARY_ID = "c" * 64
CANARY_SEGMENT = "seg-00000000000000000001-abcdef"
CANARY_MESSAGE = "canary-0000-4000-8000-000000000000"


# -- helpers ------------------------------------------------------------------------------------------------
def telemetry_dir(home: Path) -> Path:
    return home / "telemetry"


def spooled(home: Path) -> int:
    return sum(e.events for e in spool_of(home).entries())


def invoke(cli: Any, runner: CliRunner, args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """One in-process run; an exception other than a clean exit fails the test with its traceback."""
    result = runner.invoke(cli, args, env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{args} raised {result.exception!r}") from result.exception
    return result.exit_code, result.stdout, result.stderr


def strict_json(text: str) -> Any:
    """JSON as the standard has it: Python's NaN and Infinity are refused, as other parsers do."""
    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def without_notice(text: str) -> str:
    return text.replace(NOTICE, "")


@pytest.fixture
def thread_errors(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Exceptions that escape any thread (they print a traceback): the test fails on them."""
    seen: list[str] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.append(f"{args.exc_type.__name__}: "
                                                                         f"{args.exc_value}"))
    return seen


def host_baseline(cli: Any, runner: CliRunner) -> dict[tuple[str, ...], tuple[int, str, str]]:
    """What the host commands print with telemetry switched off by the environment."""
    return {tuple(args): invoke(cli, runner, args, env={"DO_NOT_TRACK": "1"}) for args in HOST_COMMANDS}


def full_home(home: Path, runner: CliRunner) -> None:
    """A home as a day of use leaves it: id, caches, state, markers, locks, sent log, a pending record."""
    cli = make_cli()
    for _ in range(2):  # the second run writes the config summary (the first created the id)
        assert invoke(cli, runner, ["ends", "ok"])[0] == 0
    spool_events(home, 1)
    assert (telemetry_dir(home) / "sent.jsonl").exists() and (home / "cache" / "config-summary").exists()


# -- inotify: proof that a canary is never opened, read, written, moved or deleted --------------------------
IN_EVENTS = {0x1: "read", 0x2: "modified", 0x4: "attributes changed", 0x8: "written and closed", 0x20: "opened",
             0x40: "moved out", 0x80: "moved in", 0x100: "created in", 0x200: "deleted from",
             0x400: "deleted", 0x800: "moved"}


class Watch:
    """Every access to a file or folder tree, from the kernel (Linux); elsewhere, a snapshot only."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.fd = -1
        self.names: dict[int, str] = {}
        self.before = snapshot(root)
        libc_name = ctypes.util.find_library("c")
        if not sys.platform.startswith("linux") or libc_name is None:
            return
        libc = ctypes.CDLL(libc_name, use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            return
        targets = [root] + ([Path(p) for p, _, _ in os.walk(root)][1:] if root.is_dir() else [])
        for target in targets:
            wd = libc.inotify_add_watch(self.fd, str(target).encode(), sum(IN_EVENTS))
            assert wd >= 0, f"cannot watch {target}"
            self.names[wd] = str(target)

    def events(self) -> list[str]:
        if self.fd < 0:
            return []
        found = []
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                break
            offset = 0
            while offset < len(data):
                wd, mask, _, size = struct.unpack_from("iIII", data, offset)
                name = data[offset + 16: offset + 16 + size].rstrip(b"\0").decode()
                offset += 16 + size
                what = ", ".join(text for bit, text in IN_EVENTS.items() if mask & bit)
                found.append(f"{os.path.join(self.names.get(wd, '?'), name)}: {what}")
        return found

    def check(self) -> None:
        """Fail with every access the kernel saw, and with any change to the tree."""
        events = self.events()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        assert events == [], events
        assert snapshot(self.root) == self.before


def snapshot(root: Path) -> dict[str, Any]:
    """Each path under `root` with its type, mode, size, mtime and bytes."""
    found: dict[str, Any] = {}
    paths = [root] + (sorted(root.rglob("*")) if root.is_dir() and not root.is_symlink() else [])
    for path in paths:
        st_ = os.lstat(path)
        data = path.read_bytes() if stat.S_ISREG(st_.st_mode) else None
        found[str(path)] = (stat.S_IFMT(st_.st_mode), stat.S_IMODE(st_.st_mode), st_.st_size, st_.st_mtime_ns, data)
    return found


def fill_canary(folder: Path) -> None:
    """A folder that looks like a home (or a `telemetry`, `spool` or `cache` folder) and says so."""
    folder.mkdir(mode=0o700)
    (folder / "config.toml").write_text(f'[telemetry]\nanonymous_id = "{CANARY_ID}"\nsalt = "canary"\n')
    (folder / "state.json").write_text(json.dumps({"counters": {"dropped_spool": 424242}}))
    (folder / "heartbeat-day").write_text(time.strftime("%Y-%m-%d", time.gmtime()))
    (folder / "retry-at").write_text("0")
    (folder / "sent.jsonl").write_text(json.dumps({"sink": "segment", "sent_at": "x",
                                                   "payload": {"messageId": CANARY_MESSAGE}}) + "\n")
    record = {"v": 1, "host": "testkube", "host_version": "1", "anonymousId": CANARY_ID,
              "events": [{"event": "canary", "messageId": CANARY_MESSAGE, "timestamp": "2020-01-01T00:00:00.000Z",
                          "properties": {}}]}
    (folder / CANARY_SEGMENT).write_text("1\t" + json.dumps(record) + "\n")
    (folder / ".count").write_text("1 100\n")
    (folder / ".acks").write_text(f"ga4\t{CANARY_SEGMENT}\t1\n")
    (folder / "config-summary").write_text("summary-1\n")
    for sub in ("telemetry", "spool", "cache"):
        inner = folder / sub
        inner.mkdir(mode=0o700)
        for item in folder.iterdir():
            if item.is_file():
                shutil.copy(item, inner / item.name)


# Every file and folder the plugin touches, relative to the home ("" is the home itself).
LINK_TARGETS = {
    "home": "", "telemetry": "telemetry", "spool": "telemetry/spool", "cache": "cache",
    "sent.jsonl": "telemetry/sent.jsonl", "flusher.log": "telemetry/flusher.log",
    "flusher.lock": "telemetry/flusher.lock", "state.lock": "telemetry/state.lock",
    "sent.lock": "telemetry/sent.lock", "config.lock": ".config.lock", "count": "telemetry/spool/.count",
    "acks": "telemetry/spool/.acks", "state.json": "telemetry/state.json",
    "heartbeat-day": "telemetry/heartbeat-day", "retry-at": "telemetry/retry-at", "config.toml": "config.toml",
    "config-summary": "cache/config-summary", "entry-points": "cache/*.entry-points", "spool record": "record",
}
FOLDERS = {"home", "telemetry", "spool", "cache"}


def every_match(home: Path, pattern: str) -> list[Path]:
    """Each file a glob names, newest first: one entry-point cache per interpreter and sys.path (a
    test process and a `testkube` process each have their own), and each must be tried."""
    found = sorted(home.glob(pattern), key=lambda path: path.lstat().st_mtime_ns, reverse=True)
    assert found, pattern
    return found


def plant_link(home: Path, target: str, canaries: Path) -> tuple[Path, Path]:
    """Replace `target` in `home` by a link to a canary outside it; returns (link, canary)."""
    relative = LINK_TARGETS[target]
    others: list[Path] = []
    if relative == "record":
        link = sorted(p for p in (telemetry_dir(home) / "spool").iterdir() if not p.name.startswith("."))[0]
    elif "*" in relative:
        link, *others = every_match(home, relative)
    else:
        link = home / relative if relative else home
    canary = canaries / ("canary-" + target.replace(" ", "-"))
    if target in FOLDERS:
        fill_canary(canary)
        shutil.rmtree(link)
    else:
        source = canaries / "canary-source"
        if not source.exists():
            fill_canary(source)
        model = {"record": CANARY_SEGMENT, "cache/*.entry-points": "config.toml"}
        name = model.get(relative, os.path.basename(relative))
        shutil.copy(source / (name if (source / name).exists() else "state.json"), canary)
        canary.chmod(0o600)
        if link.exists() or link.is_symlink():
            link.unlink()
    link.symlink_to(canary, target_is_directory=target in FOLDERS)
    for other in others:  # every cache slot leads to the canary, whichever a process reads
        other.unlink()
        other.symlink_to(canary)
    return link, canary


def check_not_leaked(runner_output: str, collector: Any) -> None:
    for needle in (CANARY_ID, CANARY_MESSAGE, "424242"):
        assert needle not in runner_output
        assert needle not in json.dumps(collector.requests, default=str)


# -- symbolic links -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("target", sorted(LINK_TARGETS))
def test_a_link_planted_in_place_of_any_file_or_folder_is_never_followed(
        target, site, isolated, runner, two_sinks, tmp_path, thread_errors) -> None:
    collector = two_sinks
    full_home(isolated, runner)
    canaries = tmp_path / "outside"
    canaries.mkdir()
    link, canary = plant_link(isolated, target, canaries)
    watch = Watch(canary)  # from the first run on: loading plugins reads the entry-point cache
    cli = make_cli()  # a new process, as far as the plugin knows: caches are read again
    expected = host_baseline(cli, runner)
    seen = ""
    for args in HOST_COMMANDS:
        code, out, err = invoke(cli, runner, args)
        assert (code, out, without_notice(err)) == expected[tuple(args)], (target, args)
        seen += out + err
    for args in OWN_COMMANDS:
        code, out, err = invoke(cli, runner, args)
        assert code in (0, 1) and "Traceback" not in out + err, (args, out, err)
        seen += out + err
    watch.check()
    assert thread_errors == []
    check_not_leaked(seen, collector)
    if target == "spool record":
        assert not os.path.lexists(link)  # skipped and removed, never read
    else:
        assert link.is_symlink()  # left for its owner to look at, never replaced through
    status = json.loads(invoke(cli, runner, ["telemetry", "status", "--json"])[1])
    if target in FOLDERS:
        assert status["enabled"] is False and "symbolic link" in status["reason"], status
    watch = Watch(canary)
    code, out, err = invoke(cli, runner, ["disable", "telemetry"])
    assert "Traceback" not in out + err
    watch.check()


# -- hard links --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("target", sorted(set(LINK_TARGETS) - FOLDERS))
def test_a_hard_link_planted_in_place_of_any_file_is_never_written_through(
        target, site, isolated, runner, two_sinks, tmp_path, thread_errors) -> None:
    """Another name for a file of the user's (a script, say) put where the plugin writes: that file never changes."""
    full_home(isolated, runner)
    victim = tmp_path / "outside" / "victim.sh"
    victim.parent.mkdir()
    victim.write_bytes(b"#!/bin/sh\necho 'the user script'\n")
    victim.chmod(0o600)
    relative = LINK_TARGETS[target]
    if relative == "record":
        names = [sorted(p for p in (telemetry_dir(isolated) / "spool").iterdir() if not p.name.startswith("."))[0]]
    else:
        names = every_match(isolated, relative) if "*" in relative else [isolated / relative]
    for name in names:
        if name.exists():
            name.unlink()
        os.link(victim, name)
    before = victim.read_bytes()
    cli = make_cli()
    expected = host_baseline(cli, runner)
    for args in HOST_COMMANDS:
        code, out, err = invoke(cli, runner, args)
        assert (code, out, without_notice(err)) == expected[tuple(args)], (target, args)
    for args in OWN_COMMANDS:
        code, out, err = invoke(cli, runner, args)
        assert code in (0, 1) and "Traceback" not in out + err, (args, out, err)
    code, out, err = invoke(cli, runner, ["disable", "telemetry"])
    # The user's choice is honoured, whatever was planted (a config that is not TOML is never rewritten).
    assert code == 0 or (target == "config.toml" and "not valid TOML" in err), (out, err)
    assert json.loads(invoke(cli, runner, ["telemetry", "status", "--json"])[1])["enabled"] is False
    assert thread_errors == []
    assert victim.read_bytes() == before


# -- any bytes in any file it reads ---------------------------------------------------------------------------
DEEP_JSON = b"[" * 100_000 + b"]" * 100_000
DEEP_TOML = b"[telemetry]\nenabled = " + b"[" * 100_000 + b"]" * 100_000 + b"\n"
RECORD_NAME = "seg-00000000000000000002-abcdef"  # a segment of the spool's journal: one record per line


def good_record(**changes: Any) -> bytes:
    """One journal line: `<events>\\t<record as JSON>\\n`."""
    event = {"event": "testkube_cli_command", "messageId": "m-1", "timestamp": "2024-01-01T00:00:00.000Z",
             "properties": {"n": 1}}
    event.update(changes.pop("event", {}))
    record = json.dumps({"v": 1, "host": "testkube", "host_version": "1", "events": [event], **changes}).encode()
    return b"1\t" + record + b"\n"


def shaped_lines(content: bytes) -> bool:
    """Whether every line is `<digits>\\t{...events: [...]...}`: judged here, not by the spool's own code."""
    lines = [line for line in content.split(b"\n") if line]
    try:
        return all(count.isdigit() and tab and isinstance(json.loads(text)["events"], list)
                   for count, tab, text in (line.partition(b"\t") for line in lines))
    except Exception:
        return False


# Where each file lives (relative to the home, `work/` for the project file) and what it looks like broken.
FILE_KINDS: dict[str, tuple[str, list[bytes]]] = {
    "config.toml": ("config.toml", [DEEP_TOML, b"x = " + b"[" * 100_000, b"[telemetry]\nenabled = []\n",
                                    b"[telemetry]\nanonymous_id = 7\n", b"telemetry = []\n", b"\xff\xfe\x00",
                                    b"#" * (1024 * 1024 + 1), b"[telemetry", b"telemetry = 'x'",
                                    b'[telemetry]\nenabled = "maybe"', b"\x00\x01", b"[[telemetry]]\nx=1"]),
    "project file": ("work/.testkube.toml", [DEEP_TOML, b"[telemetry]\nenabled = {}\n", b"[[telemetry]]\n",
                                             b"\x00" * 64]),
    "state.json": ("telemetry/state.json", [DEEP_JSON, b'{"backoff": []}', b'{"counters": {"dropped_spool": "abc"}}',
                                            b'{"counters": []}', b'{"sinks": {"segment": {"failures": 1, '
                                            b'"last_error": "\\ud800", "last_error_at": 1e308, '
                                            b'"next_attempt": "soon"}}}', b'{"heartbeat_day": 7}', b"[]",
                                            b" " * (1024 * 1024) + b"{}"]),
    "heartbeat-day": ("telemetry/heartbeat-day", [b"\xff" * 40, b"9999-99-99", b"", DEEP_JSON]),
    "retry-at": ("telemetry/retry-at", [b"nan", b"inf", b"-inf", b"1e999", b"\xff", DEEP_JSON, b"99999999999999",
                                        b"1" * 100]),
    "config-summary": ("cache/config-summary", [b"summary-1\n" * 500, DEEP_JSON, b"\xff" * 4097,
                                                b"summary-1\n\n\n\n\n\n\n\n"]),
    "entry-points": ("cache/*.entry-points", [DEEP_JSON, b"\xff\n" * 100, b"entry-points-3\n\t\t\t\n"]),
    "spool record": ("telemetry/spool/" + RECORD_NAME, [
        DEEP_JSON, good_record(event={"properties": "x"}), b"1\t" + json.dumps({"v": 1, "events": {}}).encode() + b"\n",
        good_record(event={"properties": {"deep": [[[]]]}}), good_record(host=[]), good_record(event={"event": None}),
        b"\xff\xfe", b"null", good_record(anonymousId={"a": 1}), good_record(event={"properties": {"pad": "x" * 300_000}}),
        good_record(event={"properties": {"x": float("nan")}}), good_record(event={"properties": {"x": float("inf")}})]),
    "spool count": ("telemetry/spool/.count", [b"-5 -5", b"99999999999 99999999999", b"x y", b"\xff", DEEP_JSON]),
    "spool acks": ("telemetry/spool/.acks", [DEEP_JSON, b'{"segment": {}}', b"segment\t" + RECORD_NAME.encode()
                                             + b"\t" + b"9" * 40 + b"\n", b"\t\t\n\xff\t\xfe\t1\n",
                                             b"segment\t" + RECORD_NAME.encode() + b"\t1", b"\n" * 100_000]),
    "sent.jsonl": ("telemetry/sent.jsonl", [DEEP_JSON + b"\n", b'{"sink": "\\ud800", "sent_at": [], "payload": 1}\n',
                                            b'{"payload": ' + b"[" * 900 + b"]" * 900 + b"}\n", b"\xff\n[]\n{}\n",
                                            b'{"sink": "segment", "sent_at": "x", "payload": [NaN, -Infinity]}\n']),
}


def fuzz_path(home: Path, kind: str) -> Path:
    relative = FILE_KINDS[kind][0]
    if relative.startswith("work/"):
        return home.parent / relative
    if "*" in relative:
        return every_match(home, relative)[0]
    return home / relative


def json_values() -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.sampled_from(["v", "events", "event", "messageId", "timestamp",
                                                           "properties", "host", "counters", "sinks", "failures",
                                                           "next_attempt", "last_error", "heartbeat_day", "sink",
                                                           "payload", "segment", "ga4", "dropped_spool"])
                                          | st.text(max_size=8), inner, max_size=5), max_leaves=20)


def mutations(real: bytes) -> st.SearchStrategy[bytes]:
    """The file as the plugin wrote it, with a few bytes changed, cut or added: rot, or a careless edit."""
    edit = st.tuples(st.integers(0, max(len(real) - 1, 0)), st.integers(0, 8), st.binary(max_size=8))

    def apply(edits: list[tuple[int, int, bytes]]) -> bytes:
        data = real
        for at, cut, insert in edits:
            data = data[:at] + insert + data[at + cut:]
        return data

    return st.lists(edit, min_size=1, max_size=3).map(apply)


def contents(kind: str, real: bytes | None = None) -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, arbitrary JSON, the file's own broken examples, good text with garbage spliced in,
    and (given the real file) the real file slightly damaged."""
    spliced = st.tuples(st.sampled_from(FILE_KINDS[kind][1]), st.integers(0, 200), st.binary(max_size=50)).map(
        lambda t: t[0][:t[1]] + t[2] + t[0][t[1]:])
    found = [st.binary(max_size=600), json_values().map(lambda v: json.dumps(v).encode()),
             st.sampled_from(FILE_KINDS[kind][1]), spliced]
    return st.one_of(*found, *([mutations(real)] * 2 if real else []))


class Lab:
    """A used home, kept as a template and restored before each example.

    With `processes`, every command is a new `testkube` process (as a user runs
    it); otherwise it runs in this one (fast enough for many examples).
    """

    def __init__(self, home: Path, runner: CliRunner, tmp_path: Path, processes: bool = False) -> None:
        self.home, self.runner, self.processes = home, runner, processes
        if processes:
            for _ in range(2):
                assert self.run(["ends", "ok"])[0] == 0
            spool_events(home, 1)
        else:
            full_home(home, runner)
        assert self.run(["telemetry", "flush"])[0] == 0  # a known state: nothing pending
        self.template = tmp_path / "template"
        shutil.copytree(home, self.template, symlinks=True)
        self.baseline = {tuple(args): self.run(args, {"DO_NOT_TRACK": "1"}) for args in HOST_COMMANDS}

    def run(self, args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
        if self.processes:
            result = run_testkube(*args, env=env)
            return result.returncode, result.stdout, result.stderr
        return invoke(make_cli(), self.runner, args, env)

    def real(self, kind: str) -> bytes:
        """The file as the plugin left it (a record and a project file as they would be)."""
        if kind == "spool record":
            return good_record()
        if kind == "project file":
            return b"[telemetry]\nenabled = false\n"
        return fuzz_path(self.template, kind).read_bytes()

    def plant(self, kind: str, content: bytes) -> tuple[Path, str]:
        """A fresh copy of the template with `content` in `kind`'s file and one good event pending."""
        shutil.rmtree(self.home)
        shutil.copytree(self.template, self.home, symlinks=True)
        (self.home.parent / "work" / ".testkube.toml").unlink(missing_ok=True)
        (good_id,) = spool_events(self.home, 1)
        path = fuzz_path(self.home, kind)
        pattern = FILE_KINDS[kind][0]
        for each in every_match(self.home, pattern) if "*" in pattern else [path]:
            each.write_bytes(content)  # every cache slot, whichever the next process reads
        return path, good_id

    def run_all(self) -> tuple[dict[str, Any], str]:
        """Host commands (as without telemetry), then status, show and flush: no traceback anywhere."""
        seen = ""
        # Status and show see the files as planted, before any command mends them (processes
        # cost more: the forms that print text, which is where odd bytes break things).
        before = [OWN_COMMANDS[0], OWN_COMMANDS[2]] if self.processes else OWN_COMMANDS[:4]
        for args in before:
            code, out, err = self.run(args)
            assert code == 0, (args, code, out, err)
            seen += out + err
        for args in HOST_COMMANDS:
            code, out, err = self.run(args)
            assert (code, out, without_notice(err)) == self.baseline[tuple(args)], args
        for args in OWN_COMMANDS[3:] if self.processes else OWN_COMMANDS:
            code, out, err = self.run(args)
            assert code in (0, 1), (args, code, out, err)
            if "--json" in args:
                strict_json(out)  # one JSON object, whatever the files held
            seen += out + err
        assert "Traceback" not in seen
        status = strict_json(self.run(["telemetry", "status", "--json"])[1])
        return status, seen


def check_outcome(lab: Lab, kind: str, content: bytes, path: Path, good_id: str, collector: Any,
                  status: dict[str, Any]) -> None:
    """What must hold after the commands, for each kind of file."""
    for request in collector.requests:
        strict_json(json.dumps(request["json"]))  # what was sent was JSON, not Python's NaN
    delivered = {m["messageId"] for m in collector.messages()}
    if kind not in ("config.toml", "project file"):
        assert status["enabled"], status  # only a settings file may turn telemetry off
    if status["enabled"]:
        assert good_id in delivered  # good events still arrive
    if kind == "spool record":
        assert not path.exists()  # sent or dropped, never left to block the queue
        if content.strip(b"\n") and not shaped_lines(content):
            assert state_of(lab.home).counters["dropped_corrupt"] >= 1
    if kind == "state.json":
        try:
            usable = isinstance(json.loads(content), dict)
        except Exception:
            usable = False
        if not usable:
            assert status["not_sent"].get("state_resets") == 1, status
        assert isinstance(json.loads(path.read_bytes()), dict)  # written anew, whole
    if kind == "entry-points":
        assert path.read_bytes() == (lab.template / path.relative_to(lab.home)).read_bytes()  # rebuilt


@pytest.mark.parametrize("kind", sorted(FILE_KINDS))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=st.data())
def test_any_bytes_in_any_file_it_reads(kind, data, site, isolated, runner, two_sinks, tmp_path,
                                        thread_errors) -> None:
    lab = getattr(test_any_bytes_in_any_file_it_reads, "lab", None)
    if lab is None or lab.home != isolated:
        lab = Lab(isolated, runner, tmp_path)
        test_any_bytes_in_any_file_it_reads.lab = lab  # type: ignore[attr-defined]
    content = data.draw(contents(kind, lab.real(kind)), label="content")
    path, good_id = lab.plant(kind, content)
    status, _ = lab.run_all()
    check_outcome(lab, kind, content, path, good_id, two_sinks, status)
    assert thread_errors == []


@pytest.mark.parametrize("kind", sorted(FILE_KINDS))
def test_each_broken_example_in_each_file(kind, site, isolated, runner, two_sinks, tmp_path, thread_errors) -> None:
    lab = Lab(isolated, runner, tmp_path)
    for content in FILE_KINDS[kind][1]:
        path, good_id = lab.plant(kind, content)
        status, _ = lab.run_all()
        check_outcome(lab, kind, content, path, good_id, two_sinks, status)
    assert thread_errors == []


# -- back-off -------------------------------------------------------------------------------------------------
def test_a_backoff_ten_years_ahead_is_bounded_when_read(isolated, cli, runner, monkeypatch) -> None:
    from testkube_telemetry_plugin.telemetry import scheduler
    from testkube_telemetry_plugin.telemetry.state import BACKOFF_MAX_S

    with_id(isolated)
    spool_events(isolated, 1)
    now = time.time()
    ahead = now + 10 * 365 * 86400
    folder = telemetry_dir(isolated)
    (folder / "state.json").write_text(json.dumps({"sinks": {"segment": {
        "failures": 3, "next_attempt": ahead, "last_error": "HTTP 503", "last_error_at": now}}}))
    (folder / "retry-at").write_text(repr(ahead))
    status = json.loads(invoke(cli, runner, ["telemetry", "status", "--json"])[1])
    # Further ahead than any back-off this package sets: a wrong clock's, so it counts as due.
    assert status["collectors"]["segment"]["next_retry_at"] is None
    # A back-off this package could have set (half an hour) is shown as it is.
    (folder / "state.json").write_text(json.dumps({"sinks": {"segment": {
        "failures": 3, "next_attempt": now + 1800, "last_error": "HTTP 503", "last_error_at": now}}}))
    status = json.loads(invoke(cli, runner, ["telemetry", "status", "--json"])[1])
    shown = status["collectors"]["segment"]["next_retry_at"]
    assert abs(calendar.timegm(time.strptime(shown, "%Y-%m-%dT%H:%M:%SZ")) - (now + 1800)) <= 1
    (folder / "state.json").write_text(json.dumps({"sinks": {"segment": {
        "failures": 3, "next_attempt": ahead, "last_error": "HTTP 503", "last_error_at": now}}}))
    # ...and it ends: once the longest back-off has passed, a command starts a flusher again.
    started: list[Any] = []
    monkeypatch.setattr(scheduler, "start_flusher", lambda *args: started.append(args) or True)
    monkeypatch.setenv("TESTKUBE_TELEMETRY_DELIVERY", "background")
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + BACKOFF_MAX_S + 1)
    invoke(cli, runner, ["ends", "ok"])
    assert len(started) == 1


# -- enable / disable never rewrite what they cannot read -------------------------------------------------------
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=contents("config.toml"), verb=st.sampled_from(["enable", "disable"]))
def test_enable_and_disable_refuse_a_config_they_cannot_read(content, verb, isolated, cli, runner) -> None:
    isolated.mkdir(mode=0o700, exist_ok=True)
    config = isolated / "config.toml"
    config.write_bytes(content)
    code, out, err = invoke(cli, runner, [verb, "telemetry"])
    assert "Traceback" not in out + err
    if code != 0:
        assert code == 1 and config.read_bytes() == content  # refused: not a byte changed
        assert str(config) in err and "not changed" in err
        if not any(why in err for why in ("UTF-8", "nested too deeply", "larger than")):
            assert ", line " in err, err  # the line to fix
    else:
        status = json.loads(invoke(cli, runner, ["telemetry", "status", "--json"])[1])
        assert status["decided_by"] == "user" and status["enabled"] is (verb == "enable"), status


# -- collector URLs -------------------------------------------------------------------------------------------
BACKSLASH_URL = "http://192.0.2.2:{port}\\@127.0.0.1"


def test_a_backslash_url_is_refused_before_any_socket(isolated, cli, runner, collector, monkeypatch,
                                                      connections) -> None:
    url = BACKSLASH_URL.format(port=collector.server.server_address[1])
    monkeypatch.setenv("TESTKUBE_TELEMETRY_SEGMENT_URL", url)
    with_id(isolated)
    ids = spool_events(isolated, 2)
    assert invoke(cli, runner, ["ends", "ok"])[:2] == (0, "ok 1\n")
    code, out, err = invoke(cli, runner, ["telemetry", "flush", "--timeout", "5"])
    assert code == 1 and "segment: 0 sent" in out and "backslash" in err
    assert connections == []  # not 192.0.2.2, not 127.0.0.1: nothing at all
    assert collector.requests == []
    problem = json.loads(invoke(cli, runner, ["telemetry", "status", "--json"])[1])["collectors"]["segment"]
    assert "backslash" in problem["problem"] and problem["pending_events"] == len(ids) + 2  # + heartbeat, command


def unshare_works() -> bool:
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.mark.skipif(not unshare_works(), reason="`unshare -n` (a network namespace with only loopback) is not "
                                                "available here")
def test_a_backslash_url_in_a_process_without_network(site, isolated) -> None:
    with_id(isolated)
    spool_events(isolated, 2)
    env = {**os.environ, "TESTKUBE_TELEMETRY_SEGMENT_URL": BACKSLASH_URL.format(port=80)}
    result = subprocess.run(["unshare", "-n", sys.executable, "-m", "testkube_telemetry_plugin", "telemetry",
                             "flush", "--timeout", "5"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert "segment: 0 sent, 2 kept for retry" in result.stdout and "backslash" in result.stderr
    for cause in ("network error", "connection refused", "DNS", "timeout"):  # refused before any connection
        assert cause not in result.stderr, result.stderr
    assert spooled(isolated) == 2


URL_PIECES = st.sampled_from(["http://", "https://", "HTTP://", "127.0.0.1", "192.0.2.2", "localhost", "[::1]",
                              "example.com", ":", "/", "\\", "@", "%40", "%5C", "#", "?", " ", "\t", "\n", "\r",
                              "\x00", "\x7f", "80", "user:pw", ".", "[", "]", "\u3002", "\uff0e", "0x7f.1", "2130706433"])


# RFC 3986, appendix B: how any URL splits into scheme, authority, path, query and fragment.
RFC3986 = re.compile(r"^(([^:/?#]+):)?(//([^/?#]*))?([^?#]*)(\?([^#]*))?(#(.*))?")


def rfc3986_host_and_port(url: str) -> tuple[str, int]:
    """The host and port the authority of `url` names, read by the RFC's own grammar (not by the code under test)."""
    found = RFC3986.match(url)
    assert found is not None
    authority = (found.group(4) or "").rpartition("@")[2]
    if authority.startswith("["):
        host, _, rest = authority[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = authority.partition(":")
    default = 443 if (found.group(2) or "").lower() == "https" else 80
    return host.lower(), int(port) if port else default


@settings(max_examples=300, deadline=None)
@given(url=st.lists(URL_PIECES, max_size=8).map("".join))
@example(url="https://.")
@example(url="https://*.example.com/")
@example(url="http://[::1]http://")  # found by Hypothesis: urlsplit reads it as [::1]:80
@example(url="http://\uff11\uff12\uff17.0.0.1/")  # IDNA would map it to 127.0.0.1
def test_a_url_is_used_only_if_the_connection_goes_where_it_was_checked(url) -> None:
    """What the transport looks up and connects to is what the check judged, and what the RFC's grammar reads."""
    import ipaddress

    from testkube_telemetry_plugin.telemetry.collectors import checked_url
    from testkube_telemetry_plugin.telemetry.delivery import http

    accepted, problem = checked_url(url)
    if accepted is None:
        assert problem
        return
    assert not any(ch in url for ch in "\\@ \t\r\n\x00\x7f") and url.isascii()  # anything ambiguous was refused
    target = http.split_url(accepted)
    assert target.scheme in ("http", "https") and not target.userinfo
    assert (target.host, target.port) == rfc3986_host_and_port(accepted)
    if target.scheme == "http":
        assert target.host == "localhost" or ipaddress.ip_address(target.host).is_loopback, (url, target.host)
    looked_up: list[tuple[Any, Any]] = []

    def lookup(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        looked_up.append((host, port))
        raise socket.gaierror(socket.EAI_NONAME, "not looked up in tests")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", lookup)
        with pytest.raises(http.TransportError):
            http.post(accepted, b"{}", {}, time.monotonic() + 5)
    assert looked_up == [(target.host.encode("ascii"), target.port)]  # the very host and port checked


# -- hostile collectors ---------------------------------------------------------------------------------------
class RawCollector:
    """A collector on 127.0.0.1 that reads each request whole, then runs `answer(socket)`.

    It counts connections, the bytes it managed to write, and whether the
    client hung up on it first.
    """

    def __init__(self, answer: Callable[[socket.socket], None]) -> None:
        self.answer = answer
        self.connections = 0
        self.written = 0
        self.client_hung_up = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            while len(body) < length:
                body += conn.recv(65536)
            try:
                self.answer(conn)
            except OSError:
                self.client_hung_up.set()

    def send(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        self.written += len(data)

    def close(self) -> None:
        # close() alone leaves the accepting thread blocked in accept() for the rest of the run
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


@pytest.mark.reliability
def test_flush_ends_at_its_timeout_when_the_collector_trickles(site, isolated) -> None:
    def trickle(conn: socket.socket) -> None:
        for byte in RESPONSE:
            server.send(conn, bytes([byte]))
            time.sleep(1)

    server = RawCollector(trickle)
    with_id(isolated)
    spool_events(isolated, 5)
    started = time.monotonic()
    result = run_testkube("telemetry", "flush", "--timeout", "3", env={"TESTKUBE_TELEMETRY_SEGMENT_URL": server.url})
    took = time.monotonic() - started
    server.close()
    assert took < 15, took  # 3 s, the interpreter's start and slack: not the ~90 s the answer takes
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert "Gave up after 3 s" in result.stderr
    assert server.connections == 1 and 0 < server.written < len(RESPONSE)
    assert spooled(isolated) == 5  # nothing confirmed, nothing lost


@pytest.mark.reliability
@pytest.mark.skipif(sys.platform == "win32", reason="no resource.getrusage to measure the flush's memory")
def test_an_endless_answer_costs_64_kb_not_200_mb(site, isolated) -> None:
    size = 200 * 1024 * 1024

    def endless(conn: socket.socket) -> None:
        server.send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % size)
        block = b"0" * 65536
        for _ in range(size // len(block)):
            server.send(conn, block)

    server = RawCollector(endless)
    with_id(isolated)
    ids = spool_events(isolated, 3)
    measure = ("import resource, subprocess, sys\n"
               "code = subprocess.run([sys.executable, '-m', 'testkube_telemetry_plugin'] + sys.argv[1:]).returncode\n"
               "print('maxrss-kb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
               "sys.exit(code)\n")
    result = subprocess.run([sys.executable, "-c", measure, "telemetry", "flush", "--timeout", "60"],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "TESTKUBE_TELEMETRY_SEGMENT_URL": server.url})
    assert result.returncode == 0, result.stderr
    assert "segment: 3 sent" in result.stdout and "Traceback" not in result.stderr
    assert server.client_hung_up.wait(10)  # the client closed the connection...
    assert server.written < size  # ...long before the end of the body
    rss_kb = int(result.stderr.split("maxrss-kb")[1].split()[0])
    if sys.platform == "darwin":
        rss_kb //= 1024  # bytes there
    assert rss_kb < 120 * 1024, rss_kb  # the interpreter, click and requests; not a 200 MB body
    assert spooled(isolated) == 0 and len(ids) == 3
    server.close()


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_a_redirect_is_retried_later_never_followed(code, isolated, cli, runner, collector) -> None:
    from collector import Collector

    with Collector() as elsewhere:
        collector.plan(("status", code, {"Location": elsewhere.url + "/v1/batch"}))
        with_id(isolated)
        ids = spool_events(isolated, 3)
        assert invoke(cli, runner, ["ends", "ok"])[:2] == (0, "ok 1\n")  # inline delivery meets the redirect
        assert elsewhere.requests == []  # never followed
        assert spooled(isolated) == 5  # not dropped: 3, the heartbeat and the command
        status = state_of(isolated).collectors["segment"]
        assert status.failures == 1 and status.last_error == f"HTTP {code}" and status.next_attempt > time.time()
        assert state_of(isolated).counters["dropped_rejected"] == 0
        code_, out, _ = invoke(cli, runner, ["telemetry", "flush"])  # later, the collector accepts
        assert code_ == 0 and "segment: 5 sent" in out
        assert set(ids) <= {m["messageId"] for m in collector.messages()}
        assert elsewhere.requests == []


# -- counters -------------------------------------------------------------------------------------------------
COUNTS = {"dropped_spool": 7, "dropped_rejected": 5, "dropped_oversized": 3, "dropped_corrupt": 2}


BLOCKERS = ["a file for the spool folder", "a link for the spool's count", "a full disk"]


@pytest.mark.parametrize("blocker", BLOCKERS)
def test_counts_are_reset_only_once_the_heartbeat_carrying_them_is_spooled(blocker, isolated, cli, runner,
                                                                           collector, tmp_path,
                                                                           monkeypatch) -> None:
    import errno

    with_id(isolated)
    folder = telemetry_dir(isolated)
    folder.mkdir(mode=0o700)
    (folder / "state.json").write_text(json.dumps({"heartbeat_day": "2000-01-01", "counters": COUNTS}))
    (folder / "heartbeat-day").write_text("2000-01-01")
    with monkeypatch.context() as patch:
        if blocker == BLOCKERS[0]:  # the spool cannot be trusted: telemetry is off, and status says why
            (folder / "spool").write_text("not a folder")
        elif blocker == BLOCKERS[1]:  # the record could be written, not counted
            (folder / "spool").mkdir(mode=0o700)
            (folder / "spool" / ".count").symlink_to(tmp_path / "elsewhere")
        else:  # nothing can be written to the spool

            def full(*args: Any) -> None:
                raise OSError(errno.ENOSPC, "No space left on device")

            patch.setattr(Spool, "append", full)
        assert invoke(cli, runner, ["ends", "ok"])[:2] == (0, "ok 1\n")
        counters = state_of(folder.parent).counters
        assert {name: counters[name] for name in COUNTS} == COUNTS  # the heartbeat did not get out: counts kept
        if blocker == BLOCKERS[0]:
            reason = json.loads(invoke(cli, runner, ["telemetry", "status", "--json"])[1])["reason"]
            assert "spool is not a folder" in reason, reason
            (folder / "spool").unlink()
        elif blocker == BLOCKERS[1]:
            (folder / "spool" / ".count").unlink()
    assert invoke(cli, runner, ["ends", "ok"])[:2] == (0, "ok 1\n")
    invoke(cli, runner, ["telemetry", "flush"])
    heartbeats = [m["properties"] for m in collector.messages() if m["event"] == "testkube-heartbeat"]
    assert [(h["dropped_events"], h["rejected_events"], h["oversized_events"], h["corrupt_events"])
            for h in heartbeats] == [(7, 5, 3, 2)]  # reported once, by the first heartbeat that was spooled
    counters = state_of(folder.parent).counters
    assert all(counters[name] == 0 for name in COUNTS), counters


# -- permissions ----------------------------------------------------------------------------------------------
def wait_for_flusher(home: Path, timeout: float = 40) -> None:
    from testkube_telemetry_plugin._fs import is_held

    lock = str(telemetry_dir(home) / "flusher.lock")
    end = time.monotonic() + timeout
    while is_held(lock):
        assert time.monotonic() < end, "the flusher did not exit"
        time.sleep(0.1)


@pytest.mark.reliability
def test_umask_000_still_makes_every_folder_0700_and_file_0600(site, isolated, two_sinks, monkeypatch) -> None:
    monkeypatch.setenv("TESTKUBE_TELEMETRY_DELIVERY", "background")
    runs = [["ends", "ok"], ["ends", "ok"], ["telemetry", "status"], ["telemetry", "show"], ["telemetry", "flush"]]
    for args in runs:
        result = run_testkube(*args, preexec_fn=lambda: os.umask(0))
        assert result.returncode == 0, result.stderr
        wait_for_flusher(isolated)  # it was started with umask 000 too
    assert spooled(isolated) == 0 and len(two_sinks.accepted("/mp/collect")) >= 1
    found = {str(p.relative_to(isolated)): stat.S_IMODE(os.lstat(p).st_mode) for p in isolated.rglob("*")}
    found["."] = stat.S_IMODE(os.lstat(isolated).st_mode)
    expected = {"telemetry", "telemetry/spool", "cache", "config.toml", "telemetry/state.json",
                "telemetry/sent.jsonl", "telemetry/flusher.lock", "telemetry/heartbeat-day", "telemetry/spool/.count",
                "cache/config-summary"}
    assert expected <= set(found), sorted(found)  # every kind of file was made
    wrong = {path: oct(mode) for path, mode in found.items()
             if mode != (0o700 if (isolated / path).is_dir() else 0o600)}
    assert wrong == {}


def nobody_uid() -> int | None:
    try:
        import pwd

        return pwd.getpwnam("nobody").pw_uid
    except (ImportError, KeyError):
        return None


SHARED_HOMES = {  # what another user could have done, and the owner and mode that allow it
    "another user's home, 0777": ("home", 0o777),
    "another user's home, 0700": ("home", 0o700),
    "our home, 0777": ("ours", 0o777),
    "another user's telemetry folder in our home": ("telemetry", 0o700),
}


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0 or nobody_uid() is None,
                    reason="needs root and a `nobody` user to make a home another user controls")
@pytest.mark.parametrize("case", sorted(SHARED_HOMES))
def test_a_home_another_user_can_write_turns_telemetry_off(case, site, isolated, collector, tmp_path) -> None:
    uid = nobody_uid()
    assert uid is not None
    whose, mode = SHARED_HOMES[case]
    canary = tmp_path / "root-home" / ".bashrc"
    canary.parent.mkdir()
    canary.write_text("export PATH=/usr/bin\n")
    isolated.mkdir(mode=0o700)
    (isolated / "telemetry").mkdir(mode=0o700)
    link = isolated / "telemetry" / "sent.jsonl"
    link.symlink_to(canary)  # as the other user would: sent.jsonl -> ~/.bashrc
    os.lchown(link, uid, uid)
    os.chown(isolated / "telemetry", uid if whose in ("home", "telemetry") else 0, uid)
    os.chown(isolated, uid if whose == "home" else 0, uid)
    os.chmod(isolated / "telemetry", 0o777 if mode == 0o777 else 0o700)
    os.chmod(isolated, mode)
    untrusted = isolated / "telemetry" if whose == "telemetry" else isolated  # our own home may hold our config
    before = snapshot(untrusted)
    watch = Watch(canary)
    expected = run_testkube("ends", "ok", env={"DO_NOT_TRACK": "1"})
    result = run_testkube("ends", "ok")
    assert (result.returncode, result.stdout, result.stderr) == (expected.returncode, expected.stdout,
                                                                 expected.stderr)
    outputs = ""
    for args in (["telemetry", "flush"], ["telemetry", "show"], ["disable", "telemetry"], ["enable", "telemetry"],
                 ["telemetry", "reset"]):
        ran = run_testkube(*args)
        outputs += ran.stdout + ran.stderr
    status = run_testkube("telemetry", "status", "--json")
    data = json.loads(status.stdout)
    assert data["enabled"] is False and data["decided_by"] == "home", data
    assert "another user" in data["reason"] or "written by other users" in data["reason"], data["reason"]
    human = run_testkube("telemetry", "status").stdout
    assert "Telemetry is off" in human and data["reason"] in human
    assert "Traceback" not in outputs + status.stderr
    watch.check()
    assert snapshot(untrusted) == before  # nothing written, nothing deleted in a folder we do not trust
    assert collector.requests == []


# -- at-least-once ------------------------------------------------------------------------------------------
@pytest.mark.reliability
def test_flushers_killed_between_answer_and_acknowledgement_resend_one_batch_each(isolated, collector, cli, runner,
                                                                                   monkeypatch) -> None:
    from collector import Collector

    from testkube_telemetry_plugin.telemetry.collectors import GA4_MAX_EVENTS_PER_REQUEST as MAX_EVENTS_PER_REQUEST
    from testkube_telemetry_plugin.telemetry.collectors import SEGMENT_MAX_EVENTS

    with Collector() as ga:
        monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_URL", ga.url + "/mp/collect")
        monkeypatch.setenv("TESTKUBE_TELEMETRY_GA_MEASUREMENT_ID", "G-TEST1")
        with_id(isolated)
        ids = spool_events(isolated, 3000)
        kills = 0
        for target in [collector] * 4 + [ga] * 4:  # Segment's requests first, then GA4's (sent after Segment's)
            kill_flusher_mid_batch(target)
            kills += 1
        def held() -> list[dict[str, Any]]:
            return [r for r in collector.requests + ga.requests if r["behaviour"] == ("hold",)]

        assert collector.wait_for(lambda: len(held()) == kills)
        assert all(r["status"] == 200 for r in held())  # each was answered 2xx, after the flusher was killed
        for _ in range(6):
            if invoke(cli, runner, ["telemetry", "flush"])[0] == 0:
                break
        else:
            raise AssertionError("flush never completed")
        segment = [m["messageId"] for m in collector.messages()]
        ga_events = [e["params"]["n"] for e in ga.ga_events()]
    assert set(segment) == set(ids) and set(ga_events) == set(range(3000))  # nothing lost
    segment_twice = len(segment) - len(set(segment))
    ga_twice = len(ga_events) - len(set(ga_events))
    assert segment_twice <= kills * SEGMENT_MAX_EVENTS  # the documented bound: one batch per kill
    assert ga_twice <= kills * MAX_EVENTS_PER_REQUEST
    assert segment_twice > 0 and ga_twice > 0  # the kills did land between a 2xx and its acknowledgement
    assert spooled(isolated) == 0


@pytest.mark.reliability
@pytest.mark.parametrize("kind", sorted(FILE_KINDS))
def test_each_broken_example_in_each_file_with_real_processes(kind, site, isolated, runner, two_sinks,
                                                              tmp_path) -> None:
    lab = Lab(isolated, runner, tmp_path, processes=True)
    for content in FILE_KINDS[kind][1]:
        path, good_id = lab.plant(kind, content)
        status, _ = lab.run_all()
        check_outcome(lab, kind, content, path, good_id, two_sinks, status)


SETTINGS_FILES = ("config.toml", "project file")  # broken, they turn telemetry off: no flusher to watch


@pytest.mark.reliability
@pytest.mark.parametrize("index", range(max(len(v[1]) for k, v in FILE_KINDS.items() if k not in SETTINGS_FILES)))
def test_the_flusher_with_every_file_it_reads_broken_at_once(index, site, isolated, runner, two_sinks,
                                                             tmp_path) -> None:
    lab = Lab(isolated, runner, tmp_path, processes=True)
    path, good_id = lab.plant("spool record", b"")
    for kind, (relative, examples) in FILE_KINDS.items():
        if kind not in SETTINGS_FILES:
            for each in every_match(lab.home, relative) if "*" in relative else [fuzz_path(lab.home, kind)]:
                each.write_bytes(examples[index % len(examples)])
    # CI: a flusher starts at once (in interactive use it waits for a batch)
    result = run_testkube("ends", "ok", env={"TESTKUBE_TELEMETRY_DELIVERY": "background", "CI": "true"})
    assert (result.returncode, result.stdout, without_notice(result.stderr)) == lab.baseline[("ends", "ok")]
    assert two_sinks.wait_for(lambda: good_id in {m["messageId"] for m in two_sinks.messages()})
    wait_for_flusher(lab.home)
    log = telemetry_dir(lab.home) / "flusher.log"
    assert not log.exists(), log.read_text()  # it logs only what it could not handle
    assert not path.exists() and spooled(lab.home) == 0


def test_an_entry_point_cache_damaged_after_its_key_is_rebuilt(site, isolated, runner) -> None:
    cli = make_cli()
    assert invoke(cli, runner, ["ends", "ok"])[:2] == (0, "ok 1\n")
    (cache,) = isolated.glob("cache/*.entry-points")
    good = cache.read_bytes()
    assert b"\tsample_plugin\t" in good
    cache.write_bytes(good.replace(b"\tsample_plugin\t", b"\tsample_plugix\t"))  # the key line is intact
    assert invoke(make_cli(), runner, ["ends", "ok"])[:2] == (0, "ok 1\n")
    assert cache.read_bytes() == good


def test_a_config_summary_damaged_after_its_key_never_turns_telemetry_on(site, isolated, runner,
                                                                         collector) -> None:
    with_id(isolated)
    config = isolated / "config.toml"
    config.write_text(config.read_text() + "enabled = false\n")
    assert invoke(make_cli(), runner, ["ends", "ok"])[:2] == (0, "ok 1\n")
    summary = isolated / "cache" / "config-summary"
    good = summary.read_bytes()
    assert b"\nenabled=bFalse\n" in good
    summary.write_bytes(good.replace(b"\nenabled=bFalse\n", b"\nenabled=bTrue\n"))  # the key line is intact
    assert invoke(make_cli(), runner, ["ends", "ok"])[:2] == (0, "ok 1\n")
    assert collector.requests == [] and not (telemetry_dir(isolated) / "spool").exists()


@settings(max_examples=300)
@given(data=st.binary(max_size=2048), where=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255),
       cut=st.integers(min_value=1))
def test_a_sealed_cache_is_trusted_only_whole_and_unchanged(data, where, flip, cut) -> None:
    """Every cache goes through the seal: one changed byte, a torn copy or a stray byte is never believed."""
    seal = sealed(data)
    assert unsealed(seal) == data
    at = where % len(seal)
    changed = seal[:at] + bytes([seal[at] ^ flip]) + seal[at + 1:]
    assert unsealed(changed) is None
    assert unsealed(seal[:len(seal) - 1 - cut % len(seal)]) is None  # torn anywhere
    assert unsealed(b"\x00" + seal) is None and unsealed(seal + b"\n") is None


FIFO_TARGETS = sorted(set(LINK_TARGETS) - FOLDERS - {"config.lock"} | {"config.lock"})


@pytest.mark.reliability
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
@pytest.mark.parametrize("target", FIFO_TARGETS)
def test_a_named_pipe_in_place_of_a_file_never_blocks(target, site, isolated, runner, collector) -> None:
    full_home(isolated, runner)
    relative = LINK_TARGETS[target]
    if relative == "record":
        paths = [sorted(p for p in (telemetry_dir(isolated) / "spool").iterdir() if not p.name.startswith("."))[0]]
    elif "*" in relative:
        paths = every_match(isolated, relative)
    else:
        paths = [isolated / relative]
    for path in paths:
        if path.exists():
            path.unlink()
        os.mkfifo(path, 0o600)  # opened for reading or writing without a peer, it waits for ever
    expected = run_testkube("ends", "ok", env={"DO_NOT_TRACK": "1"})
    result = run_testkube("ends", "ok", timeout=30)
    assert (result.returncode, result.stdout, without_notice(result.stderr)) == (
        expected.returncode, expected.stdout, expected.stderr)
    try:
        spool_events(isolated, 3)  # for flush to deliver
    except OSError:
        assert target == "count"  # a pipe for the spool's count: nothing can be spooled
    flush = run_testkube("telemetry", "flush", "--timeout", "10", timeout=30)
    assert "Traceback" not in flush.stdout + flush.stderr
    assert "Gave up" not in flush.stderr, flush.stderr  # it did not sit on the pipe until its deadline
    for args in (["telemetry", "status"], ["telemetry", "show"]):
        ran = run_testkube(*args, timeout=30)
        assert ran.returncode == 0 and "Traceback" not in ran.stdout + ran.stderr, ran.stderr


def gzip_bomb() -> bytes:
    import gzip

    return gzip.compress(b"\0" * (64 * 1024 * 1024))  # 64 MB of zeros in ~64 KB


ODD_ANSWERS = {  # what the collector sends back -> whether the batch counts as delivered
    "not HTTP": (b"garbage\r\n\r\n", False),
    "status 999": (b"HTTP/1.1 999 Odd\r\nContent-Length: 0\r\n\r\n", False),
    "status 600": (b"HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n", False),
    "status 199": (b"HTTP/1.1 199 Odd\r\nContent-Length: 0\r\n\r\n", False),
    "a 70 KB header line": (b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", False),
    "500 headers": (b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 500 + b"\r\n", False),
    "negative length": (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n{}", True),
    "a broken chunk": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}", True),
    "a gzip bomb": (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(gzip_bomb())
                    + gzip_bomb(), True),
    "Retry-After in the year 9999": (b"HTTP/1.1 429 Slow\r\nRetry-After: Fri, 31 Dec 9999 23:59:59 GMT\r\n"
                                     b"Content-Length: 0\r\n\r\n", False),
    "Retry-After of 400 digits": (b"HTTP/1.1 503 Slow\r\nRetry-After: " + b"9" * 400 + b"\r\n"
                                  b"Content-Length: 0\r\n\r\n", False),
    "closed at once": (b"", False),
}


@pytest.mark.parametrize("answer", sorted(ODD_ANSWERS))
def test_an_odd_answer_is_a_retry_or_a_delivery_never_a_crash(answer, isolated, monkeypatch) -> None:
    from testkube_telemetry_plugin.telemetry.delivery.loop import deliver
    from testkube_telemetry_plugin.telemetry.settings import load as load_settings
    from testkube_telemetry_plugin.telemetry.state import BACKOFF_MAX_S

    raw, delivered = ODD_ANSWERS[answer]
    server = RawCollector(lambda conn: server.send(conn, raw))
    monkeypatch.setenv("TESTKUBE_TELEMETRY_SEGMENT_URL", server.url)
    with_id(isolated)
    spool_events(isolated, 4)
    report = deliver(load_settings(TESTKUBE), time.monotonic() + 10).collectors["segment"]  # raises nothing
    server.close()
    assert (report.sent, report.kept, report.dropped) == ((4, 0, 0) if delivered else (0, 4, 0)), report.errors
    assert spooled(isolated) == (0 if delivered else 4)
    status = state_of(isolated).collectors["segment"]
    if not delivered:
        assert status.failures == 1 and time.time() < status.next_attempt <= time.time() + BACKOFF_MAX_S


WRONG_SHAPES = {  # a config in a shape TOML allows but we do not -> the line to fix
    'telemetry = { enabled = "x" }\n': 1,
    "[telemetry.enabled]\nx = 1\n": 1,
    '[other]\nenabled = 1\n\n[telemetry]\nenabled = "x"\n': 5,
    "[[telemetry]]\nx = 1\n": 1,
    "# settings\ntelemetry = 3\n": 2,
    '\n\n[telemetry]\n"consent" = "x"\n': 4,
    'telemetry.delivery = "fast"\n': 1,
    "[ telemetry ]\n  delivery = 1\n": 2,
    "[telemetry]\nenabled.x = 1\n": 2,
    '[telemetry]\nsalt = "s"\n[telemetry.anonymous_id]\nx = 1\n': 3,
    '[enabled]\nx = 1\n[telemetry]\nenabled = 2\n': 4,
}


@pytest.mark.parametrize("content", sorted(WRONG_SHAPES))
def test_enable_names_the_line_of_a_value_of_the_wrong_shape(content, isolated, cli, runner) -> None:
    isolated.mkdir(mode=0o700)
    config = isolated / "config.toml"
    config.write_text(content)
    code, _, err = invoke(cli, runner, ["enable", "telemetry"])
    assert code == 1 and config.read_text() == content
    assert f"{config}, line {WRONG_SHAPES[content]}: " in err, err
