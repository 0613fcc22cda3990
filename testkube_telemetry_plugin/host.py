"""`HookedGroup`: a Click group that loads plugins and fires hooks around every command.

Click has no single place where "a command is about to run" or "a command has
ended, whatever the way".  `HookedGroup.main` sees every ending (it wraps the
standalone exception handling), and every command it resolves is *adopted*: its
`invoke` (and, for groups, `resolve_command`) is wrapped on the instance, so
nested groups written with plain `click.group` report their path and parameters
too.  Outside a hooked run the wrappers pass straight through.
"""

from __future__ import annotations

import contextvars
import os
import sys
import time
from typing import Any, Optional

import click
import pluggy

from . import __version__, hookspecs
from .discovery import PluginEntry, discover, load
from .invocation import Invocation, Outcome, _reset_current, _set_current

DEBUG_ENV = "TESTKUBE_DEBUG"
LOAD_PLUGINS_ENV = "TESTKUBE_LOAD_PLUGINS"
_TRUTHY = {"1", "true", "yes", "on"}


class _Run:
    """What one run of the host collects for the post-command hook."""

    def __init__(self, invocation: Invocation) -> None:
        self.invocation = invocation
        self.exception: Optional[BaseException] = None
        self.failures: list[str] = []


_run: contextvars.ContextVar[Optional[_Run]] = contextvars.ContextVar("testkube_run", default=None)
_debug_flag = False


def debug_enabled() -> bool:
    """Diagnostics on stderr: `--debug` or `TESTKUBE_DEBUG=1`."""
    return _debug_flag or os.environ.get(DEBUG_ENV, "").strip().lower() in _TRUTHY


