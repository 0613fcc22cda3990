"""Who the host CLI is: declared once, handed to every hook and plugin.

A plugin must never assume it runs inside Testkube's CLI: the words it prints,
the variables it reads and the folder it writes all come from the `Host` the
CLI declares.  The host also names the plugins it always loads (as datasette's
`DEFAULT_PLUGINS` does) and hands each its configuration: this library knows
no plugin by name, and a plugin's settings reach it only through the host.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Mapping, Optional, Sequence

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


def _identifier(stem: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in stem).lower()


def _xdg_platform() -> bool:
    """Whether the platform keeps per-user files the XDG way (Linux and the BSDs, not macOS or Windows)."""
    return os.name == "posix" and sys.platform != "darwin"


def _xdg(variable: str, fallback: str) -> str:
    """An XDG base folder: the variable if it holds an absolute path (the spec ignores others), else `~/<fallback>`."""
    value = os.environ.get(variable, "").strip()
    return value if os.path.isabs(value) else os.path.join(os.path.expanduser("~"), fallback)


class Host:
    """A host CLI's identity: name, version, plugin group, home folder, env prefix, hook names, default plugins.

    The identity is explicit: ``Host("mycli")`` or ``Host(plugin_group="mycli.plugins")``; nothing is
    derived from a Python function's name.  Every other name is derived from it unless given:
    plugins load from `mycli.plugins`, variables are `MYCLI_*`, the home folder is `$MYCLI_HOME`, else
    `home`, else `$XDG_CONFIG_HOME/mycli` (`~/.config/mycli`) where the platform has XDG folders and
    `~/.mycli` elsewhere.  `project` is the pluggy project name (the `<project>_impl` marker, default
    the name as an identifier) and `hook_prefix` what the hooks' names start with (default none:
    `register_commands`, `pre_command`, `post_command`); the reference host keeps `testkube_`.

    `plugins` are loaded on every run besides the entry points: each is a module
    path (``"mycli.builtin"`` or ``"mycli.builtin:plugin"``), a module, or a
    *declaration*: an object with `plugin_name` and `plugin_module` attributes
    (and optionally `plugin_distribution`, `plugin_version`) that is also that
    plugin's configuration, which the plugin reads with `plugin_config(name)`.
    A declaration may also name opt-out variables (`opt_out_variables(host)`):
    while one is set, the host writes nothing, not even its entry-point cache.
    """

    __slots__ = ("name", "version", "plugin_group", "env_prefix", "home", "plugins", "stem", "project",
                 "hook_prefix")

    def __init__(
        self,
        name: Optional[str] = None,
        version: str = "unknown",
        plugin_group: Optional[str] = None,
        env_prefix: Optional[str] = None,
        home: Optional[str] = None,
        plugins: Sequence[Any] = (),
        project: Optional[str] = None,
        hook_prefix: str = "",
    ) -> None:
        stem = name or (plugin_group[: -len(".plugins")] if plugin_group and plugin_group.endswith(".plugins")
                        else plugin_group)
        if not stem or not isinstance(stem, str):
            raise TypeError("Host needs a name (or a plugin_group): Host(\"mycli\"); nothing is guessed from "
                            "a function's name")
        self.name = name
        self.version = version
        self.plugin_group = plugin_group or f"{stem}.plugins"
        self.env_prefix = env_prefix or _env_name(stem)
        self.home = home
        self.plugins = tuple(plugins)
        self.stem = stem
        self.project = project or _identifier(stem)
        self.hook_prefix = hook_prefix

    def __repr__(self) -> str:
        return f"Host(name={self.name!r}, version={self.version!r}, plugin_group={self.plugin_group!r})"

    def named(self, name: str) -> Host:
        """This host with the program name a run detected, when none was declared."""
        if self.name or not name:
            return self
        return Host(name, self.version, self.plugin_group, self.env_prefix, self.home, self.plugins, self.project,
                    self.hook_prefix)

    @property
    def display_name(self) -> str:
        return self.name or self.stem

    @property
    def hook_names(self) -> tuple[str, str, str]:
        """(register_commands, pre_command, post_command) as this host names them."""
        prefix = self.hook_prefix
        return (f"{prefix}register_commands", f"{prefix}pre_command", f"{prefix}post_command")

    @property
    def hookimpl(self) -> Any:
        """The marker for this host's hook implementations (`pluggy.HookimplMarker(project)`)."""
        import pluggy

        return pluggy.HookimplMarker(self.project)

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
        """`$<PREFIX>_HOME`, else the declared folder, else the platform's place for the host's files."""
        configured = os.environ.get(self.env("HOME"), "").strip()
        if configured:
            return os.path.expanduser(configured)
        if self.home:
            return os.path.expanduser(self.home)
        if _xdg_platform():
            return os.path.join(_xdg("XDG_CONFIG_HOME", ".config"), self.stem)
        return os.path.join(os.path.expanduser("~"), "." + self.stem)

    def cache_place(self) -> tuple[str, str]:
        """(a folder to trust, the cache folder in it): `<home>/cache` for a home the user or host chose,
        else `$XDG_CACHE_HOME/<name>` where the platform has XDG folders."""
        if os.environ.get(self.env("HOME"), "").strip() or self.home or not _xdg_platform():
            return self.home_dir(), "cache"
        # The user's own choice of cache folder, links resolved: discovery follows no link.
        return os.path.realpath(_xdg("XDG_CACHE_HOME", ".cache")), self.stem

    def opted_out(self, env: Optional[Mapping[str, str]] = None) -> Optional[str]:
        """The opt-out variable that is set (`DO_NOT_TRACK`, or one a declared plugin names), if any.

        Anything but a clear "no" counts, as for every opt-out: privacy wins the doubt.
        """
        env = os.environ if env is None else env
        names = ["DO_NOT_TRACK"]
        for plugin in self.plugins:
            named = getattr(plugin, "opt_out_variables", None)
            if callable(named):
                names.extend(named(self))
        for name in names:
            if env_flag(env.get(name)) is not False:
                return name
        return None
