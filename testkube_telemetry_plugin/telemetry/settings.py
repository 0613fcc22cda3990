"""Whether telemetry is on, why, and everything else the plugin is set to: the precedence table, resolved once.

Strongest first: the opt-out variables, a home folder we cannot trust, the
host's CI policy, the project file (which can only turn telemetry off), the
user's config, the host's consent default.  Collector settings come from the environment, then
the user's config, then the host's declaration, then the collector's own
default; never from the project file.  Every name (variables, files) comes
from the host.

On is not enough to send: `Settings.may_send` also needs the user to have
been told (the notice seen on a terminal, an explicit `enable`, `enabled =
true` in their config, the notice switched off by its variable, or a CI run).
Until then events are kept on the machine.

Every command, `status`, `flush` and the flusher call the one resolver,
`load`.  A command reads the user's config through a small summary instead of
the TOML (`full=False`): importing a TOML parser costs more than all the rest
of a command's telemetry, so the summary keeps the `[telemetry]` table with
its secrets left out (only whether they are set), keyed by the file's inode,
size and change times; a file edited in any way is parsed again.
"""

from __future__ import annotations

import os
import stat
from typing import Any, Mapping, Optional

from .. import _fs
from .._values import Value
from ..hooks.host import Host, env_flag
from . import collectors, declared, disabling_env
from .events import ci_provider, ci_repository

DEFAULT_DEADLINE_S = 0.5  # inline delivery: what a command may spend on the network, at most
SUMMARY_FILE = "config-summary"
INFORMED_MARKER = "informed"  # in the telemetry folder: the user has been told (the notice on a terminal, `enable`)
_SUMMARY_FORMAT = "summary-2"
SET = "\x00set"  # what the summary keeps of a secret: that it is set (never a valid id, key or URL)


def printable(text: str) -> str:
    """`text` as it can be printed: bytes that were not UTF-8 (a variable's, a path's) shown as U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


class Paths(Value):
    """The host's home folder and what the plugin keeps in it."""

    __slots__ = ("home", "project_file_name", "refusal")

    def __init__(self, home: str, project_file_name: str, refusal: Optional[str] = None) -> None:
        self.home = home
        self.project_file_name = project_file_name  # `.testkube.toml` for the testkube host
        self.refusal = refusal  # why this home is not used at all (a relative path, the user's home itself)

    @property
    def config(self) -> str:
        return os.path.join(self.home, "config.toml")

    @property
    def config_lock(self) -> str:
        """One lock for every edit of a settings file (the user's or a project's)."""
        return os.path.join(self.home, ".config.lock")

    @property
    def telemetry(self) -> str:
        return os.path.join(self.home, "telemetry")

    @property
    def spool(self) -> str:
        return os.path.join(self.telemetry, "spool")

    @property
    def cache(self) -> str:
        return os.path.join(self.home, "cache")

    @property
    def informed_marker(self) -> str:
        return os.path.join(self.telemetry, INFORMED_MARKER)

    def folder(self, *parts: str) -> str:
        """`<home>/<parts>`, made if missing, every folder from the home down trusted (else UnsafePath)."""
        if self.refusal is not None:
            raise _fs.UnsafePath(self.refusal)
        return _fs.folder(self.home, *parts, create=True)

    def existing(self, *parts: str) -> str:
        """`<home>/<parts>`, every folder from the home down trusted; FileNotFoundError if one is missing."""
        if self.refusal is not None:
            raise _fs.UnsafePath(self.refusal)
        return _fs.folder(self.home, *parts)

    def problem(self) -> Optional[str]:
        """Why the home, or a folder of ours in it, cannot be trusted, or None (missing ones are fine)."""
        if self.refusal is not None:
            return self.refusal
        return _fs.problem(self.home, ("telemetry", "spool"), ("cache",))

    def informed(self) -> bool:
        """Whether the user has been told (the marker is a file of ours; call only for a trusted home)."""
        try:
            st = os.lstat(self.informed_marker)
        except OSError:
            return False
        return stat.S_ISREG(st.st_mode) and (not hasattr(os, "geteuid") or st.st_uid == os.geteuid())


def home_refusal(host: Host, home: str) -> Optional[str]:
    """Why the configured home is not used at all: a relative path (a new home, id and salt in every
    working folder) or the user's home folder itself (the plugin's files strewn among theirs)."""
    variable = host.env("HOME")
    given = printable(os.environ.get(variable, "").strip())
    where = f"{variable}={given}" if given else f"the home folder {printable(home)}"
    if not os.path.isabs(home):
        return (f"{where} is a relative path, which would make a new home in every working folder; "
                f"set an absolute path (off until then)")
    user_home = os.path.expanduser("~")
    if os.path.isabs(user_home) and os.path.normpath(home) == os.path.normpath(user_home):
        return (f"{where} is your home folder itself; set a folder of its own, "
                f"such as ~/.{host.stem} (off until then)")
    return None


