"""Telemetry settings: environment, project file, user config, packaged default.

Reading happens on every command, so it uses the standard library's TOML reader
where there is one (tomlkit, which keeps comments, is for editing).  A broken file
never raises: it turns telemetry off for the run and is described in one sentence
for `status`, `enable` and `disable` to show.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Mapping, NamedTuple, Optional

from . import paths
from .paths import StrPath

TRUTHY = frozenset({"1", "true", "yes", "on"})
FALSY = frozenset({"", "0", "false", "no", "off"})
DISABLE_ENVS = ("DO_NOT_TRACK", "TESTKUBE_TELEMETRY_DISABLED")
DEBUG_ENV = "TESTKUBE_TELEMETRY_DEBUG"
DELIVERY_ENV = "TESTKUBE_TELEMETRY_DELIVERY"
DEADLINE_ENV = "TESTKUBE_TELEMETRY_DEADLINE"
PROJECT_FILE = ".testkube.toml"
TABLE = "telemetry"

# Packaged defaults.  A host that wants opt-in telemetry (as Angular's and Nuxt's
# CLIs do) ships with DEFAULT_CONSENT = "opt-in".
DEFAULT_CONSENT = "opt-out"
DEFAULT_SEGMENT_URL = "https://analytics.testkube.io"
DEFAULT_GA_URL = "https://www.google-analytics.com/mp/collect"
DEFAULT_DEADLINE_S = 2.0
CONSENT_MODES = ("opt-out", "opt-in")
DELIVERY_MODES = ("background", "inline")

# Config key -> (environment variable or None, expected type)
SINK_KEYS: dict[str, str] = {
    "segment_url": "TESTKUBE_TELEMETRY_SEGMENT_URL",
    "segment_write_key": "TESTKUBE_TELEMETRY_SEGMENT_WRITE_KEY",
    "ga_url": "TESTKUBE_TELEMETRY_GA_URL",
    "ga_measurement_id": "TESTKUBE_TELEMETRY_GA_MEASUREMENT_ID",
    "ga_api_secret": "TESTKUBE_TELEMETRY_GA_API_SECRET",
}
_STRING_KEYS = ("anonymous_id", "salt", "consent", "delivery", *SINK_KEYS)


class ConfigFile(NamedTuple):
    """One TOML file's `[telemetry]` table, or why it could not be used."""

    path: str
    exists: bool = False
    table: Mapping[str, Any] = {}  # noqa: RUF012 - a NamedTuple default, never mutated
    problem: Optional[str] = None


class Decision(NamedTuple):
    """Whether telemetry is on, and which setting decided it."""

    enabled: bool
    source: str  # "env", "project", "user", "default"
    reason: str


class Settings(NamedTuple):
    decision: Decision
    user: ConfigFile
    project: Optional[ConfigFile]
    consent: str
    segment_url: str
    segment_write_key: str
    ga_url: str
    ga_measurement_id: str
    ga_api_secret: str
    delivery: str
    deadline_s: float
    debug: bool
    warnings: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        return self.decision.enabled

    @property
    def anonymous_id(self) -> Optional[str]:
        value = self.user.table.get("anonymous_id")
        return value if is_anonymous_id(value) else None

    @property
    def ga_enabled(self) -> bool:
        return bool(self.ga_measurement_id)

    @property
    def sinks(self) -> tuple[str, ...]:
        return ("segment", "ga4") if self.ga_enabled else ("segment",)


def is_anonymous_id(value: object) -> bool:
    """64 lowercase hex characters, like the seed's `anonymousId`."""
    return isinstance(value, str) and len(value) == 64 and all(ch in "0123456789abcdef" for ch in value)


def env_flag(value: Optional[str]) -> Optional[bool]:
    """True, False, or None when the value is not a recognised yes/no word."""
    if value is None:
        return False
    word = value.strip().lower()
    if word in TRUTHY:
        return True
    if word in FALSY:
        return False
    return None


def disabling_env(env: Mapping[str, str]) -> Optional[str]:
    """The opt-out variable that switches telemetry off, if one does.

    Any value but a clear "no" counts: `DO_NOT_TRACK=maybe` means off, since a
    person who typed it meant something, and privacy wins the doubt.
    """
    for name in DISABLE_ENVS:
        if env_flag(env.get(name)) is not False:
            return name
    return None


