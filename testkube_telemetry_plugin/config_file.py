"""Editing `config.toml` and the project file without disturbing the user's text.

tomlkit keeps comments, ordering, whitespace and keys it does not know, so the
host CLI's own settings can share the file.  A file that cannot be read as a
valid config is never rewritten: the user is told which file and line, and
fixes it.  Edits run under a lock and are written atomically (never through a
symbolic link), so twenty CLIs starting at once still agree on one id.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Optional

from . import locking, safefs
from .config_read import TABLE, parse_config, read_text


class ConfigError(Exception):
    """A file that cannot be edited safely; the message is one sentence."""


def new_file_header(product: str, hint: str) -> str:
    return f"# {product} CLI settings.\n# Telemetry is anonymous; `{hint}` or DO_NOT_TRACK=1 turns it off.\n"


def edit_table(
    path: str,
    change: Callable[[dict[str, Any]], Optional[dict[str, Any]]],
    lock_path: str,
    header: str = "",
    private: bool = True,
) -> dict[str, Any]:
    """Apply `change` to the file's `[telemetry]` table and save it.

    `change` gets the current table (as plain values) and returns the keys to set
    (a value of None removes the key), or None to leave the file untouched.
    `private` files live in a folder only the user may write (created 0700).
    Returns the table as it is afterwards.
    """
    import tomlkit

    try:
        folder = os.path.dirname(path) or "."
        if private:
            safefs.private_dir(folder)
        safefs.private_dir(os.path.dirname(lock_path))
        with locking.locked(lock_path):
            text, problem = read_text(path)
            if problem is not None:
                raise ConfigError(problem)
            text = header if text is None else text
            checked = parse_config(path, text)
            if checked.problem is not None:
                raise ConfigError(checked.problem)
            document = tomlkit.parse(text)
            table = document.get(TABLE)
            if table is None:
                table = tomlkit.table()
                document.add(TABLE, table)
            plain: dict[str, Any] = table.unwrap()
            updates = change(dict(plain))
            if updates is None:
                return plain
            for key, value in updates.items():
                if value is None:
                    table.pop(key, None)
                else:
                    table[key] = value
            output = tomlkit.dumps(document)
            safefs.write_atomic(path, (output if output.endswith("\n") else output + "\n").encode("utf-8"))
            result: dict[str, Any] = table.unwrap()
            return result
    except TimeoutError:
        raise ConfigError(f"{path}: another process is editing it") from None
    except safefs.UnsafePath as exc:
        raise ConfigError(str(exc)) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be written ({exc.strerror or exc})") from None
