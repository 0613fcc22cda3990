"""The `telemetry` commands: status, enable, disable, show, flush, reset, heartbeat.

Commands are built for the host they are registered in, so every message
names that host (`registration.py` decides where they appear).  Each answers in a line or two, names the setting that
decided the outcome, and turns a file it cannot use into one sentence and exit
code 1 instead of a traceback.
"""

from __future__ import annotations

import json
import os
from typing import Any

import click

from .decision import find_project_file
from .host import Host
from .invocation import current_invocation
from .settings import Settings, load_settings


def _edit(settings: Settings, project: bool, values: dict[str, Any]) -> str:
    from .config_file import ConfigError, edit_table, new_file_header
    from .notice import hint

    paths = settings.paths
    path = paths.config
    if project:
        path = find_project_file(paths.project_file_name) or os.path.join(os.getcwd(), paths.project_file_name)
    header = new_file_header(settings.host.product, hint(settings.host))
    try:
        edit_table(path, lambda table: values, paths.config_lock, header, private=not project)
    except ConfigError as exc:
        raise click.ClickException(f"{exc}; not changed") from None
    return path


def build_commands(bound: Host) -> list[click.Command]:
    """The telemetry commands for one host (`bound`, or the run's resolved host)."""

    def settings() -> Settings:
        invocation = current_invocation()
        return load_settings(invocation.host if invocation is not None else bound)

    @click.command("status")
    @click.option("--json", "as_json", is_flag=True, help="One JSON object, for scripts.")
    def status(as_json: bool) -> None:
        """Show whether telemetry is on, why, and where events go."""
        from .status import opt_out_hint, render_status, status_data

        current = settings()
        data = status_data(current)
        if as_json:
            click.echo(json.dumps(data, indent=2))
        else:
            click.echo(render_status(data, current.host.display_name, opt_out_hint(current)))

    @click.command("enable")
    @click.option("--project", is_flag=True, help="Edit the project file here instead of your config.")
    def enable(project: bool) -> None:
        """Turn anonymous telemetry on."""
        path = _edit(settings(), project, {"enabled": True})
        after = settings()
        if project:
            click.echo(f"{path} no longer turns telemetry off for this project.")
        if not after.enabled:
            click.echo(f"Telemetry stays off: {after.decision.reason}.")
        elif not project:
            click.echo(f"Telemetry is on. Thank you! `{after.host.display_name} telemetry show` lists what is sent.")

    @click.command("disable")
    @click.option("--project", is_flag=True, help="Write the project file here, for everyone working in it.")
    def disable(project: bool) -> None:
        """Turn anonymous telemetry off: one last opt-out event, then nothing."""
        from .opt_out import send_opt_out

        before = settings()
        values: dict[str, Any] = {"enabled": False}
        if not project:
            values.update(anonymous_id=None, salt=None)
        path = _edit(before, project, values)
        note = send_opt_out(before, scope="project" if project else "user", purge=not project)
        if project:
            folder, name = os.path.split(path)
            click.echo(f"Telemetry is off for everyone working in {folder} ({name}).")
        else:
            click.echo("Telemetry is off. Nothing more will be collected or sent.")
        if note:
            click.echo(note, err=True)

    @click.command("show")
    @click.option("--json", "as_json", is_flag=True, help="One JSON object, for scripts.")
    def show(as_json: bool) -> None:
        """Print pending events and the last ones sent, exactly as they are sent."""
        from .status import show_data

        data = show_data(settings())
        if as_json:
            click.echo(json.dumps(data, indent=2))
            return
        click.echo(f"Pending events ({len(data['pending'])}):")
        for message in data["pending"]:
            click.echo(json.dumps(message, indent=2))
        click.echo(f"Recently sent ({len(data['sent'])}, oldest first):")
        for entry in data["sent"]:
            click.echo(f"-- to {entry.get('sink')} at {entry.get('sent_at')}")
            click.echo(json.dumps(entry.get("payload"), indent=2))

    @click.command("flush")
    @click.option("--timeout", type=click.FloatRange(0.1, 3600), default=120.0, show_default=True,
                  help="Give up after this many seconds, whatever the collector does.")
    def flush(timeout: float) -> None:
        """Deliver pending events now, in the foreground."""
        from .flush import flush_now

        code = flush_now(settings(), timeout)
        if code:
            click.get_current_context().exit(code)

    @click.command("reset")
    def reset() -> None:
        """Start over with a new anonymous id; pending events are dropped."""
        from .anonymous_id import ensure_anonymous_id
        from .config_file import ConfigError, new_file_header
        from .events import INSTALL, base_properties, event_name, new_event, new_record
        from .notice import hint
        from .opt_out import purge_after_opt_out
        from .spool import Spool

        current = settings()
        if not current.enabled:
            click.echo(f"Telemetry is off ({current.decision.reason}); no id is kept or created.")
            return
        spool = Spool(current.paths.spool)
        dropped = sum(entry.events for entry in spool.entries())
        try:
            new_id, _, _ = ensure_anonymous_id(current.paths.config, current.paths.config_lock,
                                               new_file_header(current.host.product, hint(current.host)), renew=True)
        except ConfigError as exc:
            raise click.ClickException(f"{exc}; not changed") from None
        # Nothing of the old id stays (records, sent log, state); the new one starts as a first run
        # does: its install event now, the notice and the day's heartbeat with the next command.
        purge_after_opt_out(current)
        host = current.host
        Spool(current.paths.spool).append(new_record(host, [new_event(event_name(host, INSTALL),
                                                                      base_properties(host))]))
        click.echo(f"New anonymous id: {new_id}")
        click.echo(f"Dropped {dropped} pending event{'s' if dropped != 1 else ''}.")

    from .server import heartbeat_command

    return [status, enable, disable, show, flush, reset, heartbeat_command(settings, bound)]
