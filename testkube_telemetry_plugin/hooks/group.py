"""`HookedGroup`: the root of a host CLI that loads plugins and fires one pre/post pair per command run.

Click has no single place where "a command runs".  The one place every way of
running a command passes through is its callback: `Command.invoke` calls it,
and so do chained groups (once per command), REPLs and `ctx.invoke(command)`.
So each command of the host is *adopted*: its callback is wrapped on the
instance, and the wrapper fires the hooks when it runs as the command being
asked for (not as a group on the way to a subcommand).

A *run* is one call of the host's `main()` (or one line of a REPL that makes
a context of its own).  A run in which no command ran, a usage error or
`--help` say, still gets one post-command hook, for its deepest command.

`HookedGroup` is a mixin as much as a class: ``class Root(DefaultGroup,
HookedGroup)`` and ``class Root(HookedGroup, DefaultGroup)`` both work, because
every override calls `super()` and plugin commands are added before any
lookup: when the root context is made, and, for a context made by hand
(documentation generators), by the lookups themselves, which a subclass gets
even when another base class answers them first (DefaultGroup reads
`self.commands` before `super()`).
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import time
from typing import Any, Callable, Optional

import click

from .host import Host, env_flag
from .invocation import Invocation, Outcome, _reset_current, _set_current, words_of
from .manager import IsolatingPluginManager, PluginEntry, declared_entry, discover, load

_ADOPTED = "_hooked_adopted"
ROOT_MARK = "_hooked_root"  # class attribute of HookedGroup: where a path starts


class Run:
    """One call of `main()` or one REPL line: what its fallback post needs."""

    __slots__ = ("call_hook", "host", "argv", "exception", "records", "resolved", "started", "failures", "facts")

    def __init__(self, call_hook: Callable[..., None], host: Host, argv: Optional[tuple[str, ...]]) -> None:
        self.call_hook = call_hook
        self.host = host
        self.argv = argv
        self.exception: Optional[BaseException] = None
        self.records = 0
        self.resolved: Optional[tuple[click.Context, click.Command]] = None
        self.started = time.perf_counter()
        self.failures: list[str] = []
        self.facts: dict[str, Any] = {}

    def note(self, exc: BaseException) -> None:
        """Remember the first (deepest) exception: Click turns it into SystemExit later."""
        if self.exception is None:
            self.exception = exc


class _Running(threading.local):
    """The runs now running, innermost last, per thread.

    A thread-local rather than a ContextVar: `contextvars` is one more
    extension module every command would load, and a CLI runs one command
    at a time per thread.
    """

    runs: tuple[Run, ...] = ()


_running = _Running()


def current_run() -> Optional[Run]:
    runs = _running.runs
    return runs[-1] if runs else None


def push(run: Run) -> tuple[Run, ...]:
    """Make `run` the current one; returns what `pop` restores."""
    previous = _running.runs
    _running.runs = (*previous, run)
    return previous


def pop(previous: tuple[Run, ...]) -> None:
    _running.runs = previous


def exit_status(code: object) -> int:
    """The status a shell sees for `sys.exit(code)`."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code % 256
    return 1  # Python prints any other value and exits with 1


def exit_code_of(exc: Optional[BaseException]) -> int:
    """What the shell would see if `exc` ended a standalone Click program."""
    if exc is None:
        return 0
    if isinstance(exc, click.exceptions.Exit):
        return exit_status(exc.exit_code)
    if isinstance(exc, SystemExit):
        return exit_status(exc.code)
    if isinstance(exc, click.ClickException):
        return exc.exit_code
    return 1  # Abort, KeyboardInterrupt, EOFError and any other exception


def reported(exc: Optional[BaseException]) -> Optional[BaseException]:
    """The exception a hook is told about: none for a clean exit."""
    return exc if exc is not None and exit_code_of(exc) != 0 else None


def _chain(ctx: click.Context) -> list[click.Context]:
    """Contexts from the hooked root (or the top) down to `ctx`."""
    found = []
    current: Optional[click.Context] = ctx
    while current is not None:
        found.append(current)
        if getattr(current.command, ROOT_MARK, False):
            break
        current = current.parent
    found.reverse()
    return found


def command_path(host_name: str, ctx: Optional[click.Context]) -> tuple[str, ...]:
    if ctx is None:
        return (host_name,)
    chain = _chain(ctx)
    names: list[str] = []
    for parent, current in zip(chain, chain[1:]):
        # Only groups dispatch: a command that called `ctx.invoke(other)` (a REPL, say) is not
        # on `other`'s path, so that path is where `other` lives (if its group holds it).
        found = None if isinstance(parent.command, click.Group) else _find(chain[0].command, current.command)
        names = found or [*names, current.command.name or current.info_name or "?"]
    return (host_name, *names)


