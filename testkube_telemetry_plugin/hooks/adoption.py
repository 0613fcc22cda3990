"""Adopting a built CLI: one pre/post pair per command run, whatever built it and however it is run.

`adopt(obj, host)` takes a command or group that already exists (any class:
Click's, click-default-group's, rich-click's, Flask's, Typer's on Click or on
its bundled `typer._click`) or a Typer app, and changes nothing of its
parsing, usage line or help.  Everything it does is on *instances*:

- the **root instance** gets instance attributes `main`, `make_context`,
  `invoke` (and for a group `get_command` and `list_commands`) that shadow
  whatever its classes define, so neither the order of its base classes nor a
  `main()` that never calls `super().main()` (rich-click's, Typer's) matters,
  and a subgroup built by `group_class = type` is never a second root: the
  mark is on the instance, not the class;
- a **run** starts where every way of running passes, the root's
  `make_context` with no parent (Click's `main`, rich-click's, Typer's
  `_main`, `CliRunner`, a context made by hand), and the root's `main`
  wrapper is the boundary that sees the `SystemExit` the CLI's own `main`
  mapped: so `outcome.exit_code` is the process's real exit status;
- **each command** of the tree gets its `callback` wrapped (the one place a
  command runs, in chains, REPLs and `ctx.invoke` too), its `get_help`
  (so `--help` is told apart from a run) and, for a group, `resolve_command`
  (the deepest command reached, for a run in which none ran).

The outermost command's post hook waits for the boundary, to carry the real
status; a command run by `ctx.invoke` inside another gets its post at once,
and in a `chain=True` group each command's post comes when the next starts.

The Click-like API is found from the instance's own classes (`Flavour`):
nothing here imports `click` by name, so a Typer >= 0.26 CLI without Click
pays nothing for it.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
import threading
import time
from typing import Any, Callable, Optional

from .host import Host, env_flag
from .invocation import Invocation, Outcome, _reset_current, _set_current, class_names, words_of

ROOT_MARK = "_hooked_root"  # instance attribute of an adopted root: its Root
_ADOPTED = "_hooked_adopted"  # instance attribute: this command's callback is wrapped
_REGISTERED = "_hooked_registered"  # instance attribute of a root: plugin commands were added
_FLAGS = "_hooked_flags"  # instance attribute of a root: commands reached as `<cli> <flag> ...`


# -- the Click-like API of an instance ----------------------------------------------------------

class Flavour:
    """`click`, or Typer's bundled copy (`typer._click`): found from a command's own classes."""

    def __init__(self, package: str) -> None:
        self.package = package
        self.get_current_context: Callable[..., Any] = importlib.import_module(package + ".globals").get_current_context
        exceptions = importlib.import_module(package + ".exceptions")
        if not hasattr(exceptions, "Exit"):  # Typer >= 0.28 moved Exit and Abort to typer.exceptions
            exceptions = importlib.import_module(package.split(".")[0] + ".exceptions")
        self.Exit: type[BaseException] = exceptions.Exit
        self._utils = package + ".utils"

    def program_name(self) -> str:
        """The name the program was called by, as Click works it out (for completion too)."""
        detect = getattr(importlib.import_module(self._utils), "_detect_program_name", None)
        return detect() if detect is not None else os.path.basename(sys.argv[0] or "cli")


_FLAVOURS: dict[str, Flavour] = {}


def flavour_of(command: Any) -> Flavour:
    for cls in type(command).__mro__:
        if cls.__name__ == "Command" and cls.__module__.endswith(".core"):
            package = cls.__module__[: -len(".core")]
            break
    else:
        raise TypeError(f"{command!r} is not a Click (or Typer) command")
    found = _FLAVOURS.get(package)
    if found is None:
        found = _FLAVOURS[package] = Flavour(package)
    return found


def is_group(command: Any) -> bool:
    """A command that dispatches to subcommands (click's groups, Typer's, any `MultiCommand`)."""
    return callable(getattr(command, "resolve_command", None))


def exit_status(code: object) -> int:
    """The status a shell sees for `sys.exit(code)`."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code % 256
    return 1  # Python prints any other value and exits with 1


