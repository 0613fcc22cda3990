"""Where the telemetry plugin keeps its files, for a given host.

Paths are plain strings joined with `os.path`: `pathlib` would import
`urllib.parse` and `ipaddress` on every command.
"""

from __future__ import annotations

import os
from typing import NamedTuple, Union

from .host import Host

StrPath = Union[str, "os.PathLike[str]"]


class Paths(NamedTuple):
    """The host's home folder and what lives in it."""

    home: str
    project_file_name: str  # `.testkube.toml` for the testkube host

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
    return Paths(host.home_dir(), f".{host.stem}.toml")