def _find(top: click.Command, command: click.Command) -> Optional[list[str]]:
    """The names from `top` down to `command`, among the commands its groups already hold."""
    queue: list[tuple[click.Command, list[str]]] = [(top, [])]
    seen = {id(top)}
    while queue:
        group, names = queue.pop(0)
        for name, sub in getattr(group, "commands", {}).items():
            if sub is command:
                return [*names, sub.name or name]
            if id(sub) not in seen:
                seen.add(id(sub))
                queue.append((sub, [*names, sub.name or name]))
    return None


def _options(ctx: click.Context) -> dict[str, Any]:
    found = {}
    for param in ctx.command.params:
        if isinstance(param, click.Option) and param.name in ctx.params:
            for flag in param.opts:
                found[flag] = ctx.params[param.name]
    return found


def _argv_of(ctx: click.Context, run: Run) -> tuple[str, ...]:
    for current in _chain(ctx):
        argv = getattr(current, "_hooked_argv", None)
        if argv is not None:
            return tuple(argv)
    return run.argv or ()


def invocation_for(run: Run, ctx: Optional[click.Context], then: Optional[click.Command] = None) -> Invocation:
    """The invocation of `ctx`'s command (or of `then`, resolved in `ctx` but never run)."""
    chain = _chain(ctx) if ctx is not None else []
    argv = _argv_of(ctx, run) if ctx is not None else (run.argv or ())
    params: dict[str, Any] = {}
    sources: dict[str, str] = {}
    options: dict[str, Any] = {}
    path = command_path(run.host.display_name, ctx)
    if then is not None:
        path += (then.name or "?",)
    elif ctx is not None:
        params = dict(ctx.params)
        for name in ctx.params:
            source = ctx.get_parameter_source(name)
            sources[name] = source.name if source is not None else "UNKNOWN"
        options = _options(ctx)
    return Invocation(
        path,
        run.host,
        time.time(),
        params=params,
        param_sources=sources,
        options=options,
        facts=dict(run.facts),
        argv=argv,
        words=lambda: words_of(chain, argv),
        report=run.failures.append,
    )


def _is_leaf(ctx: click.Context) -> bool:
    """Whether this context's command is the one asked for, not a group on the way."""
    return not isinstance(ctx.command, click.Group) or ctx.invoked_subcommand is None


def _run_command(run: Run, ctx: click.Context, call: Callable[[], Any]) -> Any:
    invocation = invocation_for(run, ctx)
    token = _set_current(invocation)
    try:
        run.call_hook("testkube_pre_command", invocation=invocation)
        started = time.perf_counter()
        try:
            result = call()
        except BaseException as exc:
            run.records += 1
            outcome = Outcome(exit_code_of(exc), reported(exc), (time.perf_counter() - started) * 1000.0)
            run.call_hook("testkube_post_command", invocation=invocation, outcome=outcome)
            raise
        run.records += 1
        outcome = Outcome(0, None, (time.perf_counter() - started) * 1000.0)
        run.call_hook("testkube_post_command", invocation=invocation, outcome=outcome)
        return result
    finally:
        _reset_current(token)


def adopt(command: click.Command) -> None:
    """Wrap a command so a hooked run sees it run; idempotent, cheap outside a run."""
    state = vars(command)
    if state.get(_ADOPTED):
        return
    state[_ADOPTED] = True
    original = command.callback
    if original is not None:

        @functools.wraps(original)
        def callback(*args: Any, **kwargs: Any) -> Any:
            run = current_run()
            ctx = click.get_current_context(silent=True) if run is not None else None
            if run is None or ctx is None or ctx.command is not command or not _is_leaf(ctx):
                return original(*args, **kwargs)
            return _run_command(run, ctx, lambda: original(*args, **kwargs))

        command.callback = callback
    if isinstance(command, click.Group) and not getattr(command, ROOT_MARK, False):
        original_resolve = command.resolve_command

        def resolve_command(
            ctx: click.Context, args: list[str]
        ) -> tuple[Optional[str], Optional[click.Command], list[str]]:
            resolved = original_resolve(ctx, args)
            note_resolved(ctx, resolved[1])
            return resolved

        command.resolve_command = resolve_command  # type: ignore[method-assign]


def note_resolved(ctx: click.Context, command: Optional[click.Command]) -> None:
    """A group found its subcommand: adopt it, and remember it as the deepest so far."""
    if command is None:
        return
    adopt(command)
    run = current_run()
    if run is not None:
        run.resolved = (ctx, command)


def adopt_tree(group: click.Group) -> None:
    """Adopt every command the group already holds, so `ctx.invoke` finds them adopted."""
    for command in list(group.commands.values()):
        adopt(command)
        if isinstance(command, click.Group):
            adopt_tree(command)


def fire_fallback(run: Run, exit_code: int, exception: Optional[BaseException]) -> None:
    """The post hook for a run in which no command ran (usage errors, --help)."""
    exception = reported(run.exception or exception)
    ctx = getattr(exception, "ctx", None) if isinstance(exception, click.UsageError) else None
    if ctx is not None:
        invocation = invocation_for(run, ctx)
    elif run.resolved is not None:
        invocation = invocation_for(run, *run.resolved)
    else:
        invocation = invocation_for(run, None)
    outcome = Outcome(exit_code, exception, (time.perf_counter() - run.started) * 1000.0)
    token = _set_current(invocation)
    try:
        run.call_hook("testkube_post_command", invocation=invocation, outcome=outcome)
    finally:
        _reset_current(token)


