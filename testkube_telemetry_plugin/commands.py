"""`testkube telemetry ...` and the seed's `testkube enable|disable|status telemetry`.

Every command answers the question the user asked in one or two lines, names
the setting that decided the outcome, and turns a broken config into one
sentence and exit code 1 instead of a traceback.
"""

from __future__ import annotations

import json
import os
from typing import Any, Optional

import click

from . import paths
from .settings import PROJECT_FILE, Settings, find_project_file, load_settings

MASK = "********"


def _fail(message: str) -> click.ClickException:
    return click.ClickException(message)


def status_data(settings: Settings) -> dict[str, Any]:
    """What `status --json` prints; the human form is made from the same dict."""
    from .destinations import destinations
    from .spool import Spool

    return {
        "enabled": settings.enabled,
        "decided_by": settings.decision.source,
        "reason": settings.decision.reason,
        "anonymous_id": settings.anonymous_id,
        "config_file": settings.user.path,
        "project_file": settings.project.path if settings.project else None,
        "consent": settings.consent,
        "delivery": "debug (printed, not sent)" if settings.debug else settings.delivery,
        "destinations": destinations(settings),
        "pending_events": Spool.of(paths.telemetry_dir()).count(("segment", "ga4")),
        "problems": [
            p
            for p in (
                settings.user.problem,
                settings.project.problem if settings.project else None,
                *settings.warnings,
            )
            if p
        ],
    }


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object, for scripts.")
def status(as_json: bool) -> None:
    """Show whether telemetry is on, why, and where events go."""
    data = status_data(load_settings())
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    segment, ga = data["destinations"]["segment"], data["destinations"]["ga4"]
    lines = [
        f"Telemetry is {'on' if data['enabled'] else 'off'}: {data['reason']}.",
        f"Anonymous id: {data['anonymous_id'] or 'none yet'}",
        f"Config file: {data['config_file']}",
        f"Project file: {data['project_file'] or 'none'}",
        f"Consent mode: {data['consent']}; delivery: {data['delivery']}",
        f"Segment: {segment['url']} (write key {'set' if segment['write_key_set'] else 'not set'})"
        + (f" - {segment['problem']}" if segment["problem"] else ""),
        "GA4: "
        + (
            f"{ga['url']} (measurement id {ga['measurement_id']}, api secret "
            f"{'set' if ga['api_secret_set'] else 'not set'})"
            if ga["configured"]
            else "not configured"
        )
        + (f" - {ga['problem']}" if ga.get("problem") else ""),
        f"Pending events: {data['pending_events']}",
    ]
    lines += [f"Problem: {problem}" for problem in data["problems"]]
    lines.append(
        "Turn it off with `testkube disable telemetry` (or DO_NOT_TRACK=1)."
        if data["enabled"]
        else "Turn it on with `testkube enable telemetry`."
    )
    click.echo("\n".join(lines))


def _target(project: bool) -> str:
    if not project:
        return paths.config_path()
    return find_project_file() or os.path.join(os.getcwd(), PROJECT_FILE)


def _edit(path: str, **values: Any) -> None:
    from .config_file import ConfigError, set_values

    try:
        set_values(path, **values)
    except ConfigError as exc:
        raise _fail(f"{exc}; not changed") from None


def _still(settings: Settings, wanted: bool) -> Optional[str]:
    if settings.enabled == wanted:
        return None
    return f"Telemetry stays {'on' if settings.enabled else 'off'}: {settings.decision.reason}."


@click.command("enable")
@click.option("--project", is_flag=True, help=f"Write {PROJECT_FILE} here instead of your config.")
def enable(project: bool) -> None:
    """Turn anonymous telemetry on."""
    path = _target(project)
    _edit(path, enabled=True)
    settings = load_settings()
    override = _still(settings, True)
    if project:
        click.echo(f"{path} no longer turns telemetry off for this project.")
    if override:
        click.echo(override)
    elif not project:
        click.echo("Telemetry is on. Thank you! `testkube telemetry show` lists what is sent.")


