"""The durable on-disk queue between a command and the collectors: `current` and closed spool files.

One command appends one line (its events, as one record) to `current`, under
the spool lock: one write per command whatever the number of collectors.
When `current` grows past `FILE_BYTES`, or a delivery starts, it is closed:
renamed to an immutable spool file `seg-<time>-<random>`.  Each
collector's delivery acknowledges a prefix of each closed file (`.acks`, see
acks.py); a file goes, in one unlink, once every collector has all of it.  The
lock file `.count` also holds the running totals, so the cap (events, bytes) is
checked without listing or reading anything; when it is passed the oldest
file goes.

A line is `<events>\\t<record as JSON>`, written with `events.to_json` (no
`json` import on a command's path); the count lets the cap count without parsing.
"""

from __future__ import annotations

import os
import stat
import time
from typing import TYPE_CHECKING, Any, Iterable, Optional

from .. import _fs
from .._values import Value
from .events import BadRecord, checked_record, parse_lines, to_json

if TYPE_CHECKING:  # acks.py is imported where records are read or acknowledged, never by a command's append
    from .acks import Acks, Journal
    from .settings import Paths

# Keep a week of heavy offline use and stay small on disk.
MAX_EVENTS = 10_000
MAX_BYTES = 5 * 1024 * 1024
FILE_BYTES = 256 * 1024  # the cap drops at most this much at once
MAX_FILE_READ = 2 * FILE_BYTES  # anything larger was not written by us
CURRENT, COUNT_FILE, ACKS_FILE = "current", ".count", ".acks"
CLOSED_PREFIX = "seg-"  # closed files' names (earlier versions, which may share a home, read these too)


class Entry(Value):
    """One record: line `index` of spool file `file`, holding `events` events."""

    __slots__ = ("file", "index", "events", "size")

    def __init__(self, file: str, index: int, events: int, size: int) -> None:
        self.file = file
        self.index = index
        self.events = events
        self.size = size


