"""Small bookkeeping shared by CLI processes and the flusher (`state.json`).

Notice shown, install sent, last heartbeat day, events dropped, and each sink's
back-off.  Read without a lock on the hot path; changed only under the lock.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from typing import Any, Iterator

from .locking import locked
from .paths import StrPath, atomic_write, read_text


def _file(folder: StrPath) -> str:
    return os.path.join(folder, "state.json")


def backoff_until(state: dict[str, Any], sink: str) -> float:
    """When `sink` may be tried again (epoch seconds; 0 when not backing off)."""
    entry = state.get("backoff", {}).get(sink, {})
    value = entry.get("next_attempt", 0) if isinstance(entry, dict) else 0
    return float(value) if isinstance(value, (int, float)) else 0.0


def read_state(folder: StrPath) -> dict[str, Any]:
    try:
        value = json.loads(read_text(_file(folder)))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


@contextmanager
def updating_state(folder: StrPath) -> Iterator[dict[str, Any]]:
    """Read, let the caller change, and write back if changed, all under the lock."""
    with locked(os.path.join(folder, "state.lock")):
        state = read_state(folder)
        before = json.dumps(state, sort_keys=True)
        yield state
        after = json.dumps(state, sort_keys=True)
        if after != before:
            atomic_write(_file(folder), after.encode("utf-8"))
