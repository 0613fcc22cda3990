"""Records every hook call, for the adoption suite (tests/test_adoption.py).

Installed through a real entry point.  Each record is a plain dict, kept in
RECORDS (tests in the same process) and, when RECORDING_PLUGIN_LOG names a
file, appended to it as a JSON line (tests that run a real process).
"""

from __future__ import annotations

import json
import os

import click

from testkube_telemetry_plugin import hookimpl

RECORDS: list[dict] = []


def _plain(value: object) -> object:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return repr(value)


def _exception(exc: object) -> object:
    if exc is None:
        return None
    # Click names its usage errors differently across versions (UsageError, NoSuchOption, ...).
    return "UsageError" if isinstance(exc, click.UsageError) else type(exc).__name__


def _record(hook: str, invocation, outcome=None) -> None:
    host = invocation.host
    record = {
        "hook": hook,
        "path": list(invocation.command_path),
        "params": _plain(invocation.params),
        "options": _plain(invocation.options),
        "argv": list(invocation.argv),
        "host": {"name": host.name, "display_name": host.display_name, "version": host.version,
                 "plugin_group": host.plugin_group, "env_prefix": host.env_prefix},
    }
    if outcome is not None:
        record["exit_code"] = outcome.exit_code
        record["exception"] = _exception(outcome.exception)
    RECORDS.append(record)
    log = os.environ.get("RECORDING_PLUGIN_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")


@hookimpl
def testkube_pre_command(invocation) -> None:
    _record("pre", invocation)


@hookimpl
def testkube_post_command(invocation, outcome) -> None:
    _record("post", invocation, outcome)
    # Shown on stderr in debug mode only: the adoption suite compares stderr with the unadopted CLI's.
    invocation.report(f"recorded {' '.join(invocation.command_path)} -> {outcome.exit_code}")
