"""The whole picture for commands and delivery: decision, collectors, delivery mode.

`decision.py` says whether telemetry is on; this adds what only the commands
and the flusher need: every collector setting (environment, then user config,
then the host's packaged default; never the project file), the anonymous id
and the salt.  Every name (variables, files) comes from the host.
"""

from __future__ import annotations

import os
from typing import Mapping, NamedTuple, Optional

from .config_read import SINK_KEYS, read_config
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
