"""The durable on-disk queue between the command and the network.

Each write is one small file, written to a temporary name and renamed, so many
CLI processes can append at once without a lock and a crash leaves either the
whole file or nothing.  Each sink (Segment, GA4) has its own folder, so an event
leaves one sink's queue only when that sink answered 2xx.  File names carry the
time, the event count and the size, so the cap is enforced from a directory
listing alone.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Iterable, NamedTuple, Optional

from .paths import StrPath, atomic_write

# Keep a week of heavy offline use and stay small on disk.
MAX_EVENTS = 10_000
MAX_BYTES = 5 * 1024 * 1024



def _parse_name(name: str) -> Optional[tuple[int, int]]:
    """(events, bytes) from `<time>-<pid>-<random>-n<events>-b<bytes>.json`.

    Plain string work rather than a regex: this runs for every file on every
    command's cap check, and compiling a pattern costs more than the listing.
    """
    if not name.endswith(".json") or name.startswith("."):
        return None
    parts = name[:-5].split("-")
    if len(parts) != 5 or len(parts[0]) != 20 or parts[3][:1] != "n" or parts[4][:1] != "b":
        return None
    events, size = parts[3][1:], parts[4][1:]
    if not (parts[0].isdigit() and parts[1].isdigit() and events.isdigit() and size.isdigit()):
        return None
    return int(events), int(size)


class Chunk(NamedTuple):
    """One spool file: the events of one command, for one sink."""

    name: str
    path: str
    events: int
    size: int


class Spool:
    def __init__(self, folder: StrPath) -> None:
        self.folder = os.fspath(folder)

    @classmethod
    def of(cls, telemetry_folder: StrPath) -> Spool:
        """The spool inside a telemetry state folder."""
        return cls(os.path.join(telemetry_folder, "spool"))

    def sink_dir(self, sink: str) -> str:
        return os.path.join(self.folder, sink)

    def append(self, sinks: Iterable[str], messages: list[dict[str, Any]]) -> int:
        """Queue `messages` for each sink; returns how many old events the cap dropped."""
        data = json.dumps(messages, separators=(",", ":")).encode("utf-8")
        dropped = 0
        for sink in sinks:
            name = (
                f"{time.time_ns():020d}-{os.getpid()}-{os.urandom(3).hex()}"
                f"-n{len(messages)}-b{len(data)}.json"
            )
            atomic_write(os.path.join(self.sink_dir(sink), name), data)
            dropped = max(dropped, self.enforce_cap(sink))
        return dropped

    def chunks(self, sink: str) -> list[Chunk]:
        """The sink's queued files, oldest first."""
        folder = self.sink_dir(sink)
        try:
            names = os.listdir(folder)
        except OSError:
            return []
        found = []
        for name in names:
            parsed = _parse_name(name)
            if parsed is not None:
                found.append(Chunk(name, os.path.join(folder, name), *parsed))
        found.sort()
        return found

    def enforce_cap(self, sink: str) -> int:
        """Drop the oldest files past the cap; returns how many events went."""
        chunks = self.chunks(sink)
        events = sum(chunk.events for chunk in chunks)
        size = sum(chunk.size for chunk in chunks)
        dropped = 0
        for chunk in chunks:
            if events <= MAX_EVENTS and size <= MAX_BYTES:
                break
            try:
                os.unlink(chunk.path)
            except FileNotFoundError:
                pass  # another process dropped or sent it first
            else:
                dropped += chunk.events
            events -= chunk.events
            size -= chunk.size
        return dropped

    @staticmethod
    def read(chunk: Chunk) -> Optional[list[dict[str, Any]]]:
        """The chunk's messages; None if it is gone, [] if it is unreadable."""
        try:
            with open(chunk.path, "rb") as handle:
                value = json.loads(handle.read())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return []
        if not isinstance(value, list):
            return []
        return [message for message in value if isinstance(message, dict)]

    @staticmethod
    def remove(chunks: Iterable[Chunk]) -> None:
        for chunk in chunks:
            try:
                os.unlink(chunk.path)
            except FileNotFoundError:
                pass

    def pending(self, sinks: Iterable[str]) -> list[dict[str, Any]]:
        """Every queued message once, whichever sinks still hold it, oldest first."""
        seen: dict[str, dict[str, Any]] = {}
        for sink in sinks:
            for chunk in self.chunks(sink):
                for message in self.read(chunk) or []:
                    seen.setdefault(str(message.get("messageId")), message)
        return sorted(seen.values(), key=lambda message: str(message.get("timestamp")))

    def count(self, sinks: Iterable[str]) -> int:
        return max((sum(c.events for c in self.chunks(sink)) for sink in sinks), default=0)

    def purge(self) -> None:
        import shutil  # rarely needed, and it imports the compression modules

        shutil.rmtree(self.folder, ignore_errors=True)
