"""Finding plugins through entry points without paying for it on every command.

Scanning every installed distribution with `importlib.metadata` costs tens of
milliseconds and grows with the environment, and it sits on the path of every
command.  The result is cached in a small text file keyed by everything that
can change it: the interpreter, the entry-point group, and each `sys.path`
entry with its modification time (installing or removing a distribution adds
or removes a `*.dist-info` folder, which changes the folder's mtime).  The
file is plain text, parsed with `str.split`, so reading it imports nothing.
"""

from __future__ import annotations

import os
import sys
from typing import Optional

from . import safefs
from .values import Value

CACHE_FORMAT = "entry-points-3"
MAX_CACHE_BYTES = 256 * 1024
SLOTS_KEPT = 4  # a few environments (console script, `python -m`, venvs) share one home


class PluginEntry(Value):
    """One `name = module` line of an installed distribution's entry points."""

    __slots__ = ("name", "value", "distribution", "version")

    def __init__(self, name: str, value: str, distribution: str, version: str) -> None:
        self.name = name
        self.value = value
        self.distribution = distribution
        self.version = version


def cache_key(group: str) -> str:
    parts = [CACHE_FORMAT, group, sys.executable, sys.version.replace("\n", " ")]
    for entry in sys.path:
        try:
            mtime = os.stat(entry or ".").st_mtime_ns
        except OSError:
            mtime = -1
        parts.append(f"{entry}={mtime}")
    return "\x1f".join(part.replace("\n", " ").replace("\x1f", " ") for part in parts)


def scan(group: str) -> list[PluginEntry]:
    """The slow, authoritative scan; the first distribution on sys.path wins."""
    import importlib.metadata

    seen: set[str] = set()
    found: list[PluginEntry] = []
    for dist in importlib.metadata.distributions():
        dist_name = dist.metadata["Name"] or ""
        if dist_name.lower() in seen:
            continue
        seen.add(dist_name.lower())
        for entry_point in dist.entry_points:
            if entry_point.group == group:
                found.append(PluginEntry(entry_point.name, entry_point.value, dist_name, dist.version))
    return sorted(found, key=lambda entry: entry.name)


def _slot(cache_dir: str, group: str, key: str) -> str:
    safe = "".join(ch if ch.isalnum() else "_" for ch in group)[:60]
    return os.path.join(cache_dir, f"{safe}-{safefs.checksum(key.encode('utf-8')):016x}.entry-points")


def _read(path: str, key: str) -> Optional[list[PluginEntry]]:
    try:
        intact = safefs.unsealed(safefs.read_bytes(path, MAX_CACHE_BYTES))
        lines = intact.decode("utf-8").split("\n") if intact is not None else []
    except (OSError, UnicodeDecodeError):
        return None
    if not lines or lines[0] != key:
        return None
    entries = []
    for line in lines[1:]:
        if line:
            fields = line.split("\t")
            if len(fields) != 4:
                return None  # not a file we wrote: scan again, and write it anew
            entries.append(PluginEntry(*fields))
    return entries


def _write(cache_dir: str, path: str, key: str, entries: list[PluginEntry]) -> None:
    rows = [entry.fields() for entry in entries]
    lines = [key] + ["\t".join(row) for row in rows if not any("\t" in f or "\n" in f for f in row)]
    try:
        safefs.private_dir(os.path.dirname(cache_dir))  # the home: a link there would lead elsewhere
        safefs.private_dir(cache_dir)
        safefs.write_atomic(path, safefs.sealed(("\n".join(lines) + "\n").encode("utf-8")), durable=False)
        prefix = os.path.basename(path).rsplit("-", 1)[0] + "-"
        slots = sorted((os.path.join(cache_dir, name) for name in os.listdir(cache_dir)
                        if name.startswith(prefix) and name.endswith(".entry-points")),
                       key=lambda slot: os.lstat(slot).st_mtime_ns, reverse=True)
        for old in slots[SLOTS_KEPT:]:
            safefs.remove(old)
    except OSError:
        pass  # a read-only or untrusted folder only costs speed


def discover(group: str, cache_dir: Optional[str]) -> list[PluginEntry]:
    """Entry points of `group`, from the cache when nothing that matters changed."""
    key = cache_key(group)
    path = _slot(cache_dir, group, key) if cache_dir is not None else None
    if path is not None and cache_dir is not None:
        try:
            # A folder others can write (or a link to one) could name any module to import.
            safefs.check_dir(os.path.dirname(cache_dir))
            safefs.check_dir(cache_dir)
            cached = _read(path, key)
        except OSError:
            cached = None
        if cached is not None:
            return cached
    entries = scan(group)
    if path is not None and cache_dir is not None:
        _write(cache_dir, path, key, entries)
    return entries


def load(entry: PluginEntry) -> object:
    """Import the plugin's module (and attribute, for `module:attr` values)."""
    import importlib

    module_name, _, attribute = entry.value.partition(":")
    loaded: object = importlib.import_module(module_name.strip())
    for part in filter(None, attribute.strip().split(".")):
        loaded = getattr(loaded, part)
    return loaded