def paths_of(host: Host) -> Paths:
    """Where the telemetry plugin keeps this host's files."""
    home = host.home_dir()
    return Paths(home, f".{host.stem}.toml", home_refusal(host, home))


class ConfigFile(Value):
    """One settings file's `[telemetry]` table (a layer of the precedence table), or why it could not be used.

    `partial`: read from the summary, with secrets (`anonymous_id`, `salt`, the
    collectors' keys) replaced by `SET`; enough to decide and to know what is
    configured, never enough to send.
    """

    __slots__ = ("path", "exists", "table", "problem", "partial")

    def __init__(self, path: str, exists: bool = False, table: Optional[Mapping[str, Any]] = None,
                 problem: Optional[str] = None, partial: bool = False) -> None:
        self.path = path
        self.exists = exists
        self.table: Mapping[str, Any] = {} if table is None else table
        self.problem = problem
        self.partial = partial


class Decision(Value):
    """Whether telemetry is on, which setting decided it, and whether it is off by a problem, not a choice."""

    __slots__ = ("enabled", "source", "reason", "problem")

    def __init__(self, enabled: bool, source: str, reason: str, problem: bool = False) -> None:
        self.enabled = enabled
        self.source = source  # "env", "home", "ci", "project", "user", "default"
        self.reason = reason
        self.problem = problem  # off because something is broken (a file, a folder), not because someone chose it


class Settings(Value):
    """Everything resolved for one host and environment."""

    __slots__ = ("host", "paths", "decision", "user", "project", "consent", "collectors", "delivery", "deadline_s",
                 "debug", "warnings", "home_issue", "ci", "ci_repository", "notice_disabled")

    def __init__(self, host: Host, paths: Paths, decision: Decision, user: ConfigFile, project: Optional[ConfigFile],
                 consent: str, collectors: Mapping[str, str], delivery: str, deadline_s: float, debug: bool,
                 warnings: tuple[str, ...], home_issue: Optional[str], ci: Optional[str] = None,
                 ci_repository: str = "", notice_disabled: bool = False) -> None:
        self.host = host
        self.paths = paths
        self.decision = decision
        self.user = user
        self.project = project
        self.consent = consent
        self.collectors = collectors  # each collector setting's value (secrets are SET in a partial read)
        self.delivery = delivery
        self.deadline_s = deadline_s
        self.debug = debug
        self.warnings = warnings
        self.home_issue = home_issue  # set: no file under the home may be read, written or deleted
        self.ci = ci  # the CI system this runs in, or None
        self.ci_repository = ci_repository  # what names the repository a CI job builds ("" if the CI names none)
        self.notice_disabled = notice_disabled  # `<PREFIX>_TELEMETRY_NOTICE_DISABLED`: the notice is not wanted

    @property
    def enabled(self) -> bool:
        return self.decision.enabled

    @property
    def informed_by(self) -> Optional[str]:
        """How the user came to know, or None while nothing may leave the machine.

        "ci" (nobody reads a notice in a CI job: the host's CI policy covers it),
        "notice_disabled" (whoever set that variable has read about it),
        "config" (`enabled = true`, written by `enable` or by the user), or
        "notice" (shown on a terminal, or `enable` was run: the marker file).
        """
        if self.ci is not None:
            return "ci"
        if self.notice_disabled:
            return "notice_disabled"
        if self.user.table.get("enabled") is True:
            return "config"
        if self.home_issue is None and self.paths.informed():
            return "notice"
        return None

    @property
    def may_send(self) -> bool:
        """Whether anything may leave the machine now: on, and the user has been told.

        Every place that decides to deliver asks this; until it holds, events
        stay spooled and go with the first delivery after it.  A server's
        heartbeat is the one exception (`telemetry heartbeat`, `send_heartbeat`).
        """
        return self.enabled and self.informed_by is not None

    @property
    def has_id(self) -> bool:
        if self.ci is not None:
            return True  # shared by every job of the repository, derived, never stored
        value = self.user.table.get("anonymous_id")
        return value == SET or is_anonymous_id(value)

    @property
    def anonymous_id(self) -> Optional[str]:
        if self.ci is not None:
            from .config import ci_anonymous_id

            return ci_anonymous_id(self.host, self.ci, self.ci_repository)
        value = self.user.table.get("anonymous_id")
        return value if is_anonymous_id(value) else None

    @property
    def salt(self) -> Optional[str]:
        """The install's key for hashing a cluster's id (in CI, one derived for the repository: every job has
        the same, and it is never sent, unlike the id, so a cluster's hash cannot be matched from the id)."""
        if self.ci is not None:
            from .config import ci_salt

            return ci_salt(self.host, self.ci, self.ci_repository)
        value = self.user.table.get("salt")
        return value if isinstance(value, str) and value and value != SET else None

    @property
    def has_collector(self) -> bool:
        """Whether any collector may be sent to (wanted, with its credentials): without one, events stay here."""
        return bool(collectors.usable(self.collectors))


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
    ci: Optional[str] = None,
) -> tuple[Decision, list[str]]:
    """The precedence table of docs/settings.md, in code; also returns warnings."""
    warnings: list[str] = []
    name = disabling_env(host, env)
    if name is not None:
        if env_flag(env[name]) is None:
            warnings.append(f"{name}={printable(env[name])!r} is not a yes/no value; taken as set (off)")
        return Decision(False, "env", f"{name}={printable(env[name])} is set"), warnings
    if home_issue is not None:
        reason = home_issue if home_issue.endswith("(off until then)") else f"{home_issue} (off until fixed)"
        return Decision(False, "home", reason, problem=True), warnings
    if ci is not None and declared(host).ci == "off":
        reason = f"this is a CI run ({ci}), and {host.display_name} collects nothing in CI"
        return Decision(False, "ci", reason), warnings
    if project is not None:
        if project.problem:
            return Decision(False, "project", f"{project.problem} (off until fixed)", problem=True), warnings
        ignored = sorted(key for key, value in project.table.items() if not (key == "enabled" and value is False))
        if ignored:
            warnings.append(f"{project.path}: ignored {', '.join(ignored)}; a project file can only turn telemetry off")
        if project.table.get("enabled") is False:
            return Decision(False, "project", f"project file {project.path} turns it off"), warnings
    if user.problem:
        return Decision(False, "user", f"{user.problem} (off until fixed)", problem=True), warnings
    enabled = user.table.get("enabled")
    if isinstance(enabled, bool):
        return Decision(enabled, "user", f"user config {user.path} turns it {'on' if enabled else 'off'}"), warnings
    if consent_of(host, user) == "opt-in":
        return Decision(False, "default", "consent is opt-in and you have not enabled it"), warnings
    return Decision(True, "default", "on by default (opt-out)"), warnings