def exit_code_of(exc: Optional[BaseException]) -> int:
    """What the shell would see if `exc` ended a standalone Click program (click's or Typer's)."""
    if exc is None:
        return 0
    if isinstance(exc, SystemExit):
        return exit_status(exc.code)
    names = class_names(exc)
    if "Exit" in names:
        return exit_status(getattr(exc, "exit_code", 0))
    if "ClickException" in names:
        return int(getattr(exc, "exit_code", 1))
    return 1  # Abort, KeyboardInterrupt, EOFError and any other exception


def reported(exc: Optional[BaseException]) -> Optional[BaseException]:
    """The exception a hook is told about: none for a clean exit."""
    return exc if exc is not None and exit_code_of(exc) != 0 else None


def _flag(name: str) -> bool:
    return env_flag(os.environ.get(name)) is True


# -- the root: the host, its plugins, its hooks ----------------------------------------------------

class Root:
    """What an adopted root knows: its host, its plugins (loaded on first use) and how to call its hooks.

    A Typer app builds a new command object on every call; they share one Root.
    """

    def __init__(self, host: Host, plugin_manager: Any = None) -> None:
        self.host = host
        self.debug = False
        self._manager: Any = None
        self._entries: dict[str, Any] = {}
        self.load_failures: list[str] = []
        self.failed: list[tuple[Any, str]] = []  # (entry, one-line reason) of each plugin that failed to load
        self.hook_names = host.hook_names
        self.foreign = plugin_manager
        self.shared: frozenset[str] = frozenset()
        if plugin_manager is not None:
            from .manager import attach

            self.shared = attach(plugin_manager, host)

    @property
    def plugin_manager(self) -> Any:
        """The library's pluggy manager for this host, built (and plugins imported) on first use."""
        if self._manager is None:
            from .manager import IsolatingPluginManager

            manager = IsolatingPluginManager(self.note_failure, self.host)
            self._manager = manager
            if _flag(self.host.env("TRACE_PLUGINS")):
                manager.trace_to_stderr()
            self._load_plugins(manager)
        return self._manager

    def debug_enabled(self) -> bool:
        """Diagnostics on stderr: the host's debug switch or `<PREFIX>_DEBUG=1`."""
        return self.debug or _flag(self.host.env("DEBUG"))

    def note_failure(self, message: str) -> None:
        run = current_run()
        if run is not None:
            run.failures.append(message)
        elif self.debug_enabled():
            _stderr(f"{self.host.display_name}: {message}")

    def _plugin_entries(self) -> list[Any]:
        """The host's entry points, then the plugins it declares (an entry point of the same name wins)."""
        from .manager import declared_entry, discover

        # Under an opt-out variable nothing is written, the entry-point cache included.
        entries = discover(self.host.plugin_group, self.host.cache_place(), write=self.host.opted_out() is None)
        for plugin in self.host.plugins:
            entry = declared_entry(plugin)
            if not any(found.name == entry.name for found in entries):
                entries.append(entry)
        return entries

    def _load_plugins(self, manager: Any) -> None:
        from .manager import load

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
                reason = " ".join(f"{type(exc).__name__}: {exc}".split())  # one line
                self.failed.append((entry, reason))
                self.load_failures.append(f"plugin {entry.name!r} ({entry.distribution}) failed to load: {reason}")
                continue
            self._entries[entry.name] = entry

    def plugin_entry(self, name: str) -> Any:
        """The entry point a loaded plugin came from (None if registered by hand)."""
        self.plugin_manager  # noqa: B018 - loads plugins
        return self._entries.get(name)

    def call(self, which: int, **kwargs: Any) -> None:
        """Call hook `which` (0 register_commands, 1 pre_command, 2 post_command) in every manager."""
        name = self.hook_names[which]
        self.plugin_manager.call(name, **kwargs)
        if self.foreign is not None and name not in self.shared:
            try:
                getattr(self.foreign.hook, name)(**kwargs)
            except BaseException as exc:  # noqa: B036 - the host's plugins must not end its command either
                self.note_failure(f"the host's plugin manager failed in {name}: {type(exc).__name__}: {exc}")

    def register_commands(self, cli: Any) -> None:
        """Plugin commands, once per root instance, before any lookup."""
        held = vars(cli)
        if held.get(_REGISTERED):
            return
        held[_REGISTERED] = True
        self.call(0, cli=cli)
        adopt_tree(cli)


