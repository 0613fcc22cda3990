"""From a finished command to one spooled record, cheaply and without ever raising.

This is the post-command hook's body.  It answers "is telemetry on?" from the
fast path, turns the command into catalogue events (usage, the catalogue's
own, the error), adds the install event (with a new id) and the day's
heartbeat when due, writes one record, and makes sure a flusher will deliver
it.  The network is never touched here, except with `delivery = inline`, and
then within a hard deadline.

The error's text is the one free text that leaves, so it is built from what
the host knows: a usage error becomes a fixed sentence made from Click's
exception, and any other message loses every value the user typed before the
scrubber's allow-list sees it.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, Callable, Optional

from . import catalogue, safefs
from . import state as state_module
from .catalogue import HEARTBEAT_COUNTS, Keyed
from .events import COMMAND, ERROR, HEARTBEAT, INSTALL, base_properties, event_name, new_event, new_record
from .fastpath import Quick, quick_settings
from .host import Host
from .spool import Spool

if TYPE_CHECKING:
    from .invocation import Invocation, Outcome

EventPairs = list[tuple[str, dict[str, Any]]]
OWN_GROUP = "telemetry"


def is_own_command(path: tuple[str, ...]) -> bool:
    """The plugin's own commands are not usage of the host CLI."""
    return bool(path) and (path[0] == OWN_GROUP or path[1:2] == (OWN_GROUP,))


def record_command(invocation: Invocation, outcome: Outcome) -> None:
    """The post-command hook: never raises, never changes the command's result."""
    host = invocation.host
    try:
        if is_own_command(invocation.subcommand):
            return
        quick = quick_settings(host, os.environ)
        if not quick.decision.enabled:
            if quick.decision.source == "default" and quick.consent == "opt-in":
                _maybe_ask_consent(host, quick)
            return
        rule = catalogue.rule_for(invocation.subcommand)
        keyed = catalogue.needs_key(rule, invocation.facts)
        record(host, quick, lambda key: command_events(invocation, outcome, rule, key), keyed)
    except Exception as exc:
        invocation.report(f"telemetry: not recorded: {type(exc).__name__}: {exc}")


def error_details(invocation: Invocation, exception: Optional[BaseException]) -> tuple[str, str]:
    """(error_type, message) with nothing the user typed in the message."""
    if exception is None:
        return "Exit", ""
    import click

    from . import scrub

    error_type = type(exception).__name__
    if isinstance(exception, (SystemExit, click.exceptions.Exit, click.Abort, KeyboardInterrupt)):
        return error_type, ""
    if isinstance(exception, click.UsageError):
        return error_type, scrub.usage_error_message(exception, invocation.typed, invocation.own_words)
    text = exception.format_message() if isinstance(exception, click.ClickException) else str(exception)
    return error_type, scrub.scrub(text, invocation.typed, invocation.own_words)


def command_events(
    invocation: Invocation, outcome: Outcome, rule: Optional[catalogue.EventRule], keyed: catalogue.Keyed
) -> list[tuple[str, dict[str, Any]]]:
    """(canonical event, properties) pairs for one finished command."""
    path = invocation.subcommand
    command = " ".join(path) or "(none)"
    found: list[tuple[str, dict[str, Any]]] = [
        (COMMAND, {"command": command, "exit_code": outcome.exit_code, "status": outcome.status,
                   "duration_ms": round(outcome.duration_ms, 1)})
    ]
    if rule is not None and outcome.status != "usage_error":
        found.append((rule.event, catalogue.properties_for(rule, invocation, outcome, keyed)))
    if outcome.exit_code != 0:
        error_type, message = error_details(invocation, outcome.exception)
        found.append((ERROR, {"command": command, "error_type": error_type,
                              "exit_code": outcome.exit_code, "message": message}))
    return found


def _maybe_ask_consent(host: Host, quick: Quick) -> None:
    from . import notice

    folder = quick.paths.telemetry
    if not notice.is_interactive() or state_module.load(folder).consent_asked:
        return
    from .config_file import edit_table, new_file_header
    from .notice import ask_consent, hint

    with state_module.updating(folder) as box:
        box.state = box.state.replace(consent_asked=True)
    answer = ask_consent(host)
    paths = quick.paths
    edit_table(paths.config, lambda table: {"enabled": answer}, paths.config_lock,
               new_file_header(host.product, hint(host)))


