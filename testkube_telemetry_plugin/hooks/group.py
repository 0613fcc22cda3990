"""`HookedGroup`: the root group of a host CLI that loads plugins and fires hooks.

It is a mixin as much as a class: ``class Root(DefaultGroup, HookedGroup)`` and
``class Root(HookedGroup, DefaultGroup)`` both work, because every override
calls `super()` and plugin commands are added before any lookup: when the root
context is made, and, for a context made by hand (documentation generators),
by the lookups themselves, which a subclass gets even when another base class
answers them first (DefaultGroup reads `self.commands` before `super()`).
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Any, Optional

import click

from . import adoption
from .discovery import PluginEntry, discover, load
from .host import Host, paths_of
from .invocation import Invocation, _reset_current, _set_current
from .pluginmanager import IsolatingPluginManager

_TRUTHY = frozenset({"1", "true", "yes", "on"})


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUTHY


def _completion_vars(prog_name: str) -> tuple[str, ...]:
    """The variable Click reads for shell completion (its rule changed in 8.2)."""
    newer = prog_name.replace("-", "_").replace(".", "_")
    older = prog_name.replace("-", "_")
    return (f"_{newer}_COMPLETE".upper(), f"_{older}_COMPLETE".upper())


def program_name() -> str:
    """The name the program was called by, as Click works it out for completion."""
    detect = getattr(click.utils, "_detect_program_name", None)
    return detect() if detect is not None else os.path.basename(sys.argv[0] or "cli")


def _pending_args(ctx: click.Context) -> tuple[str, ...]:
    """The words a group is about to dispatch (`protected_args` became `_protected_args` in Click 8.2)."""
    state = vars(ctx)
    return (*state.get("_protected_args", state.get("protected_args", ())), *ctx.args)


def _registering_first(lookup: Any) -> Any:
    """`lookup`, once plugin commands are registered."""

    @functools.wraps(lookup)
    def registered_lookup(self: HookedGroup, *args: Any, **kwargs: Any) -> Any:
        self._register_commands()
        return lookup(self, *args, **kwargs)

    registered_lookup._hooked_registers = True  # type: ignore[attr-defined]
    return registered_lookup


class HookedGroup(click.Group):
    """A `click.Group` that loads plugins from entry points and fires the hooks.

    Hooks only: ``@click.group(cls=HookedGroup, plugin_group="mycli.plugins")``.
    With an identity: ``@click.group(cls=HookedGroup, host=Host("mycli", "1.2"))``.
    """

    _hooked_root = True  # adoption.ROOT_MARK: command paths start here

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Lookups that another base class answers first register plugin commands first too."""
        super().__init_subclass__(**kwargs)
        for name in ("get_command", "list_commands"):
            lookup = getattr(cls, name)
            if lookup is not getattr(HookedGroup, name) and not getattr(lookup, "_hooked_registers", False):
                setattr(cls, name, _registering_first(lookup))

    def __init__(
        self,
        *args: Any,
        host: Optional[Host] = None,
        plugin_group: Optional[str] = None,
        host_version: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if host is not None and (plugin_group or host_version):
            raise TypeError("HookedGroup takes host=Host(...) or plugin_group=/host_version=, not both")
        self.host_declared = host is not None
        self.host = host or Host(plugin_group=plugin_group or f"{self.name}.plugins", version=host_version or "unknown")
        self.debug = False
        self._manager: Optional[IsolatingPluginManager] = None
        self._entries: dict[str, PluginEntry] = {}
        self._load_failures: list[str] = []
        self._commands_registered = False

    @property
    def host_version(self) -> str:
        return self.host.version

    @property
    def plugin_group(self) -> str:
        return self.host.plugin_group

    # -- plugins -----------------------------------------------------------
    @property
    def plugin_manager(self) -> IsolatingPluginManager:
        """The pluggy manager, built (and plugins imported) on first use."""
        if self._manager is None:
            manager = IsolatingPluginManager(self._note_failure)
            self._manager = manager
            if _flag(self.host.env("TRACE_PLUGINS")):
                manager.trace_to_stderr()
            self._load_plugins(manager)
        return self._manager

    def debug_enabled(self) -> bool:
        """Diagnostics on stderr: the host's debug switch or `<PREFIX>_DEBUG=1`."""
        return self.debug or _flag(self.host.env("DEBUG"))

    def _note_failure(self, message: str) -> None:
        unit = adoption.current_unit()
        if unit is not None:
            unit.failures.append(message)
        elif self.debug_enabled():
            click.echo(f"{self.host.display_name}: {message}", err=True)

    def _cache_dir(self) -> str:
        if self.host_declared:
            return paths_of(self.host).cache
        base = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.join(os.path.expanduser("~"), ".cache")
        # The user's own choice of cache folder, links resolved: discovery follows no link.
        return os.path.join(os.path.realpath(base), "click-plugin-hooks")

    def _load_plugins(self, manager: IsolatingPluginManager) -> None:
        allowed = os.environ.get(self.host.env("LOAD_PLUGINS"))
        names = None if allowed is None else {n.strip() for n in allowed.split(",") if n.strip()}
        entries = discover(self.host.plugin_group, self._cache_dir())
        if self.host.telemetry is not None and not any(entry.name == "telemetry" for entry in entries):
            from . import __version__

            # The host asked for telemetry: the plugin comes with this package.
            entries.append(PluginEntry("telemetry", "testkube_telemetry_plugin.plugin",
                                       "testkube-telemetry-plugin", __version__))
        for entry in entries:
            if names is not None and entry.name not in names:
                continue
            if manager.get_plugin(entry.name) is not None or manager.is_blocked(entry.name):
                continue
            try:
                manager.register(load(entry), name=entry.name)
            except Exception as exc:  # a broken plugin must not break the CLI
                self._load_failures.append(
                    f"plugin {entry.name!r} ({entry.distribution}) failed to load: {type(exc).__name__}: {exc}"
                )
                continue
            self._entries[entry.name] = entry

    def plugin_entry(self, name: str) -> Optional[PluginEntry]:
        """The entry point a loaded plugin came from (None if registered by hand)."""
        self.plugin_manager  # noqa: B018 - loads plugins
        return self._entries.get(name)

    def call_hook(self, hook: str, **kwargs: Any) -> None:
        self.plugin_manager.call(hook, **kwargs)

    def _register_commands(self) -> None:
        if not self._commands_registered:
            self._commands_registered = True
            self.call_hook("testkube_register_commands", cli=self)
            adoption.adopt(self)
            adoption.adopt_tree(self)

    # -- lookups: plugin commands exist before any of them ----------------------
    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        self._register_commands()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._register_commands()
        return super().list_commands(ctx)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[Optional[str], Optional[click.Command], list[str]]:
        resolved = super().resolve_command(ctx, args)
        adoption.note_resolved(ctx, resolved[1])
        return resolved

    # -- the run -----------------------------------------------------------------
    def make_context(
        self,
        info_name: Optional[str],
        args: list[str],
        parent: Optional[click.Context] = None,
        **extra: Any,
    ) -> click.Context:
        self._register_commands()
        unit = adoption.current_unit()
        if parent is None or unit is None:
            try:
                ctx = super().make_context(info_name, args, parent, **extra)
            except BaseException as exc:
                if unit is not None:
                    unit.note(exc)
                raise
            ctx._hooked_argv = tuple(args)  # type: ignore[attr-defined]
            return ctx
        # A REPL makes a root context for each line: each line is a unit of its own.
        line = adoption.Unit(self.call_hook, unit.host, tuple(args))
        try:
            ctx = super().make_context(info_name, args, parent, **extra)
        except BaseException as exc:
            token = adoption.push(line)
            try:
                adoption.fire_fallback(line, adoption.exit_code_of(exc), exc)
            finally:
                adoption.pop(token)
            raise
        ctx._hooked_argv = tuple(args)  # type: ignore[attr-defined]
        ctx._hooked_unit = line  # type: ignore[attr-defined]
        return ctx

    def invoke(self, ctx: click.Context) -> Any:
        line: Optional[adoption.Unit] = getattr(ctx, "_hooked_unit", None)
        state, outer = vars(ctx), adoption.current_unit()
        argv, running = state.get("_hooked_argv"), state.get("_hooked_running", False)
        if line is None and running and outer is not None:
            # click-repl runs each line by invoking the running root context again.
            line = adoption.Unit(self.call_hook, outer.host, _pending_args(ctx))
            state["_hooked_argv"] = line.argv
        unit = line or outer
        token = adoption.push(line) if line is not None else None
        state["_hooked_running"] = True
        try:
            result = super().invoke(ctx)
        except BaseException as exc:
            if unit is not None:
                unit.note(exc)
            if line is not None and not line.records:
                adoption.fire_fallback(line, adoption.exit_code_of(exc), exc)
            raise
        else:
            if line is not None and not line.records:
                adoption.fire_fallback(line, 0, None)
            return result
        finally:
            state["_hooked_running"], state["_hooked_argv"] = running, argv
            if token is not None:
                adoption.pop(token)
                if line is not None and outer is not None:
                    outer.failures.extend(line.failures)

    def main(
        self,
        args: Optional[Any] = None,
        prog_name: Optional[str] = None,
        complete_var: Optional[str] = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Click's `main`, as one unit: a post hook is sure to fire, whatever happens."""
        prog_name = prog_name or program_name()
        completing = (complete_var,) if complete_var else _completion_vars(prog_name)
        if any(os.environ.get(name) for name in completing):
            self._register_commands()  # completion lists plugin commands, and fires no hooks
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        outer = adoption.current_unit()
        host = self.host.named(prog_name)
        unit = adoption.Unit(self.call_hook, host, None if args is None else tuple(args))
        if args is None and outer is None:
            unit.argv = tuple(sys.argv[1:])
        unit_token = adoption.push(unit)
        current_token = _set_current(Invocation((host.display_name,), host, 0.0, facts=unit.facts))
        exit_code: int = 0
        exception: Optional[BaseException] = None
        try:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        except SystemExit as exc:
            exit_code, exception = adoption.exit_status(exc.code), exc
            raise
        except BaseException as exc:
            exit_code, exception = adoption.exit_code_of(exc), exc
            raise
        finally:
            if not unit.records:
                adoption.fire_fallback(unit, exit_code, exception)
            _reset_current(current_token)
            adoption.pop(unit_token)
            if self.debug_enabled():
                prefix = f"{host.display_name}: "
                for message in (self._load_failures if outer is None else []) + unit.failures:
                    click.echo(prefix + message, err=True)
