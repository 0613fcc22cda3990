"""The user's settings files: reading a `[telemetry]` table whatever the file holds, editing it, the anonymous id.

A file may be missing, a folder, a symbolic link, a FIFO, huge, not UTF-8,
not TOML, nested ten thousand deep, or hold the wrong types: each case becomes
one sentence naming the file and (where there is one) the line, never an
exception.  tomllib reads where there is one; tomlkit (which keeps comments)
is for editing, and for reading on Pythons before 3.11.

Edits keep comments, ordering, whitespace and keys tomlkit does not know, so
the host CLI's own settings can share the file.  A file that cannot be read as
a valid config is never rewritten by `edit_table`: the user is told which file
and line, and fixes it.  Opting out is the exception (`write_choice`): it must
work whatever the file holds, so it repairs the `[telemetry]` table alone and
keeps the rest of the file as it was, or, where it cannot be sure of that,
keeps a copy beside it.  Edits run under a lock and are written atomically
(never through a symbolic link), so twenty CLIs starting at once still agree
on one id.

The anonymous id is HMAC-SHA256 of the machine's id keyed with a random
per-install salt kept in the user config, so two installs on one machine
differ, the id survives reinstalls of the package, and nobody holding the
machine id can recompute it.  The same salt keys the hash of a cluster's id.
In CI there is no install to key: every job of one repository shares an id
derived from the CI's own variables (`ci_anonymous_id`), so a thousand jobs
are one installation rather than a thousand.

Nothing here is on a command's path: `settings.py` reads a summary of the
user's config, and only a changed file is parsed again (with this module).
"""

from __future__ import annotations

import os
import re
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional

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


STRING_KEYS = ("anonymous_id", "salt", "consent", "delivery")


def bad_value(key: str, value: Any) -> Optional[str]:
    """Why `value` cannot be the `[telemetry]` table's `key`, or None."""
    if key == "enabled":
        return None if isinstance(value, bool) else "must be true or false"
    if key in (*STRING_KEYS, *collectors.setting_keys()) and not isinstance(value, str):
        return "must be a string"
    if key in CHOICES and value not in CHOICES[key]:
        return "must be " + " or ".join(f'"{choice}"' for choice in CHOICES[key])
    return None


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
    for key in (*STRING_KEYS, *collectors.setting_keys()):
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


@contextmanager
def _writing(path: str) -> Iterator[None]:
    """Why `path` cannot be written, as the one-line ConfigError every writer of a config raises."""
    try:
        yield
    except TimeoutError:
        raise ConfigError(f"{path}: another process is editing it") from None
    except _fs.UnsafePath as exc:
        raise ConfigError(str(exc)) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be written ({exc.strerror or exc})") from None


def edit_table(
    path: str,
    change: Callable[[dict[str, Any]], Optional[dict[str, Any]]],
    lock_path: str,
    header: str = "",
    private: bool = True,
    mode: int = 0o600,
) -> dict[str, Any]:
    """Apply `change` to the file's `[telemetry]` table and save it.

    `change` gets the current table (as plain values) and returns the keys to set
    (a value of None removes the key), or None to leave the file untouched.
    `private` files live in a folder only the user may write (created 0700);
    the file gets `mode` (0644 for a project file, which is committed).
    Returns the table as it is afterwards.
    """
    import tomlkit

    with _writing(path):
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
            _apply(table, updates)
            output = tomlkit.dumps(document)
            _fs.write_atomic(path, (output if output.endswith("\n") else output + "\n").encode("utf-8"), mode=mode)
            result: dict[str, Any] = table.unwrap()
            return result


