"""The durable on-disk queue between a command and the collectors.

One command writes one record (its events, as one JSON file), whatever the
number of collectors: each collector's delivery acknowledges the records it
was sent, and a record goes once every collector has it.  A record is written
to a hidden temporary name, synced and renamed, so many CLI processes append
at once without a lock and a crash leaves the whole record or nothing.

The cap (events and bytes) is checked against a running count kept beside the
records, so a command never lists the folder, however many records wait.
"""

from __future__ import annotations

import json
import os
import stat
import time
from typing import Any, Iterable, NamedTuple, Optional

from . import locking, safefs

# Keep a week of heavy offline use and stay small on disk.
MAX_EVENTS = 10_000
MAX_BYTES = 5 * 1024 * 1024
MAX_RECORD_BYTES = 256 * 1024  # far above any real record (events are capped at 32 KB, a few per command)
COUNT_FILE = ".count"
ACKS_FILE = ".acks"


class BadRecord(ValueError):
    """A record file that is not one of ours: dropped and counted, never sent."""


def _not_json(name: str) -> None:
    """Python reads NaN and Infinity, which are not JSON: sent, they make a collector reject the batch."""
    raise ValueError(f"{name} is not JSON")


class Entry(NamedTuple):
    """One record file: the events of one command."""

    name: str
    events: int
    size: int


def _events_in(name: str) -> Optional[int]:
    """Events from `<time>-<pid>-<random>-n<events>.json`, or None for other names."""
    if not name.endswith(".json") or name.startswith("."):
        return None
    parts = name[:-5].split("-")
    if len(parts) != 4 or len(parts[0]) != 20 or not parts[0].isdigit() or parts[3][:1] != "n":
        return None
    return int(parts[3][1:]) if parts[3][1:].isdigit() else None


def _checked(value: Any) -> dict[str, Any]:
    """The record, checked for the shape delivery relies on."""
    if not isinstance(value, dict) or not isinstance(value.get("events"), list):
        raise BadRecord("not a record")
    if not all(isinstance(value.get(key, ""), str) for key in ("host", "host_version", "anonymousId")):
        raise BadRecord("a record of the wrong shape")
    events = value["events"]
    for event in events:
        if not (
            isinstance(event, dict)
            and isinstance(event.get("event"), str)
            and isinstance(event.get("messageId"), str)
            and isinstance(event.get("timestamp"), str)
            and isinstance(event.get("properties"), dict)
            and all(isinstance(v, (str, int, float, bool)) for v in event["properties"].values())
        ):
            raise BadRecord("an event of the wrong shape")
    return value


