"""Editing `config.toml` and `.testkube.toml` without disturbing the user's text.

tomlkit keeps comments, ordering, whitespace and keys it does not know, so the
host CLI's own settings can share the file.  Edits run under a lock and are
written atomically: twenty CLIs starting at once still agree on one anonymous id.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Optional

from .locking import locked
from .paths import StrPath, atomic_write, read_text
from .settings import TABLE, toml_error

NEW_FILE_HEADER = (
    "# Testkube CLI settings.\n"
    "# Telemetry is anonymous; `testkube disable telemetry` or DO_NOT_TRACK=1 turns it off.\n"
)


class ConfigError(Exception):
    """A file that cannot be edited safely; the message is one sentence."""


def _lock_path(path: str) -> str:
    folder, name = os.path.split(path)
    return os.path.join(folder, f".{name}.lock")


def edit_table(
    path: StrPath, change: Callable[[dict[str, Any]], Optional[dict[str, Any]]]
) -> dict[str, Any]:
    """Apply `change` to the file's `[telemetry]` table and save it.

    `change` gets the current table (as plain values) and returns the keys to set
    (a value of None removes the key), or None to leave the file untouched.
    Returns the table as it is afterwards.
    """
    import tomlkit

    path = os.fspath(path)
    try:
        with locked(_lock_path(path)):
            try:
                text = read_text(path)
            except FileNotFoundError:
                text = NEW_FILE_HEADER
            except IsADirectoryError:
                raise ConfigError(f"{path}: is a folder, not a file") from None
            except UnicodeDecodeError:
                raise ConfigError(f"{path}: is not UTF-8 text") from None
            try:
                document = tomlkit.parse(text)
            except Exception as exc:
                raise ConfigError(toml_error(path, exc, text)) from None
            table = document.get(TABLE)
            if table is None:
                table = tomlkit.table()
                document.add(TABLE, table)
            elif not isinstance(table, dict):
                raise ConfigError(f"{path}: `{TABLE}` must be a table")
            plain = table.unwrap() if hasattr(table, "unwrap") else dict(table)
            updates = change(plain)
            if updates is None:
                return plain
            for key, value in updates.items():
                if value is None:
                    table.pop(key, None)
                else:
                    table[key] = value
            output = tomlkit.dumps(document)
            if not output.endswith("\n"):
                output += "\n"
            atomic_write(path, output.encode("utf-8"))
            return table.unwrap() if hasattr(table, "unwrap") else dict(table)
    except TimeoutError:
        raise ConfigError(f"{path}: another testkube process is editing it") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be written ({exc.strerror or exc})") from None


def set_values(path: StrPath, **values: Any) -> dict[str, Any]:
    """Set (or, with None, remove) keys in the file's `[telemetry]` table."""
    return edit_table(path, lambda table: values)
