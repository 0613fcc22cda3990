"""From a finished command to one spooled record, cheaply and without ever raising: the post-command hook's body.

It answers "is telemetry on?" from the settings (the user's config read
through its summary), turns the command into catalogue events (usage, the
command's own, the error), adds the install event (with a new id) and the
day's heartbeat when due, writes one record, and makes sure a flusher will
deliver it when a delivery is due (scheduler.py).  The network is never
touched here, except with `delivery = inline`, and then within a hard deadline.

It also shows what a user must see: the first-run notice and, for opt-in
hosts, the one-time question (only to a person at a terminal outside CI, with
"no" as the default).  The notice goes to stderr (piped output stays clean)
before the command's output: the pre-command hook shows it (`announce`), and
the post-command hook only when no command ran (a usage error).  It counts as
seen only on a terminal: until then it is shown on every run, and nothing
leaves the machine (`Settings.may_send`); events are kept and go with the
first delivery after it.  In CI nobody reads it: the host's CI policy covers
CI runs, which share one id per repository and send no install event.  In
debug mode it prints the very events it would spool, built by the same code,
and writes nothing.

The error's text is the one free text that leaves, so it is built from what
the host knows: a usage error becomes a fixed sentence made from Click's
exception, and any other message loses every value the user typed before the
scrubber's allow-list sees it.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional

import click

from .. import _fs
from ..hooks.host import env_flag
from . import catalogue, command_form, declared, hint, product
from . import state as state_module
from .catalogue import HEARTBEAT_COUNTS, Keyed
from .events import base_properties, ci_provider, new_record, segment_message
from .settings import INFORMED_MARKER, Paths, Settings, load
from .spool import Spool

if TYPE_CHECKING:
    from ..hooks.host import Host
    from ..hooks.invocation import Invocation, Outcome

MakeEvents = Callable[[Mapping[str, Any], Keyed], list[dict[str, Any]]]  # (base properties, keyed hash) -> events
OWN_GROUP = "telemetry"
DEBUG_LABEL = "[telemetry]"


_announced_for: Optional[Invocation] = None  # the run whose pre-command hook saw to the notice


def is_own_command(path: tuple[str, ...]) -> bool:
    """The plugin's own commands are not usage of the host CLI."""
    return bool(path) and (path[0] == OWN_GROUP or path[1:2] == (OWN_GROUP,))


def announce(invocation: Invocation) -> None:
    """The pre-command hook: the notice, when due, before the command prints anything. Never raises."""
    global _announced_for
    if invocation.nested:
        return  # run by the command the user typed, whose own pre-command hook saw to it
    _announced_for = invocation
    try:
        if is_own_command(invocation.subcommand) or _surely_informed(invocation.host):
            return
        notify_if_due(load(invocation.host, os.environ, full=False))
    except Exception as exc:
        invocation.report(f"telemetry: notice not shown: {type(exc).__name__}: {exc}")


def _surely_informed(host: Host) -> bool:
    """What makes the notice needless, checked without reading any setting (every command asks)."""
    env = os.environ
    if ci_provider(env) is not None:
        return True
    if any(env_flag(env.get(host.env(name))) is True for name in ("TELEMETRY_NOTICE_DISABLED", "TELEMETRY_DEBUG")):
        return True
    return os.path.lexists(os.path.join(host.home_dir(), "telemetry", INFORMED_MARKER))


def notify_if_due(settings: Settings) -> None:
    """Show the notice if telemetry is on and nobody has been told; it counts once seen on a terminal."""
    if not settings.enabled or settings.debug:
        return
    informed_by = settings.informed_by
    if informed_by == "config" and not settings.paths.informed():
        mark_informed(settings.paths)  # the next commands learn it from the marker, without reading settings
    if informed_by is not None:
        return
    show_notice(settings.host)
    if stderr_is_terminal():
        mark_informed(settings.paths)


def mark_informed(paths: Paths) -> None:
    """Remember that the user has been told (the notice on a terminal, `enable`); never raises."""
    try:
        folder = paths.folder("telemetry")
        _fs.write_atomic(os.path.join(folder, INFORMED_MARKER), b"informed\n", durable=False)
    except OSError:
        pass  # told again next time: nothing is sent meanwhile


