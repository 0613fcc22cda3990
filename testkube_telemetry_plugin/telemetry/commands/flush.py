"""`telemetry flush`: deliver now, in the foreground, and never leave the user guessing.

Delivery runs in a worker thread while this one watches the clock: within a
second the user is told which collector we are waiting for, and a terminal
shows progress.  Every request has the time left as its deadline (covering
connecting and the whole answer), so at `--timeout` the worker has stopped,
however slowly the collector answers: the failure is recorded and backed
off, and what was not confirmed stays spooled.  It never waits for a
background flusher that has nothing to send (a flusher holds the lock only
while it sends), and never for the scheduler's batching: everything pending
goes now.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from typing import Any, Callable, Optional

import click

from .. import command_form, scheduler
from ..collectors import collectors_for
from ..settings import Settings
from ..spool import Spool

ATTEMPTS = 3
SAY_WAITING_AFTER_S = 0.5  # the README promises "within a second" of the command starting
DEADLINE_MARGIN_S = 0.05  # the last request's deadline ends this much before --timeout, to say how it went


def flush_now(settings: Settings, timeout_s: float) -> int:
    """Exit code: 0 when everything pending was delivered, 1 otherwise."""
    reason = scheduler.blocked(settings)
    if reason is not None and reason != scheduler.NOT_INFORMED:
        click.echo(reason)
        return 0
    collectors = collectors_for(settings.collectors)
    spool = Spool(settings.paths)
    entries = spool.entries()
    acked = spool.acked()
    total = sum(sum(e.events for e in spool.pending_for(collector.name, entries=entries, acked=acked))
                for collector in collectors)
    if total == 0:
        click.echo("Nothing to send.")
        return 0
    if reason == scheduler.NOT_INFORMED and not _inform_now(settings):
        click.echo(f"{total} pending event{'s' if total != 1 else ''} wait until the notice has been shown on a "
                   f"terminal (run `{command_form(settings.host, 'flush')}` there, or `"
                   f"{command_form(settings.host, 'enable')}`); nothing was sent.", err=True)
        return 1
    started = time.monotonic()
    deadline = started + timeout_s
    try:
        fd = scheduler.claim_delivery(settings.paths, min(0.5, timeout_s))  # then say what it waits for
        if fd is None:  # a flusher sends only while it holds the lock: this waits for its last request
            click.echo("Waiting for the background flusher to finish...", err=True)
            fd = scheduler.claim_delivery(settings.paths, max(0.0, deadline - time.monotonic()))
    except OSError as exc:  # a lock file we refuse to use (a link, a folder): one sentence, no traceback
        click.echo(f"Cannot deliver: {exc}", err=True)
        return 1
    if fd is None:
        click.echo(f"A background flusher is still delivering after {timeout_s:g} s; try again later.", err=True)
        return 1
    from ..delivery.loop import Report, deliver  # the HTTP stack: only when there is something to send

    outcome: list[Report] = []
    failure: list[str] = []
    progress = _Progress(total)  # already counted once per collector

    def work() -> None:
        try:
            outcome.append(deliver(settings, deadline - DEADLINE_MARGIN_S, respect_backoff=False,
                                   attempts=ATTEMPTS, on_progress=progress.advance))
        except Exception as exc:  # a file of ours we cannot use; an escaping exception prints a traceback
            failure.append(str(exc) if isinstance(exc, OSError) else f"{type(exc).__name__}: {exc}")
        finally:
            scheduler.release_delivery(fd)

    worker = threading.Thread(target=work, name="telemetry-flush", daemon=True)
    worker.start()
    worker.join(SAY_WAITING_AFTER_S)
    if worker.is_alive():
        names = ", ".join(f"{c.name} ({c.shown_url() or c.problem})" for c in collectors)
        click.echo(f"Waiting for {names}... (at most {timeout_s:g} s; --timeout to change)", err=True)
    while worker.is_alive() and time.monotonic() < deadline:
        progress.show()
        worker.join(max(0.0, min(0.2, deadline - time.monotonic())))  # ends at the deadline, not after
    progress.done()
    scheduler.after_delivery(settings)
    if failure:
        click.echo(f"Delivery stopped: {failure[0]}; what was not confirmed stays spooled.", err=True)
        return 1
    gave_up = (f"Gave up after {timeout_s:g} s: the collector did not finish answering; "
               "what was not confirmed stays spooled.")
    if not outcome:
        click.echo(gave_up, err=True)
        return 1
    report = outcome[0]
    for name, result in report.collectors.items():
        click.echo(f"{name}: {result.sent} sent, {result.kept} kept for retry, {result.dropped} dropped")
        for error in dict.fromkeys(result.errors):
            click.echo(f"  {error}", err=True)
    if report.stopped:
        click.echo(f"Stopped: {report.stopped}.", err=True)
    elif not report.complete and time.monotonic() >= deadline - 2 * DEADLINE_MARGIN_S:
        click.echo(gave_up, err=True)
    return 0 if report.complete else 1


def _inform_now(settings: Settings) -> bool:
    """On a terminal, `flush` shows the notice itself before anything leaves: then it counts as seen."""
    from ..record import mark_informed, show_notice, stderr_is_terminal

    if not stderr_is_terminal():
        return False
    show_notice(settings.host)
    mark_informed(settings.paths)
    return settings.may_send


class _Progress:
    """A progress line on a terminal's stderr; nothing when stderr is a pipe or a file."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.sent = 0
        self.shown: Optional[str] = None
        try:
            self.tty = sys.stderr.isatty()
        except (AttributeError, ValueError):
            self.tty = False

    def advance(self, events: int) -> None:
        self.sent += events

    def show(self) -> None:
        if self.tty and self.total:
            line = f"\rSending: {self.sent}/{self.total} events"
            if line != self.shown:
                sys.stderr.write(line)
                sys.stderr.flush()
                self.shown = line

    def done(self) -> None:
        if self.shown is not None:
            sys.stderr.write("\n")


class Seconds(click.FloatRange):
    """A bounded number of seconds.  `FloatRange` lets `nan` through (no comparison with it is
    false), and a NaN deadline would make every request fail at once, recorded as the collector's."""

    def convert(self, value: Any, param: Optional[click.Parameter], ctx: Optional[click.Context]) -> Any:
        number = super().convert(value, param, ctx)
        if math.isnan(number):
            self.fail(f"{value!r} is not a number of seconds.", param, ctx)
        return number


def flush_command(settings_of: Callable[[], Settings]) -> click.Command:
    @click.command("flush")
    @click.option("--timeout", type=Seconds(0.1, 3600), default=120.0, show_default=True,
                  help="Give up after this many seconds, whatever the collector does.")
    def flush(timeout: float) -> None:
        """Deliver pending events now, in the foreground."""
        code = flush_now(settings_of(), timeout)
        if code:
            click.get_current_context().exit(code)

    return flush
