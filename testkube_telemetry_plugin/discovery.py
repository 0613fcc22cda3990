"""Finding plugins through entry points without paying for it on every command.

Scanning every installed distribution with `importlib.metadata` costs tens of
milliseconds and grows with the environment, and it sits on the path of every
command.  The result is cached in a small JSON file keyed by everything that can
change it: the interpreter, the entry-point group, and each `sys.path` entry with
its modification time (installing or removing a distribution adds or removes a
`*.dist-info` folder, which changes the folder's mtime).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, NamedTuple, Optional

from .paths import StrPath, atomic_write, read_text

CACHE_FORMAT = 2
# `testkube` and `python -m testkube_telemetry_plugin` see different sys.path
# (the script folder, or the working directory); keep a few keys so that using
# both, or a few virtual environments sharing one home, does not rescan each time.
CACHE_KEYS_KEPT = 4


class PluginEntry(NamedTuple):
    """One `name = module` line of an installed distribution's entry points."""

    name: str
    value: str
    distribution: str
    version: str


def cache_key(group: str) -> str:
    parts = [str(CACHE_FORMAT), group, sys.executable, sys.version]
    for entry in sys.path:
        try:
            mtime = os.stat(entry or ".").st_mtime_ns
        except OSError:
            mtime = -1
        parts.append(f"{entry}\0{mtime}")
    return "\n".join(parts)


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
                found.append(
                    PluginEntry(entry_point.name, entry_point.value, dist_name, dist.version)
                )
    return sorted(found, key=lambda entry: entry.name)


def _cache_file(cache_dir: StrPath, group: str) -> str:
    safe = "".join(ch if ch.isalnum() else "_" for ch in group)
    return os.path.join(cache_dir, f"entry-points-{safe}.json")


def discover(group: str, cache_dir: Optional[StrPath]) -> list[PluginEntry]:
    """Entry points of `group`, from the cache when nothing that matters changed."""
    key = cache_key(group)
    path = _cache_file(cache_dir, group) if cache_dir is not None else None
    known: list[dict[str, Any]] = []
    if path is not None:
        try:
            known = [c for c in json.loads(read_text(path)) if isinstance(c, dict)]
            for cached in known:
                if cached.get("key") == key:
                    return [PluginEntry(**entry) for entry in cached["entries"]]
        except (OSError, ValueError, TypeError, KeyError):
            known = []
    entries = scan(group)
    if path is not None:
        fresh = {"key": key, "entries": [entry._asdict() for entry in entries]}
        try:
            atomic_write(path, json.dumps([fresh, *known][:CACHE_KEYS_KEPT]).encode("utf-8"))
        except OSError:
            pass  # a read-only home only costs speed
    return entries


def load(entry: PluginEntry) -> object:
    """Import the plugin's module (and attribute, for `module:attr` values)."""
    import importlib

    module_name, _, attribute = entry.value.partition(":")
    loaded: object = importlib.import_module(module_name.strip())
    for part in filter(None, attribute.strip().split(".")):
        loaded = getattr(loaded, part)
    return loaded