def _stderr(message: str) -> None:
    try:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass  # a closed stderr must not break the command


def root_of(cli: Any) -> Root:
    """The Root of an adopted root instance."""
    root = vars(cli).get(ROOT_MARK)
    if root is None:
        raise TypeError(f"{cli!r} is not an adopted root: adopt(cli, Host(...)) first")
    return root  # type: ignore[no-any-return]


def plugin_manager_of(cli: Any) -> Any:
    """The plugin manager of an adopted root (to register a plugin by hand, or monitor hook calls)."""
    return root_of(cli).plugin_manager


def add_flag_command(cli: Any, flag: str, command: Any) -> None:
    """Make `command` reachable as ``<cli> <flag> ...``, for a plugin whose commands must not share the host's
    command names (a single-command CLI, a group with a default command).

    It is claimed only as the *first* word of the command line, where the host
    answered "no such option" before: every other input, error messages
    included, stays as it was.  Call it from `register_commands`.  Raises
    ValueError if the host declares `flag` itself.
    """
    for param in getattr(cli, "params", ()):
        if flag in (*getattr(param, "opts", ()), *getattr(param, "secondary_opts", ())):
            raise ValueError(f"{cli.name or 'the root'!s} already has {flag}")
    root_of(cli)
    vars(cli).setdefault(_FLAGS, {})[flag] = command
    adopt_tree(command)


def flag_commands(cli: Any) -> dict[str, Any]:
    """The commands `add_flag_command` gave this root instance, by flag."""
    return dict(vars(cli).get(_FLAGS, {}))


# -- runs -------------------------------------------------------------------------------------------

class Run:
    """One run: a call of the root's `main()`, a root context made by hand, or one line of a REPL."""

    __slots__ = ("root", "host", "argv", "exception", "records", "resolved", "started", "failures", "facts",
                 "armed", "pending", "depth", "help", "mounted", "top")

    def __init__(self, root: Root, host: Host, argv: Optional[tuple[str, ...]], top: bool = False) -> None:
        self.root = root
        self.host = host
        self.argv = argv
        self.exception: Optional[BaseException] = None
        self.records = 0
        self.resolved: Optional[tuple[Any, Any]] = None  # (context, command) a group last resolved
        self.started = time.perf_counter()
        self.failures: list[str] = []
        self.facts: dict[str, Any] = {}
        self.armed = False  # a root context was made: hooks fire
        self.pending: Optional[Invocation] = None  # the outermost command that ran, its post waiting
        self.depth = 0  # commands now running (`ctx.invoke` nests them)
        self.help = False  # help was shown
        self.mounted: Optional[Any] = None  # a flag command run in place of the root
        self.top = top  # outermost: its end prints the debug report

    def note(self, exc: BaseException) -> None:
        """Remember the first (deepest) exception: Click turns it into SystemExit later."""
        if self.exception is None:
            self.exception = exc

    def arm(self, args: Any) -> None:
        self.armed = True
        self.started = time.perf_counter()  # duration_ms: from the start of argument parsing
        self.argv = tuple(args)


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


# -- what a hook is told ----------------------------------------------------------------------------

def _chain(run: Run, ctx: Any) -> list[Any]:
    """Contexts from the adopted root (or the top) down to `ctx`."""
    found = []
    current = ctx
    while current is not None:
        found.append(current)
        if vars(current.command).get(ROOT_MARK) is run.root:
            break
        current = current.parent
    found.reverse()
    return found


