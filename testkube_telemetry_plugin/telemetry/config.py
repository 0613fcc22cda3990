"""Reading a TOML settings file's `[telemetry]` table, whatever the file holds.

A file may be missing, a folder, a symbolic link, a FIFO, huge, not UTF-8,
not TOML, nested ten thousand deep, or hold the wrong types: each case becomes
one sentence naming the file and (where there is one) the line, never an
exception.  tomllib reads where there is one; tomlkit (which keeps comments)
is for editing, and for reading on Pythons before 3.11.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from . import safefs
from .decision import ConfigFile
from .host import CONSENT_MODES

TABLE = "telemetry"
MAX_CONFIG_BYTES = 1024 * 1024
DELIVERY_MODES = ("background", "inline")
SINK_KEYS = ("segment_url", "segment_write_key", "ga_url", "ga_measurement_id", "ga_api_secret")
STRING_KEYS = ("anonymous_id", "salt", "consent", "delivery", *SINK_KEYS)
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
        raw = safefs.read_bytes(path, MAX_CONFIG_BYTES)
    except FileNotFoundError:
        return None, None
    except safefs.UnsafePath as exc:
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
    for key in STRING_KEYS:
        if key in table and not isinstance(table[key], str):
            return ConfigFile(path, True, table, f"{at(key)}: `{key}` must be a string")
    for key, choices in CHOICES.items():
        if key in table and table[key] not in choices:
            words = " or ".join(f'"{choice}"' for choice in choices)
            return ConfigFile(path, True, table, f"{at(key)}: `{key}` must be {words}")
    return ConfigFile(path, True, table)