class Spool:
    """One host's spool (`<home>/telemetry/spool`): what every process appends to and one delivery reads."""

    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        self.folder = paths.spool
        self._lines: dict[str, list[bytes]] = {}
        self._stamps: dict[str, tuple[int, int, int]] = {}  # (inode, size, mtime) of each listed file
        self._read_stamps: dict[str, Optional[tuple[int, int, int]]] = {}  # ...when it was read
        self._records: dict[str, list[Any]] = {}
        self._journal: Optional[Journal] = None  # kept by a delivery while it runs

    def _path(self, name: str) -> str:
        return os.path.join(self.folder, name)

    @staticmethod
    def _adjust(fd: int, events: int, size: int, exact: bool = False) -> tuple[int, int]:
        """Add to (or with `exact`, set) the running totals held in the locked file."""
        if not exact:
            try:
                current = os.pread(fd, 64, 0).split()
                events, size = events + int(current[0]), size + int(current[1])
            except (OSError, ValueError, IndexError):
                pass  # unreadable: the next recount sets it right
        data = f"{max(events, 0)} {max(size, 0)}\n".encode()
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))
        return max(events, 0), max(size, 0)

    def append(self, record: dict[str, Any]) -> int:
        """Queue one record, durably; returns how many old events the cap dropped."""
        events = len(record["events"])
        data = f"{events}\t{to_json(record)}\n".encode("utf-8")
        self.paths.folder("telemetry", "spool")
        with _fs.locked(self._path(COUNT_FILE), writes=True) as lock:
            size = self._append_current(data)
            total_events, total_bytes = self._adjust(lock, events, len(data))
            if size > FILE_BYTES:
                self._rotate()
            if total_events <= MAX_EVENTS and total_bytes <= MAX_BYTES:
                return 0
            return self._enforce_cap(lock)

    def _append_current(self, data: bytes) -> int:
        """Append to `current`; anything but a regular file there (a link, a pipe) is removed, never used.

        One `write` and no `fsync`: once it returns, the kernel has the record, so a
        process that crashes or is killed loses nothing.  A power cut may lose the
        last seconds, as with every telemetry client; syncing each command cost it
        a disk flush, held the spool lock through it, and under twenty busy
        processes made others wait past the lock's timeout (losing their record).
        """
        try:
            return _fs.append(self._path(CURRENT), data, MAX_FILE_READ)
        except OSError:
            if stat.S_ISREG(os.lstat(self._path(CURRENT)).st_mode):
                raise
        _fs.remove(self._path(CURRENT))
        return _fs.append(self._path(CURRENT), data, MAX_FILE_READ)

    def _rotate(self) -> None:
        try:
            if os.lstat(self._path(CURRENT)).st_size > 0:
                closed = f"{CLOSED_PREFIX}{time.time_ns():020d}-{os.urandom(3).hex()}"
                os.rename(self._path(CURRENT), self._path(closed))
        except FileNotFoundError:
            pass

    def rotate(self) -> None:
        """Close `current`, so what it holds can be delivered and acknowledged by name."""
        self.paths.folder("telemetry", "spool")
        with _fs.locked(self._path(COUNT_FILE)):
            self._rotate()

    def files(self) -> list[str]:
        """Closed files, oldest first; links and anything else planted here are removed."""
        from .acks import safe_name

        try:
            folder = self.paths.existing("telemetry", "spool")  # never listed through a folder we do not trust
            names = [name for name in os.listdir(folder) if name.startswith(CLOSED_PREFIX) or name == CURRENT]
        except OSError:
            return []
        found = []
        for name in names:
            try:
                st = os.lstat(self._path(name))
            except OSError:
                continue
            # A link (or anything else) is never read, never kept; nor is an empty file (it holds no
            # record, so nothing would ever acknowledge it), nor a name we never give one.
            if not stat.S_ISREG(st.st_mode) or (name != CURRENT and (st.st_size == 0
                                                                     or not safe_name(name))):
                try:
                    _fs.remove(self._path(name))
                except OSError:
                    pass  # a folder, say: skipped all the same
            elif name != CURRENT:
                found.append(name)
                self._stamps[name] = (st.st_ino, st.st_size, st.st_mtime_ns)
        return sorted(found)

    def _read(self, file: str) -> list[bytes]:
        if file not in self._lines:
            try:
                raw = _fs.read_bytes(self._path(file), MAX_FILE_READ)
            except FileNotFoundError:
                raw = b""
            except OSError:
                raw = b"!unreadable\n"  # one bad line: dropped and counted, the file removed
            lines = raw.split(b"\n")
            if file == CURRENT or lines[-1] == b"":
                lines.pop()  # the empty rest after the last newline, or a line still being written
            self._lines[file] = lines
            self._read_stamps[file] = self._stamps.get(file)
        return self._lines[file]

    def entries(self, include_current: bool = True) -> list[Entry]:
        """Every record, oldest first (what a delivery may send excludes `current`).

        A file does not change once named, so what was read and parsed of one is
        kept for the next collector; `current`, and a file replaced since, are read again.
        """
        self._journal = None
        names = self.files() + ([CURRENT] if include_current else [])
        for cache in (self._lines, self._records):
            for gone in [name for name in cache if name == CURRENT or name not in names
                         or self._read_stamps.get(name) != self._stamps.get(name)]:  # replaced since it was read
                del cache[gone]
        found = []
        for file in names:
            for index, line in enumerate(self._read(file)):
                count = line.partition(b"\t")[0]
                found.append(Entry(file, index, int(count) if count.isdigit() else 1, len(line) + 1))
        return found

    def _parsed(self, file: str) -> list[Any]:
        """Each line's record as parsed JSON (or the error)."""
        if file not in self._records:
            self._records[file] = parse_lines([line.partition(b"\t")[2] for line in self._read(file)])
        return self._records[file]

    def load(self, entry: Entry) -> dict[str, Any]:
        """The record (host, version, events, an opt-out's own id); BadRecord if it is not ours."""
        lines = self._read(entry.file)
        if entry.index >= len(lines):
            raise BadRecord("gone")
        value = self._parsed(entry.file)[entry.index]
        if isinstance(value, BaseException):
            raise BadRecord("not a record")
        record = checked_record(value)
        if str(len(record["events"])).encode() != lines[entry.index].partition(b"\t")[0]:
            raise BadRecord("the event count does not match")
        return record

    # -- acknowledgements: a prefix of each file, per collector (acks.py) ------
    def acked(self) -> Acks:
        from .acks import read

        return read(self._path(ACKS_FILE))

    def pending_for(self, collector: str, include_current: bool = True) -> list[Entry]:
        acked = self.acked()
        return [e for e in self.entries(include_current) if e.index >= acked.get(e.file, {}).get(collector, 0)]

    def journal(self) -> Journal:
        """This delivery's acknowledgements; OSError if `.acks` cannot be written (send nothing then)."""
        if self._journal is None:
            from .acks import Journal

            self._journal = Journal(self._path(ACKS_FILE), set(self.files()))
        return self._journal

    def acknowledge(self, collector: str, entries: Iterable[Entry], collectors: Iterable[str]) -> None:
        """`collector` is done with these records (sent, or dropped for good); remove what all collectors are done with.

        Only the holder of the delivery lock acknowledges, so what it read of
        `.acks` and of the folder stays true while it runs: both are kept.
        """
        journal = self.journal()
        moved = journal.advance(collector, ((e.file, e.index + 1) for e in entries if e.file != CURRENT))
        acks, live = journal.acks, journal.live
        finished = [file for file, done in acks.items() if file in live
                    and all(done.get(name, 0) >= len(self._read(file)) for name in collectors)]
        self._remove_files(finished)
        for file in [file for file in acks if file not in live or file in finished]:
            del acks[file]
        live.difference_update(finished)
        journal.write(moved)

    def _remove_files(self, files: Iterable[str], lock: Optional[int] = None) -> int:
        gone_events = gone_bytes = 0
        for file in files:
            lines = self._read(file)
            self._records.pop(file, None)  # parsed once, not needed again
            if _fs.remove(self._path(file)):
                gone_events += sum(int(c) if (c := line.partition(b"\t")[0]).isdigit() else 1 for line in lines)
                gone_bytes += sum(len(line) + 1 for line in lines)
        if gone_events or gone_bytes:
            try:
                if lock is not None:
                    self._adjust(lock, -gone_events, -gone_bytes)
                else:
                    with _fs.locked(self._path(COUNT_FILE), writes=True) as fd:
                        self._adjust(fd, -gone_events, -gone_bytes)
            except (OSError, TimeoutError):
                pass
        return gone_events

    def _enforce_cap(self, lock: int) -> int:
        """Drop the oldest files until under the cap; returns the events dropped.

        The totals said the cap is passed; they are recounted from the files first, so a damaged
        count never costs an event.  The newest file (the record just appended) is never dropped.
        """
        self._rotate()
        entries = self.entries(include_current=False)
        events, size = self._adjust(lock, sum(e.events for e in entries), sum(e.size for e in entries), exact=True)
        dropped = 0
        for file in self.files()[:-1]:
            if events <= MAX_EVENTS and size <= MAX_BYTES:
                break
            dropped += self._remove_files([file], lock)
            events, size = (int(n) for n in os.pread(lock, 64, 0).split())
        return dropped

    def recount(self) -> None:
        """Set the running totals from the files (the flusher does this once per run)."""
        try:
            with _fs.locked(self._path(COUNT_FILE), writes=True) as lock:
                entries = self.entries()
                self._adjust(lock, sum(e.events for e in entries), sum(e.size for e in entries), exact=True)
        except (OSError, TimeoutError):
            pass

    def counts(self) -> tuple[int, int]:
        """(events, bytes) from the running totals, without listing."""
        try:
            parts = _fs.read_bytes(self._path(COUNT_FILE), 64).split()
            return int(parts[0]), int(parts[1])
        except (OSError, ValueError, IndexError):
            return 0, 0

    def purge(self) -> None:
        import shutil  # rarely needed, and it imports the compression modules

        shutil.rmtree(self.folder, ignore_errors=True)
        self._lines.clear()
