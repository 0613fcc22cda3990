"""Who the host CLI is: declared once, handed to every hook and plugin.

A plugin must never assume it runs inside Testkube's CLI: the notice it prints,
the variables it reads, the folder it writes and the collector it sends to all
come from the `Host` the CLI declares.  A CLI that declares nothing gets names
derived from its plugin group and no collector at all.
"""

from __future__ import annotations

import os
from typing import Optional

from .values import Value

CONSENT_MODES = ("opt-out", "opt-in")
GA4_COLLECT_URL = "https://www.google-analytics.com/mp/collect"


class Telemetry(Value):
    """What the telemetry plugin needs from a host that asks for telemetry.

    Every field is a packaged default the user can override in their config
    or environment (except `product`, `notice` and `consent`).  With no
    `segment_url` and no `ga_measurement_id`, events stay on the machine.
    """

    __slots__ = ("product", "segment_url", "segment_write_key", "ga_url", "ga_measurement_id", "ga_api_secret",
                 "consent", "notice")

    def __init__(
        self,
        product: Optional[str] = None,  # the name users know, for the notice; default: the host's name
        segment_url: str = "",
        segment_write_key: str = "",
        ga_url: str = GA4_COLLECT_URL,
        ga_measurement_id: str = "",
        ga_api_secret: str = "",
        consent: str = "opt-out",  # or "opt-in": off until the user enables it
        notice: Optional[str] = None,  # the whole first-run notice, if the product wants its own words
    ) -> None:
        self.product = product
        self.segment_url = segment_url
        self.segment_write_key = segment_write_key
        self.ga_url = ga_url
        self.ga_measurement_id = ga_measurement_id
        self.ga_api_secret = ga_api_secret
        self.consent = consent
        self.notice = notice


def _env_name(stem: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in stem).upper()


class Host:
    """A host CLI's identity: name, version, plugin group, home folder, env prefix.

    Only `name` or `plugin_group` is needed; the rest is derived from the first
    of them given: ``Host("mycli")`` loads plugins from `mycli.plugins`, reads
    `MYCLI_*` variables and keeps its files in `~/.mycli` (or `$MYCLI_HOME`).
    """

    __slots__ = ("name", "version", "plugin_group", "env_prefix", "home", "telemetry", "stem")

    def __init__(
        self,
        name: Optional[str] = None,
        version: str = "unknown",
        plugin_group: Optional[str] = None,
        env_prefix: Optional[str] = None,
        home: Optional[str] = None,
        telemetry: Optional[Telemetry] = None,
    ) -> None:
        stem = name or (plugin_group[: -len(".plugins")] if plugin_group and plugin_group.endswith(".plugins")
                        else plugin_group)
        if not stem:
            raise TypeError("Host needs a name or a plugin_group")
        if telemetry is not None and telemetry.consent not in CONSENT_MODES:
            raise ValueError(f"Telemetry.consent must be one of {CONSENT_MODES}, not {telemetry.consent!r}")
        self.name = name
        self.version = version
        self.plugin_group = plugin_group or f"{stem}.plugins"
        self.env_prefix = env_prefix or _env_name(stem)
        self.home = home
        self.telemetry = telemetry
        self.stem = stem

    def __repr__(self) -> str:
        return f"Host(name={self.name!r}, version={self.version!r}, plugin_group={self.plugin_group!r})"

    def named(self, name: str) -> Host:
        """This host with the program name a run detected, when none was declared."""
        if self.name:
            return self
        return Host(name, self.version, self.plugin_group, self.env_prefix, self.home, self.telemetry)

    @property
    def display_name(self) -> str:
        return self.name or self.stem

    @property
    def product(self) -> str:
        """The name to show users in the notice and messages."""
        declared = self.telemetry.product if self.telemetry else None
        return declared or self.display_name

    def env(self, suffix: str) -> str:
        """The host's variable for `suffix`: ``env("HOME")`` -> ``MYCLI_HOME``."""
        return f"{self.env_prefix}_{suffix}"

    def home_dir(self) -> str:
        """`$<PREFIX>_HOME`, else the declared folder, else `~/.<name>`."""
        configured = os.environ.get(self.env("HOME"), "").strip()
        if configured:
            return os.path.expanduser(configured)
        if self.home:
            return os.path.expanduser(self.home)
        return os.path.join(os.path.expanduser("~"), "." + self.stem)


class Paths(Value):
    """The host's home folder and what lives in it."""

    __slots__ = ("home", "project_file_name")

    def __init__(self, home: str, project_file_name: str) -> None:
        self.home = home
        self.project_file_name = project_file_name  # `.testkube.toml` for the testkube host

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


def paths_of(host: Host) -> Paths:
    """Where the telemetry plugin keeps this host's files."""
    return Paths(host.home_dir(), f".{host.stem}.toml")
