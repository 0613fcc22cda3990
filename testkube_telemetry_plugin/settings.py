"""Whether telemetry is on, and with which collectors: the layers combined.

Strongest first: the opt-out variables, a home folder we cannot trust, the
project file (which can only turn telemetry off), the user's config, the
host's packaged default.  Every name (variables, files) comes from the host.
"""

from __future__ import annotations

import os
from typing import Mapping, NamedTuple, Optional

from . import safefs
from .config_read import SINK_KEYS, ConfigFile, read_config
from .host import Host
from .paths import Paths, paths_of

TRUTHY = frozenset({"1", "true", "yes", "on"})
FALSY = frozenset({"", "0", "false", "no", "off"})
DEFAULT_DEADLINE_S = 2.0


class Decision(NamedTuple):
    """Whether telemetry is on, and which setting decided it."""

    enabled: bool
    source: str  # "env", "home", "project", "user", "default"
    reason: str


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


def disabling_env(host: Host, env: Mapping[str, str]) -> Optional[str]:
    """The opt-out variable that switches telemetry off, if one does.

    Any value but a clear "no" counts: `DO_NOT_TRACK=maybe` means off, since a
    person who typed it meant something, and privacy wins the doubt.
    """
    for name in ("DO_NOT_TRACK", host.env("TELEMETRY_DISABLED")):
        if env_flag(env.get(name)) is not False:
            return name
    return None


def home_problem(paths: Paths) -> Optional[str]:
    """Why the home, or a folder of ours in it, cannot be trusted, or None (missing ones are fine).

    `O_NOFOLLOW` guards only a path's last component: a `telemetry`, `spool`
    or `cache` folder replaced by a link would still take every open through
    it, elsewhere.  So each folder from the home down is checked (an lstat
    each) before any file in it is read or written.
    """
    for folder in (paths.home, paths.telemetry, paths.spool, paths.cache):
        try:
            safefs.check_dir(folder)
        except FileNotFoundError:
            continue
        except OSError as exc:
            return str(exc) if isinstance(exc, safefs.UnsafePath) else f"{folder}: {exc.strerror or exc}"
    return None


def find_project_file(name: str, start: Optional[str] = None) -> Optional[str]:
    """The nearest project file in the working directory or above it."""
    try:
        here = os.path.realpath(os.getcwd() if start is None else start)
    except OSError:
        return None
    while True:
        candidate = os.path.join(here, name)
        if os.path.lexists(candidate):
            return candidate
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def decide(
    host: Host,
    env: Mapping[str, str],
    home_issue: Optional[str],
    project: Optional[ConfigFile],
    user: ConfigFile,
) -> tuple[Decision, list[str]]:
    """The precedence table of the README, in code; also returns warnings."""
    warnings: list[str] = []
    name = disabling_env(host, env)
    if name is not None:
        if env_flag(env[name]) is None:
            warnings.append(f"{name}={env[name]!r} is not a yes/no value; taken as set (off)")
        return Decision(False, "env", f"{name}={env[name]} is set"), warnings
    if home_issue is not None:
        return Decision(False, "home", f"{home_issue} (off until fixed)"), warnings
    if project is not None:
        if project.problem:
            return Decision(False, "project", f"{project.problem} (off until fixed)"), warnings
        ignored = sorted(key for key in project.table if key != "enabled")
        if ignored:
            warnings.append(f"{project.path}: ignored {', '.join(ignored)}; a project file can only turn telemetry off")
        if project.table.get("enabled") is False:
            return Decision(False, "project", f"project file {project.path} turns it off"), warnings
    if user.problem:
        return Decision(False, "user", f"{user.problem} (off until fixed)"), warnings
    enabled = user.table.get("enabled")
    if isinstance(enabled, bool):
        return Decision(enabled, "user", f"user config {user.path} turns it {'on' if enabled else 'off'}"), warnings
    if consent_of(host, user) == "opt-in":
        return Decision(False, "default", "consent is opt-in and you have not enabled it"), warnings
    return Decision(True, "default", "on by default (opt-out)"), warnings


