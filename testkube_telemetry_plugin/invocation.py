"""What a hook is told about the running command, and how it ended."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import Any, Optional


@dataclass
class Invocation:
    """One run of the host CLI, filled in as Click resolves the command.

    `facts` is for the running command: `current_invocation().facts["steps"] = 4`
    lets a command tell plugins what only it knows.  `params` holds the leaf
    command's parsed values, `param_sources` where each came from
    (`COMMANDLINE`, `ENVIRONMENT`, `DEFAULT`, `DEFAULT_MAP` or `PROMPT`).
    """

    command_path: tuple[str, ...]
    host_name: str
    host_version: str
    started_at: float
    params: dict[str, Any] = field(default_factory=dict)
    param_sources: dict[str, str] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def subcommand(self) -> tuple[str, ...]:
        """The path without the program name, e.g. ``("create", "test")``."""
        return self.command_path[1:]


@dataclass(frozen=True)
class Outcome:
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
