"""`testkube telemetry flush`: deliver now, in the foreground, and say how it went."""

from __future__ import annotations

import sys
import time

import click

from . import locking, paths
from .settings import Settings
from .spool import Spool

WAIT_FOR_FLUSHER_S = 15.0
DEADLINE_S = 120.0
ATTEMPTS = 3
PROGRESS_FROM_EVENTS = 200


def flush_now(settings: Settings) -> int:
    """Exit code: 0 when everything pending was delivered, 1 otherwise."""
    if not settings.enabled:
        click.echo(f"Telemetry is off ({settings.decision.reason}); nothing is sent.")
        return 0
    if settings.debug:
        click.echo("TESTKUBE_TELEMETRY_DEBUG is set: events are printed, never sent.")
        return 0
    folder = paths.telemetry_dir()
    spool = Spool.of(folder)
    total = spool.count(settings.sinks)
    if total == 0:
        click.echo("Nothing to send.")
        return 0
    from .flusher import lock_path

    fd = locking.acquire(lock_path(folder), WAIT_FOR_FLUSHER_S)
    if fd is None:
        click.echo("A background flusher is still delivering; try again shortly.", err=True)
        return 1
    try:
        from .delivery import deliver

        deadline = time.monotonic() + DEADLINE_S
        if total >= PROGRESS_FROM_EVENTS:
            with click.progressbar(
                length=total * len(settings.sinks), label="Sending", file=sys.stderr
            ) as bar:
                report = deliver(
                    settings, folder, deadline, respect_backoff=False, attempts=ATTEMPTS,
                    on_progress=bar.update,
                )
        else:
            report = deliver(settings, folder, deadline, respect_backoff=False, attempts=ATTEMPTS)
    finally:
        locking.release(fd)
    for sink, result in report.sinks.items():
        click.echo(
            f"{sink}: {result.sent} sent, {result.kept} kept for retry, {result.dropped} dropped"
        )
        for error in dict.fromkeys(result.errors):
            click.echo(f"  {error}", err=True)
    return 0 if report.complete else 1