def consent_of(host: Host, user: ConfigFile) -> str:
    declared = user.table.get("consent")
    if declared in ("opt-out", "opt-in"):
        return str(declared)
    return host.telemetry.consent if host.telemetry else "opt-out"


def delivery_of(host: Host, env: Mapping[str, str], user: ConfigFile, warnings: list[str]) -> str:
    variable = host.env("TELEMETRY_DELIVERY")
    delivery = env.get(variable, "").strip().lower() or str(user.table.get("delivery") or "background")
    if delivery not in ("background", "inline"):
        warnings.append(f"{variable}={delivery!r} is not background or inline; using background")
        delivery = "background"
    return delivery


def deadline_of(host: Host, env: Mapping[str, str], warnings: list[str]) -> float:
    variable = host.env("TELEMETRY_DEADLINE")
    raw = env.get(variable, "").strip()
    if not raw:
        return DEFAULT_DEADLINE_S
    try:
        deadline = float(raw)
        if 0 < deadline <= 30:
            return deadline
    except ValueError:
        pass
    warnings.append(f"{variable}={raw!r} is not 0-30 seconds; using {DEFAULT_DEADLINE_S:g}")
    return DEFAULT_DEADLINE_S


class Settings(NamedTuple):
    host: Host
    paths: Paths
    decision: Decision
    user: ConfigFile
    project: Optional[ConfigFile]
    consent: str
    collectors: Mapping[str, str]  # segment_url, segment_write_key, ga_url, ga_measurement_id, ga_api_secret
    delivery: str
    deadline_s: float
    debug: bool
    warnings: tuple[str, ...] = ()
    home_issue: Optional[str] = None  # set: no file under the home may be read, written or deleted

    @property
    def enabled(self) -> bool:
        return self.decision.enabled

    @property
    def anonymous_id(self) -> Optional[str]:
        value = self.user.table.get("anonymous_id")
        return value if is_anonymous_id(value) else None

    @property
    def salt(self) -> Optional[str]:
        value = self.user.table.get("salt")
        return value if isinstance(value, str) and value else None


def is_anonymous_id(value: object) -> bool:
    """64 lowercase hex characters, like the seed's `anonymousId`."""
    return isinstance(value, str) and len(value) == 64 and all(ch in "0123456789abcdef" for ch in value)


def collectors_of(host: Host, env: Mapping[str, str], user: ConfigFile) -> dict[str, str]:
    """Each collector setting: environment, else user config, else the host's default."""
    declared = host.telemetry
    found = {}
    for key in SINK_KEYS:
        value = env.get(host.env("TELEMETRY_" + key.upper()), "").strip()
        if not value:
            configured = user.table.get(key)
            value = configured.strip() if isinstance(configured, str) else ""
        if not value and declared is not None:
            value = str(getattr(declared, key))
        found[key] = value
    return found


def load_settings(host: Host, env: Optional[Mapping[str, str]] = None, cwd: Optional[str] = None) -> Settings:
    """Every layer read and combined; never raises."""
    env = os.environ if env is None else env
    paths = paths_of(host)
    home_issue = home_problem(paths)
    user = read_config(paths.config) if home_issue is None else ConfigFile(paths.config)  # not read through a link
    project_path = find_project_file(paths.project_file_name, cwd)
    project = read_config(project_path) if project_path is not None else None
    decision, warnings = decide(host, env, home_issue, project, user)
    return Settings(
        host=host,
        paths=paths,
        decision=decision,
        user=user,
        project=project,
        consent=consent_of(host, user),
        collectors=collectors_of(host, env, user),
        delivery=delivery_of(host, env, user, warnings),
        deadline_s=deadline_of(host, env, warnings),
        debug=env_flag(env.get(host.env("TELEMETRY_DEBUG"))) is True,
        warnings=tuple(warnings),
        home_issue=home_issue,
    )
