"""The hook contract between a host CLI and its plugins.

Only markers and documented specifications live here, as in datasette and llm:
this module *is* the contract, and `tests/test_hookspecs.py` checks that each spec
is documented in docs/plugins.md.

The names below are the reference host's (`testkube`, hooks named `testkube_*`).
Another host gets the same specs under its own pluggy project and its own
names (`make_hookspecs`): `pre_command` rather than `testkube_pre_command`
unless it chooses a prefix.  The markers here (`hookimpl`) work for every
host: the plugin manager takes an implementation marked with them under either
name, so a plugin written for the reference host runs in any host.
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from .invocation import Invocation, Outcome

PROJECT_NAME = "testkube"
PREFIX = "testkube_"  # the reference host's hook names

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


HOOKS = ("register_commands", "pre_command", "post_command")  # the contract's hooks, without a prefix


def make_hookspecs(project_name: str, prefix: str = "") -> Any:
    """The contract's specs for a host: marked for pluggy project `project_name`, named `<prefix><hook>`.

    The reference host's (`"testkube"`, `"testkube_"`) are this module itself.
    """
    if (project_name, prefix) == (PROJECT_NAME, PREFIX):
        import sys

        return sys.modules[__name__]
    marker = pluggy.HookspecMarker(project_name)
    namespace: dict[str, Any] = {"__doc__": f"The hook contract for {project_name!r}, hooks named {prefix}<hook>."}
    for hook in HOOKS:
        template = globals()[PREFIX + hook]
        name = prefix + hook
        function = types.FunctionType(template.__code__, template.__globals__, name, template.__defaults__,
                                      template.__closure__)
        function.__doc__ = template.__doc__
        function.__qualname__ = name
        function.__annotations__ = dict(template.__annotations__)
        namespace[name] = marker(function)
    return type(f"{project_name}_hookspecs", (), namespace)