# -- writing a choice whatever the file holds (opting out always works) ----------------------------
MAX_REPAIR_BYTES = 16 * 1024 * 1024
_SECRET_VALUE = re.compile(r"""(["']?(?:anonymous_id|salt)["']?\s*=\s*)(["'])[^"'\n]*\2""")
# A byte-order mark (Notepad writes one) is not TOML, and not `\s` either: it counts as leading space here.
_LEAD = r"^[\s\ufeff]*"
_TOP_LEVEL_TABLE_KEY = re.compile(rf"{_LEAD}[\"']?{TABLE}[\"']?\s*[=.]")
# On text that is not TOML a header may be broken too (`[telemetry` without its `]`): any line that
# starts with `[` ends a table, and one naming `telemetry` starts ours.
_ANY_HEADER = re.compile(rf"{_LEAD}\[")
_TABLE_HEADER = re.compile(rf"{_LEAD}\[\[?\s*[\"']?{TABLE}(?![A-Za-z0-9_-])")


def write_choice(path: str, values: dict[str, Any], lock_path: Optional[str], header: str = "",
                 private: bool = True, mode: int = 0o600) -> list[str]:
    """Make `path`'s `[telemetry]` table hold `values` (None removes a key) whatever the file holds now.

    Returns what the user should be told (what was repaired, where a copy
    went).  A valid file is edited as `edit_table` does.  Valid TOML with a
    broken `[telemetry]` table (wrong types, not a table) has that table
    repaired and the rest kept byte for byte.  Text that is not TOML (or not
    UTF-8) has its `[telemetry]` lines replaced by a new table, the rest kept
    as it was, and a copy of the original beside it (`<name>.bak`, without the
    id and salt), since that surgery is done on text.  Something that is not
    a readable file of ours (a folder, a link, a FIFO, too large) is moved
    aside, and a new file written.  Raises ConfigError only when nothing can be
    written (a read-only disk, an untrusted folder, a held lock).
    """
    with _writing(path):
        if private:
            _fs.private_dir(os.path.dirname(path) or ".")
        if lock_path is None:
            return _write_choice(path, values, header, mode)
        _fs.private_dir(os.path.dirname(lock_path))
        with _fs.locked(lock_path):
            return _write_choice(path, values, header, mode)


def _write_choice(path: str, values: dict[str, Any], header: str, mode: int) -> list[str]:
    notes: list[str] = []
    try:
        raw: Optional[bytes] = _fs.read_bytes(path, MAX_REPAIR_BYTES)
    except FileNotFoundError:
        raw = None
    except OSError as exc:  # a folder, a link, a FIFO, another user's, unreadable, too large: not ours to edit
        problem = str(exc) if isinstance(exc, _fs.UnsafePath) else f"{path}: cannot be read ({exc.strerror or exc})"
        aside = _free_name(path)
        os.rename(path, aside)  # renames a link or a folder itself, never what it leads to
        notes.append(f"{problem}; it was moved to {aside}, and a new {os.path.basename(path)} written")
        raw = None
    utf8 = True
    if raw is None:
        text = header
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:  # kept as it is where it is not ours to change
            text, utf8 = raw.decode("utf-8", "surrogateescape"), False
    edited = _edited_document(path, text, values, notes) if utf8 and _is_toml(text) else None
    if edited is None:  # not TOML: replace the table's lines, keep the rest, and a copy of the original
        edited = _edited_text(text, values)
        backup = _backup(path, text)
        notes.append(f"{path} was {'not valid TOML' if utf8 else 'not UTF-8 text'}: its [{TABLE}] table was "
                     f"rewritten and the rest kept as it was; a copy of the original (without the anonymous id "
                     f"and salt) is in {backup}")
        if not utf8 or not _is_toml(edited):
            notes.append(f"the rest of {path} is still not {'valid TOML' if utf8 else 'UTF-8 text'}: telemetry "
                         f"stays off until it is fixed, and off after that")
    data = edited.encode("utf-8", "surrogateescape")
    _fs.write_atomic(path, data if data.endswith(b"\n") else data + b"\n", mode=mode)
    return notes


