"""The post-command hook's first question, answered without parsing TOML.

Importing a TOML parser costs more than all the rest of a command's telemetry,
so what the hook needs from the user config (`enabled`, `consent`,
`delivery`, whether an id exists, or the problem) is kept in a small text
summary keyed by the config file's inode, size and change times: a file that
was edited in any way is parsed again.  The summary holds nothing secret, not
the anonymous id, the salt, a write key or a URL.
"""

from __future__ import annotations

import os
from typing import Mapping, Optional

from . import safefs
from .decision import (
    ConfigFile,
    Decision,
    consent_of,
    deadline_of,
    decide,
    delivery_of,
    find_project_file,
    home_problem,
    is_anonymous_id,
)
from .host import Host, Paths, paths_of
from .switches import env_flag
from .values import Value

SUMMARY_FILE = "config-summary"
_FORMAT = "summary-1"
_KEPT = ("enabled", "consent", "delivery")


class Quick(Value):
    """What the hot path needs to know; `decision` says why it is on or off."""

    __slots__ = ("paths", "decision", "consent", "has_id", "has_collector", "delivery", "deadline_s", "debug")

    def __init__(self, paths: Paths, decision: Decision, consent: str, has_id: bool, has_collector: bool,
                 delivery: str, deadline_s: float, debug: bool) -> None:
        self.paths = paths
        self.decision = decision
        self.consent = consent
        self.has_id = has_id
        self.has_collector = has_collector  # without a collector, events stay on this machine
        self.delivery = delivery
        self.deadline_s = deadline_s
        self.debug = debug


def _stat_key(path: str) -> Optional[str]:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return f"{st.st_dev} {st.st_ino} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns}"


def _encode(key: str, config: ConfigFile) -> bytes:
    lines = [_FORMAT, key]
    lines += [f"{name}={config.table.get(name, '')}" for name in _KEPT]
    lines.append(f"has_id={int(is_anonymous_id(config.table.get('anonymous_id')))}")
    lines.append(f"collector={int(_names_collector(config.table))}")
    lines.append(f"problem={(config.problem or '').replace(chr(10), ' ')}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _names_collector(table: Mapping[str, object]) -> bool:
    return any(isinstance(table.get(key), str) and str(table[key]).strip()
               for key in ("segment_url", "ga_measurement_id"))


class Summary(Value):
    __slots__ = ("config", "has_id", "has_collector")

    def __init__(self, config: ConfigFile, has_id: bool, has_collector: bool) -> None:
        self.config = config  # only the keys in _KEPT
        self.has_id = has_id
        self.has_collector = has_collector


def _decode(path: str, key: str, data: str) -> Optional[Summary]:
    lines = data.split("\n")
    if len(lines) < 8 or lines[0] != _FORMAT or lines[1] != key:
        return None
    values = dict(line.partition("=")[::2] for line in lines[2:8])
    table: dict[str, object] = {name: values[name] for name in _KEPT if values.get(name)}
    if "enabled" in table:
        table["enabled"] = table["enabled"] == "True"
    config = ConfigFile(path, True, table, values.get("problem") or None)
    return Summary(config, values.get("has_id") == "1", values.get("collector") == "1")


def user_summary(paths: Paths) -> Summary:
    """The user config's safe keys and two facts, parsed only when the file changed."""
    key = _stat_key(paths.config)
    if key is None:
        return Summary(ConfigFile(paths.config), False, False)
    summary = os.path.join(paths.cache, SUMMARY_FILE)
    try:
        intact = safefs.unsealed(safefs.read_bytes(summary, 4096))
        known = _decode(paths.config, key, intact.decode("utf-8")) if intact is not None else None
        if known is not None:
            return known
    except (OSError, ValueError):
        pass
    from .config_read import read_config  # only when the config changed since the summary

    config = read_config(paths.config)
    try:
        safefs.private_dir(paths.cache)
        safefs.write_atomic(summary, safefs.sealed(_encode(key, config)), durable=False)
    except OSError:
        pass  # a read-only home only costs speed
    kept = ConfigFile(config.path, config.exists, {k: v for k, v in config.table.items() if k in _KEPT}, config.problem)
    return Summary(kept, is_anonymous_id(config.table.get("anonymous_id")), _names_collector(config.table))


def forget_summary(paths: Paths) -> None:
    safefs.remove(os.path.join(paths.cache, SUMMARY_FILE))


def quick_settings(host: Host, env: Mapping[str, str]) -> Quick:
    """The decision and delivery settings, reading as little as possible."""
    paths = paths_of(host)
    project_path = find_project_file(paths.project_file_name)
    project = None
    if project_path is not None:
        from .config_read import read_config

        project = read_config(project_path)
    home_issue = home_problem(paths)
    summary = user_summary(paths) if home_issue is None else Summary(ConfigFile(paths.config), False, False)
    user, has_id, user_collector = summary.config, summary.has_id, summary.has_collector
    decision, warnings = decide(host, env, home_issue, project, user)
    declared = host.telemetry
    has_collector = user_collector or bool(declared and (declared.segment_url or declared.ga_measurement_id)) or any(
        env.get(host.env(name), "").strip() for name in ("TELEMETRY_SEGMENT_URL", "TELEMETRY_GA_MEASUREMENT_ID"))
    return Quick(
        paths=paths,
        decision=decision,
        consent=consent_of(host, user),
        has_id=has_id,
        has_collector=has_collector,
        delivery=delivery_of(host, env, user, warnings),
        deadline_s=deadline_of(host, env, warnings),
        debug=env_flag(env.get(host.env("TELEMETRY_DEBUG"))) is True,
    )