class Spool:
    def __init__(self, folder: str) -> None:
        self.folder = folder

    def _count_lock(self) -> str:
        return os.path.join(self.folder, COUNT_FILE)

    def _adjust(self, fd: int, events: int, size: int, exact: bool = False) -> tuple[int, int]:
        """Add to (or with `exact`, set) the running count held in the locked file."""
        if not exact:
            try:
                current = os.pread(fd, 64, 0).split()
                events += int(current[0])
                size += int(current[1])
            except (OSError, ValueError, IndexError):
                pass  # unreadable: the next listing sets it right
        events, size = max(events, 0), max(size, 0)
        data = f"{events} {size}\n".encode()
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))
        return events, size

    def append(self, record: dict[str, Any]) -> int:
        """Queue one record; returns how many old events the cap dropped to make room."""
        data = json.dumps(record, separators=(",", ":")).encode("utf-8")
        events = len(record.get("events", ()))
        safefs.private_dir(self.folder)
        name = f"{time.time_ns():020d}-{os.getpid()}-{os.urandom(3).hex()}-n{events}.json"
        path = os.path.join(self.folder, name)
        tmp = os.path.join(self.folder, f".{name}.tmp")
        fd = safefs.open_file(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        try:
            safefs._write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            # Queued only once it can be counted: a count that cannot be locked (a planted
            # link, say) fails the whole append, so a caller never sees a queued record fail.
            with locking.locked(self._count_lock()) as lock:
                os.rename(tmp, path)
                total_events, total_bytes = self._adjust(lock, events, len(data))
                if total_events <= MAX_EVENTS and total_bytes <= MAX_BYTES:
                    return 0
                return self._enforce_cap(lock)
        except BaseException:
            safefs.remove(tmp)  # still there if the count could not be had
            raise

    def entries(self) -> list[Entry]:
        """The queued records, oldest first; links and strays are removed, never read."""
        try:
            names = os.listdir(self.folder)
        except OSError:
            return []
        found = []
        for name in names:
            events = _events_in(name)
            if events is None:
                continue
            path = os.path.join(self.folder, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                safefs.remove(path)  # a link (or anything else) planted among our records
                continue
            found.append(Entry(name, events, st.st_size))
        found.sort()
        return found

    def _enforce_cap(self, lock: int) -> int:
        entries = self.entries()
        events = sum(entry.events for entry in entries)
        size = sum(entry.size for entry in entries)
        dropped = 0
        for entry in entries:
            if events <= MAX_EVENTS and size <= MAX_BYTES:
                break
            if safefs.remove(os.path.join(self.folder, entry.name)):
                dropped += entry.events
            events -= entry.events
            size -= entry.size
        self._adjust(lock, events, size, exact=True)
        return dropped

    def recount(self) -> None:
        """Set the running count from a listing (the flusher does this once per run)."""
        try:
            with locking.locked(self._count_lock()) as lock:
                entries = self.entries()
                self._adjust(lock, sum(e.events for e in entries), sum(e.size for e in entries), exact=True)
        except (OSError, TimeoutError):
            pass

    def load(self, entry: Entry) -> Optional[dict[str, Any]]:
        """The record (host, version, events, an opt-out's own id); None if gone.

        Raises BadRecord for anything that is not a record of ours.
        """
        try:
            raw = safefs.read_bytes(os.path.join(self.folder, entry.name), MAX_RECORD_BYTES)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise BadRecord(str(exc)) from None
        try:
            value = json.loads(raw, parse_constant=_not_json)
        except (ValueError, RecursionError, MemoryError):
            raise BadRecord("not JSON") from None
        return _checked(value)

    def remove(self, entries: Iterable[Entry]) -> None:
        gone_events = gone_bytes = 0
        for entry in entries:
            if safefs.remove(os.path.join(self.folder, entry.name)):
                gone_events += entry.events
                gone_bytes += entry.size
        if gone_events or gone_bytes:
            try:
                with locking.locked(self._count_lock()) as lock:
                    self._adjust(lock, -gone_events, -gone_bytes)
            except (OSError, TimeoutError):
                pass

    # -- acknowledgements, kept only while some collector still needs a record ----
    def acked(self) -> dict[str, set[str]]:
        try:
            value = json.loads(safefs.read_bytes(os.path.join(self.folder, ACKS_FILE), 4 * 1024 * 1024))
        except (OSError, ValueError, RecursionError):
            return {}
        if not isinstance(value, dict):
            return {}
        return {str(k): {n for n in v if isinstance(n, str)} for k, v in value.items() if isinstance(v, list)}

    def acknowledge(self, sink: str, entries: list[Entry], sinks: Iterable[str]) -> None:
        """`sink` has these records: delete those every sink now has, note the rest."""
        others = [name for name in sinks if name != sink]
        acks = self.acked() if others else {}
        done = [e for e in entries if all(e.name in acks.get(other, ()) for other in others)]
        self.remove(done)
        if others:
            live = {entry.name for entry in self.entries()}
            acks.setdefault(sink, set()).update(e.name for e in entries)
            kept = {name: sorted(names & live) for name, names in acks.items()}
            safefs.write_atomic(os.path.join(self.folder, ACKS_FILE), json.dumps(kept).encode())

    def pending_for(self, sink: str) -> list[Entry]:
        acked = self.acked().get(sink, set())
        return [entry for entry in self.entries() if entry.name not in acked]

    def counts(self) -> tuple[int, int]:
        """(events, bytes) from the running count, without listing."""
        try:
            parts = safefs.read_bytes(self._count_lock(), 64).split()
            return int(parts[0]), int(parts[1])
        except (OSError, ValueError, IndexError):
            return 0, 0

    def purge(self) -> None:
        import shutil  # rarely needed, and it imports the compression modules

        shutil.rmtree(self.folder, ignore_errors=True)