def stderr_is_terminal() -> bool:
    import sys

    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def record_command(invocation: Invocation, outcome: Outcome) -> None:
    """The post-command hook: never raises, never changes the command's result."""
    host = invocation.host
    try:
        if is_own_command(invocation.subcommand):
            return
        settings = load(host, os.environ, full=False)
        if not settings.enabled:
            if settings.decision.source == "default" and settings.consent == "opt-in":
                _maybe_ask_consent(host, settings)
            return
        if _announced_for is not invocation and not invocation.nested:  # no pre hook ran (a usage error, --help)
            notify_if_due(settings)
        rule = catalogue.rule_for(invocation.subcommand, host)
        keyed = catalogue.needs_key(rule, invocation.facts)
        record(settings, lambda base, key: command_events(invocation, outcome, rule, base, key), keyed)
    except Exception as exc:
        invocation.report(f"telemetry: not recorded: {type(exc).__name__}: {exc}")


def error_details(invocation: Invocation, exception: Optional[BaseException]) -> tuple[str, str]:
    """(error_type, message) with nothing the user typed in the message.

    The type is named the same way on every Click version (and Typer's bundled
    copy): `NoSuchCommand` for an unknown command, whatever class raised it.
    """
    if exception is None:
        return "Exit", ""
    from ..hooks.invocation import class_names, error_type
    from . import scrub

    names = class_names(exception)
    kind = error_type(exception) or names[0]
    if {"SystemExit", "Exit", "Abort", "KeyboardInterrupt"} & set(names):
        return kind, ""
    if "UsageError" in names:
        return kind, scrub.usage_error_message(exception, invocation.typed, invocation.own_words)  # type: ignore[arg-type]
    text = exception.format_message() if "ClickException" in names else str(exception)  # type: ignore[attr-defined]
    return kind, scrub.scrub(text, invocation.typed, invocation.own_words)


def command_events(invocation: Invocation, outcome: Outcome, rule: Optional[catalogue.Event],
                   base: Mapping[str, Any], keyed: Keyed) -> list[dict[str, Any]]:
    """The catalogue's events for one finished command: usage, the command's own, the error.

    A run that showed help (`status` help) ran nothing: no command event of its own, no error.
    """
    host = invocation.host
    command = " ".join(invocation.subcommand) or "(none)"
    found = [catalogue.build(host, catalogue.COMMAND, base, {
        "command": command, "exit_code": outcome.exit_code, "status": outcome.status,
        "duration_ms": outcome.duration_ms})]
    if rule is not None and outcome.status not in ("usage_error", "help"):
        found.append(catalogue.build(host, rule, base, keyed=keyed, invocation=invocation, outcome=outcome))
    if outcome.exit_code != 0 and outcome.status != "help":
        error_type, message = error_details(invocation, outcome.exception)
        found.append(catalogue.build(host, catalogue.ERROR, base, {
            "command": command, "error_type": error_type, "exit_code": outcome.exit_code, "message": message}))
    return found


def _maybe_ask_consent(host: Host, settings: Settings) -> None:
    if not is_interactive() or state_module.load(settings.paths).consent_asked:
        return
    from .config import edit_table, new_file_header

    with state_module.updating(settings.paths) as edit:
        edit.state = edit.state.replace(consent_asked=True)
    answer = ask_consent(host)
    paths = settings.paths
    edit_table(paths.config, lambda table: {"enabled": answer}, paths.config_lock, new_file_header(host))


def _identity(settings: Settings, need_salt: bool) -> tuple[Optional[str], Optional[str], bool]:
    """(id, salt, created now); the config is read only when the id is missing or a key is needed.

    In CI nothing is created (no id, no install event): every job of the
    repository shares the id derived from the CI's variables.
    """
    if settings.ci is not None:
        return None, settings.salt if need_salt else None, False
    if settings.has_id and not need_salt:
        return None, None, False
    from .config import ensure_anonymous_id, new_file_header

    paths = settings.paths
    return ensure_anonymous_id(paths.config, paths.config_lock, new_file_header(settings.host))


def _keyed_with(salt: Optional[str]) -> Keyed:
    def keyed(raw: str) -> str:
        from .config import keyed_hash

        assert salt is not None
        return keyed_hash(salt, "cluster", raw)

    return keyed


