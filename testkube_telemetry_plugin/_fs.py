"""Files, folders and locks that cannot be turned against the user (shared by both floors).

Another user who can write to a folder we use, or plant a symbolic link in it,
must not be able to make us append to `~/.bashrc` or read a FIFO forever.  So:
folders are created 0700 whatever the umask, or accepted only when they belong
to us and nobody else may write to them; files are opened with `O_NOFOLLOW`
(new ones with `O_EXCL`), checked to be regular files of ours after opening,
and read up to a limit.  Every failure is an `OSError` whose message is one
sentence a user can act on.

A folder is trusted by walking from the home down to it (`folder`, `problem`):
`O_NOFOLLOW` guards only a path's last component, so a folder on the way that
was replaced by a link would still take every open through it, elsewhere.
The folders above the home count too: whoever can write to one of them can
rename the home away and put a folder of their own in its place (undoing an
opt-out, or making root write where they choose).  So each must belong to
root or to us, and be writable by nobody else unless it is sticky, as `/tmp`
is (there only an entry's owner may rename it).  A relative home is refused
(it would be a new home in every working folder), and so is the user's home
folder itself (our files would be strewn among theirs).

Locks are `fcntl.flock` locks: they belong to an open file and vanish with the
process, so a crashed or SIGKILLed holder never leaves a stale lock behind.
"""

from __future__ import annotations

import os
import stat
import time
from contextlib import contextmanager
from typing import Iterator, Optional

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # Windows has no symlink-following opens to refuse
CLOEXEC = getattr(os, "O_CLOEXEC", 0)
NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # opening a planted FIFO must not block
BINARY = getattr(os, "O_BINARY", 0)


class UnsafePath(OSError):
    """A path we refuse to use; `str()` says why in one sentence."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unsafe path"


def mine(st: os.stat_result) -> bool:
    return not hasattr(os, "geteuid") or st.st_uid == os.geteuid()


def _another_users(path: str, st: os.stat_result, detail: str = "") -> str:
    """One sentence for a folder of another user's; for root, the usual cause (`sudo` keeping HOME)."""
    text = f"{path} belongs to another user (uid {st.st_uid}){detail}; not used"
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        text += " (root with another user's home, as `sudo` without -H gives: nothing is written there for them)"
    return text


def check_dir(path: str, st: Optional[os.stat_result] = None) -> None:
    """Raise UnsafePath unless `path` is a real folder of ours that others cannot write."""
    st = os.lstat(path) if st is None else st
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePath(f"{path} is a symbolic link; not followed")
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafePath(f"{path} is not a folder")
    if not mine(st):
        raise UnsafePath(_another_users(path, st))
    if hasattr(os, "geteuid") and st.st_mode & 0o022:
        raise UnsafePath(f"{path} can be written by other users (chmod go-w {path})")