def consent_of(host: Host, user: ConfigFile) -> str:
    chosen = user.table.get("consent")
    if chosen in ("opt-out", "opt-in"):
        return str(chosen)
    return declared(host).consent


def delivery_of(host: Host, env: Mapping[str, str], user: ConfigFile, warnings: list[str]) -> str:
    variable = host.env("TELEMETRY_DELIVERY")
    delivery = env.get(variable, "").strip().lower() or str(user.table.get("delivery") or "background")
    if delivery not in ("background", "inline"):
        warnings.append(f"{variable}={printable(delivery)!r} is not background or inline; using background")
        delivery = "background"
    return delivery


def switch_of(host: Host, env: Mapping[str, str], name: str, warnings: list[str]) -> bool:
    """A yes/no variable of the host's (debug, the notice); a word that is neither counts as not set, and
    `status` says so rather than leave the user guessing why it did nothing."""
    variable = host.env(name)
    value = env_flag(env.get(variable))
    if value is None:
        warnings.append(f"{variable}={printable(env[variable])!r} is not a yes/no value; taken as not set")
    return value is True


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
    warnings.append(f"{variable}={printable(raw)!r} is not 0-30 seconds; using {DEFAULT_DEADLINE_S:g}")
    return DEFAULT_DEADLINE_S


def collector_values(host: Host, env: Mapping[str, str], user: ConfigFile,
                     warnings: Optional[list[str]] = None) -> dict[str, str]:
    """Each collector setting: environment, else user config, else the host's declaration, else the collector's.

    A variable holding bytes that are not UTF-8 keeps them as U+FFFD: its
    collector then has a problem and is never contacted (rather than falling
    back to a default the user meant to replace).
    """
    host_defaults = declared(host).collectors
    found = {}
    for collector in collectors.REGISTRY.values():
        for key in collector.settings:
            variable = host.env("TELEMETRY_" + key.upper())
            value = env.get(variable, "").strip()
            shown = printable(value)
            if shown != value:
                value = shown
                if warnings is not None:
                    warnings.append(f"{variable} is not UTF-8 text; {collector.name} is not used until it is")
            if not value:
                configured = user.table.get(key)
                value = configured.strip() if isinstance(configured, str) else ""
            if not value:
                value = host_defaults.get(key) or collector.defaults.get(key, "")
            found[key] = value
    return found


