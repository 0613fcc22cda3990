"""The user's settings files: reading a `[telemetry]` table whatever the file holds, editing it, the anonymous id.

A file may be missing, a folder, a symbolic link, a FIFO, huge, not UTF-8,
not TOML, nested ten thousand deep, or hold the wrong types: each case becomes
one sentence naming the file and (where there is one) the line, never an
exception.  tomllib reads where there is one; tomlkit (which keeps comments)
is for editing, and for reading on Pythons before 3.11.

Edits keep comments, ordering, whitespace and keys tomlkit does not know, so
the host CLI's own settings can share the file.  A file that cannot be read as
a valid config is never rewritten: the user is told which file and line, and
fixes it.  Edits run under a lock and are written atomically (never through a
symbolic link), so twenty CLIs starting at once still agree on one id.

The anonymous id is HMAC-SHA256 of the machine's id keyed with a random
per-install salt kept in the user config, so two installs on one machine
differ, the id survives reinstalls of the package, and nobody holding the
machine id can recompute it.  The same salt keys the hash of a cluster's id.

Nothing here is on a command's path: `settings.py` reads a summary of the
user's config, and only a changed file is parsed again (with this module).
"""

from __future__ import annotations

import os
import re
import sys
from typing import TYPE_CHECKING, Any, Callable, Optional

from .. import _fs
from . import CONSENT_MODES, collectors, hint, product
from .settings import ConfigFile, is_anonymous_id

if TYPE_CHECKING:
    from ..hooks.host import Host

TABLE = "telemetry"
MAX_CONFIG_BYTES = 1024 * 1024
DELIVERY_MODES = ("background", "inline")
CHOICES = {"consent": CONSENT_MODES, "delivery": DELIVERY_MODES}


_HEADER = re.compile(r"^\s*\[\[?([^\]]*)\]")
_QUOTES = re.compile(r"[\s\"']")


def line_of(text: str, key: str) -> Optional[int]:
    """The line setting `key` of the `[telemetry]` table (or, for `key` = the table, the table).

    A header `[telemetry.key]`, a dotted `telemetry.key = ...` or an inline
    `telemetry = {...}` set it too; a `key` in another table does not.
    """
    name = rf"[\"']?{re.escape(key)}[\"']?"
    in_table = re.compile(rf"^\s*{name}\s*[=.]")
    at_top = re.compile(rf"^\s*[\"']?{TABLE}[\"']?\s*(?:=|\.\s*{name}\s*[=.])")
    table = ""
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            table = _QUOTES.sub("", header.group(1))
            if table == f"{TABLE}.{key}" or table == key == TABLE:
                return number
        elif in_table.match(line) if table == TABLE else (table == "" and at_top.match(line)):
            return number
    return None


def parse_toml(text: str) -> dict[str, Any]:
    try:
        import tomllib
    except ImportError:  # Python < 3.11: tomlkit reads too, a little slower
        import tomlkit

        return dict(tomlkit.parse(text).unwrap())
    return dict(tomllib.loads(text))


def toml_error(path: str, exc: BaseException, text: str = "") -> str:
    """One sentence for a parser's complaint: file, line, what is wrong."""
    if isinstance(exc, (RecursionError, MemoryError)):
        return f"{path}: not valid TOML (nested too deeply)"
    line = getattr(exc, "line", None) or getattr(exc, "lineno", None)
    message = str(exc).split(" (at line")[0].strip().rstrip(".")
    message = re.sub(r" at line \d+ col \d+$", "", message)
    if line is None:
        found = re.search(r"line (\d+)", str(exc))
        line = int(found.group(1)) if found else None
    if line is None and "end of document" in str(exc):  # tomllib names no line there: it is the last one
        line = text.count("\n") + (0 if text.endswith("\n") else 1) or 1
    duplicate = re.search(r'Key "([^"]+)" already exists', message)
    if line is None and duplicate:  # tomlkit names the key, not the line: the last one
        pattern = re.compile(rf"^\s*[\"']?{re.escape(duplicate.group(1))}[\"']?\s*=")
        numbers = [n for n, text_line in enumerate(text.splitlines(), 1) if pattern.match(text_line)]
        line = numbers[-1] if numbers else None
    where = f"{path}, line {line}" if line else str(path)
    return f"{where}: not valid TOML ({message[:120]})"


def read_text(path: str) -> tuple[Optional[str], Optional[str]]:
    """(text, None), (None, None) when missing, or (None, problem)."""
    try:
        raw = _fs.read_bytes(path, MAX_CONFIG_BYTES)
    except FileNotFoundError:
        return None, None
    except _fs.UnsafePath as exc:
        return None, str(exc)
    except OSError as exc:
        return None, f"{path}: cannot be read ({exc.strerror or exc})"
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        return None, f"{path}: is not UTF-8 text"


def read_config(path: str) -> ConfigFile:
    """Read `path`'s `[telemetry]` table; never raises."""
    text, problem = read_text(path)
    if problem is not None:
        return ConfigFile(path, True, problem=problem)
    if text is None:
        return ConfigFile(path)
    return parse_config(path, text)


