"""`telemetry status` and `telemetry show`: the decision, each collector, the queue, and what was sent.

Both are built as one dict first (`--json` prints it as is), and the human
form is made from the same dict, so the two never disagree.  Secrets (write
key, API secret) are never printed, only whether they are set; URLs are shown
with their user info and query values masked.  `status` also says whether
anything may leave yet (the notice not yet seen on a terminal holds it), and
what a collector lacks when it is never contacted.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, Callable, Optional

import click

from .. import collectors as registry
from .. import command_form, hint, scheduler
from .. import state as state_module
from ..collectors import collectors_for
from ..events import BadRecord, segment_message
from ..settings import Settings, printable
from ..spool import Entry, Spool

INFORMED = {
    "ci": "a CI run: collected without a notice, under one id shared by every job of the repository",
    "notice_disabled": "the notice is switched off by its variable, so you know of it",
    "config": "`enabled = true` in your config",
    "notice": "you have seen the notice on a terminal (or run `enable telemetry`)",
}

if TYPE_CHECKING:
    from ...hooks.host import Host
SHOW_PENDING = state_module.KEEP_SENT  # `show` prints the last this many pending events, as it does sent ones


def _when(epoch: float) -> Optional[str]:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch)) if epoch else None


def collectors(settings: Settings, spool: Spool, entries: list[Entry]) -> dict[str, dict[str, Any]]:
    trusted = settings.home_issue is None  # nothing is read through a folder we do not trust
    current = state_module.load(settings.paths) if trusted else state_module.State()
    acked = spool.acked() if trusted else {}
    now = time.time()
    found = {}
    for collector in collectors_for(settings.collectors):
        status = current.collectors.get(collector.name, state_module.CollectorStatus())
        retry_at = current.retry_at(collector.name, now)
        found[collector.name] = {
            **collector.describe(),
            "missing": [settings.host.env("TELEMETRY_" + key.upper())
                        for key in collector.missing(settings.collectors)],
            "pending_events": sum(entry.events for entry in spool.pending_for(collector.name, entries=entries,
                                                                               acked=acked)),
            "failures": status.failures,
            "last_error": status.last_error or None,
            "last_error_at": _when(status.last_error_at),
            "next_retry_at": _when(retry_at) if retry_at > now else None,
            "last_sent_at": _when(status.last_sent_at),
        }
    return found


def status_data(settings: Settings) -> dict[str, Any]:
    """What `status --json` prints."""
    spool = Spool(settings.paths)
    trusted = settings.home_issue is None
    counters = state_module.load(settings.paths).counters if trusted else {}
    informed_by = settings.informed_by if settings.enabled else None
    entries = spool.entries() if trusted else []
    pending = sum(entry.events for entry in entries)
    return {
        "enabled": settings.enabled,
        "decided_by": settings.decision.source,
        "reason": settings.decision.reason,
        "off_by_problem": settings.decision.problem,
        "may_send": settings.may_send,
        "informed_by": informed_by,
        "ci": settings.ci,
        "anonymous_id": settings.anonymous_id,
        "config_file": settings.user.path,
        "project_file": settings.project.path if settings.project else None,
        "consent": settings.consent,
        "delivery": "debug (printed, not sent)" if settings.debug else settings.delivery,
        "collectors": collectors(settings, spool, entries),
        "pending_events": pending,
        "next_delivery": next_delivery(settings, spool, pending) if trusted else None,
        "not_sent": {name: count for name, count in counters.items() if count},
        "problems": [p for p in (settings.user.problem, settings.project.problem if settings.project else None,
                                 *settings.warnings) if p],
    }


def how_to_configure(env_prefix: str) -> str:
    """The variables that give each collector what it needs to be contacted."""
    ways = [" and ".join(f"{env_prefix}_TELEMETRY_{key.upper()}" for key in (cls.settings[0], *cls.credentials))
            for cls in registry.REGISTRY.values()]
    return "; or ".join(ways)


def next_delivery(settings: Settings, spool: Spool, pending: int) -> Optional[dict[str, Any]]:
    """When pending events leave the machine (scheduler.next_delivery), with times as text; None while
    nothing may be sent (off, no collector, the notice not yet seen: said elsewhere in `status`)."""
    if scheduler.blocked(settings) is not None:
        return None
    _, size, since, base = spool.counts()
    found = scheduler.next_delivery(settings, (pending, size, since, min(base, pending)))
    found["due_at"] = _when(found["due_at"]) if found["due_at"] is not None else None
    return found


def _next_line(info: dict[str, Any], host: Host) -> str:
    flush = f"`{command_form(host, 'flush')}` sends everything now"
    if info["due_at"] is None:
        return f"Next delivery: nothing is waiting; {info['policy']} delivery (see docs/delivery.md)."
    if info["policy"] != "batched":
        when = "with the next command" if info["due_now"] else f"with the first command after {info['due_at']}"
        return f"Next delivery: {when} ({info['policy']}); {flush}."
    if info["due_now"]:
        return f"Next delivery: with the next command; {flush}."
    return (f"Next delivery: with the first command after {info['due_at']}, or once {info['batch_events']} "
            f"new events are pending ({info['new_events']} now); {flush}.")


def render_status(data: dict[str, Any], host: Host, opt_out_hint: str) -> str:
    lines = [f"Telemetry is {'on' if data['enabled'] else 'off'}: {data['reason']}."]
    if data["enabled"] and data["informed_by"] is None:
        lines.append(f"Nothing is sent yet: the notice has not been shown on a terminal. Run any "
                     f"`{host.display_name}` command in a terminal (or `{command_form(host, 'enable')}`); "
                     "until then events stay here.")
    elif data["enabled"]:
        lines.append(f"Events may be sent: {INFORMED.get(data['informed_by'], data['informed_by'])}.")
    lines += [
        f"Anonymous id: {data['anonymous_id'] or 'none yet'}",
        f"Config file: {data['config_file']}",
        f"Project file: {data['project_file'] or 'none'}",
        f"Consent mode: {data['consent']}; delivery: {data['delivery']}",
    ]
    if not data["collectors"]:
        lines.append(f"Collectors: none configured; events stay on this machine (`{command_form(host, 'show')}`). "
                     f"To send them, set {how_to_configure(host.env_prefix)}.")
    for name, info in data["collectors"].items():
        secrets = ", ".join(f"{key[:-len('_set')].replace('_', ' ')} {'set' if value else 'not set'}"
                            for key, value in info.items() if key.endswith("_set"))
        line = f"{name}: {info['url']}{f' ({secrets})' if secrets else ''}; {info['pending_events']} pending"
        if info["problem"]:
            line += f"; problem: {info['problem']}"
            if info.get("missing"):
                line += f" (set {' and '.join(info['missing'])})"
        if info["failures"]:
            line += f"; {info['failures']} failure(s), last: {info['last_error']} at {info['last_error_at']}"
        if info["next_retry_at"]:
            line += f"; next try at {info['next_retry_at']}"
        lines.append(line)
    lines.append(f"Pending events: {data['pending_events']}")
    if data["next_delivery"] is not None and data["pending_events"]:
        lines.append(_next_line(data["next_delivery"], host))
    lines += [f"Problem: {problem}" for problem in data["problems"]]
    lines.append(f"Turn it off with `{opt_out_hint}` (or DO_NOT_TRACK=1)." if data["enabled"]
                 else _turn_on_hint(data["decided_by"], host, data.get("off_by_problem", False)))
    return "\n".join(lines)


def _turn_on_hint(decided_by: str, host: Host, problem: bool = False) -> str:
    """What turns it on from where it was turned off: `enable` alone cannot undo a project file or a variable."""
    if problem and decided_by in ("user", "project"):
        return (f"It stays off until that file is fixed (`{command_form(host, 'disable')}` repairs it and "
                "keeps it off).")
    if decided_by == "ci":
        return "It stays off in CI runs: the CLI collects nothing there."
    if decided_by == "project":
        return f"Turn it on for this project with `{command_form(host, 'enable')} --project`."
    if decided_by == "env":
        return "Turn it on by unsetting that variable."
    if decided_by == "home":
        return "It stays off until the folder is fixed."
    return f"Turn it on with `{command_form(host, 'enable')}`."


def show_data(settings: Settings, last: Optional[int] = None) -> dict[str, Any]:
    """Pending events exactly as they would be sent now (the `last` records' only, if given), and the
    last ones sent."""
    if settings.home_issue is not None:
        return {"pending": [], "sent": []}  # nothing is read through a folder we do not trust
    spool = Spool(settings.paths)
    pending = []
    anonymous_id = settings.anonymous_id or "(no id yet)"
    entries = spool.entries()
    if not last:
        spool.parse_all()
    for entry in entries[-last:] if last else entries:
        try:
            record = spool.load(entry)
        except BadRecord:
            continue
        owner = record.get("anonymousId") or anonymous_id
        pending += [segment_message(record, event, owner) for event in record["events"]]
    return {"pending": pending, "sent": state_module.recently_sent(settings.paths),
            **({"pending_events": sum(entry.events for entry in entries)} if last else {})}


def status_command(settings_of: Callable[[], Settings]) -> click.Command:
    @click.command("status")
    @click.option("--json", "as_json", is_flag=True, help="One JSON object, for scripts.")
    def status(as_json: bool) -> None:
        """Show whether telemetry is on, why, and where events go."""
        current = settings_of()
        data = status_data(current)
        if as_json:
            click.echo(json.dumps(data, indent=2))  # ASCII: bytes that are not UTF-8 are escaped
        else:
            click.echo(printable(render_status(data, current.host, hint(current.host))))

    return status


def show_command(settings_of: Callable[[], Settings]) -> click.Command:
    @click.command("show")
    @click.option("--json", "as_json", is_flag=True, help="One JSON object, for scripts.")
    def show(as_json: bool) -> None:
        """Print pending events and the last ones sent, exactly as they are sent."""
        if as_json:  # compact: the C encoder (indenting is Python's, and slow for 10,000 events)
            click.echo(json.dumps(show_data(settings_of())))
            return
        data = show_data(settings_of(), last=SHOW_PENDING)  # as many as the sent log keeps: a terminal shows no more
        pending = data["pending"][-SHOW_PENDING:]
        total = max(data.get("pending_events", 0), len(pending))
        click.echo(f"Pending events ({total}):")
        if total > len(pending):
            click.echo(f"... {total - len(pending)} earlier ones (`show --json` lists every one), then:")
        for message in pending:
            click.echo(json.dumps(message, indent=2))
        click.echo(f"Recently sent ({len(data['sent'])}, oldest first):")
        for entry in data["sent"]:
            click.echo(f"-- to {entry.get('sink')} at {entry.get('sent_at')}")
            click.echo(json.dumps(entry.get("payload"), indent=2))

    return show
