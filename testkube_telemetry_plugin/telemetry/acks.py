"""Which records each collector is done with: `.acks`, an append-only journal.

A delivery acknowledges after every batch.  Rewriting one JSON file for each
(a new file, a write, a rename) cost about as much as encoding the batch, so
an acknowledgement appends one line per spool file it moved forward,
`<collector>\\t<file>\\t<records done>\\n`, and the highest count wins.  The
journal is rewritten whole, one line per live pair, when a delivery opens it
(so a `.acks` it cannot write stops the delivery before anything is sent that
could not be acknowledged) and whenever it has grown past `COMPACT_BYTES`.

A line that does not start with three fields, the third a count, is ignored,
so a torn line costs a record sent twice, never one skipped.  Fields after the
third (a later version's) are ignored, not the line; this version writes
exactly three, which is all that earlier versions sharing the home read.  The JSON object that versions
before the journal wrote is still read, once, and rewritten as a journal.
"""

from __future__ import annotations

from typing import Any, Iterable

from .. import _fs

Acks = dict[str, dict[str, int]]  # file -> collector -> records done, from the file's start

MAX_READ_BYTES = 1024 * 1024  # a journal compacted at COMPACT_BYTES never gets near this
COMPACT_BYTES = 64 * 1024
MAX_COUNT_DIGITS = 9  # a file holds at most a few thousand records


def safe_name(name: str) -> bool:
    """Whether `name` fits in a journal line as one field."""
    return bool(name) and name.isprintable() and "\t" not in name


def _note(acks: Acks, collector: Any, file: Any, count: Any) -> None:
    if isinstance(collector, str) and isinstance(file, str) and safe_name(collector) and safe_name(file):
        done = acks.setdefault(file, {})
        done[collector] = max(done.get(collector, 0), count)


def _legacy(data: bytes) -> Acks:
    """`{file: {collector: count}}`, as written before the journal."""
    import json

    acks: Acks = {}
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return acks
    for file, done in value.items() if isinstance(value, dict) else ():
        for collector, count in done.items() if isinstance(done, dict) else ():
            if type(count) is int and 0 <= count < 10**MAX_COUNT_DIGITS:
                _note(acks, collector, file, count)
    return acks


def parse(data: bytes) -> Acks:
    if data.lstrip().startswith(b"{"):
        return _legacy(data)
    acks: Acks = {}
    for line in data.split(b"\n")[:-1]:  # what follows the last newline is a line still being written
        fields = line.split(b"\t")
        if len(fields) < 3 or not fields[2].isdigit() or len(fields[2]) > MAX_COUNT_DIGITS:
            continue
        try:
            _note(acks, fields[0].decode("utf-8"), fields[1].decode("utf-8"), int(fields[2]))
        except UnicodeDecodeError:
            continue
    return acks


def read(path: str) -> Acks:
    """What the journal says; nothing at all if it cannot be read."""
    try:
        return parse(_fs.read_bytes(path, MAX_READ_BYTES))
    except OSError:
        return {}


def _lines(pairs: Acks) -> bytes:
    return "".join(f"{collector}\t{file}\t{count}\n" for file, done in pairs.items()
                   for collector, count in done.items()).encode("utf-8")


class Journal:
    """What a delivery has acknowledged so far, kept by the one delivery that holds the flusher lock.

    Opening it rewrites the file compact (the files still on disk only);
    an OSError (a link, a folder) means the delivery must not start.
    """

    def __init__(self, path: str, live: set[str]) -> None:
        self.path = path
        self.live = live  # the files on disk: what they do not name is gone, and forgotten here
        self.acks = {file: done for file, done in read(path).items() if file in live}
        self._appended = 0  # bytes since the last compaction
        self.swept = False  # whether an acknowledgement has looked at every file since it was opened
        self._compact()

    def _compact(self) -> None:
        _fs.write_atomic(self.path, _lines(self.acks), durable=False)
        self._appended = 0

    def advance(self, collector: str, done: Iterable[tuple[str, int]]) -> Acks:
        """`collector` has the first `count` records of each `(file, count)`; returns the pairs that moved."""
        moved: Acks = {}
        for file, count in done:
            pairs = self.acks.setdefault(file, {})
            if count > pairs.get(collector, 0):
                pairs[collector] = moved.setdefault(file, {})[collector] = count
        return moved

    def write(self, moved: Acks) -> None:
        """Make the file say `self.acks`, given that only the pairs in `moved` changed since the last write.

        Not synced: a process killed now loses nothing (the kernel has it); a
        machine that loses power may send an acknowledged batch again.
        """
        if self._appended > COMPACT_BYTES:
            self._compact()
            return
        data = _lines({file: pairs for file, pairs in moved.items() if file in self.acks})
        if data:
            self._appended += len(data)
            _fs.append(self.path, data)
