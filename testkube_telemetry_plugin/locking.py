"""Advisory file locks shared by every CLI process and the flusher.

`fcntl.flock` locks belong to an open file and vanish with the process, so a
crashed or SIGKILLed holder never leaves a stale lock behind.  Lock files are
opened like every other file: never through a symbolic link.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from typing import Iterator, Optional

from .safefs import open_file

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt


def _try_lock(fd: int) -> bool:
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def acquire(path: str, timeout_s: float = 0.0, writes: bool = False) -> Optional[int]:
    """An open descriptor holding the lock, or None if another holder kept it.

    Only a lock that also `writes` (the spool's running totals) refuses a
    file with other names: a bare lock never changes its file's bytes.
    """
    fd = open_file(path, os.O_RDWR | os.O_CREAT, linked_ok=not writes)
    deadline = time.monotonic() + timeout_s
    while True:
        if _try_lock(fd):
            return fd
        if time.monotonic() >= deadline:
            os.close(fd)
            return None
        time.sleep(0.02)


def release(fd: int) -> None:
    os.close(fd)  # closing the descriptor drops the lock


def is_held(path: str) -> bool:
    """Whether some process holds the lock at `path` right now."""
    try:
        fd = acquire(path)
    except OSError:
        return False
    if fd is None:
        return True
    release(fd)
    return False


@contextmanager
def locked(path: str, timeout_s: float = 5.0, writes: bool = False) -> Iterator[int]:
    """Hold the lock for the block; raises TimeoutError if it cannot be had."""
    fd = acquire(path, timeout_s, writes)
    if fd is None:
        raise TimeoutError(f"{path} is locked by another process")
    try:
        yield fd
    finally:
        release(fd)
