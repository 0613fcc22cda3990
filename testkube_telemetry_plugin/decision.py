"""Whether telemetry is on, and which setting decided it: the precedence table in code.

Strongest first: the opt-out variables, a home folder we cannot trust, the
project file (which can only turn telemetry off), the user's config, the
host's consent default.  It is its own module because the post-command hook
needs it on every command, and `settings.py` (collectors, the full picture)
only when something is delivered or shown.
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Optional

from . import safefs
from .host import Host, Paths
from .switches import disabling_env, env_flag
from .values import Value


class ConfigFile(Value):
    """One TOML file's `[telemetry]` table, or why it could not be used."""

    __slots__ = ("path", "exists", "table", "problem")

    def __init__(self, path: str, exists: bool = False, table: Optional[Mapping[str, Any]] = None,
                 problem: Optional[str] = None) -> None:
        self.path = path
        self.exists = exists
        self.table: Mapping[str, Any] = {} if table is None else table
        self.problem = problem


DEFAULT_DEADLINE_S = 2.0


class Decision(Value):
    """Whether telemetry is on, and which setting decided it."""

    __slots__ = ("enabled", "source", "reason")

    def __init__(self, enabled: bool, source: str, reason: str) -> None:
        self.enabled = enabled
        self.source = source  # "env", "home", "project", "user", "default"
        self.reason = reason


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
        ignored = sorted(key for key, value in project.table.items() if not (key == "enabled" and value is False))
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


def is_anonymous_id(value: object) -> bool:
    """64 lowercase hex characters, like the seed's `anonymousId`."""
    return isinstance(value, str) and len(value) == 64 and all(ch in "0123456789abcdef" for ch in value)
