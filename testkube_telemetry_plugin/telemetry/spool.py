"""The durable on-disk queue between a command and the collectors: `current` and closed spool files.

One command appends one line (its events, as one record) to `current`, under
the spool lock: one write per command whatever the number of collectors.
When `current` grows past `FILE_BYTES`, or a delivery starts, it is closed:
renamed to an immutable spool file `seg-<time>-<random>`, whose time is never
before the newest one's (a clock that was ahead cannot make a newer file look
older).  Each collector's delivery acknowledges a prefix of each closed file
(`.acks`, see acks.py); a file goes, in one unlink, once every collector has
all of it.  A delivery joins the file it just closed to the one before it
while no collector has sent part of either, so a collector that keeps failing
while another works does not leave one small file per delivery behind.

The lock file `.count` also holds the running totals, `<events> <bytes>
<since> <base>`: the cap (events, bytes) is checked without listing or
reading anything, `base` is what the last delivery left (a collector failed
it), and `since` is when the oldest newer record was spooled; the scheduler
decides from them whether a delivery is due.  When the cap is passed, the
oldest files go (reading only those), until a file's worth is free.

A line is `<events>\\t<record as JSON>`, written with `events.to_json` (no
`json` import on a command's path); the count lets the cap count without
parsing.  A line is always started on a line of its own: an append that
finds the file not ending in a newline (an earlier write cut short by a full
disk) starts with one, so a torn record never swallows the next.
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
FILE_BYTES = 256 * 1024  # a closed file holds about this much; the cap frees about this much at once
CAP_FREE_EVENTS = 500  # ...or this many events, whichever it reaches first
MAX_FILE_READ = 2 * FILE_BYTES  # anything larger was not written by us
CURRENT, COUNT_FILE, ACKS_FILE = "current", ".count", ".acks"
CLOSED_PREFIX = "seg-"  # closed files' names (earlier versions, which may share a home, read these too)
UNCOUNTED = b"?"  # the count of a record recovered from a line an earlier write tore

Totals = tuple[int, int, float, int]  # events, bytes, since (epoch), base (events the last delivery left)


class Entry(Value):
    """One record: line `index` of spool file `file`, holding `events` events."""

    __slots__ = ("file", "index", "events", "size")

    def __init__(self, file: str, index: int, events: int, size: int) -> None:
        self.file = file
        self.index = index
        self.events = events
        self.size = size


def _events_of(line: bytes) -> int:
    count = line.partition(b"\t")[0]
    return int(count) if count.isdigit() else 1


def _recovered(line: bytes) -> bytes:
    """A line holding a torn record and then a whole one (written by a version that did not start
    each record on a new line): the whole one, its count unknown; any other line as it is."""
    if line.count(b"\t") < 2:
        return line
    return UNCOUNTED + line[line.rfind(b"\t"):]


def _time_of(name: str) -> int:
    digits = name[len(CLOSED_PREFIX):len(CLOSED_PREFIX) + 20]
    return int(digits) if digits.isdigit() else 0


class Spool:
    """One host's spool (`<home>/telemetry/spool`): what every process appends to and one delivery reads."""

    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        self.folder = paths.spool
        self.totals: Totals = (0, 0, 0.0, 0)  # as the last append left them
        self._lines: dict[str, list[bytes]] = {}
        self._stamps: dict[str, tuple[int, int, int]] = {}  # (inode, size, mtime) of each listed file
        self._read_stamps: dict[str, Optional[tuple[int, int, int]]] = {}  # ...when it was read
        self._records: dict[str, list[Any]] = {}
        self._journal: Optional[Journal] = None  # kept by a delivery while it runs

    def _path(self, name: str) -> str:
        return self.folder + os.sep + name

    # -- the running totals, in the lock file ---------------------------------------------------------
    @staticmethod
    def _parse_totals(data: bytes) -> Optional[Totals]:
        parts = data.split()
        try:
            events, size = int(parts[0]), int(parts[1])
            since = float(parts[2]) if len(parts) > 2 else 0.0  # earlier versions wrote two fields
            base = int(parts[3]) if len(parts) > 3 else 0
        except (ValueError, IndexError):
            return None
        if since != since or not 0 <= since < 1e11:
            since = 0.0
        return max(events, 0), max(size, 0), since, min(max(base, 0), max(events, 0))

    def _load_totals(self, fd: int) -> Totals:
        try:
            found = self._parse_totals(os.pread(fd, 128, 0))
        except OSError:
            found = None
        return found if found is not None else (0, 0, 0.0, 0)  # unreadable: the next recount sets it right

    def _store_totals(self, fd: int, totals: Totals) -> None:
        """Write the totals: the last thing done under the lock, since a `.count` with other names (a
        hard-link snapshot of the home) is replaced rather than written through, and the next holder
        then locks the new file (`_fs.acquire` checks it locked what the name holds)."""
        events, size, since, base = totals
        data = f"{events} {size} {since!r} {base}\n".encode()
        if os.fstat(fd).st_nlink > 1:
            _fs.write_atomic(self._path(COUNT_FILE), data, durable=False)
            return
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))

    def counts(self) -> Totals:
        """(events, bytes, since, base) from the running totals, without listing."""
        try:
            found = self._parse_totals(_fs.read_bytes(self._path(COUNT_FILE), 128))
        except OSError:
            found = None
        return found if found is not None else (0, 0, 0.0, 0)

    # -- appending ------------------------------------------------------------------------------------
    def append(self, record: dict[str, Any], alone: bool = False) -> int:
        """Queue one record; returns how many old events the cap dropped.  `self.totals` says what is pending.

        `alone`: in a closed file of its own, for a record a delivery may send while it must keep the
        others (the opt-out event, a server's heartbeat before the notice): an acknowledgement covers
        every record before it in its file (acks.py), so it must have none before it.
        """
        events = len(record["events"])
        data = f"{events}\t{to_json(record)}\n".encode("utf-8")
        self.paths.folder("telemetry", "spool")
        with _fs.locked(self._path(COUNT_FILE)) as lock:
            total, size, since, base = self._load_totals(lock)
            if alone:
                self._rotate()
            written = self._append_current(data)
            # The oldest new record: this one.  A time ahead of now was taken by a clock that was ahead (or
            # has gone back): counted from now instead, the records wait the usual time, not that much longer.
            if total - base <= 0 or since <= 0 or since > time.time():
                since = time.time()
            totals: Totals = (total + events, size + len(data), since, base)
            if written > FILE_BYTES or alone:
                self._rotate()
            dropped = 0
            if totals[0] > MAX_EVENTS or totals[1] > MAX_BYTES:
                totals, dropped = self._enforce_cap(totals)
            self._store_totals(lock, totals)
            self.totals = totals
            return dropped

    def _append_current(self, data: bytes) -> int:
        """Append to `current`; anything but a regular file there (a link, a pipe) is removed, never used.

        One `write` and no `fsync`: once it returns, the kernel has the record, so a
        process that crashes or is killed loses nothing.  A power cut may lose the
        last seconds, as with every telemetry client; syncing each command cost it
        a disk flush, held the spool lock through it, and under twenty busy
        processes made others wait past the lock's timeout (losing their record).
        """
        try:
            return _fs.append(self._path(CURRENT), data, MAX_FILE_READ, whole_lines=True)
        except OSError:
            if stat.S_ISREG(os.lstat(self._path(CURRENT)).st_mode):
                raise
        _fs.remove(self._path(CURRENT))
        return _fs.append(self._path(CURRENT), data, MAX_FILE_READ, whole_lines=True)

    def _names(self) -> list[str]:
        try:
            return sorted(name for name in os.listdir(self.folder) if name.startswith(CLOSED_PREFIX))
        except OSError:
            return []

    def _new_name(self, after: Optional[str] = None) -> str:
        """A closed file's name: its time is now, or just after the newest name if that is later."""
        names = self._names()
        newest = max([_time_of(name) for name in names[-1:]] + ([_time_of(after)] if after else []), default=0)
        return f"{CLOSED_PREFIX}{max(time.time_ns(), newest + 1):020d}-{os.urandom(3).hex()}"

    def _rotate(self) -> Optional[str]:
        try:
            if os.lstat(self._path(CURRENT)).st_size > 0:
                closed = self._new_name()
                os.rename(self._path(CURRENT), self._path(closed))
                return closed
        except FileNotFoundError:
            pass
        return None

    def rotate(self) -> Optional[str]:
        """Close `current`, so what it holds can be delivered and acknowledged by name; its new name."""
        self.paths.folder("telemetry", "spool")
        with _fs.locked(self._path(COUNT_FILE)):
            return self._rotate()

    # -- reading --------------------------------------------------------------------------------------
    def files(self) -> list[str]:
        """Closed files, oldest first; links and anything else planted here are removed."""
        from .acks import safe_name

        try:
            folder = self.paths.existing("telemetry", "spool")  # never listed through a folder we do not trust
            names = [name for name in os.listdir(folder) if name.startswith(CLOSED_PREFIX)]
        except OSError:
            return []
        found = []
        self._stamps = {}
        for name in names:
            try:
                st = os.lstat(self._path(name))
            except OSError:
                continue
            # A link (or anything else) is never read, never kept; nor is an empty file (it holds no
            # record, so nothing would ever acknowledge it), nor a name we never give one.
            if not stat.S_ISREG(st.st_mode) or st.st_size == 0 or not safe_name(name):
                try:
                    _fs.remove(self._path(name))
                except OSError:
                    pass  # a folder, say: skipped all the same
            else:
                found.append(name)
                self._stamps[name] = (st.st_ino, st.st_size, st.st_mtime_ns)
        return sorted(found)

    def _read(self, file: str) -> list[bytes]:
        if file not in self._lines:
            stamp = self._stamps.get(file)
            try:
                raw, st = _fs.read_with_stat(self._path(file), MAX_FILE_READ)
                stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
            except FileNotFoundError:
                raw = b""
            except OSError:
                raw = b"!unreadable\n"  # one bad line: dropped and counted, the file removed
            lines = raw.split(b"\n")
            if file == CURRENT or lines[-1] == b"":
                lines.pop()  # the empty rest after the last newline, or a line still being written
            self._lines[file] = [_recovered(line) for line in lines]
            self._read_stamps[file] = stamp
        return self._lines[file]

    def _unlisted(self) -> list[str]:
        """Closed files' names, oldest first, without looking at each (a fresh reader, `status` say,
        checks each as it reads it: `_take`)."""
        from .acks import safe_name

        try:
            folder = self.paths.existing("telemetry", "spool")  # never listed through a folder we do not trust
            return sorted(name for name in os.listdir(folder) if name.startswith(CLOSED_PREFIX) and safe_name(name))
        except OSError:
            return []

    def _take(self, file: str) -> bool:
        """Read a closed file listed without a look, checking it on the descriptor read from: a
        link, a pipe or an empty file is removed unread (as `files()` does), a folder skipped."""
        path = self._path(file)
        try:
            fd = os.open(path, os.O_RDONLY | _fs.NOFOLLOW | _fs.CLOEXEC | _fs.NONBLOCK)
        except FileNotFoundError:
            return False
        except OSError:  # a link: never read, never kept
            _fs.remove(path)
            return False
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_size == 0:
                if not stat.S_ISDIR(st.st_mode):
                    _fs.remove(path)
                return False
            raw = _fs.read_all(fd, st.st_size, MAX_FILE_READ) if _fs.mine(st) else None
        finally:
            os.close(fd)
        lines = (b"!unreadable\n" if raw is None else raw).split(b"\n")  # too large, or not ours: one bad line
        if lines[-1] == b"":
            lines.pop()
        self._stamps[file] = self._read_stamps[file] = (st.st_ino, st.st_size, st.st_mtime_ns)
        self._lines[file] = [_recovered(line) for line in lines]
        return True

    def entries(self, include_current: bool = True) -> list[Entry]:
        """Every record, oldest first (what a delivery may send excludes `current`).

        A file does not change once named, so what was read and parsed of one is
        kept for the next collector; `current`, and a file replaced since, are read again.
        A first reading (`status`, say) checks each file as it reads it, not before.
        """
        if self._lines:  # a delivery reading again: what it read must still be what is on disk
            names = self.files()
        else:
            names = [name for name in self._unlisted() if self._take(name)]
        listed = set(names)
        for cache in (self._lines, self._records):
            for gone in [name for name in cache if name == CURRENT or name not in listed
                         or self._read_stamps.get(name) != self._stamps.get(name)]:  # replaced since it was read
                del cache[gone]
        names += [CURRENT] if include_current else []
        found = []
        for file in names:
            for index, line in enumerate(self._read(file)):
                found.append(Entry(file, index, _events_of(line), len(line) + 1))
        return found

    def parse_all(self) -> None:
        """Parse the records of every file read and not yet parsed, in one parse: a spool of many small
        files (an older version's, say) costs one parse, not one per file."""
        todo = [file for file in self._lines if file not in self._records]
        values = parse_lines([line.partition(b"\t")[2] for file in todo for line in self._lines[file]])
        start = 0
        for file in todo:
            count = len(self._lines[file])
            self._records[file] = values[start:start + count]
            start += count

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
        count = lines[entry.index].partition(b"\t")[0]
        if count != UNCOUNTED and str(len(value["events"])).encode() != count:
            raise BadRecord("the event count does not match")
        return record

    # -- acknowledgements: a prefix of each file, per collector (acks.py) ------
    def acked(self) -> Acks:
        from .acks import read

        return read(self._path(ACKS_FILE))

    def pending_for(self, collector: str, include_current: bool = True,
                    entries: Optional[list[Entry]] = None, acked: Optional[Acks] = None) -> list[Entry]:
        acked = self.acked() if acked is None else acked
        entries = self.entries(include_current) if entries is None else entries
        return [e for e in entries if e.index >= acked.get(e.file, {}).get(collector, 0)]

    def current_acks(self) -> Acks:
        """What is acknowledged: as this delivery's journal has it, or as `.acks` says."""
        return self._journal.acks if self._journal is not None else self.acked()

    def is_live(self, file: str) -> bool:
        """Whether `file` is still on disk, as far as this delivery knows (it removes files itself)."""
        return self._journal is None or file in self._journal.live

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
        names = list(collectors)
        # Once per journal every file (a collector may have been removed from the settings since), then
        # only those that moved: a spool of many files costs a look at each once, not at each batch.
        candidates = list(moved) if journal.swept else list(acks)
        journal.swept = True
        finished = [file for file in candidates if file in live and file in acks
                    and all(acks[file].get(name, 0) >= len(self._read(file)) for name in names)]
        self._remove_files(finished)
        for file in finished:
            del acks[file]
        live.difference_update(finished)
        journal.write(moved)

    def join_newest(self, collectors: Iterable[str]) -> None:
        """Join the two newest closed files into one, when the newest is untouched and, for each
        collector, the other is either untouched or done: one file per delivery would otherwise pile
        up while a collector fails and another works.  Only the delivery lock's holder calls this.

        The joined file is written whole and acknowledged before it gets its name, and the two go
        after: a crash in between leaves their records twice (sent twice, never lost).
        """
        names = self.files()
        if len(names) < 2:
            return
        older, newer = names[-2], names[-1]
        journal = self.journal()
        done_older, done_newer = journal.acks.get(older, {}), journal.acks.get(newer, {})
        lines_older, lines_newer = self._read(older), self._read(newer)
        size = sum(len(line) + 1 for line in lines_older + lines_newer)
        names_ = list(collectors)
        if (any(done_newer.get(name, 0) for name in names_) or size > FILE_BYTES
                or any(done_older.get(name, 0) not in (0, len(lines_older)) for name in names_)):
            return
        for stale in os.listdir(self.folder):  # a join cut short by a crash left its scratch file
            if stale.startswith("." + CLOSED_PREFIX) and stale.endswith(".tmp"):
                _fs.remove(self._path(stale))
        joined = self._new_name(after=newer)
        moved: Acks = {}
        for name in names_:
            if lines_older and done_older.get(name, 0) == len(lines_older):
                for file, done in journal.advance(name, [(joined, len(lines_older))]).items():
                    moved.setdefault(file, {}).update(done)
        journal.live.add(joined)
        journal.write(moved)
        _fs.write_atomic(self._path(joined), b"".join(line + b"\n" for line in lines_older + lines_newer),
                         durable=False)
        for file in (older, newer):
            _fs.remove(self._path(file))
            journal.live.discard(file)
            journal.acks.pop(file, None)
            self._lines.pop(file, None)
            self._records.pop(file, None)

    def _remove_files(self, files: Iterable[str]) -> int:
        """Delete files (every collector is done with them); the totals are lowered by what they held."""
        gone_events = gone_bytes = 0
        for file in files:
            lines = self._read(file)
            self._records.pop(file, None)  # parsed once, not needed again
            if _fs.remove(self._path(file)):
                gone_events += sum(_events_of(line) for line in lines)
                gone_bytes += sum(len(line) + 1 for line in lines)
        if gone_events or gone_bytes:
            try:
                with _fs.locked(self._path(COUNT_FILE)) as fd:
                    events, size, since, base = self._load_totals(fd)
                    events, size = max(events - gone_events, 0), max(size - gone_bytes, 0)
                    self._store_totals(fd, (events, size, since if events else 0.0, min(base, events)))
            except (OSError, TimeoutError):
                pass
        return gone_events

    def _enforce_cap(self, totals: Totals) -> tuple[Totals, int]:
        """Drop the oldest files until a file's worth is free; returns the new totals and the events dropped.

        Only the dropped files are read.  The totals are checked first against
        the files' sizes (one listing): a count that does not match them is
        damaged and is recounted from the files, so it never costs an event.
        The newest file (the record just appended) is never dropped.
        """
        self._rotate()
        events, size, since, base = totals
        names = self.files()
        if sum(self._stamps[name][1] for name in names) != size:
            entries = self.entries(include_current=False)
            events, size = sum(e.events for e in entries), sum(e.size for e in entries)
        dropped = 0
        for file in names[:-1]:
            if events <= MAX_EVENTS - CAP_FREE_EVENTS and size <= MAX_BYTES - FILE_BYTES:
                break
            lines = self._read(file)
            if _fs.remove(self._path(file)):
                gone = sum(_events_of(line) for line in lines)
                dropped += gone
                events, size = max(events - gone, 0), max(size - sum(len(line) + 1 for line in lines), 0)
            self._lines.pop(file, None)
            self._records.pop(file, None)
        return (events, size, since, max(min(base - dropped, events), 0)), dropped

    def recount(self) -> None:
        """Set the running totals from the files (a delivery does this when it starts)."""
        self.settle(keep_base=True)

    def settle(self, keep_base: bool = False) -> Totals:
        """Set the totals from the files; what closed files still hold becomes `base` (a delivery
        left it: a collector failed it), what `current` holds stays new."""
        try:
            with _fs.locked(self._path(COUNT_FILE)) as lock:
                _, _, since, base = self._load_totals(lock)
                entries = self.entries()
                closed = sum(e.events for e in entries if e.file != CURRENT)
                fresh = sum(e.events for e in entries if e.file == CURRENT)
                events = closed + fresh
                base = min(base, events) if keep_base else closed
                if events - base <= 0:
                    since = 0.0
                elif since <= 0:
                    since = time.time()
                totals: Totals = (events, sum(e.size for e in entries), since, base)
                self._store_totals(lock, totals)
                return totals
        except (OSError, TimeoutError):
            return self.counts()

    def empty(self) -> None:
        """Remove every record, the journal and the totals, then the folder, under the spool's lock (a
        process waiting for it finds its name gone and locks anew: `_fs.acquire`)."""
        import shutil

        try:
            with _fs.locked(self._path(COUNT_FILE)):
                for name in os.listdir(self.folder):
                    path = self._path(name)
                    if os.path.isdir(path) and not os.path.islink(path):
                        shutil.rmtree(path, ignore_errors=True)
                    else:
                        _fs.remove(path)
        except (OSError, TimeoutError):
            self.purge()
        try:
            os.rmdir(self.folder)
        except OSError:
            pass
        self._lines.clear()
        self._records.clear()

    def purge(self) -> None:
        import shutil  # rarely needed, and it imports the compression modules

        shutil.rmtree(self.folder, ignore_errors=True)
        self._lines.clear()
        self._records.clear()