@click.command("disable")
@click.option("--project", is_flag=True, help=f"Write {PROJECT_FILE} here, for everyone in it.")
def disable(project: bool) -> None:
    """Turn anonymous telemetry off: one last opt-out event, then nothing."""
    before = load_settings()
    path = _target(project)
    values: dict[str, Any] = {"enabled": False}
    if not project:
        values.update(anonymous_id=None, salt=None)
    _edit(path, **values)
    if before.enabled:
        from .opt_out import send_opt_out

        root = click.get_current_context().find_root()
        host_version = getattr(root.command, "host_version", "unknown")
        send_opt_out(
            before,
            root.info_name or "testkube",
            host_version,
            scope="project" if project else "user",
            purge=not project,
        )
    if project:
        folder, name = os.path.split(path)
        click.echo(f"Telemetry is off for everyone working in {folder} ({name}).")
    else:
        click.echo("Telemetry is off. Nothing more will be collected or sent.")


@click.command("show")
@click.option("--json", "as_json", is_flag=True, help="One JSON object, for scripts.")
def show(as_json: bool) -> None:
    """Print pending events and the last ones sent, exactly as they are sent."""
    from . import sentlog
    from .spool import Spool

    folder = paths.telemetry_dir()
    pending = Spool.of(folder).pending(("segment", "ga4"))
    sent = sentlog.recent(folder)
    if as_json:
        click.echo(json.dumps({"pending": pending, "sent": sent}, indent=2))
        return
    click.echo(f"Pending events ({len(pending)}):")
    for message in pending:
        click.echo(json.dumps(message, indent=2))
    click.echo(f"Recently sent ({len(sent)}, oldest first):")
    for entry in sent:
        click.echo(f"-- to {entry.get('sink')} at {entry.get('sent_at')}")
        click.echo(json.dumps(entry.get("payload"), indent=2))


@click.command("flush")
def flush() -> None:
    """Deliver pending events now, in the foreground."""
    from .flush import flush_now

    code = flush_now(load_settings())
    if code:
        click.get_current_context().exit(code)


@click.command("reset")
def reset() -> None:
    """Start over with a new anonymous id; pending events are dropped."""
    from .config_file import ConfigError
    from .identity import ensure_anonymous_id
    from .spool import Spool

    folder = paths.telemetry_dir()
    spool = Spool.of(folder)
    dropped = spool.count(("segment", "ga4"))
    try:
        new_id = ensure_anonymous_id(paths.config_path(), renew=True)
    except ConfigError as exc:
        raise _fail(f"{exc}; not changed") from None
    spool.purge()
    click.echo(f"New anonymous id: {new_id}")
    click.echo(f"Dropped {dropped} pending event{'s' if dropped != 1 else ''}.")


TELEMETRY_COMMANDS = (status, enable, disable, show, flush, reset)
VERB_FIRST = ("enable", "disable", "status")
VERB_HELP = {
    "enable": "Turn a feature on (`enable telemetry`).",
    "disable": "Turn a feature off (`disable telemetry`).",
    "status": "Show a feature's status (`status telemetry`).",
}


def _verb_form(command: click.Command) -> click.Command:
    """The same command under the name `telemetry`, for `testkube enable telemetry`."""
    assert command.callback is not None
    return click.Command(
        "telemetry",
        callback=command.callback,
        params=list(command.params),
        help=command.help,
        short_help=command.short_help,
    )


def register(cli: click.Group) -> None:
    """Add `telemetry` and the verb-first forms, next to what the host already has."""
    group = click.Group("telemetry", help="Anonymous usage telemetry: see and control it.")
    for command in TELEMETRY_COMMANDS:
        group.add_command(command)
    cli.add_command(group)
    by_name: dict[str, click.Command] = {c.name or "": c for c in TELEMETRY_COMMANDS}
    for verb in VERB_FIRST:
        existing = cli.commands.get(verb)
        command = by_name[verb]
        if existing is None:
            verb_group = click.Group(verb, help=VERB_HELP[verb])
            verb_group.add_command(_verb_form(command))
            cli.add_command(verb_group)
        elif isinstance(existing, click.Group) and "telemetry" not in existing.commands:
            existing.add_command(_verb_form(command))
        # A host command of that name that is not a group is left alone.
