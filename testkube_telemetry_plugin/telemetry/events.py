"""Events as they are spooled, and the Segment messages they become when sent.

A spooled record holds a command's events without the anonymous id: the id is
added when the record is sent (so it lives in one file only, the user's
config, and `reset` or `disable` leave no copy of it behind).  The one
exception is the opt-out record, which must still be sendable after the id is
gone, and carries its own.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional

from .._version import __version__
from ..hooks.host import env_flag

if TYPE_CHECKING:
    from ..hooks.host import Host

LIBRARY = {"name": "testkube-telemetry-plugin", "version": __version__}
# Segment's HTTP tracking API rejects messages over 32 KB (checked when sending).
MAX_MESSAGE_BYTES = 32 * 1024
RECORD_FORMAT = 1

def event_name(host: Host, canonical: str) -> str:
    """`testkube_cli_command` for testkube, `mycli_cli_command` for a host named mycli."""
    stem = "".join(ch if ch.isalnum() else "_" for ch in host.stem.lower())
    return stem + canonical[len("testkube"):] if canonical.startswith("testkube") else canonical


def iso_timestamp(epoch: Optional[float] = None) -> str:
    """ISO-8601 UTC with milliseconds, as Segment's libraries send it."""
    epoch = time.time() if epoch is None else epoch
    millis = int(epoch * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{millis:03d}Z"


def new_message_id() -> str:
    """A random UUID4, without importing uuid on every command."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# (environment variable, provider name), most specific first.
CI_PROVIDERS = (
    ("GITHUB_ACTIONS", "github-actions"),
    ("GITLAB_CI", "gitlab"),
    ("CIRCLECI", "circleci"),
    ("TRAVIS", "travis"),
    ("JENKINS_URL", "jenkins"),
    ("BUILDKITE", "buildkite"),
    ("TF_BUILD", "azure-pipelines"),
    ("TEAMCITY_VERSION", "teamcity"),
    ("BITBUCKET_BUILD_NUMBER", "bitbucket"),
    ("CODEBUILD_BUILD_ID", "aws-codebuild"),
    ("DRONE", "drone"),
    ("APPVEYOR", "appveyor"),
    ("SEMAPHORE", "semaphore"),
    ("TEKTON_PIPELINE_RUN", "tekton"),
    ("HARNESS_BUILD_ID", "harness"),
    ("BUILD_ID", "generic"),
    ("CI", "generic"),
)


def ci_provider(env: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The CI system's name, or None on a developer's machine."""
    env = os.environ if env is None else env
    for variable, name in CI_PROVIDERS:
        if env_flag(env.get(variable)) is not False:  # set, and not a clear "no"
            return name
    return None


# What names one repository (or pipeline) to each CI system: every job of it
# shares one anonymous id (see `ci_repository`).  The server's address comes
# first where the CI can be self-hosted, so two servers' `team/app` differ.
CI_REPOSITORY_VARIABLES: dict[str, tuple[str, ...]] = {
    "github-actions": ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY"),
    "gitlab": ("CI_SERVER_HOST", "CI_PROJECT_PATH"),
    "circleci": ("CIRCLE_PROJECT_USERNAME", "CIRCLE_PROJECT_REPONAME"),
    "travis": ("TRAVIS_REPO_SLUG",),
    "jenkins": ("JENKINS_URL", "GIT_URL", "JOB_NAME"),
    "buildkite": ("BUILDKITE_ORGANIZATION_SLUG", "BUILDKITE_PIPELINE_SLUG"),
    "azure-pipelines": ("SYSTEM_COLLECTIONURI", "BUILD_REPOSITORY_URI"),
    "teamcity": ("TEAMCITY_PROJECT_NAME",),
    "bitbucket": ("BITBUCKET_REPO_FULL_NAME",),
    "aws-codebuild": ("CODEBUILD_SOURCE_REPO_URL",),
    "drone": ("DRONE_REPO",),
    "appveyor": ("APPVEYOR_REPO_NAME",),
    "semaphore": ("SEMAPHORE_GIT_REPO_SLUG",),
    "harness": ("HARNESS_ORG_ID", "HARNESS_PROJECT_ID"),
}


def _repository_part(value: str) -> str:
    """`https://user:token@GitHub.com/Team/App.git/` -> `github.com/team/app`: the same repository
    however a job spells it, and never a credential."""
    text = value.strip().lower()
    if "://" in text:
        text = text.split("://", 1)[1]
    authority, slash, rest = text.partition("/")
    text = authority.rsplit("@", 1)[-1] + slash + rest
    text = text.rstrip("/")
    return text[:-4] if text.endswith(".git") else text


def ci_repository(provider: str, env: Optional[Mapping[str, str]] = None) -> str:
    """What identifies the repository this CI job builds ("" where the CI names none)."""
    env = os.environ if env is None else env
    parts = [_repository_part(env.get(name, "")) for name in CI_REPOSITORY_VARIABLES.get(provider, ())]
    return "\n".join(part for part in parts if part)


def platform_facts() -> dict[str, str]:
    """os, arch and Python version: nothing that tells one machine from another."""
    if hasattr(os, "uname"):
        machine = os.uname().machine
    else:  # Windows: `platform` is slower to import, but there is no uname
        import platform

        machine = platform.machine()
    return {
        "os": {"win32": "windows", "darwin": "darwin"}.get(sys.platform, sys.platform),
        "arch": machine.lower() or "unknown",
        "python": ".".join(map(str, sys.version_info[:3])),
    }


def base_properties(host: Host) -> dict[str, Any]:
    """The properties every event carries: nothing that tells one machine from another."""
    provider = ci_provider()
    return {
        **platform_facts(),
        # Set by the host's code, not typed by the user: bounded, not scrubbed.
        "host": host.display_name[:40],
        "host_version": host.version[:40],
        "plugin_version": __version__,
        "ci": provider is not None,
        "ci_provider": provider,
    }


def new_event(name: str, properties: Mapping[str, Any], epoch: Optional[float] = None) -> dict[str, Any]:
    return {
        "event": name,
        "messageId": new_message_id(),
        "timestamp": iso_timestamp(epoch),
        "properties": {key: value for key, value in properties.items() if value is not None},
    }


def new_record(host: Host, events: list[dict[str, Any]], anonymous_id: Optional[str] = None) -> dict[str, Any]:
    record: dict[str, Any] = {"v": RECORD_FORMAT, "host": host.display_name[:40],
                              "host_version": host.version[:40], "events": events}
    if anonymous_id is not None:
        record["anonymousId"] = anonymous_id  # only the opt-out record: sent after the id is gone
    return record


class BadRecord(ValueError):
    """A line that is not one of our records: dropped and counted, never sent."""


def not_json(name: str) -> None:
    """Python reads NaN and Infinity, which are not JSON: sent, they make a collector reject the batch."""
    raise ValueError(f"{name} is not JSON")


_decoder: Any = None


def _decode(text: bytes) -> Any:
    """`json.loads(text, parse_constant=not_json)`, with one decoder for every call (each call of
    `json.loads` with an argument builds its own; a spool of many small files makes many calls)."""
    global _decoder
    if _decoder is None:
        import json

        _decoder = json.JSONDecoder(parse_constant=not_json)
    return _decoder.decode(text.decode("utf-8"))


def parse_lines(texts: list[bytes]) -> list[Any]:
    """Each text's record as parsed JSON, or the error: one parse for them all when it can (~10x faster)."""
    try:
        values: list[Any] = _decode(b"[" + b",".join(texts) + b"]")
        if len(values) == len(texts):
            return values
    except (ValueError, RecursionError, MemoryError):
        pass
    values = []
    for text in texts:  # some line is damaged, or held more than one value: find which
        try:
            values.append(_decode(text))
        except (ValueError, RecursionError, MemoryError) as exc:
            values.append(exc)
    return values


_SCALARS = (str, int, float, bool)
_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_RFC3339: Any = None


def valid_timestamp(text: str) -> Optional[str]:
    """An RFC 3339 time as `iso_timestamp` writes it (UTC, milliseconds), or None if it is not one.

    Ours pass as they are; another version's (other fractions, an offset) are
    converted; anything else (a date that does not exist, a wrong shape) is None.
    """
    if (len(text) == 24 and text[4] == text[7] == "-" and text[10] == "T" and text[13] == text[16] == ":"
            and text[19] == "." and text[23] == "Z" and text[20:23].isdigit() and text[:4].isdigit()
            and text.isascii()):  # ours, the usual case: checked without the expression
        try:
            year, month, day = int(text[:4]), int(text[5:7]), int(text[8:10])
            hour, minute, second = int(text[11:13]), int(text[14:16]), int(text[17:19])
        except ValueError:
            return None
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        if (1970 <= year and 1 <= month <= 12 and 1 <= day <= _DAYS[month - 1] + (month == 2 and leap)
                and 0 <= hour < 24 and 0 <= minute < 60 and 0 <= second < 60
                and text[5:7].isdigit() and text[8:10].isdigit() and text[11:13].isdigit()
                and text[14:16].isdigit() and text[17:19].isdigit()):
            return text
    global _RFC3339
    if _RFC3339 is None:
        import re

        _RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?"
                              r"(?:([Zz])|([+-])(\d\d):(\d\d))")
    found = _RFC3339.fullmatch(text) if text.isascii() else None
    if found is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in found.groups()[:6])
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if not (1970 <= year <= 9999 and 1 <= month <= 12 and 1 <= day <= _DAYS[month - 1] + (month == 2 and leap)
            and hour < 24 and minute < 60 and second < 61):
        return None
    if found.group(8) and len(text) == 24 and text[10] == "T" and text[23] == "Z" and second < 60:
        return text  # ours, as written
    offset = 0
    if found.group(9):
        offset = (int(found.group(10)) * 60 + int(found.group(11))) * 60 * (1 if found.group(9) == "+" else -1)
    import calendar

    seconds = calendar.timegm((year, month, day, hour, minute, min(second, 59), 0, 0, 0)) - offset
    millis = int((found.group(7) or "0")[:3].ljust(3, "0"))
    if not 0 <= seconds <= 253402300799:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def checked_record(value: Any) -> dict[str, Any]:
    """The record as this version sends it, or BadRecord.

    What delivery relies on is checked (plain loops: it runs per event sent);
    what a later version added is left out, never a reason to drop the record:
    other fields of the record or of an event, and properties that are not a
    plain value.  A timestamp is converted to ours, and one that is not a time
    makes the record bad.
    """
    if type(value) is not dict or type(value.get("events")) is not list:
        raise BadRecord("not a record")
    for key in ("host", "host_version", "anonymousId"):
        if type(value.get(key, "")) is not str:
            raise BadRecord("a record of the wrong shape")
    events = []
    for event in value["events"]:
        if type(event) is not dict or type(event.get("properties")) is not dict:
            raise BadRecord("an event of the wrong shape")
        for key in ("event", "messageId", "timestamp"):
            if type(event.get(key)) is not str:
                raise BadRecord("an event of the wrong shape")
        timestamp = valid_timestamp(event["timestamp"])
        if timestamp is None:
            raise BadRecord("an event whose timestamp is not a time")
        properties = {key: item for key, item in event["properties"].items()
                      if isinstance(item, _SCALARS) and item == item}  # NaN is not valid JSON to a collector
        events.append({"event": event["event"], "messageId": event["messageId"], "timestamp": timestamp,
                       "properties": properties})
    record = {key: value[key] for key in ("v", "host", "host_version", "anonymousId") if key in value}
    record["events"] = events
    return record