# -- the root group ----------------------------------------------------------------------

def _flag(name: str) -> bool:
    return env_flag(os.environ.get(name)) is True


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

    _hooked_root = True  # ROOT_MARK: command paths start here

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
        run = current_run()
        if run is not None:
            run.failures.append(message)
        elif self.debug_enabled():
            click.echo(f"{self.host.display_name}: {message}", err=True)

    def _cache_place(self) -> tuple[str, str]:
        """(a folder to trust, the cache folder in it) for the entry-point cache."""
        if self.host_declared:
            return self.host.home_dir(), "cache"
        base = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.join(os.path.expanduser("~"), ".cache")
        # The user's own choice of cache folder, links resolved: discovery follows no link.
        return os.path.realpath(base), "click-plugin-hooks"

    def _plugin_entries(self) -> list[PluginEntry]:
        """The host's entry points, then the plugins it declares (an entry point of the same name wins)."""
        entries = discover(self.host.plugin_group, self._cache_place())
        for plugin in self.host.plugins:
            entry = declared_entry(plugin)
            if not any(found.name == entry.name for found in entries):
                entries.append(entry)
        return entries

    def _load_plugins(self, manager: IsolatingPluginManager) -> None:
        allowed = os.environ.get(self.host.env("LOAD_PLUGINS"))
        names = None if allowed is None else {n.strip() for n in allowed.split(",") if n.strip()}
        for entry in self._plugin_entries():
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
            adopt(self)
            adopt_tree(self)

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
        note_resolved(ctx, resolved[1])
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
        run = current_run()
        if parent is None or run is None:
            try:
                ctx = super().make_context(info_name, args, parent, **extra)
            except BaseException as exc:
                if run is not None:
                    run.note(exc)
                raise
            ctx._hooked_argv = tuple(args)  # type: ignore[attr-defined]
            return ctx
        # A REPL makes a root context for each line: each line is a run of its own.
        line = Run(self.call_hook, run.host, tuple(args))
        try:
            ctx = super().make_context(info_name, args, parent, **extra)
        except BaseException as exc:
            token = push(line)
            try:
                fire_fallback(line, exit_code_of(exc), exc)
            finally:
                pop(token)
            raise
        ctx._hooked_argv = tuple(args)  # type: ignore[attr-defined]
        ctx._hooked_run = line  # type: ignore[attr-defined]
        return ctx

    def invoke(self, ctx: click.Context) -> Any:
        line: Optional[Run] = getattr(ctx, "_hooked_run", None)
        state, outer = vars(ctx), current_run()
        argv, running = state.get("_hooked_argv"), state.get("_hooked_running", False)
        if line is None and running and outer is not None:
            # click-repl runs each line by invoking the running root context again.
            line = Run(self.call_hook, outer.host, _pending_args(ctx))
            state["_hooked_argv"] = line.argv
        run = line or outer
        token = push(line) if line is not None else None
        state["_hooked_running"] = True
        try:
            result = super().invoke(ctx)
        except BaseException as exc:
            if run is not None:
                run.note(exc)
            if line is not None and not line.records:
                fire_fallback(line, exit_code_of(exc), exc)
            raise
        else:
            if line is not None and not line.records:
                fire_fallback(line, 0, None)
            return result
        finally:
            state["_hooked_running"], state["_hooked_argv"] = running, argv
            if token is not None:
                pop(token)
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
        """Click's `main`, as one run: a post hook is sure to fire, whatever happens."""
        prog_name = prog_name or program_name()
        completing = (complete_var,) if complete_var else _completion_vars(prog_name)
        if any(os.environ.get(name) for name in completing):
            self._register_commands()  # completion lists plugin commands, and fires no hooks
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        outer = current_run()
        host = self.host.named(prog_name)
        run = Run(self.call_hook, host, None if args is None else tuple(args))
        if args is None and outer is None:
            run.argv = tuple(sys.argv[1:])
        run_token = push(run)
        current_token = _set_current(Invocation((host.display_name,), host, 0.0, facts=run.facts))
        exit_code: int = 0
        exception: Optional[BaseException] = None
        try:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        except SystemExit as exc:
            exit_code, exception = exit_status(exc.code), exc
            raise
        except BaseException as exc:
            exit_code, exception = exit_code_of(exc), exc
            raise
        finally:
            if not run.records:
                fire_fallback(run, exit_code, exception)
            _reset_current(current_token)
            pop(run_token)
            if self.debug_enabled():
                prefix = f"{host.display_name}: "
                for message in (self._load_failures if outer is None else []) + run.failures:
                    click.echo(prefix + message, err=True)
