"""A capped local log of what was sent, exactly as sent (as Dart's tool keeps).

`telemetry show` reads it, so users can audit every payload that left.  It is
appended without following links and trimmed to the last `KEEP` entries.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterable

from . import locking, safefs
from .events import not_json, to_json

KEEP = 100
MAX_LOG_BYTES = KEEP * 8192


def _file(folder: str) -> str:
    return os.path.join(folder, "sent.jsonl")


def append(folder: str, sink: str, sent: Iterable[tuple[str, Any]]) -> None:
    """Log each (sent_at, payload), the payload as it was sent; never raises."""
    data = "".join(to_json({"sink": sink, "sent_at": sent_at, "payload": payload}) + "\n"
                   for sent_at, payload in sent).encode("utf-8")
    if not data:
        return
    try:
        with locking.locked(os.path.join(folder, "sent.lock")):
            size = safefs.append(_file(folder), data)
            if size > MAX_LOG_BYTES:
                kept = _read_lines(folder)[-KEEP:]
                safefs.write_atomic(_file(folder), ("\n".join(kept) + "\n").encode("utf-8"), durable=False)
    except (OSError, TimeoutError):
        pass


def _read_lines(folder: str) -> list[str]:
    try:
        return safefs.read_bytes(_file(folder), 16 * MAX_LOG_BYTES).decode("utf-8", "replace").splitlines()
    except OSError:
        return []


def recent(folder: str, limit: int = KEEP) -> list[dict[str, Any]]:
    entries = []
    for line in _read_lines(folder)[-limit:]:
        try:
            entry = json.loads(line, parse_constant=not_json)  # NaN would break `show --json`'s readers
        except (ValueError, RecursionError):
            continue
        if isinstance(entry, dict) and all(isinstance(entry.get(key), str) for key in ("sink", "sent_at")):
            # Shown as text: a lone surrogate spelled in JSON ("\ud800") would make printing it fail.
            entries.append({**entry, **{key: entry[key].encode("utf-8", "replace").decode("utf-8")
                                        for key in ("sink", "sent_at")}})
    return entries