def _exit_status(code: object) -> int:
    """The status a shell sees for `sys.exit(code)`."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code % 256
    return 1  # Python prints any other value and exits with 1


def _note_exception(exc: BaseException) -> None:
    """Remember the first (deepest) exception of the run.

    Click's standalone handling turns exceptions into `sys.exit` and, since
    Click 8.5, outside the `except` block, so the SystemExit no longer carries
    them: they are caught on their way out of `make_context` and `invoke`.
    """
    run = _run.get()
    if run is not None and run.exception is None:
        run.exception = exc


def _reported(exc: Optional[BaseException]) -> Optional[BaseException]:
    if isinstance(exc, click.exceptions.Exit):
        return exc if exc.exit_code else None
    if isinstance(exc, SystemExit):
        return exc if _exit_status(exc.code) else None
    return exc


def _pending_args(ctx: click.Context) -> bool:
    # Click 8.2 renamed `protected_args` to `_protected_args` and deprecated the
    # old name (reading it warns); read whichever this Click stores.
    state = vars(ctx)
    protected = state.get("_protected_args", state.get("protected_args", []))
    return bool(protected or ctx.args)


def _enter_leaf(command: click.Command, ctx: click.Context) -> None:
    run = _run.get()
    if run is None or (isinstance(command, click.Group) and _pending_args(ctx)):
        return
    invocation = run.invocation
    invocation.params = dict(ctx.params)
    sources = {}
    for name in ctx.params:
        source = ctx.get_parameter_source(name)
        sources[name] = source.name if source is not None else "UNKNOWN"
    invocation.param_sources = sources
    root = ctx.find_root().command
    if isinstance(root, HookedGroup):
        root.call_hook(run, "testkube_pre_command", invocation=invocation)


def _record_resolved(command: Optional[click.Command]) -> None:
    run = _run.get()
    if run is not None and command is not None and command.name:
        run.invocation.command_path += (command.name,)
    if command is not None:
        _adopt(command)


def _adopt(command: click.Command) -> None:
    """Wrap a plain Click command so a hooked run sees it; idempotent."""
    if isinstance(command, HookedGroup) or vars(command).get("_testkube_adopted"):
        return
    original_invoke = command.invoke

    def invoke(ctx: click.Context) -> Any:
        _enter_leaf(command, ctx)
        return original_invoke(ctx)

    setattr(command, "invoke", invoke)  # noqa: B010 - instance attribute on purpose
    if isinstance(command, click.Group):
        original_resolve = command.resolve_command

        def resolve_command(
            ctx: click.Context, args: list[str]
        ) -> tuple[Optional[str], Optional[click.Command], list[str]]:
            resolved = original_resolve(ctx, args)
            _record_resolved(resolved[1])
            return resolved

        setattr(command, "resolve_command", resolve_command)  # noqa: B010
    vars(command)["_testkube_adopted"] = True


class HookedGroup(click.Group):
    """A `click.Group` that loads plugins from entry points and fires the hooks.

    Adopt it with one line: ``@click.group(cls=HookedGroup,
    plugin_group="mycli.plugins", host_version="1.2.3")``.
    """

    def __init__(
        self,
        *args: Any,
        plugin_group: str = "testkube.plugins",
        host_version: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.plugin_group = plugin_group
        self.host_version = host_version or "unknown"
        self._manager: Optional[pluggy.PluginManager] = None
        self._entries: dict[str, PluginEntry] = {}
        self._load_failures: list[str] = []
        self._commands_registered = False

    # -- plugins -----------------------------------------------------------
    @property
    def plugin_manager(self) -> pluggy.PluginManager:
        """The pluggy manager, built (and plugins imported) on first use."""
        if self._manager is None:
            manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
            manager.add_hookspecs(hookspecs)
            self._manager = manager
            self._load_plugins(manager)
        return self._manager

    def _load_plugins(self, manager: pluggy.PluginManager) -> None:
        allowed = os.environ.get(LOAD_PLUGINS_ENV)
        names = None if allowed is None else {n.strip() for n in allowed.split(",") if n.strip()}
        from .paths import cache_dir

        for entry in discover(self.plugin_group, cache_dir()):
            if names is not None and entry.name not in names:
                continue
            if manager.get_plugin(entry.name) is not None or manager.is_blocked(entry.name):
                continue
            try:
                manager.register(load(entry), name=entry.name)
            except Exception as exc:  # a broken plugin must not break the CLI
                self._load_failures.append(
                    f"plugin {entry.name!r} ({entry.distribution}) failed to load: "
                    f"{type(exc).__name__}: {exc}"
                )
                continue
            self._entries[entry.name] = entry

    def plugin_entry(self, name: str) -> Optional[PluginEntry]:
        """The entry point a loaded plugin came from (None if registered by hand)."""
        self.plugin_manager  # noqa: B018 - loads plugins
        return self._entries.get(name)

    def call_hook(self, run: Optional[_Run], hook_name: str, **kwargs: Any) -> None:
        """Call each implementation on its own, so one that raises spoils nothing."""
        caller = getattr(self.plugin_manager.hook, hook_name)
        for impl in reversed(caller.get_hookimpls()):
            try:
                impl.function(*(kwargs[name] for name in impl.argnames))
            except (Exception, SystemExit) as exc:
                message = (
                    f"plugin {impl.plugin_name!r} failed in {hook_name}: "
                    f"{type(exc).__name__}: {exc}"
                )
                if run is not None:
                    run.failures.append(message)
                elif debug_enabled():
                    click.echo(f"{self.name or 'cli'}: {message}", err=True)

    def _register_commands(self) -> None:
        if not self._commands_registered:
            self._commands_registered = True
            self.call_hook(_run.get(), "testkube_register_commands", cli=self)

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        self._register_commands()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._register_commands()
        return super().list_commands(ctx)

    # -- the run -------------------------------------------------------------
    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[Optional[str], Optional[click.Command], list[str]]:
        resolved = super().resolve_command(ctx, args)
        _record_resolved(resolved[1])
        return resolved

    def make_context(
        self,
        info_name: Optional[str],
        args: list[str],
        parent: Optional[click.Context] = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except BaseException as exc:
            _note_exception(exc)
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            _enter_leaf(self, ctx)
            return super().invoke(ctx)
        except BaseException as exc:
            _note_exception(exc)
            raise

    def main(
        self,
        args: Optional[Any] = None,
        prog_name: Optional[str] = None,
        complete_var: Optional[str] = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        name = prog_name or self.name or "cli"
        completion = complete_var or f"_{name.replace('-', '_').upper()}_COMPLETE"
        if _run.get() is not None or os.environ.get(completion):
            # A nested call, or shell completion on every TAB: no hooks.
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        self.plugin_manager  # noqa: B018 - load plugins before anything runs
        run = _Run(Invocation((name,), self.name or name, self.host_version, time.time()))
        started = time.perf_counter()
        run_token = _run.set(run)
        current_token = _set_current(run.invocation)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode, **extra)
        except SystemExit as exc:
            self._finish(run, _exit_status(exc.code), run.exception or exc, started)
            raise
        except click.ClickException as exc:  # only without standalone_mode
            self._finish(run, exc.exit_code, exc, started)
            raise
        except click.Abort as exc:
            self._finish(run, 1, exc, started)
            raise
        except KeyboardInterrupt as exc:
            self._finish(run, 130, exc, started)
            raise
        except BaseException as exc:
            self._finish(run, 1, exc, started)
            raise
        else:
            self._finish(run, 0, None, started)
            return result
        finally:
            _reset_current(current_token)
            _run.reset(run_token)

    def _finish(
        self, run: _Run, exit_code: int, exception: Optional[BaseException], started: float
    ) -> None:
        exception = _reported(run.exception or exception)
        outcome = Outcome(exit_code, exception, (time.perf_counter() - started) * 1000.0)
        self.call_hook(run, "testkube_post_command", invocation=run.invocation, outcome=outcome)
        if debug_enabled():
            for message in self._load_failures + run.failures:
                click.echo(f"{self.name or 'cli'}: {message}", err=True)


def plugin_rows(group: HookedGroup) -> list[dict[str, Any]]:
    """What `plugins` shows: name, distribution, version and hooks of each plugin."""
    manager = group.plugin_manager
    rows = []
    for name, plugin in sorted(manager.list_name_plugin(), key=lambda pair: str(pair[0])):
        if plugin is None:
            continue
        entry = group.plugin_entry(name)
        callers = manager.get_hookcallers(plugin) or []
        rows.append(
            {
                "name": name,
                "distribution": entry.distribution if entry else None,
                "version": entry.version if entry else None,
                "hooks": sorted(caller.name for caller in callers),
            }
        )
    return rows


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    global _debug_flag
    if value:
        _debug_flag = True


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    group = ctx.find_root().command
    assert isinstance(group, HookedGroup)
    python = ".".join(map(str, sys.version_info[:3]))
    click.echo(f"{group.name} {group.host_version} (Python {python})")
    for row in plugin_rows(group):
        click.echo(f"plugin {row['name']}: {row['distribution']} {row['version']}")
    ctx.exit()


def make_cli() -> HookedGroup:
    """A fresh reference `testkube` group: the stand-in for Testkube's own CLI."""

    @click.group(
        cls=HookedGroup,
        name="testkube",
        plugin_group="testkube.plugins",
        host_version=__version__,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    @click.option(
        "--debug",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_debug,
        help="Report plugin errors on stderr (or set TESTKUBE_DEBUG=1).",
    )
    @click.option(
        "--version",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_print_version,
        help="Show the host's and the plugins' versions and exit.",
    )
    def cli() -> None:
        """Testkube CLI: every installed plugin's commands appear below."""

    @cli.command("plugins")
    @click.option("--json", "as_json", is_flag=True, help="One JSON array, for scripts.")
    def plugins_command(as_json: bool) -> None:
        """List the loaded plugins and the hooks they implement."""
        group = click.get_current_context().find_root().command
        assert isinstance(group, HookedGroup)
        rows = plugin_rows(group)
        if as_json:
            import json

            click.echo(json.dumps(rows, indent=2))
            return
        if not rows:
            click.echo("No plugins loaded.")
        for row in rows:
            source = f"{row['distribution']} {row['version']}" if row["distribution"] else "-"
            click.echo(f"{row['name']}  ({source})  hooks: {', '.join(row['hooks'])}")

    return cli


cli = make_cli()


def main() -> None:
    """Console-script entry point."""
    cli()