def is_anonymous_id(value: object) -> bool:
    """64 lowercase hex characters, like the seed's `anonymousId`."""
    return isinstance(value, str) and len(value) == 64 and all(ch in "0123456789abcdef" for ch in value)


def load(host: Host, env: Optional[Mapping[str, str]] = None, cwd: Optional[str] = None, *,
         full: bool = True) -> Settings:
    """Every layer read and combined; never raises.  `full=False` reads the user's config from its summary."""
    env = os.environ if env is None else env
    paths = paths_of(host)
    home_issue = paths.problem()
    if home_issue is not None:
        user = ConfigFile(paths.config)  # nothing is read through a folder we do not trust
    elif full:
        from .config import read_config

        user = read_config(paths.config)
    else:
        user = user_summary(paths)
    project_path = find_project_file(paths.project_file_name, cwd)
    project = None
    if project_path is not None:
        from .config import read_config

        project = read_config(project_path)
    provider = ci_provider(env)
    decision, warnings = decide(host, env, home_issue, project, user, provider)
    debug = switch_of(host, env, "TELEMETRY_DEBUG", warnings)
    notice_disabled = switch_of(host, env, "TELEMETRY_NOTICE_DISABLED", warnings)
    return Settings(
        host=host,
        paths=paths,
        decision=decision,
        user=user,
        project=project,
        consent=consent_of(host, user),
        collectors=collector_values(host, env, user, warnings),
        delivery=delivery_of(host, env, user, warnings),
        deadline_s=deadline_of(host, env, warnings),
        debug=debug,
        warnings=tuple(warnings),
        home_issue=home_issue,
        ci=provider,
        ci_repository=ci_repository(provider, env) if provider is not None else "",
        notice_disabled=notice_disabled,
    )


# -- the user config's summary ---------------------------------------------------------------------

def _stat_key(path: str) -> Optional[str]:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return f"{st.st_dev} {st.st_ino} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns}"


def _kept(config: ConfigFile) -> dict[str, Any]:
    """The table as the summary keeps it: plain values, secrets only as SET."""
    secret = {"anonymous_id", "salt", *collectors.secret_keys()}
    table: dict[str, Any] = {}
    for key, value in config.table.items():
        if isinstance(value, bool) or (isinstance(value, str) and key not in secret):
            table[key] = value
        elif key in secret and (is_anonymous_id(value) if key == "anonymous_id" else isinstance(value, str) and value):
            table[key] = SET
    return table


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _unescape(text: str) -> str:
    return text.replace("\\n", "\n").replace("\\\\", "\\") if "\\" in text else text


def _encode(key: str, config: ConfigFile, table: Mapping[str, Any]) -> bytes:
    lines = [_SUMMARY_FORMAT, key, "problem=" + _escape(config.problem or "")]
    for name, value in table.items():
        if "=" not in name and "\n" not in name:
            lines.append(f"{name}={'b' if isinstance(value, bool) else 's'}{_escape(str(value))}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _decode(path: str, key: str, data: str) -> Optional[ConfigFile]:
    lines = data.split("\n")
    if len(lines) < 4 or lines[0] != _SUMMARY_FORMAT or lines[1] != key or not lines[2].startswith("problem="):
        return None
    table: dict[str, Any] = {}
    for line in lines[3:-1]:
        name, _, value = line.partition("=")
        table[name] = value[1:] == "True" if value[:1] == "b" else _unescape(value[1:])
    return ConfigFile(path, True, table, _unescape(lines[2][len("problem="):]) or None, partial=True)


def user_summary(paths: Paths) -> ConfigFile:
    """The user config, secrets left out, parsed only when the file changed since the summary."""
    key = _stat_key(paths.config)
    if key is None:
        return ConfigFile(paths.config, partial=True)
    summary = os.path.join(paths.cache, SUMMARY_FILE)
    try:
        intact = _fs.unsealed(_fs.read_bytes(summary, 64 * 1024))
        known = _decode(paths.config, key, intact.decode("utf-8")) if intact is not None else None
        if known is not None:
            return known
    except (OSError, ValueError):
        pass
    from .config import read_config  # only when the config changed since the summary

    config = read_config(paths.config)
    table = _kept(config)
    try:
        paths.folder("cache")
        _fs.write_atomic(summary, _fs.sealed(_encode(key, config, table)), durable=False)
    except OSError:
        pass  # a read-only home only costs speed
    return ConfigFile(config.path, config.exists, table, config.problem, partial=True)


def config_stamp(paths: Paths) -> Optional[str]:
    """What changes whenever the user's config file does (inode, size, times); None if it is missing."""
    return _stat_key(paths.config)


def forget_summary(paths: Paths) -> None:
    _fs.remove(os.path.join(paths.cache, SUMMARY_FILE))