def command_path(run: Run, ctx: Any) -> tuple[str, ...]:
    host_name = run.host.display_name
    if ctx is None:
        return (host_name,) if run.mounted is None else (host_name, run.mounted.name or "?")
    chain = _chain(run, ctx)
    top = chain[0].command
    names: list[str] = [] if vars(top).get(ROOT_MARK) is run.root else [top.name or chain[0].info_name or "?"]
    for parent, current in zip(chain, chain[1:]):
        # Only groups dispatch: a command that called `ctx.invoke(other)` (a REPL, say) is not
        # on `other`'s path, so that path is where `other` lives (if its group holds it).
        found = None if is_group(parent.command) else _find(top, current.command)
        names = found or [*names, current.command.name or current.info_name or "?"]
    return (host_name, *names)


def _find(top: Any, command: Any) -> Optional[list[str]]:
    """The names from `top` down to `command`, among the commands its groups already hold."""
    queue: list[tuple[Any, list[str]]] = [(top, [])]
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


def _options(ctx: Any) -> dict[str, Any]:
    found = {}
    for param in ctx.command.params:
        if getattr(param, "param_type_name", None) == "option" and param.name in ctx.params:
            for flag in param.opts:
                found[flag] = ctx.params[param.name]
    return found


def invocation_for(run: Run, ctx: Any, then: Any = None) -> Invocation:
    """The invocation of `ctx`'s command (or of `then`, resolved in `ctx` but never run)."""
    chain = _chain(run, ctx) if ctx is not None else []
    argv = run.argv or ()
    params: dict[str, Any] = {}
    sources: dict[str, str] = {}
    options: dict[str, Any] = {}
    path = command_path(run, ctx)
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


def _post(run: Run, invocation: Invocation, outcome: Outcome) -> None:
    run.records += 1
    token = _set_current(invocation)
    try:
        run.root.call(2, invocation=invocation, outcome=outcome)
    finally:
        _reset_current(token)


def _flush(run: Run, exit_code: int, exception: Optional[BaseException]) -> None:
    """The post of the outermost command that ran, now that its status is known."""
    invocation, run.pending = run.pending, None
    assert invocation is not None
    _post(run, invocation, Outcome(exit_code, exception, (time.perf_counter() - run.started) * 1000.0))


def _reported_for(run: Run, exit_code: int, exception: Optional[BaseException]) -> Optional[BaseException]:
    if exit_code == 0:
        return None
    return reported(run.exception) or run.exception or exception


def close(run: Run, exit_code: int, exception: Optional[BaseException]) -> None:
    """The end of a run: the waiting post gets the real status; a run in which no command ran gets one post."""
    if not run.armed:
        return  # shell completion, or a main() that never made a root context
    if run.pending is not None:
        _flush(run, exit_code, _reported_for(run, exit_code, exception))
    elif not run.records:
        _fallback(run, exit_code, exception)
    if run.top and run.root.debug_enabled():
        prefix = f"{run.host.display_name}: "
        for message in run.root.load_failures + run.failures:
            _stderr(prefix + message)


def _fallback(run: Run, exit_code: int, exception: Optional[BaseException]) -> None:
    """The post hook for a run in which no command ran (usage errors, --help)."""
    error = _reported_for(run, exit_code, exception)
    names = class_names(error)
    shown_help = run.help and (error is None or "NoArgsIsHelpError" in names or "UsageError" not in names)
    ctx = getattr(error, "ctx", None) if "UsageError" in names else None
    if ctx is not None:
        invocation = invocation_for(run, ctx)
    elif run.resolved is not None:
        invocation = invocation_for(run, *run.resolved)
    else:
        invocation = invocation_for(run, None)
    outcome = Outcome(exit_code, None if shown_help else error, (time.perf_counter() - run.started) * 1000.0,
                      help=shown_help)
    _post(run, invocation, outcome)


def _is_leaf(ctx: Any) -> bool:
    """Whether this context's command is the one asked for, not a group on the way."""
    return not is_group(ctx.command) or ctx.invoked_subcommand is None


# -- adopting each command (lazily, as groups find them) ---------------------------------------------

