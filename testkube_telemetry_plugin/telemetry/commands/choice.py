"""`enable`, `disable` and `reset`: the user's choice, written where it lasts.

Each answers in a line or two, names the setting that decided the outcome, and
turns a file it cannot use into one sentence and exit code 1 instead of a
traceback.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import click

from .. import catalogue, command_form
from ..config import ConfigError, edit_table, ensure_anonymous_id, new_file_header
from ..events import base_properties, new_record
from ..opt_out import purge_after_opt_out, send_opt_out
from ..settings import Settings, find_project_file
from ..spool import Spool


def _edit(settings: Settings, project: bool, values: dict[str, Any]) -> str:
    paths = settings.paths
    path = paths.config
    if project:
        path = find_project_file(paths.project_file_name) or os.path.join(os.getcwd(), paths.project_file_name)
    try:
        edit_table(path, lambda table: values, paths.config_lock, new_file_header(settings.host), private=not project)
    except ConfigError as exc:
        raise click.ClickException(f"{exc}; not changed") from None
    return path


def enable_command(settings_of: Callable[[], Settings]) -> click.Command:
    @click.command("enable")
    @click.option("--project", is_flag=True, help="Edit the project file here instead of your config.")
    def enable(project: bool) -> None:
        """Turn anonymous telemetry on."""
        path = _edit(settings_of(), project, {"enabled": True})
        after = settings_of()
        if project:
            click.echo(f"{path} no longer turns telemetry off for this project.")
        if not after.enabled:
            click.echo(f"Telemetry stays off: {after.decision.reason}.")
        elif not project:
            click.echo(f"Telemetry is on. Thank you! `{command_form(after.host, 'show')}` lists what is sent.")

    return enable


def disable_command(settings_of: Callable[[], Settings]) -> click.Command:
    @click.command("disable")
    @click.option("--project", is_flag=True, help="Write the project file here, for everyone working in it.")
    def disable(project: bool) -> None:
        """Turn anonymous telemetry off: one last opt-out event, then nothing."""
        before = settings_of()
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

    return disable


def reset_command(settings_of: Callable[[], Settings]) -> click.Command:
    @click.command("reset")
    def reset() -> None:
        """Start over with a new anonymous id; pending events are dropped."""
        current = settings_of()
        if not current.enabled:
            click.echo(f"Telemetry is off ({current.decision.reason}); no id is kept or created.")
            return
        spool = Spool(current.paths)
        dropped = sum(entry.events for entry in spool.entries())
        try:
            new_id, _, _ = ensure_anonymous_id(current.paths.config, current.paths.config_lock,
                                               new_file_header(current.host), renew=True)
        except ConfigError as exc:
            raise click.ClickException(f"{exc}; not changed") from None
        # Nothing of the old id stays (records, sent log, state); the new one starts as a first run
        # does: its install event now, the notice and the day's heartbeat with the next command.
        purge_after_opt_out(current)
        host = current.host
        install = catalogue.build(host, catalogue.INSTALL, base_properties(host))
        Spool(current.paths).append(new_record(host, [install]))
        click.echo(f"New anonymous id: {new_id}")
        click.echo(f"Dropped {dropped} pending event{'s' if dropped != 1 else ''}.")

    return reset
