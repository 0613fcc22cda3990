"""Which records each collector is done with: `.acks`, an append-only journal.

A delivery acknowledges after every batch.  Rewriting one JSON file for each
(a new file, a write, a rename) cost about as much as encoding the batch, so
an acknowledgement appends one line per segment it moved forward,
`<collector>\\t<segment>\\t<records done>\\n`, and the highest count wins.  The
journal is rewritten whole, one line per live pair, at a delivery's first
acknowledgement and whenever it has grown past `COMPACT_BYTES`.

A line that is not three fields ending in a count is ignored: a torn or
planted line can only make a record be sent again, never be skipped.
"""

from __future__ import annotations

from typing import Iterable, Optional

from . import safefs

Acks = dict[str, dict[str, int]]  # segment -> collector -> records done, from the segment's start

MAX_READ_BYTES = 1024 * 1024  # a journal compacted at COMPACT_BYTES never gets near this
COMPACT_BYTES = 64 * 1024


def safe_name(name: str) -> bool:
    """Whether `name` fits in a journal line as one field."""
    return bool(name) and name.isprintable() and "\t" not in name


def parse(data: bytes) -> Acks:
    acks: Acks = {}
    for line in data.split(b"\n")[:-1]:  # what follows the last newline is a line still being written
        fields = line.split(b"\t")
        if len(fields) != 3 or not fields[2].isdigit() or len(fields[2]) > 9:
            continue
        try:
            sink, segment = fields[0].decode("utf-8"), fields[1].decode("utf-8")
        except UnicodeDecodeError:
            continue
        if safe_name(sink) and safe_name(segment):
            done = acks.setdefault(segment, {})
            done[sink] = max(done.get(sink, 0), int(fields[2]))
    return acks


def read(path: str) -> Acks:
    """What the journal says; nothing at all if it cannot be read."""
    try:
        return parse(safefs.read_bytes(path, MAX_READ_BYTES))
    except OSError:
        return {}


def _lines(pairs: Acks) -> bytes:
    return "".join(f"{sink}\t{segment}\t{count}\n" for segment, done in pairs.items()
                   for sink, count in done.items()).encode("utf-8")


class Journal:
    """What a delivery has acknowledged so far, kept by the one delivery that holds the flusher lock."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.acks = read(path)
        self._appended: Optional[int] = None  # bytes since the last compaction; None: none yet

    def advance(self, sink: str, done: Iterable[tuple[str, int]]) -> Acks:
        """`sink` has the first `count` records of each `(segment, count)`; returns the pairs that moved."""
        moved: Acks = {}
        for segment, count in done:
            pairs = self.acks.setdefault(segment, {})
            if count > pairs.get(sink, 0):
                pairs[sink] = moved.setdefault(segment, {})[sink] = count
        return moved

    def write(self, moved: Acks) -> None:
        """Make the file say `self.acks`, given that only the pairs in `moved` changed since the last write.

        Not synced: a process killed now loses nothing (the kernel has it); a
        machine that loses power may send an acknowledged batch again.
        """
        if self._appended is None or self._appended > COMPACT_BYTES:
            safefs.write_atomic(self.path, _lines(self.acks), durable=False)
            self._appended = 0
            return
        data = _lines({segment: pairs for segment, pairs in moved.items() if segment in self.acks})
        if data:
            self._appended += len(data)
            safefs.append(self.path, data)
