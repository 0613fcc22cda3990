"""One pre/post pair for each command that actually runs.

Click has no single place where "a command runs".  The one place every way of
running a command passes through is its callback: `Command.invoke` calls it,
and so do chained groups (once per command), REPLs and `ctx.invoke(command)`.
So each command of the host is *adopted*: its callback is wrapped on the
instance, and the wrapper fires the hooks when it runs as the command being
asked for (not as a group on the way to a subcommand).

A *unit* is one call of the host's `main()` (or one line of a REPL that makes
a context of its own).  A unit in which no command ran, a usage error or
`--help` say, still gets one post-command hook, for its deepest command.
"""

from __future__ import annotations

import functools
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Optional

import click

from .invocation import Invocation, Outcome, _reset_current, _set_current

if TYPE_CHECKING:
    from .host import Host

_ADOPTED = "_hooked_adopted"
ROOT_MARK = "_hooked_root"  # class attribute of HookedGroup: where a path starts


class Unit:
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
    """The units now running, innermost last, per thread.

    A thread-local rather than a ContextVar: `contextvars` is one more
    extension module every command would load, and a CLI runs one command
    at a time per thread.
    """

    units: tuple[Unit, ...] = ()


_running = _Running()


def current_unit() -> Optional[Unit]:
    units = _running.units
    return units[-1] if units else None


def push(unit: Unit) -> tuple[Unit, ...]:
    """Make `unit` the current one; returns what `pop` restores."""
    previous = _running.units
    _running.units = (*previous, unit)
    return previous


def pop(previous: tuple[Unit, ...]) -> None:
    _running.units = previous


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


def _argv_of(ctx: click.Context, unit: Unit) -> tuple[str, ...]:
    for current in _chain(ctx):
        argv = getattr(current, "_hooked_argv", None)
        if argv is not None:
            return tuple(argv)
    return unit.argv or ()


def invocation_for(unit: Unit, ctx: Optional[click.Context], then: Optional[click.Command] = None) -> Invocation:
    """The invocation of `ctx`'s command (or of `then`, resolved in `ctx` but never run)."""
    chain = _chain(ctx) if ctx is not None else []
    argv = _argv_of(ctx, unit) if ctx is not None else (unit.argv or ())
    params: dict[str, Any] = {}
    sources: dict[str, str] = {}
    options: dict[str, Any] = {}
    path = command_path(unit.host.display_name, ctx)
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
        unit.host,
        time.time(),
        params=params,
        param_sources=sources,
        options=options,
        facts=dict(unit.facts),
        argv=argv,
        words=lambda: _words(chain, argv),
        report=unit.failures.append,
    )


def _words(chain: list[click.Context], argv: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    from .words import words_of  # only for a plugin that asks (`invocation.typed`)

    return words_of(chain, argv)


def _is_leaf(ctx: click.Context) -> bool:
    """Whether this context's command is the one asked for, not a group on the way."""
    return not isinstance(ctx.command, click.Group) or ctx.invoked_subcommand is None


def _run_command(unit: Unit, ctx: click.Context, call: Callable[[], Any]) -> Any:
    invocation = invocation_for(unit, ctx)
    token = _set_current(invocation)
    try:
        unit.call_hook("testkube_pre_command", invocation=invocation)
        started = time.perf_counter()
        try:
            result = call()
        except BaseException as exc:
            unit.records += 1
            outcome = Outcome(exit_code_of(exc), reported(exc), (time.perf_counter() - started) * 1000.0)
            unit.call_hook("testkube_post_command", invocation=invocation, outcome=outcome)
            raise
        unit.records += 1
        outcome = Outcome(0, None, (time.perf_counter() - started) * 1000.0)
        unit.call_hook("testkube_post_command", invocation=invocation, outcome=outcome)
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
            unit = current_unit()
            ctx = click.get_current_context(silent=True) if unit is not None else None
            if unit is None or ctx is None or ctx.command is not command or not _is_leaf(ctx):
                return original(*args, **kwargs)
            return _run_command(unit, ctx, lambda: original(*args, **kwargs))

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
    unit = current_unit()
    if unit is not None:
        unit.resolved = (ctx, command)


def adopt_tree(group: click.Group) -> None:
    """Adopt every command the group already holds, so `ctx.invoke` finds them adopted."""
    for command in list(group.commands.values()):
        adopt(command)
        if isinstance(command, click.Group):
            adopt_tree(command)


def fire_fallback(unit: Unit, exit_code: int, exception: Optional[BaseException]) -> None:
    """The post hook for a unit in which no command ran (usage errors, --help)."""
    exception = reported(unit.exception or exception)
    ctx = getattr(exception, "ctx", None) if isinstance(exception, click.UsageError) else None
    if ctx is not None:
        invocation = invocation_for(unit, ctx)
    elif unit.resolved is not None:
        invocation = invocation_for(unit, *unit.resolved)
    else:
        invocation = invocation_for(unit, None)
    outcome = Outcome(exit_code, exception, (time.perf_counter() - unit.started) * 1000.0)
    token = _set_current(invocation)
    try:
        unit.call_hook("testkube_post_command", invocation=invocation, outcome=outcome)
    finally:
        _reset_current(token)
