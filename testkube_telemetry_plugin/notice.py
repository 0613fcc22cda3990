"""The one-time notice and, for opt-in hosts, the one-time question.

Both go to stderr, so piped output stays clean; the question is asked only of a
person at a terminal outside CI, once, with "no" as the default.
"""

from __future__ import annotations

import click

from . import environment

NOTICE = (
    "Testkube collects anonymous usage data (which commands run, how long they take,\n"
    "errors with personal data removed) to improve the CLI. It never includes argument\n"
    "values, paths, names or secrets; `testkube telemetry show` shows exactly what is sent.\n"
    "Opt out with `testkube disable telemetry` or DO_NOT_TRACK=1. This notice is shown once."
)
QUESTION = "Help improve Testkube by sending anonymous usage data?"


def show_notice() -> None:
    try:
        click.echo(NOTICE, err=True)
    except OSError:
        pass  # a closed stderr must not break the command


def ask_consent() -> bool:
    """Ask once; anything but an explicit yes (including Ctrl-C) is a no."""
    if not environment.is_interactive():
        return False
    try:
        return bool(click.confirm(QUESTION, default=False, err=True))
    except (click.Abort, EOFError, OSError):
        return False