def adopt_command(command: Any) -> None:
    """Wrap a command's callback, `get_help` and (a group's) `resolve_command` on the instance; idempotent,
    and cheap outside a run (a command shared with another CLI fires nothing there)."""
    held = vars(command)
    if held.get(_ADOPTED):
        return
    held[_ADOPTED] = True
    original = command.callback
    if original is not None:
        flavour = flavour_of(command)

        @functools.wraps(original)
        def callback(*args: Any, **kwargs: Any) -> Any:
            run = current_run()
            if run is None or not run.armed:
                return original(*args, **kwargs)
            ctx = flavour.get_current_context(silent=True)
            if ctx is None or ctx.command is not command or not _is_leaf(ctx):
                return original(*args, **kwargs)
            return _run_command(run, ctx, original, args, kwargs)

        command.callback = callback
    get_help = command.get_help

    def shows_help(ctx: Any) -> Any:
        run = current_run()
        if run is not None:
            run.help = True
        return get_help(ctx)

    command.get_help = shows_help
    if is_group(command):
        resolve = command.resolve_command

        def resolve_command(ctx: Any, args: list[str]) -> Any:
            try:
                resolved = resolve(ctx, args)
            except BaseException as exc:
                if class_names(exc)[0] in ("UsageError", "NoSuchCommand"):
                    exc._hooked_error_type = "NoSuchCommand"  # type: ignore[attr-defined]  # Click < 8.2: UsageError
                raise
            if resolved[1] is not None:
                adopt_command(resolved[1])
                run = current_run()
                if run is not None:
                    run.resolved = (ctx, resolved[1])
            return resolved

        command.resolve_command = resolve_command


