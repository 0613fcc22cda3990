"""Who the host CLI is: declared once, handed to every hook and plugin.

A plugin must never assume it runs inside Testkube's CLI: the words it prints,
the variables it reads and the folder it writes all come from the `Host` the
CLI declares.  The host also names the plugins it always loads (as datasette's
`DEFAULT_PLUGINS` does) and hands each its configuration: this library knows
no plugin by name, and a plugin's settings reach it only through the host.
"""

from __future__ import annotations

import os
from typing import Any, Optional, Sequence

TRUTHY = frozenset({"1", "true", "yes", "on"})
FALSY = frozenset({"", "0", "false", "no", "off"})


def env_flag(value: Optional[str]) -> Optional[bool]:
    """A yes/no variable's value: True, False (also when unset), or None for a word that is neither."""
    if value is None:
        return False
    word = value.strip().lower()
    if word in TRUTHY:
        return True
    if word in FALSY:
        return False
    return None


def _env_name(stem: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in stem).upper()


def declared_name(plugin: Any) -> Optional[str]:
    """The name a plugin declaration registers under (None: a module path or module)."""
    name = getattr(plugin, "plugin_name", None)
    return name if isinstance(name, str) and name else None


class Host:
    """A host CLI's identity: name, version, plugin group, home folder, env prefix, default plugins.

    Only `name` or `plugin_group` is needed; the rest is derived from the first
    of them given: ``Host("mycli")`` loads plugins from `mycli.plugins`, reads
    `MYCLI_*` variables and keeps its files in `~/.mycli` (or `$MYCLI_HOME`).

    `plugins` are loaded on every run besides the entry points: each is a module
    path (``"mycli.builtin"`` or ``"mycli.builtin:plugin"``), a module, or a
    *declaration*: an object with `plugin_name` and `plugin_module` attributes
    (and optionally `plugin_distribution`, `plugin_version`) that is also that
    plugin's configuration, which the plugin reads with `plugin_config(name)`.
    """

    __slots__ = ("name", "version", "plugin_group", "env_prefix", "home", "plugins", "stem")

    def __init__(
        self,
        name: Optional[str] = None,
        version: str = "unknown",
        plugin_group: Optional[str] = None,
        env_prefix: Optional[str] = None,
        home: Optional[str] = None,
        plugins: Sequence[Any] = (),
    ) -> None:
        stem = name or (plugin_group[: -len(".plugins")] if plugin_group and plugin_group.endswith(".plugins")
                        else plugin_group)
        if not stem:
            raise TypeError("Host needs a name or a plugin_group")
        self.name = name
        self.version = version
        self.plugin_group = plugin_group or f"{stem}.plugins"
        self.env_prefix = env_prefix or _env_name(stem)
        self.home = home
        self.plugins = tuple(plugins)
        self.stem = stem

    def __repr__(self) -> str:
        return f"Host(name={self.name!r}, version={self.version!r}, plugin_group={self.plugin_group!r})"

    def named(self, name: str) -> Host:
        """This host with the program name a run detected, when none was declared."""
        if self.name:
            return self
        return Host(name, self.version, self.plugin_group, self.env_prefix, self.home, self.plugins)

    @property
    def display_name(self) -> str:
        return self.name or self.stem

    def plugin_config(self, name: str) -> Any:
        """The declaration the host gave plugin `name` (its configuration), or None."""
        for plugin in self.plugins:
            if declared_name(plugin) == name:
                return plugin
        return None

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
