"""`HookedGroup`: the class form of adoption, for a new CLI's root group.

``@click.group(cls=HookedGroup, host=Host("mycli", "1.2"))`` gives the group
the hook contract as it is built: its `__init__` does what `adopt()` does to a
group that already exists (see `adoption.py`), on the instance.  It overrides
no `main`, `make_context`, `invoke` or lookup, so it works as a mixin in either
base-class order, behind bases whose `main()` never calls `super().main()`
(rich-click's `RichGroup`, Typer 0.25's `TyperGroup`), and a subgroup that
`group_class = type` builds with the root's class is a plain group, not a
second root: only the instance built with a host is one.
"""

from __future__ import annotations

from typing import Any, Optional

import click

from .adoption import ROOT_MARK, Root, install, root_of
from .host import Host


class HookedGroup(click.Group):
    """A `click.Group` that loads plugins from entry points and fires the hooks.

    ``@click.group(cls=HookedGroup, host=Host("mycli", "1.2"))``, or the one-line
    form ``@click.group(cls=HookedGroup, plugin_group="mycli.plugins")``.  The
    host's identity is required: nothing is taken from the function's name.
    """

    def __init__(
        self,
        *args: Any,
        host: Optional[Host] = None,
        plugin_group: Optional[str] = None,
        host_version: Optional[str] = None,
        plugin_manager: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if host is not None and (plugin_group or host_version):
            raise TypeError("HookedGroup takes host=Host(...) or plugin_group=/host_version=, not both")
        if host is None and plugin_group:
            host = Host(plugin_group=plugin_group, version=host_version or "unknown")
        if host is None:
            if getattr(type(self), "group_class", None) is type:
                return  # a subgroup built with the root's class (`group_class = type`): not a root
            raise TypeError(f"HookedGroup {self.name!r} needs the host's identity: host=Host(\"mycli\") or "
                            "plugin_group=\"mycli.plugins\"")
        install(self, Root(host, plugin_manager))

    def make_context(self, info_name: Optional[str], args: list[str], parent: Optional[click.Context] = None,
                     **extra: Any) -> click.Context:
        if parent is None and ROOT_MARK not in vars(self):
            raise TypeError(f"{type(self).__name__} {self.name!r} is run as a root without host=Host(...)")
        return super().make_context(info_name, args, parent, **extra)

    # -- the host and its plugins (the root's) ------------------------------------------------------
    @property
    def host(self) -> Host:
        return root_of(self).host

    @property
    def host_declared(self) -> bool:
        return root_of(self).host.name is not None

    @property
    def host_version(self) -> str:
        return self.host.version

    @property
    def plugin_group(self) -> str:
        return self.host.plugin_group

    @property
    def debug(self) -> bool:
        return root_of(self).debug

    @debug.setter
    def debug(self, value: bool) -> None:
        root_of(self).debug = value

    @property
    def plugin_manager(self) -> Any:
        """The pluggy manager, built (and plugins imported) on first use."""
        return root_of(self).plugin_manager

    @property
    def load_failures(self) -> list[str]:
        """One line for each plugin that failed to load."""
        return list(root_of(self).load_failures)

    @property
    def failed_plugins(self) -> list[tuple[Any, str]]:
        """(entry point, one-line reason) for each plugin that failed to load."""
        self.plugin_manager  # noqa: B018 - loads plugins
        return list(root_of(self).failed)

    def debug_enabled(self) -> bool:
        return root_of(self).debug_enabled()

    def plugin_entry(self, name: str) -> Any:
        """The entry point a loaded plugin came from (None if registered by hand)."""
        return root_of(self).plugin_entry(name)

    def call_hook(self, hook: str, **kwargs: Any) -> None:
        self.plugin_manager.call(hook, **kwargs)