def segment_message(record: Mapping[str, Any], event: Mapping[str, Any], anonymous_id: str) -> dict[str, Any]:
    """The Segment `track` message for one spooled event, with the fields of the seed's example."""
    props = event["properties"]
    return {
        "type": "track",
        "event": event["event"],
        "anonymousId": record.get("anonymousId") or anonymous_id,
        "messageId": event["messageId"],
        "timestamp": event["timestamp"],
        "context": {
            "library": dict(LIBRARY),
            "os": {"name": props.get("os")},
            "app": {"name": record.get("host"), "version": record.get("host_version")},
        },
        "integrations": {},
        "properties": dict(props),
    }


# JSON without importing the `json` package: importing it costs about 2.5% of a
# whole command (its decoder compiles regular expressions), and every command
# writes one spool record while nothing on that path reads JSON.
# `_json.make_encoder` is the C encoder `json.dumps` itself builds (the same
# arguments as in `json.encoder`, unchanged since Python 2.7); where it is
# missing or changed, `json.dumps` is used.  tests/test_catalogue.py checks
# that both give the same text.
_encoder: Optional[Callable[[Any, int], Any]] = None


def _refuse(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _c_encoder() -> Optional[Callable[[Any, int], Any]]:
    try:
        from _json import encode_basestring_ascii, make_encoder

        return make_encoder(None, _refuse, encode_basestring_ascii, None, ":", ",", False, False, True)
    except Exception:  # noqa: BLE001 - any change in the private module: use the public one
        return None


def to_json(value: Any) -> str:
    """`json.dumps(value, separators=(",", ":"))`, byte for byte."""
    global _encoder
    if _encoder is None:
        _encoder = _c_encoder() or _fallback
    try:
        return "".join(_encoder(value, 0))
    except TypeError:
        raise
    except Exception:  # noqa: BLE001
        return _fallback(value, 0)[0]


def _fallback(value: Any, _level: int) -> tuple[str]:
    import json

    return (json.dumps(value, separators=(",", ":")),)
