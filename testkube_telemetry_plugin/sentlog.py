"""A capped local log of what was sent, exactly as sent (as Dart's tool keeps).

`testkube telemetry show` reads it, so users can audit every payload that left.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterable

from .locking import locked
from .paths import StrPath, atomic_write, ensure_private_dir, read_text

KEEP = 100


def _file(folder: StrPath) -> str:
    return os.path.join(folder, "sent.jsonl")


def append(folder: StrPath, sink: str, sent_at: str, payloads: Iterable[Any]) -> None:
    lines = [
        json.dumps({"sink": sink, "sent_at": sent_at, "payload": p}, separators=(",", ":"))
        for p in payloads
    ]
    if not lines:
        return
    ensure_private_dir(folder)
    with locked(os.path.join(folder, "sent.lock")):
        path = _file(folder)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        if os.path.getsize(path) > KEEP * 4096:
            kept = read_text(path).splitlines()[-KEEP:]
            atomic_write(path, ("\n".join(kept) + "\n").encode("utf-8"))


def recent(folder: StrPath, limit: int = KEEP) -> list[dict[str, Any]]:
    try:
        lines = read_text(_file(folder)).splitlines()
    except OSError:
        return []
    entries = []
    for line in lines[-limit:]:
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    return entries