def _run_command(run: Run, ctx: Any, original: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    if run.pending is not None and run.depth == 0:
        _flush(run, 0, None)  # a chain: the command before this one ended well
    invocation = invocation_for(run, ctx)
    invocation.nested = run.depth > 0
    token = _set_current(invocation)
    started = time.perf_counter()
    error: Optional[BaseException] = None
    run.depth += 1
    try:
        run.root.call(1, invocation=invocation)
        return original(*args, **kwargs)
    except BaseException as exc:
        run.note(exc)
        error = exc
        raise
    finally:
        run.depth -= 1
        _reset_current(token)
        if run.depth:  # `ctx.invoke(other)` inside a command: its post now, with its own status
            code = exit_code_of(error)
            _post(run, invocation, Outcome(code, error if code else None, (time.perf_counter() - started) * 1000.0))
        else:  # the outermost command: its post waits for the status the process exits with
            run.pending = invocation


def adopt_tree(command: Any) -> None:
    """Adopt every command a group already holds, so `ctx.invoke` finds them adopted."""
    seen: set[int] = set()
    queue = [command]
    while queue:
        current = queue.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        adopt_command(current)
        queue.extend(getattr(current, "commands", {}).values())


# -- the root instance -------------------------------------------------------------------------------

def _completion_vars(prog_name: str) -> tuple[str, ...]:
    """The variable Click reads for shell completion (its rule changed in 8.2)."""
    newer = prog_name.replace("-", "_").replace(".", "_")
    older = prog_name.replace("-", "_")
    return (f"_{newer}_COMPLETE".upper(), f"_{older}_COMPLETE".upper())


def _pending_args(ctx: Any) -> tuple[str, ...]:
    """The words a group is about to dispatch (`protected_args` became `_protected_args` in Click 8.2)."""
    state = vars(ctx)
    return (*state.get("_protected_args", state.get("protected_args", ())), *ctx.args)


def _argument(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str) -> Any:
    return args[index] if len(args) > index else kwargs.get(name)


def install(cli: Any, root: Root) -> None:
    """Mark `cli` as an adopted root and wrap its run on the instance."""
    held = vars(cli)
    existing = held.get(ROOT_MARK)
    if existing is not None:
        if existing.host is root.host or existing.host == root.host:
            return
        raise ValueError(f"{cli!r} is already adopted by {existing.host!r}")
    flavour = flavour_of(cli)
    held[ROOT_MARK] = root
    main, make_context, invoke = cli.main, cli.make_context, cli.invoke

    def run_main(*args: Any, **kwargs: Any) -> Any:
        """The boundary: one run, whose last post carries the status the CLI's own main() exits with."""
        prog = _argument(args, kwargs, 1, "prog_name") or flavour.program_name()
        complete_var = _argument(args, kwargs, 2, "complete_var")
        if any(os.environ.get(name) for name in ((complete_var,) if complete_var else _completion_vars(prog))):
            root.register_commands(cli)  # completion lists plugin commands, and fires no hooks
            return main(*args, **kwargs)
        argv = _argument(args, kwargs, 0, "args")
        run = Run(root, root.host.named(prog), None if argv is None else tuple(argv), top=current_run() is None)
        token = push(run)
        current = _set_current(Invocation((run.host.display_name,), run.host, 0.0, facts=run.facts))
        code, exception = 0, None  # type: tuple[int, Optional[BaseException]]
        try:
            result = main(*args, **kwargs)
            if "Exit" in class_names(run.exception):  # standalone_mode=False returns ctx.exit's code
                code = exit_code_of(run.exception)
            return result
        except SystemExit as exc:
            code, exception = exit_status(exc.code), exc
            raise
        except BaseException as exc:
            code, exception = exit_code_of(exc), exc
            raise
        finally:
            _reset_current(current)
            close(run, code, exception)
            pop(token)

    def run_make_context(info_name: Optional[str], args: list[str], parent: Any = None, **extra: Any) -> Any:
        """Where every run starts: the root's context, made with no parent."""
        root.register_commands(cli)
        if extra.get("resilient_parsing"):
            return make_context(info_name, args, parent, **extra)  # shell completion
        run = current_run()
        if parent is not None:
            if run is None:
                return make_context(info_name, args, parent, **extra)
            return _repl_line_context(run, info_name, args, parent, extra)
        own = None
        if run is None or run.root is not root or run.armed:
            own = run = Run(root, root.host.named(info_name or ""), tuple(args), top=run is None)
        run.arm(args)
        token = push(own) if own is not None else None
        try:
            flag = args[0] if args else None
            if flag is not None and flag in vars(cli).get(_FLAGS, {}):
                _run_flag_command(cli, flavour, run, info_name, flag, list(args[1:]))
            ctx = make_context(info_name, args, parent, **extra)
        except BaseException as exc:
            run.note(exc)
            if own is not None:
                close(own, exit_code_of(exc), exc)
            raise
        finally:
            if token is not None:
                pop(token)
        if own is not None:
            vars(ctx)["_hooked_run"] = own  # a run no main() wraps: invoke closes it
        return ctx

    def _repl_line_context(run: Run, info_name: Optional[str], args: list[str], parent: Any,
                           extra: dict[str, Any]) -> Any:
        # A REPL that makes a root context for each line: each line is a run of its own.
        line = Run(root, run.host, tuple(args))
        line.arm(args)
        token = push(line)
        try:
            ctx = make_context(info_name, args, parent, **extra)
        except BaseException as exc:
            line.note(exc)
            close(line, exit_code_of(exc), exc)
            raise
        finally:
            pop(token)
            run.failures.extend(line.failures)
            line.failures = []
        vars(ctx)["_hooked_run"] = line
        return ctx

    def run_invoke(ctx: Any) -> Any:
        held_ctx = vars(ctx)
        line: Optional[Run] = held_ctx.pop("_hooked_run", None)
        outer = current_run()
        running = held_ctx.get("_hooked_running", False)
        if line is None and running and outer is not None:
            # click-repl runs each line by invoking the running root context again.
            line = Run(root, outer.host, _pending_args(ctx))
            line.arm(line.argv)
        run = line or outer
        token = push(line) if line is not None else None
        held_ctx["_hooked_running"] = True
        code, exception = 0, None
        try:
            return invoke(ctx)
        except BaseException as exc:
            code, exception = exit_code_of(exc), exc
            if run is not None:
                run.note(exc)
            raise
        finally:
            held_ctx["_hooked_running"] = running
            if token is not None and line is not None:
                close(line, code, exception)
                pop(token)
                if outer is not None:
                    outer.failures.extend(line.failures)

    held.update(main=run_main, make_context=run_make_context, invoke=run_invoke)
    if is_group(cli):
        for name in ("get_command", "list_commands"):
            lookup = getattr(cli, name)

            def registered_first(*args: Any, _lookup: Callable[..., Any] = lookup) -> Any:
                root.register_commands(cli)  # plugin commands exist before any lookup (sphinx-click, help)
                return _lookup(*args)

            held[name] = registered_first
    adopt_tree(cli)


def _run_flag_command(cli: Any, flavour: Flavour, run: Run, info_name: Optional[str], flag: str,
                      args: list[str]) -> None:
    """``<cli> <flag> ...``: the plugin's command, run standalone; its exit status becomes the root's."""
    command = vars(cli)[_FLAGS][flag]
    run.mounted = command
    prog = f"{info_name or run.host.display_name} {flag}"
    try:
        command.main(args, prog_name=prog, complete_var="_HOOKED_NO_COMPLETION_", standalone_mode=True)
        code = 0
    except SystemExit as exc:
        code = exit_status(exc.code)
    raise flavour.Exit(code)


# -- the API ---------------------------------------------------------------------------------------------

def is_typer_app(obj: Any) -> bool:
    return any(cls.__name__ == "Typer" and cls.__module__ == "typer.main" for cls in type(obj).__mro__)


def adopt(obj: Any, host: Host, *, plugin_manager: Any = None) -> Any:
    """Give a built CLI the hook contract, in place; returns what the console script calls (`obj` itself).

    `obj` is a Click command or group of any class (DefaultGroup, FlaskGroup,
    RichGroup, RichCommand, Typer's) or a `typer.Typer` app; its parsing,
    usage line and help stay byte-for-byte as they were.  `host` is required:
    nothing is guessed from a function's name.  `plugin_manager` is the host's
    own pluggy manager (llm's, datasette's): the contract's specs are added to
    it, so the host's plugins can implement them with its own marker.
    Adopting twice with the same host changes nothing; with another, it raises.
    """
    if not isinstance(host, Host):
        raise TypeError("adopt(cli, host=Host(\"name\")): the host's identity is required")
    if is_typer_app(obj):
        _adopt_typer(obj, Root(host, plugin_manager))
        return obj
    if not callable(getattr(obj, "make_context", None)) or not hasattr(obj, "params"):
        raise TypeError(f"{obj!r} is not a Click command, group or Typer app")
    install(obj, Root(host, plugin_manager))
    return obj


def _adopt_typer(app: Any, root: Root) -> None:
    """Typer builds a new command on every `app()` and `typer.testing.CliRunner().invoke(app)`: each is
    adopted as it is built, by a subclass of the class Typer would use whose only addition is `__init__`."""
    import typer.core
    import typer.models

    existing = vars(app).get(ROOT_MARK)
    if existing is not None:
        if existing.host == root.host:
            return
        raise ValueError(f"{app!r} is already adopted by {existing.host!r}")
    vars(app)[ROOT_MARK] = root  # root_of(app): the Root every command built from it shares

    def hooked(base: type) -> type:
        if getattr(base, "_hooked_factory", False):
            return base

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            initialise: Any = getattr(base, "__init__")  # noqa: B009 - the class given, not an instance
            initialise(self, *args, **kwargs)
            install(self, root)

        return type(base.__name__, (base,), {"__init__": __init__, "__module__": base.__module__,
                                              "__qualname__": base.__qualname__, "_hooked_factory": True})

    def chosen(cls: Any) -> Any:
        return cls.value if isinstance(cls, typer.models.DefaultPlaceholder) else cls

    as_group = (app.registered_callback or app.info.callback or app.registered_groups
                or len(app.registered_commands) > 1)  # typer.main.get_command's own test
    if as_group or not app.registered_commands:
        app.info.cls = hooked(chosen(app.info.cls) or typer.core.TyperGroup)
    else:
        info = app.registered_commands[0]
        info.cls = hooked(chosen(info.cls) or typer.core.TyperCommand)


def adopt_function(function: Callable[..., Any], host: Host, **kwargs: Any) -> Any:
    """What `typer.run(function)` builds, adopted: call the result (`adopt_function(main, host)()`)."""
    import typer

    app = typer.Typer(add_completion=False)
    app.command()(function)
    return adopt(app, host, **kwargs)