def _is_toml(text: str) -> bool:
    import tomlkit

    try:
        parse_toml(text)
        tomlkit.parse(text)
    except Exception:  # either parser's error, RecursionError, a surrogate it cannot take
        return False
    return True


def _edited_document(path: str, text: str, values: dict[str, Any], notes: list[str]) -> Optional[str]:
    """The file with its `[telemetry]` table repaired and set, or None if tomlkit cannot do it cleanly."""
    import tomlkit

    document = tomlkit.parse(text)
    repaired: list[str] = []
    table = document.get(TABLE)
    if table is not None and not isinstance(table, dict):
        del document[TABLE]
        repaired.append(f"{path}: `{TABLE}` was not a table; it was replaced by one")
        table = None
    if table is None:
        table = tomlkit.table()
        document.add(TABLE, table)
    for key, value in list(table.items()):
        problem = bad_value(str(key), value.unwrap() if hasattr(value, "unwrap") else value)
        if problem is not None and values.get(str(key)) is None:
            table.pop(key, None)
            repaired.append(f"{path}: removed `{key}`, which {problem}")
    _apply(table, values)
    output = tomlkit.dumps(document)
    checked = parse_config(path, output) if _is_toml(output) else None
    if checked is None or checked.problem is not None or any(
            (key in checked.table) if value is None else checked.table.get(key) != value
            for key, value in values.items()):
        return None
    notes.extend(repaired)
    return output


def _edited_text(text: str, values: dict[str, Any]) -> str:
    """`text` without the lines of its `[telemetry]` table (and `telemetry.x = ...` keys), and a new table."""
    import tomlkit

    kept = []
    in_table, at_top = False, True
    for line in text.splitlines(keepends=True):
        if _ANY_HEADER.match(line):
            in_table, at_top = bool(_TABLE_HEADER.match(line)), False
            if in_table:
                continue
        elif in_table or (at_top and _TOP_LEVEL_TABLE_KEY.match(line)):
            continue
        kept.append(line)
    body = "".join(kept).rstrip("\n")
    table = tomlkit.dumps({TABLE: {key: value for key, value in values.items() if value is not None}})
    return (body + "\n\n" if body else "") + table


def _free_name(path: str) -> str:
    for number in range(1, 100):
        candidate = f"{path}.bak" if number == 1 else f"{path}.bak{number}"
        if not os.path.lexists(candidate):
            return candidate
    raise _fs.UnsafePath(f"{path}: too many backups beside it ({path}.bak...); remove some")


def _backup(path: str, text: str) -> str:
    """A copy of `text` beside `path`, with the anonymous id and salt blanked: opting out keeps neither."""
    backup = _free_name(path)
    _fs.write_atomic(backup, _SECRET_VALUE.sub(r"\1\2(removed)\2", text).encode("utf-8", "surrogateescape"))
    return backup


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


def ci_anonymous_id(host: Host, provider: str, repository: str) -> str:
    """The id every job of one repository on one CI system shares (64 hex characters, like any other id).

    Keyed with the host's name, so two CLIs in one pipeline are not linked.
    The key is public, so whoever guesses a repository's name can compute its
    id: docs/privacy.md says so.  Where the CI names no repository, every job
    of that CI system (for this host) shares one id.
    """
    return keyed_hash(f"{host.stem} ci", "ci", f"{provider}\0{repository}")


def ci_salt(host: Host, provider: str, repository: str) -> str:
    """The key of a CI run's keyed hashes (a cluster's id): the same for every job of the repository, and
    never sent.  Were it the id, which every message carries, anyone holding the messages could check a
    known cluster UID against them; now that takes the repository's name, as recognising its id does."""
    return keyed_hash(f"{host.stem} ci", "salt", f"{provider}\0{repository}")


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


def _apply(table: Any, updates: dict[str, Any]) -> None:
    """Set each key of the table to its value; None removes the key (the rest of the table stays as written)."""
    for key, value in updates.items():
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value
