"""What a hook is told about the running command, and how it ended."""

from __future__ import annotations

import contextvars
from typing import Any, NamedTuple, Optional

# Plain classes rather than dataclasses: every command of the host CLI imports
# this module, and generating dataclass methods costs more than the rest of it.


class Invocation:
    """One run of the host CLI, filled in as Click resolves the command.

    `facts` is for the running command: `current_invocation().facts["steps"] = 4`
    lets a command tell plugins what only it knows.  `params` holds the leaf
    command's parsed values, `param_sources` where each came from
    (`COMMANDLINE`, `ENVIRONMENT`, `DEFAULT`, `DEFAULT_MAP` or `PROMPT`).
    """

    def __init__(
        self,
        command_path: tuple[str, ...],
        host_name: str,
        host_version: str,
        started_at: float,
        params: Optional[dict[str, Any]] = None,
        param_sources: Optional[dict[str, str]] = None,
        facts: Optional[dict[str, Any]] = None,
    ) -> None:
        self.command_path = command_path
        self.host_name = host_name
        self.host_version = host_version
        self.started_at = started_at
        self.params: dict[str, Any] = {} if params is None else params
        self.param_sources: dict[str, str] = {} if param_sources is None else param_sources
        self.facts: dict[str, Any] = {} if facts is None else facts

    def __repr__(self) -> str:
        return f"Invocation(command_path={self.command_path!r}, params={self.params!r}, facts={self.facts!r})"

    @property
    def subcommand(self) -> tuple[str, ...]:
        """The path without the program name, e.g. ``("create", "test")``."""
        return self.command_path[1:]


class Outcome(NamedTuple):
    """How the command ended: `exit_code` is what the shell sees."""

    exit_code: int
    exception: Optional[BaseException]
    duration_ms: float

    @property
    def status(self) -> str:
        """A coarse, catalogue-safe word for how it ended."""
        import click

        if self.exit_code == 0:
            return "success"
        if isinstance(self.exception, click.UsageError):
            return "usage_error"
        if isinstance(self.exception, (click.Abort, KeyboardInterrupt)):
            return "aborted"
        return "error"


_current: contextvars.ContextVar[Optional[Invocation]] = contextvars.ContextVar(
    "testkube_invocation", default=None
)


def current_invocation() -> Optional[Invocation]:
    """The invocation of the command now running, or None outside one."""
    return _current.get()


def _set_current(invocation: Optional[Invocation]) -> contextvars.Token[Optional[Invocation]]:
    return _current.set(invocation)


def _reset_current(token: contextvars.Token[Optional[Invocation]]) -> None:
    _current.reset(token)
