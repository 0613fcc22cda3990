"""What a hook is told about one command that ran, and how it ended.

Also what the user typed for it and the CLI's own words (`invocation.typed`,
`own_words`): a plugin that sends text anywhere removes the first and may keep
the second; both are worked out only when a plugin asks for them.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional

from .._values import Value

if TYPE_CHECKING:
    import click

    from .host import Host

# Plain classes rather than dataclasses: every command of the host CLI imports
# this module, and generating dataclass methods costs more than the rest of it.


class Invocation:
    """One command run by the host CLI.

    `facts` is for the running command: `current_invocation().facts["steps"] = 4`
    lets a command tell plugins what only it knows.  `params` holds the command's
    parsed values (by Python name), `options` the same values by the flags the
    user types (``{"--type": "k6/script"}``), `param_sources` where each came
    from (`COMMANDLINE`, `ENVIRONMENT`, `DEFAULT`, `DEFAULT_MAP` or `PROMPT`).

    `typed` holds every value the user supplied for this run (argv tokens that
    are not the CLI's own words, and parameter values from anywhere), and
    `own_words` the CLI's own command names and option flags: a plugin that
    sends text anywhere must remove the first and may keep the second.

    `nested` is True for a command another one runs (`ctx.invoke`, `ctx.forward`):
    its hooks fire inside the outer command's, which the user typed.
    """

    def __init__(
        self,
        command_path: tuple[str, ...],
        host: Host,
        started_at: float,
        params: Optional[dict[str, Any]] = None,
        param_sources: Optional[dict[str, str]] = None,
        options: Optional[dict[str, Any]] = None,
        facts: Optional[dict[str, Any]] = None,
        argv: tuple[str, ...] = (),
        words: Optional[Callable[[], tuple[frozenset[str], frozenset[str]]]] = None,
        report: Optional[Callable[[str], None]] = None,
    ) -> None:
        self.command_path = command_path
        self.host = host
        self.started_at = started_at
        self.params: dict[str, Any] = {} if params is None else params
        self.param_sources: dict[str, str] = {} if param_sources is None else param_sources
        self.options: dict[str, Any] = {} if options is None else options
        self.facts: dict[str, Any] = {} if facts is None else facts
        self.argv = argv
        self._words = words
        self._derived: Optional[tuple[frozenset[str], frozenset[str]]] = None
        self._report = report
        self.nested = False

    def __repr__(self) -> str:
        return f"Invocation(command_path={self.command_path!r}, params={self.params!r}, facts={self.facts!r})"

    @property
    def host_name(self) -> str:
        return self.host.display_name

    @property
    def host_version(self) -> str:
        return self.host.version

    @property
    def subcommand(self) -> tuple[str, ...]:
        """The path without the program name, e.g. ``("create", "test")``."""
        return self.command_path[1:]

    def _typed_and_own(self) -> tuple[frozenset[str], frozenset[str]]:
        # Worked out on first use: only a plugin that sends text needs them.
        if self._derived is None:
            self._derived = self._words() if self._words is not None else (frozenset(), frozenset())
        return self._derived

    @property
    def typed(self) -> frozenset[str]:
        return self._typed_and_own()[0]

    @property
    def own_words(self) -> frozenset[str]:
        return self._typed_and_own()[1]

    def report(self, message: str) -> None:
        """A plugin's diagnostic: the host shows it on stderr in debug mode only."""
        if self._report is not None:
            self._report(message)


STATUSES = ("success", "error", "usage_error", "aborted", "help")

# Click's usage errors by class name: the same names in click and in Typer's bundled copy.
USAGE_ERRORS = ("NoSuchOption", "NoSuchCommand", "BadOptionUsage", "BadArgumentUsage", "MissingParameter",
                "BadParameter", "NoArgsIsHelpError", "UsageError")


def class_names(exc: Optional[BaseException]) -> tuple[str, ...]:
    """The names of the exception's classes, its own first (how errors are told apart whatever the Click)."""
    return tuple(cls.__name__ for cls in type(exc).__mro__) if exc is not None else ()


class Outcome(Value):
    """How the command ended.

    `exit_code` is the status the shell sees, after the CLI's own `main()` mapped
    it (Typer's Ctrl-C is 130, Click's 1).  `duration_ms` runs from the start of
    argument parsing (the root's context being made) to the exit, on every path;
    for a command run with `ctx.invoke` inside another, from its call to its
    return.  `status` is one of `STATUSES`: `help` for a run that showed help
    (`--help` anywhere, or a bare group, whatever the Click version), never an
    error.  `error_type` names the exception the same way on every Click version.
    """

    __slots__ = ("exit_code", "exception", "duration_ms", "help")

    def __init__(self, exit_code: int, exception: Optional[BaseException], duration_ms: float,
                 help: bool = False) -> None:
        self.exit_code = exit_code
        self.exception = exception
        self.duration_ms = duration_ms
        self.help = help  # the run showed help rather than run a command

    @property
    def status(self) -> str:
        """A coarse, catalogue-safe word for how it ended."""
        if self.help:
            return "help"
        if self.exit_code == 0:
            return "success"
        names = class_names(self.exception)
        if "UsageError" in names:
            return "usage_error"
        if "Abort" in names or "KeyboardInterrupt" in names:
            return "aborted"
        return "error"

    @property
    def error_type(self) -> Optional[str]:
        """The exception's class name, normalised: one name for each of Click's usage errors on every Click
        version (Click before 8.2 raises a plain `UsageError` for an unknown command: `NoSuchCommand`)."""
        return error_type(self.exception)


def error_type(exception: Optional[BaseException]) -> Optional[str]:
    if exception is None:
        return None
    tagged = getattr(exception, "_hooked_error_type", None)
    if isinstance(tagged, str):
        return tagged
    names = class_names(exception)
    for name in names:
        if name in USAGE_ERRORS:
            return name
    return names[0]


class _Current(threading.local):
    """The invocation now running, per thread (see `group._Running` for why not a ContextVar)."""

    invocation: Optional[Invocation] = None


_current = _Current()


def current_invocation() -> Optional[Invocation]:
    """The invocation of the command now running, or None outside one."""
    return _current.invocation


def _set_current(invocation: Optional[Invocation]) -> Optional[Invocation]:
    """Make `invocation` the current one; returns what `_reset_current` restores."""
    previous = _current.invocation
    _current.invocation = invocation
    return previous


def _reset_current(previous: Optional[Invocation]) -> None:
    _current.invocation = previous


# -- what the user typed, and the CLI's own words -------------------------------------

def _add_values(found: set[str], value: Any) -> None:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            _add_values(found, item)
        return
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    elif hasattr(value, "name") and hasattr(value, "read"):  # an open file (click.File)
        value = value.name
    text = str(value)
    if text:
        found.add(text)


def words_of(chain: Iterable[click.Context], argv: Iterable[str]) -> tuple[frozenset[str], frozenset[str]]:
    """(what the user supplied, the CLI's own words) for a command's contexts."""
    contexts = list(chain)
    own: set[str] = set()
    for ctx in contexts:
        command = ctx.command
        if command.name:
            own.add(command.name)
        own.update(getattr(command, "commands", {}))
        for param in command.params:
            if getattr(param, "param_type_name", None) == "option":  # click's or Typer's own
                own.update(param.opts)
                own.update(param.secondary_opts)
    typed: set[str] = set()
    for token in argv:
        if token in own:
            continue
        flag, equals, value = token.partition("=")
        typed.add(value if equals and flag in own else token)
    for ctx in contexts:
        for value in ctx.params.values():
            _add_values(typed, value)
    typed.discard("")
    typed.discard("--")
    return frozenset(typed), frozenset(own)