def parse_config(path: str, text: str) -> ConfigFile:
    try:
        document = parse_toml(text)
    except Exception as exc:  # tomllib.TOMLDecodeError, tomlkit's ParseError, RecursionError
        return ConfigFile(path, True, problem=toml_error(path, exc, text))
    table = document.get(TABLE, {})

    def at(key: str) -> str:
        line = line_of(text, key)
        return f"{path}, line {line}" if line else str(path)

    if not isinstance(table, dict):
        return ConfigFile(path, True, problem=f"{at(TABLE)}: `{TABLE}` must be a table")
    if "enabled" in table and not isinstance(table["enabled"], bool):
        return ConfigFile(path, True, table, f"{at('enabled')}: `enabled` must be true or false, "
                                             f"not {str(table['enabled'])[:40]!r}")
    for key in ("anonymous_id", "salt", "consent", "delivery", *collectors.setting_keys()):
        if key in table and not isinstance(table[key], str):
            return ConfigFile(path, True, table, f"{at(key)}: `{key}` must be a string")
    for key, choices in CHOICES.items():
        if key in table and table[key] not in choices:
            words = " or ".join(f'"{choice}"' for choice in choices)
            return ConfigFile(path, True, table, f"{at(key)}: `{key}` must be {words}")
    return ConfigFile(path, True, table)


# -- editing ------------------------------------------------------------------------------

class ConfigError(Exception):
    """A file that cannot be edited safely; the message is one sentence."""


def new_file_header(host: Host) -> str:
    """The first lines of a settings file this plugin creates."""
    return (f"# {product(host)} CLI settings.\n"
            f"# Telemetry is anonymous; `{hint(host)}` or DO_NOT_TRACK=1 turns it off.\n")


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
            _fs.private_dir(folder)
        _fs.private_dir(os.path.dirname(lock_path))
        with _fs.locked(lock_path):
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
            _fs.write_atomic(path, (output if output.endswith("\n") else output + "\n").encode("utf-8"))
            result: dict[str, Any] = table.unwrap()
            return result
    except TimeoutError:
        raise ConfigError(f"{path}: another process is editing it") from None
    except _fs.UnsafePath as exc:
        raise ConfigError(str(exc)) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be written ({exc.strerror or exc})") from None


# -- the anonymous id -----------------------------------------------------------------------
MACHINE_ID_FILES: tuple[str, ...] = ("/etc/machine-id", "/var/lib/dbus/machine-id")


def machine_id() -> Optional[str]:
    """The operating system's machine id, or None where none can be read."""
    for path in MACHINE_ID_FILES:
        try:
            with open(path, encoding="ascii") as handle:
                value = handle.read(256).strip()
        except (OSError, UnicodeDecodeError):
            continue
        if value:
            return value
    import subprocess  # macOS only, and only when the id is made

    try:
        if sys.platform == "darwin":
            out = subprocess.run(
                ["ioreg", "-rd1", "-c", "IOPlatformExpertDevice"],
                capture_output=True, text=True, timeout=2, check=False,
            ).stdout
            for line in out.splitlines():
                if "IOPlatformUUID" in line:
                    return line.split("=")[-1].strip().strip('"') or None
        if sys.platform == "win32":
            import winreg

            key = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Microsoft\Cryptography")
            return str(winreg.QueryValueEx(key, "MachineGuid")[0]) or None
    except (OSError, subprocess.SubprocessError):
        return None
    return None


def keyed_hash(salt: str, purpose: str, value: str) -> str:
    """64 lowercase hex characters: `value` hashed with this install's key."""
    import hashlib
    import hmac

    return hmac.new(salt.encode(), f"{purpose}\0{value}".encode(), hashlib.sha256).hexdigest()


def derive(salt: str, machine: Optional[str]) -> str:
    """64 lowercase hex characters, like the `anonymousId` of Testkube's events."""
    import hashlib
    import hmac

    if machine is None:
        return os.urandom(32).hex()
    return hmac.new(salt.encode(), machine.encode(), hashlib.sha256).hexdigest()


def ensure_anonymous_id(config: str, lock_path: str, header: str, renew: bool = False) -> tuple[str, str, bool]:
    """(id, salt, created now): the stored id, created once (or anew) under the lock."""
    created = []

    def change(table: dict[str, object]) -> Optional[dict[str, object]]:
        salt = table.get("salt")
        if not renew and is_anonymous_id(table.get("anonymous_id")) and isinstance(salt, str) and salt:
            return None
        salt = os.urandom(16).hex()
        created.append(True)
        return {"salt": salt, "anonymous_id": derive(salt, machine_id())}

    table = edit_table(config, change, lock_path, header)
    anonymous_id, salt = table.get("anonymous_id"), table.get("salt")
    assert isinstance(anonymous_id, str) and isinstance(salt, str)
    return anonymous_id, salt, bool(created)