def _identity(host: Host, quick: Quick, need_salt: bool) -> tuple[Optional[str], Optional[str], bool]:
    """(id, salt, created now); the config is read only when the id is missing or a key is needed."""
    if quick.has_id and not need_salt:
        return None, None, False
    from .anonymous_id import ensure_anonymous_id
    from .config_file import new_file_header
    from .notice import hint

    paths = quick.paths
    return ensure_anonymous_id(paths.config, paths.config_lock, new_file_header(host.product, hint(host)))


def record(host: Host, quick: Quick, make_events: Callable[[Keyed], EventPairs], need_salt: bool = False) -> None:
    """Spool the due events (install, heartbeat, then `make_events`'s) and see to delivery."""
    paths = quick.paths
    if quick.debug:
        _print_only(host, quick, make_events)
        return
    anonymous_id, salt, created = _identity(host, quick, need_salt)

    def keyed(raw: str) -> str:
        from .anonymous_id import keyed_hash

        assert salt is not None
        return keyed_hash(salt, "cluster", raw)

    base = base_properties(host)
    pairs: EventPairs = ([(INSTALL, {})] if created else []) + make_events(keyed)
    events = [new_event(event_name(host, name), {**base, **props}) for name, props in pairs]
    folder = safefs.private_dir(paths.telemetry)
    spool = Spool(paths.spool)
    today = time.strftime("%Y-%m-%d", time.gmtime())
    dropped = -1
    if state_module.heartbeat_day(folder) != today:
        dropped = _spool_with_heartbeat(host, folder, spool, events, today, base)
    if dropped < 0:
        dropped = spool.append(new_record(host, events))
    state_module.add_count(folder, "dropped_spool", dropped)
    if quick.has_collector:
        from .scheduler import after_spool

        after_spool(host, paths, quick.delivery, quick.deadline_s)


def _spool_with_heartbeat(host: Host, folder: str, spool: Spool, events: list[dict[str, Any]], today: str,
                          base: dict[str, Any]) -> int:
    """Spool `events` with the day's heartbeat, if it is still due, under the state lock.

    The counters the heartbeat reports are reset only after the record holding
    it is safely spooled: if the spool cannot be written, they stay.  Returns
    what the cap dropped, or -1 when another process sent the heartbeat first.
    """
    first_run = state_module.heartbeat_day(folder) is None
    with state_module.updating(folder) as box:
        current = box.state
        if current.heartbeat_day == today:
            return -1
        if first_run:
            from .notice import show_notice

            show_notice(host)
        reported = {key: current.counters.get(key, 0) for key in HEARTBEAT_COUNTS.values()}
        props = {**base, "source": "cli", **{prop: reported[key] for prop, key in HEARTBEAT_COUNTS.items()}}
        heartbeat = new_event(event_name(host, HEARTBEAT), props)
        at = 1 if events and events[0]["event"] == event_name(host, INSTALL) else 0
        dropped = spool.append(new_record(host, events[:at] + [heartbeat] + events[at:]))
        box.state = state_module.without_counts(current, reported).replace(heartbeat_day=today)
    return dropped


def _print_only(host: Host, quick: Quick, make_events: Callable[[Keyed], EventPairs]) -> None:
    """Debug mode: print what would be spooled and sent; write nothing, send nothing."""
    from .debug import print_events
    from .settings import load_settings

    settings = load_settings(host)
    salt = settings.salt or "debug-salt-not-created"

    def keyed(raw: str) -> str:
        from .anonymous_id import keyed_hash

        return keyed_hash(salt, "cluster", raw)

    base = base_properties(host)
    pairs: EventPairs = [] if quick.has_id else [(INSTALL, {})]
    if state_module.heartbeat_day(quick.paths.telemetry) != time.strftime("%Y-%m-%d", time.gmtime()):
        pairs.append((HEARTBEAT, {"source": "cli"}))
    pairs += make_events(keyed)
    events = [new_event(event_name(host, name), {**base, **props}) for name, props in pairs]
    print_events(new_record(host, events), settings.anonymous_id)
