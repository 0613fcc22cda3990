"""The hook contract between a host CLI and its plugins.

Only markers and documented specifications live here, as in datasette and llm:
this module *is* the contract, and `tests/test_hookspecs.py` checks that each spec
is documented in docs/plugins.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from .invocation import Invocation, Outcome

PROJECT_NAME = "testkube"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def testkube_register_commands(cli: click.Group) -> None:
    """Add commands or groups to the root group.

    Called once, when the host group first needs its command list, so a plugin
    whose commands are never used costs only its import.
    """


@hookspec
def testkube_pre_command(invocation: Invocation) -> None:
    """Called just before the leaf command's callback runs.

    The parameters are parsed at this point; a command that fails while parsing
    its arguments (a usage error) reaches `testkube_post_command` without this
    hook having fired.
    """


@hookspec
def testkube_post_command(invocation: Invocation, outcome: Outcome) -> None:
    """Called after every command, whatever the way it ended.

    Success, `click.ClickException`, `click.Abort` and Ctrl-C, `ctx.exit(n)`,
    `SystemExit`, any other exception and usage errors all reach this hook, with
    `outcome.exit_code` equal to the exit status the shell sees.  An
    implementation that raises is reported only in debug mode and never changes
    the command's output or exit code.
    """
