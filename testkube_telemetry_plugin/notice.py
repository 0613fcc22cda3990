"""The one-time notice and, for opt-in hosts, the one-time question.

Both name the host the user is running (never another product), go to stderr
so piped output stays clean, and the question is asked only of a person at a
terminal outside CI, once, with "no" as the default.
"""

from __future__ import annotations

import click

from .host import Host


def is_interactive() -> bool:
    """A person at a terminal who can answer a question, outside CI."""
    import sys

    from .events import ci_provider

    try:
        return sys.stdin.isatty() and sys.stderr.isatty() and ci_provider() is None
    except (AttributeError, ValueError):
        return False


def hint(host: Host) -> str:
    """How to opt out, in this host's words."""
    return f"{host.display_name} disable telemetry"


def notice_text(host: Host) -> str:
    declared = host.telemetry.notice if host.telemetry else None
    if declared:
        return declared
    name = host.display_name
    return (
        f"{host.product} collects anonymous usage data (which commands run, how long they take,\n"
        "errors with personal data removed) to improve the CLI. It never includes argument\n"
        f"values, paths, names or secrets; `{name} telemetry show` shows exactly what is sent.\n"
        f"Opt out with `{hint(host)}` or DO_NOT_TRACK=1. This notice is shown once."
    )


def show_notice(host: Host) -> None:
    try:
        click.echo(notice_text(host), err=True)
    except OSError:
        pass  # a closed stderr must not break the command


def ask_consent(host: Host) -> bool:
    """Ask once; anything but an explicit yes (including Ctrl-C) is a no."""
    if not is_interactive():
        return False
    try:
        question = f"Help improve {host.product} by sending anonymous usage data?"
        return bool(click.confirm(question, default=False, err=True))
    except (click.Abort, EOFError, OSError):
        return False