def due_events(host: Host, base: Mapping[str, Any], created: bool, heartbeat_counts: Optional[dict[str, int]],
               command: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What one command spools: the install event for a new id, the day's heartbeat if due, the command's events."""
    found = [catalogue.build(host, catalogue.INSTALL, base)] if created else []
    if heartbeat_counts is not None:
        given = {"source": "cli", **{prop: heartbeat_counts.get(key, 0) for prop, key in HEARTBEAT_COUNTS.items()}}
        found.append(catalogue.build(host, catalogue.HEARTBEAT, base, given))
    return found + command


def record(settings: Settings, make_events: MakeEvents, need_salt: bool = False) -> None:
    """Spool the due events (install, heartbeat, then `make_events`'s) and see to delivery."""
    host, paths = settings.host, settings.paths
    if settings.debug:
        _print_only(settings, make_events)
        return
    _anonymous_id, salt, created = _identity(settings, need_salt)
    base = base_properties(host)
    command = make_events(base, _keyed_with(salt))
    paths.folder("telemetry")
    spool = Spool(paths)
    today = time.strftime("%Y-%m-%d", time.gmtime())
    dropped = -1
    if state_module.heartbeat_day(paths) != today:
        dropped = _spool_with_heartbeat(settings, spool, base, created, command, today)
    if dropped < 0:
        dropped = spool.append(new_record(host, due_events(host, base, created, None, command)))
    state_module.add_count(paths, "dropped_spool", dropped)
    if settings.has_collector:
        from .scheduler import after_spool

        after_spool(settings, spool.totals)


def _spool_with_heartbeat(settings: Settings, spool: Spool, base: Mapping[str, Any], created: bool,
                          command: list[dict[str, Any]], today: str) -> int:
    """Spool the events with the day's heartbeat, if it is still due, under the state lock.

    The counters the heartbeat reports are reset only after the record holding
    it is safely spooled: if the spool cannot be written, they stay.  Returns
    what the cap dropped, or -1 when another process sent the heartbeat first.
    """
    host, paths = settings.host, settings.paths
    with state_module.updating(paths) as edit:
        current = edit.state
        if current.heartbeat_day == today:
            return -1
        reported = {key: current.counters.get(key, 0) for key in HEARTBEAT_COUNTS.values()}
        dropped = spool.append(new_record(host, due_events(host, base, created, reported, command)))
        edit.state = state_module.without_counts(current, reported).replace(heartbeat_day=today)
    return dropped


def _print_only(settings: Settings, make_events: MakeEvents) -> None:
    """Debug mode: print what would be spooled and sent now; write nothing, send nothing."""
    host = settings.host
    full = load(host)  # the salt, to hash a cluster's id as a real run would
    base = base_properties(host)
    command = make_events(base, _keyed_with(full.salt or "debug-salt-not-created"))
    due = state_module.heartbeat_day(settings.paths) != time.strftime("%Y-%m-%d", time.gmtime())
    counts = state_module.load(settings.paths).counters if due else None
    print_events(new_record(host, due_events(host, base, not settings.has_id, counts, command)), full.anonymous_id)


def print_events(record: Mapping[str, Any], anonymous_id: Optional[str]) -> None:
    """Each message as it would be sent, one JSON line after a label, on stderr (never mixed into stdout)."""
    import json

    for event in record["events"]:
        message = segment_message(record, event, anonymous_id or "(created on the first real run)")
        try:
            click.echo(f"{DEBUG_LABEL} {json.dumps(message, sort_keys=True)}", err=True)  # flushed, unlike print
        except (OSError, ValueError):
            return  # a closed stderr must not break the command


# -- what the user is told ---------------------------------------------------------------------------

def is_interactive() -> bool:
    """A person at a terminal who can answer a question, outside CI."""
    import sys

    try:
        return sys.stdin.isatty() and sys.stderr.isatty() and ci_provider() is None
    except (AttributeError, ValueError):
        return False


def notice_text(host: Host) -> str:
    own = declared(host).notice
    if own:
        return own
    return (
        f"{product(host)} collects anonymous usage data (which commands run, how long they take,\n"
        "errors with personal data removed) to improve the CLI. It never includes argument\n"
        f"values, paths, names or secrets; `{command_form(host, 'show')}` shows exactly what is sent.\n"
        f"Opt out with `{hint(host)}` or DO_NOT_TRACK=1. Nothing is sent before this\n"
        "notice has been shown on a terminal; there, it is shown once."
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
        question = f"Help improve {product(host)} by sending anonymous usage data?"
        return bool(click.confirm(question, default=False, err=True))
    except (click.Abort, EOFError, OSError):
        return False