def _line_of(text: str, key: str) -> Optional[int]:
    pattern = re.compile(rf"^\s*(?:{TABLE}\s*\.\s*)?[\"']?{re.escape(key)}[\"']?\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None


def _parse_toml(text: str) -> dict[str, Any]:
    try:
        import tomllib
    except ImportError:  # Python < 3.11: tomlkit reads too, a little slower
        import tomlkit

        return dict(tomlkit.parse(text).unwrap())
    return dict(tomllib.loads(text))


def toml_error(path: StrPath, exc: Exception, text: str = "") -> str:
    line = getattr(exc, "line", None) or getattr(exc, "lineno", None)
    message = str(exc).split(" (at line")[0].strip().rstrip(".")
    message = re.sub(r" at line \d+ col \d+$", "", message)
    if line is None:
        found = re.search(r"line (\d+)", str(exc))
        line = int(found.group(1)) if found else None
    duplicate = re.search(r'Key "([^"]+)" already exists', message)
    if line is None and duplicate:  # tomlkit names the key, not the line: the last one
        pattern = re.compile(rf"^\s*[\"']?{re.escape(duplicate.group(1))}[\"']?\s*=")
        numbers = [n for n, text_line in enumerate(text.splitlines(), 1) if pattern.match(text_line)]
        line = numbers[-1] if numbers else None
    where = f"{path}, line {line}" if line else str(path)
    return f"{where}: not valid TOML ({message})"


_PARSED_CACHE = "parsed-config.json"
_PARSED_KEPT = 8


def _remembered(path: str, text: str) -> Optional[ConfigFile]:
    try:
        entry = json.loads(paths.read_text(os.path.join(paths.cache_dir(), _PARSED_CACHE)))[path]
        if entry["text"] == text:
            return ConfigFile(path, True, entry["table"], entry["problem"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def _remember(path: str, text: str, result: ConfigFile) -> None:
    cache = os.path.join(paths.cache_dir(), _PARSED_CACHE)
    try:
        try:
            known = json.loads(paths.read_text(cache))
        except (OSError, ValueError):
            known = {}
        entry = {"text": text, "table": dict(result.table), "problem": result.problem}
        known = {path: entry, **{k: v for k, v in known.items() if k != path}}
        data = json.dumps(dict(list(known.items())[:_PARSED_KEPT]))
        paths.atomic_write(cache, data.encode("utf-8"))
    except (OSError, TypeError, ValueError, AttributeError):
        pass  # a read-only home, or a value JSON cannot hold: parse again next time


def read_config(path: StrPath) -> ConfigFile:
    """Read `path`'s `[telemetry]` table; never raises.

    The TOML parser costs more than the rest of a command's telemetry, so the
    parsed table is remembered next to the file's exact text and reused while
    the text is unchanged (comparing text, not timestamps, cannot go stale).
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        return ConfigFile(path)
    except IsADirectoryError:
        return ConfigFile(path, True, problem=f"{path}: is a folder, not a file")
    except OSError as exc:
        return ConfigFile(path, True, problem=f"{path}: cannot be read ({exc.strerror})")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return ConfigFile(path, True, problem=f"{path}: is not UTF-8 text")
    remembered = _remembered(path, text)
    if remembered is not None:
        return remembered
    result = _parse_config(path, text)
    _remember(path, text, result)
    return result


def _parse_config(path: str, text: str) -> ConfigFile:
    try:
        document = _parse_toml(text)
    except Exception as exc:  # tomllib.TOMLDecodeError or tomlkit's ParseError
        return ConfigFile(path, True, problem=toml_error(path, exc, text))
    table = document.get(TABLE, {})
    if not isinstance(table, dict):
        line = _line_of(text, TABLE)
        where = f"{path}, line {line}" if line else str(path)
        return ConfigFile(path, True, problem=f"{where}: `{TABLE}` must be a table")
    for key, expected, word in [("enabled", bool, "true or false")] + [
        (key, str, "a string") for key in _STRING_KEYS
    ]:
        if key in table and not isinstance(table[key], expected):
            line = _line_of(text, key)
            where = f"{path}, line {line}" if line else str(path)
            return ConfigFile(
                path, True, table, f"{where}: `{key}` must be {word}, not {table[key]!r}"
            )
    consent = table.get("consent")
    if consent is not None and consent not in CONSENT_MODES:
        line = _line_of(text, "consent")
        where = f"{path}, line {line}" if line else str(path)
        return ConfigFile(
            path, True, table, f"{where}: `consent` must be \"opt-out\" or \"opt-in\""
        )
    return ConfigFile(path, True, table)


def find_project_file(start: Optional[StrPath] = None) -> Optional[str]:
    """The nearest `.testkube.toml` in the working directory or above it."""
    try:
        here = os.path.realpath(os.getcwd() if start is None else start)
    except OSError:
        return None
    while True:
        candidate = os.path.join(here, PROJECT_FILE)
        if os.path.exists(candidate):
            return candidate
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def _decide(
    env: Mapping[str, str], project: Optional[ConfigFile], user: ConfigFile, consent: str
) -> tuple[Decision, list[str]]:
    warnings = []
    name = disabling_env(env)
    if name is not None:
        if env_flag(env[name]) is None:
            warnings.append(f"{name}={env[name]!r} is not a yes/no value; taken as set (off)")
        return Decision(False, "env", f"{name}={env[name]} is set"), warnings
    if project is not None:
        if project.problem:
            return Decision(False, "project", f"{project.problem} (off until fixed)"), warnings
        if project.table.get("enabled") is False:
            return Decision(False, "project", f"project file {project.path} turns it off"), warnings
    if user.problem:
        return Decision(False, "user", f"{user.problem} (off until fixed)"), warnings
    if isinstance(user.table.get("enabled"), bool):
        enabled = bool(user.table["enabled"])
        word = "on" if enabled else "off"
        return Decision(enabled, "user", f"user config {user.path} turns it {word}"), warnings
    if consent == "opt-in":
        return (
            Decision(False, "default", "consent is opt-in and you have not enabled it"),
            warnings,
        )
    return Decision(True, "default", "on by default (opt-out)"), warnings


def load_settings(
    env: Optional[Mapping[str, str]] = None, cwd: Optional[StrPath] = None
) -> Settings:
    """Every layer read and combined; never raises."""
    env = os.environ if env is None else env
    user = read_config(paths.config_path())
    project_path = find_project_file(cwd)
    project = read_config(project_path) if project_path is not None else None
    consent = DEFAULT_CONSENT
    for layer in (user, project):
        if layer is not None and layer.table.get("consent") in CONSENT_MODES:
            consent = str(layer.table["consent"])
    decision, warnings = _decide(env, project, user, consent)

    def pick(key: str, default: str) -> str:
        env_value = env.get(SINK_KEYS[key], "").strip()
        if env_value:
            return env_value
        value = user.table.get(key)
        return value.strip() if isinstance(value, str) and value.strip() else default

    delivery = env.get(DELIVERY_ENV, "").strip().lower() or str(
        user.table.get("delivery") or "background"
    )
    if delivery not in DELIVERY_MODES:
        warnings.append(f"{DELIVERY_ENV}={delivery!r} is not background or inline; using background")
        delivery = "background"
    deadline = DEFAULT_DEADLINE_S
    raw_deadline = env.get(DEADLINE_ENV, "").strip()
    if raw_deadline:
        try:
            deadline = float(raw_deadline)
            if not 0 < deadline <= 30:
                raise ValueError
        except ValueError:
            warnings.append(f"{DEADLINE_ENV}={raw_deadline!r} is not 0-30 seconds; using 2")
            deadline = DEFAULT_DEADLINE_S
    debug = env_flag(env.get(DEBUG_ENV)) is True
    return Settings(
        decision=decision,
        user=user,
        project=project,
        consent=consent,
        segment_url=pick("segment_url", DEFAULT_SEGMENT_URL),
        segment_write_key=pick("segment_write_key", ""),
        ga_url=pick("ga_url", DEFAULT_GA_URL),
        ga_measurement_id=pick("ga_measurement_id", ""),
        ga_api_secret=pick("ga_api_secret", ""),
        delivery=delivery,
        deadline_s=deadline,
        debug=debug,
        warnings=tuple(warnings),
    )
