"""`enable`, `disable` and `reset`: the user's choice, written where it lasts.

Each answers in a line or two and names the setting that decided the outcome.
Opting out always works: whatever `config.toml` holds (invalid TOML, wrong
types, not a file at all), `disable` turns telemetry off and exits 0, repairing
only the `[telemetry]` table (`config.write_choice`), so a scripted opt-out
never fails.  `enable` under an opt-out variable writes nothing and says why.
`--project` edits the file the repository commits: at its root (the nearest
folder with `.git`), readable by everyone (0644).
"""

from __future__ import annotations

import os
from typing import Any, Callable, Optional

import click

from .. import command_form, disabling_env
from ..config import ConfigError, edit_table, ensure_anonymous_id, new_file_header, write_choice
from ..opt_out import purge_after_opt_out, send_opt_out
from ..record import mark_informed
from ..settings import Settings, find_project_file, printable
from ..spool import Spool

PROJECT_FILE_MODE = 0o644  # committed and read by everyone who clones the repository


def repository_root(start: str) -> Optional[str]:
    """The nearest folder at or above `start` holding `.git` (a folder, or a file in a worktree)."""
    here = start
    while True:
        if os.path.lexists(os.path.join(here, ".git")):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def project_file_for_disable(settings: Settings) -> tuple[str, Optional[str]]:
    """(the project file to write, a note): the nearest one inside the repository, else the repository's root,
    else (no repository) the working folder, which the note says."""
    name = settings.paths.project_file_name
    cwd = os.path.realpath(os.getcwd())
    root = repository_root(cwd)
    existing = find_project_file(name, cwd)
    if existing is not None and (root is None or os.path.dirname(existing) == root
                                 or os.path.dirname(existing).startswith(root.rstrip(os.sep) + os.sep)):
        return existing, None
    if root is not None:
        return os.path.join(root, name), None
    return os.path.join(cwd, name), (f"No repository here or above (no .git): {name} was written in "
                                     f"{cwd}, for it and the folders below it.")


def say(text: str, err: bool = False) -> None:
    """`click.echo`, for text that may hold a path or a variable's bytes that are not UTF-8."""
    click.echo(printable(text), err=err)


def _lock_of(settings: Settings) -> Optional[str]:
    """The settings lock, where the home can hold it (a project file is written even when it cannot)."""
    return settings.paths.config_lock if settings.home_issue is None else None


def enable_command(settings_of: Callable[[], Settings]) -> click.Command:
    @click.command("enable")
    @click.option("--project", is_flag=True, help="Stop the project file here from turning telemetry off.")
    def enable(project: bool) -> None:
        """Turn anonymous telemetry on."""
        before = settings_of()
        host = before.host
        variable = disabling_env(host, os.environ)
        if variable is not None:  # it would stay off: writing `enabled = true` now would surprise them later
            say(f"Telemetry stays off: {before.decision.reason}. Nothing was written; unset {variable}, "
                       f"then run `{command_form(host, 'enable')}` again.")
            return
        if project:
            path = find_project_file(before.paths.project_file_name)
            if path is None:
                say("No project file here or above turns telemetry off; nothing was written.")
                return
            try:
                edit_table(path, lambda table: {"enabled": None}, before.paths.config_lock, private=False,
                           mode=PROJECT_FILE_MODE)
            except ConfigError as exc:
                raise click.ClickException(printable(f"{exc}; not changed")) from None
            say(f"{path} no longer turns telemetry off for this project.")
        else:
            paths = before.paths
            try:
                edit_table(paths.config, lambda table: {"enabled": True}, paths.config_lock, new_file_header(host))
            except ConfigError as exc:
                raise click.ClickException(printable(f"{exc}; not changed")) from None
            mark_informed(paths)  # an explicit yes: nothing waits for the notice
        after = settings_of()
        if not after.enabled:
            say(f"Telemetry stays off: {after.decision.reason}.")
        elif not project:
            say(f"Telemetry is on. Thank you! `{command_form(host, 'show')}` lists what is sent.")

    return enable


def disable_command(settings_of: Callable[[], Settings]) -> click.Command:
    @click.command("disable")
    @click.option("--project", is_flag=True, help="Write the project file at the repository's root, for everyone.")
    def disable(project: bool) -> None:
        """Turn anonymous telemetry off: one last opt-out event, then nothing."""
        before = settings_of()
        host = before.host
        values: dict[str, Any] = {"enabled": False}
        if not project:
            values.update(anonymous_id=None, salt=None)
        notes: list[str] = []
        if project:
            path, where = project_file_for_disable(before)
            notes += [where] if where else []
        else:
            path = before.paths.config
        if not project and before.home_issue is not None:
            # Nothing under a folder we do not trust is written; it is off while the problem lasts.
            notes.append(f"Nothing was written: {before.home_issue}. Run this again once it is fixed, "
                         "or set DO_NOT_TRACK=1.")
        else:
            try:
                notes += write_choice(path, values, _lock_of(before), new_file_header(host), private=not project,
                                      mode=PROJECT_FILE_MODE if project else 0o600)
            except ConfigError as exc:
                raise click.ClickException(printable(f"{exc}; not changed. DO_NOT_TRACK=1 turns telemetry off "
                                                     "for a process whatever the files say")) from None
        note = send_opt_out(before, scope="project" if project else "user", purge=not project)
        if project:
            folder, name = os.path.split(path)
            say(f"Telemetry is off for everyone working in {folder} ({name}).")
        else:
            say("Telemetry is off. Nothing more will be collected or sent.")
        for line in [*notes, note]:
            if line:
                say(line, err=True)

    return disable


def reset_command(settings_of: Callable[[], Settings]) -> click.Command:
    @click.command("reset")
    def reset() -> None:
        """Start over with a new anonymous id; pending events are dropped."""
        current = settings_of()
        if not current.enabled:
            say(f"Telemetry is off ({current.decision.reason}); no id is kept or created.")
            return
        if current.ci is not None:
            say(f"In CI ({current.ci}) every job of this repository shares one id, derived from the CI's "
                       "variables and never stored: there is nothing to reset.")
            return
        spool = Spool(current.paths)
        dropped = sum(entry.events for entry in spool.entries())
        informed = current.informed_by == "notice"
        try:
            new_id, _, _ = ensure_anonymous_id(current.paths.config, current.paths.config_lock,
                                               new_file_header(current.host), renew=True)
        except ConfigError as exc:
            raise click.ClickException(printable(f"{exc}; not changed")) from None
        # Nothing of the old id stays (records, sent log, state). The same person goes on: no install
        # event (it would count a second installation), and the notice they saw still counts.
        purge_after_opt_out(current)
        if informed:
            mark_informed(current.paths)
        say(f"New anonymous id: {new_id}")
        say(f"Dropped {dropped} pending event{'s' if dropped != 1 else ''}.")

    return reset