def private_dir(path: str) -> str:
    """`path` as a folder only we can write: created 0700, or checked if it exists."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        parent = os.path.dirname(path)
        if parent and parent != path and not os.path.lexists(parent):
            private_dir(parent)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass  # made by a process racing us: checked below like any other
        else:
            os.chmod(path, 0o700)  # the umask may have taken bits away, never added
        st = os.lstat(path)
    check_dir(path, st)
    return path


def _above_problem(path: str, depth: int = 0) -> Optional[str]:
    """Why another user could replace `path` by writing to a folder above it, or None.

    Walks from the root down to `path`'s parent; a link on the way is as safe
    as the folder holding it (checked before it) and the folders it leads to
    (checked as a chain of their own).  A missing folder ends the walk: we
    create the rest, 0700.
    """
    if not hasattr(os, "geteuid"):
        return None
    if depth > 8:
        return f"{path}: too many symbolic links above it"
    me = os.geteuid()
    parents = []
    path = os.path.normpath(path)
    current = os.path.dirname(path)
    while True:
        parents.append(current)
        up = os.path.dirname(current)
        if up == current:
            break
        current = up
    for folder_above in reversed(parents):
        try:
            st = os.lstat(folder_above)
        except FileNotFoundError:
            return None
        except OSError as exc:
            return f"{folder_above}: {exc.strerror or exc}"
        if stat.S_ISLNK(st.st_mode):  # go on from where it leads (macOS: /tmp -> /private/tmp)
            rest = os.path.relpath(path, folder_above)
            return _above_problem(os.path.join(os.path.realpath(folder_above), rest), depth + 1)
        if not stat.S_ISDIR(st.st_mode):
            return None  # the home cannot be made there: the walk below says so
        if st.st_uid not in (0, me):
            return _another_users(folder_above, st, f", who could replace {path}")
        if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
            return (f"{folder_above} can be written by other users, so they could replace {path} "
                    f"(chmod go-w {folder_above}, or use a home elsewhere)")
    return None


def folder(home: str, *parts: str, create: bool = False) -> str:
    """`home/parts...`, with every folder above the home and from the home down checked
    (and, with `create`, the missing ones made 0700).

    The one way any file under a home is reached: a relative home, a folder
    above it that others could swap, or a folder on the way that is a link,
    another user's, or writable by others raises UnsafePath; a missing one
    raises FileNotFoundError, unless `create`.
    """
    _check_above(home)
    return _walk(home, parts, create)


def _check_above(home: str) -> None:
    if not os.path.isabs(home):
        raise UnsafePath(f"{home!r} is a relative path, which would make a new home in every working folder; "
                         "not used")
    user_home = os.path.expanduser("~")
    if os.path.isabs(user_home) and os.path.normpath(home) == os.path.normpath(user_home):
        raise UnsafePath(f"{home} is your home folder itself, not a folder of its own; not used")
    found = _above_problem(home)
    if found is not None:
        raise UnsafePath(found)


def _walk(home: str, parts: tuple[str, ...], create: bool) -> str:
    path = private_dir(home) if create else _checked_dir(home)
    for part in parts:
        path = os.path.join(path, part)
        if create:
            private_dir(path)
        else:
            _checked_dir(path)
    return path


def _checked_dir(path: str) -> str:
    check_dir(path)
    return path


def problem(home: str, *folders: tuple[str, ...]) -> Optional[str]:
    """Why the home, a folder above it, or one of `folders` under it cannot be trusted, or None
    (missing ones are fine)."""
    try:
        _check_above(home)
    except UnsafePath as exc:
        return str(exc)
    for parts in ((), *folders):
        try:
            _walk(home, parts, create=False)
        except FileNotFoundError:
            continue
        except OSError as exc:
            path = os.path.join(home, *parts)
            return str(exc) if isinstance(exc, UnsafePath) else f"{path}: {exc.strerror or exc}"
    return None


def _checked(fd: int, path: str, linked_ok: bool) -> int:
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or not mine(st) or (not linked_ok and st.st_nlink > 1):
        os.close(fd)
        if stat.S_ISDIR(st.st_mode):
            raise UnsafePath(f"{path} is a folder, not a file")
        if stat.S_ISREG(st.st_mode) and mine(st):  # a hard link: writing it would write the file it shares
            raise UnsafePath(f"{path} has other names (hard links); not written")
        what = "not a regular file" if not stat.S_ISREG(st.st_mode) else "owned by another user"
        raise UnsafePath(f"{path} is {what}; not used")
    return fd


def open_file(path: str, flags: int, mode: int = 0o600, linked_ok: bool = False) -> int:
    """`os.open` that never follows a symlink, never waits, and only returns a regular file of ours
    (to be written, one with no other name, unless `linked_ok`: a lock file never written).

    Non-blocking for writing too: opening a planted FIFO to append to it
    would otherwise wait for a reader for ever.
    """
    try:
        fd = os.open(path, flags | NOFOLLOW | CLOEXEC | BINARY | NONBLOCK, mode)
    except OSError as exc:
        if os.path.islink(path):
            raise UnsafePath(f"{path} is a symbolic link; not followed") from exc
        raise
    return _checked(fd, path, linked_ok or not flags & (os.O_WRONLY | os.O_RDWR))


def read_bytes(path: str, limit: int) -> bytes:
    """The whole file, refusing links, non-files and anything over `limit` bytes."""
    return read_with_stat(path, limit)[0]


def read_with_stat(path: str, limit: int) -> tuple[bytes, os.stat_result]:
    """`read_bytes`, and the file's status as it was opened (its inode, size and times): a reader
    that must notice a file replaced later compares them, without a second lookup by name."""
    fd = open_file(path, os.O_RDONLY)
    try:
        st = os.fstat(fd)
        data = read_all(fd, st.st_size, limit)
        if data is None:
            raise UnsafePath(f"{path} is larger than {limit} bytes; not read")
        return data, st
    finally:
        os.close(fd)


def read_all(fd: int, size: int, limit: int) -> Optional[bytes]:
    """What is left to read of an open regular file of `size` bytes; None past `limit` bytes."""
    chunks = []
    total = 0
    want = size + 1  # its size, and a byte more: a small file takes one read
    while True:
        request = max(1, min(want, 65536, limit + 1 - total))
        chunk = os.read(fd, request)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            return None
        if len(chunk) < request:
            break  # a regular file reads short only at its end
        want = 65536
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    """`os.write` until all of `data` is written (a write may take only part of it)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_atomic(path: str, data: bytes, durable: bool = True, mode: int = 0o600) -> None:
    """Replace `path` so readers see the old or the new bytes, never a torn file.

    A symbolic link (or a folder) at `path` is refused rather than replaced: it was
    put there by someone, and silently turning it into a regular file loses their intent.
    The file gets exactly `mode` (0644 for a file meant to be committed).
    """
    if os.path.islink(path):
        raise UnsafePath(f"{path} is a symbolic link; not replaced")
    if os.path.isdir(path):  # else the rename fails naming our temporary file, which the user never saw
        raise UnsafePath(f"{path} is a folder, not a file; not replaced")
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = open_file(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        if mode != 0o600 and hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
        _write_all(fd, data)
        if durable:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        remove(tmp)
        raise
    os.close(fd)
    try:
        os.replace(tmp, path)  # replaces a link planted meanwhile, never writes through it
    except BaseException:
        remove(tmp)
        raise


def append(path: str, data: bytes, limit: int = 16 * 1024 * 1024, durable: bool = False,
           whole_lines: bool = False) -> int:
    """Append `data` (synced, if `durable`); returns the file's size afterwards.

    A file with other names (hard links) is not written through: it is
    replaced, by a rename, with a file of its own holding its bytes and `data`.
    With `whole_lines`, `data` starts on a line of its own even if the file
    ends with part of one (a write cut short), and a write that fails part-way
    (a full disk) is taken back, so it leaves no torn line.
    """
    fd = open_file(path, (os.O_RDWR if whole_lines else os.O_WRONLY) | os.O_APPEND | os.O_CREAT, linked_ok=True)
    try:
        st = os.fstat(fd)
        if whole_lines and st.st_size and os.pread(fd, 1, st.st_size - 1) != b"\n":
            data = b"\n" + data
        if st.st_nlink == 1:
            try:
                _write_all(fd, data)
            except OSError:
                if whole_lines:
                    try:
                        os.ftruncate(fd, st.st_size)
                    except OSError:
                        pass
                raise
            if durable:
                os.fsync(fd)
            return os.fstat(fd).st_size
    finally:
        os.close(fd)
    whole = read_bytes(path, limit) + data
    write_atomic(path, whole, durable=durable)
    return len(whole)


def remove(path: str) -> bool:
    """Delete `path` (a link itself, never its target); False if it was gone."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


_MERSENNE_61 = (1 << 61) - 1


def checksum(data: bytes) -> int:
    """A 61-bit checksum computed with the interpreter's own integers.

    Not crc32: `binascii` and `zlib` are extension modules that every command
    would load (about 0.5 ms) for it. One changed byte always changes the
    sum (256**k is invertible modulo a prime), and the leading 1 makes
    leading zero bytes count. It guards against accidents; a forged cache
    could only say what a hand-edited config file says anyway.
    """
    return int.from_bytes(b"\x01" + data, "big") % _MERSENNE_61


def sealed(data: bytes) -> bytes:
    """`data` and its checksum, for a cache that `unsealed` trusts only while intact."""
    return data + b"sum=%016x\n" % checksum(data)


def unsealed(data: bytes) -> Optional[bytes]:
    """What `sealed` was given, or None if a byte changed since (rot, an edit, a torn copy).

    A cache is trusted once its key matches; without this, damage after the
    key would be believed (a plugin module that no longer imports, telemetry
    on where the config says off) and never rebuilt.
    """
    body, found, check = data.rpartition(b"sum=")
    return body if found and check == b"%016x\n" % checksum(body) else None


# -- locks ------------------------------------------------------------------------

def _try_lock(fd: int) -> bool:
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def _try_lock_shared(fd: int) -> bool:
    if fcntl is None:  # Windows has no shared locks: one holder at a time
        return _try_lock(fd)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def still_named(fd: int, path: str) -> bool:
    """Whether `path` still names the file `fd` holds: a lock file replaced meanwhile (a `.count`
    with other names is replaced rather than written through) must be locked anew."""
    try:
        held, named = os.fstat(fd), os.lstat(path)
    except OSError:
        return False
    return (held.st_dev, held.st_ino) == (named.st_dev, named.st_ino)


def acquire(path: str, timeout_s: float = 0.0, shared: bool = False) -> Optional[int]:
    """An open descriptor holding the lock, or None if another holder kept it.

    A lock file may have other names (a hard-link snapshot of the home): a
    bare lock never changes its bytes, and the one lock that holds data
    (the spool's totals) replaces its file instead of writing through it.
    `shared` holders exclude only exclusive ones.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        fd = open_file(path, os.O_RDWR | os.O_CREAT, linked_ok=True)
        if (_try_lock_shared(fd) if shared else _try_lock(fd)):
            if still_named(fd, path):
                return fd
            os.close(fd)  # replaced since it was opened: lock what the name holds now
            continue
        os.close(fd)
        if time.monotonic() >= deadline:
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
def locked(path: str, timeout_s: float = 5.0) -> Iterator[int]:
    """Hold the lock for the block; raises TimeoutError if it cannot be had."""
    fd = acquire(path, timeout_s)
    if fd is None:
        raise TimeoutError(f"{path} is locked by another process")
    try:
        yield fd
    finally:
        release(fd)
