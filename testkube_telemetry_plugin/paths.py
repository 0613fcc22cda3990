"""Where the CLI keeps its files: one place, so tests can move it all at once.

Paths are plain strings joined with `os.path`: `pathlib` would import
`urllib.parse` and `ipaddress` on every command, which costs more than all the
telemetry work of a command.  Every function accepts `str` or `os.PathLike`.
"""

from __future__ import annotations

import os
from typing import Union

HOME_ENV = "TESTKUBE_HOME"

StrPath = Union[str, "os.PathLike[str]"]


def home_dir() -> str:
    """`TESTKUBE_HOME`, else `~/.testkube`; may not exist and may not be writable."""
    configured = os.environ.get(HOME_ENV, "").strip()
    if configured:
        return os.path.expanduser(configured)
    return os.path.join(os.path.expanduser("~"), ".testkube")


def config_path() -> str:
    return os.path.join(home_dir(), "config.toml")


def telemetry_dir() -> str:
    return os.path.join(home_dir(), "telemetry")


def cache_dir() -> str:
    return os.path.join(home_dir(), "cache")


def ensure_private_dir(path: StrPath) -> str:
    """Create `path` (and parents) readable by the owner only; raises OSError."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    return os.fspath(path)


def atomic_write(path: StrPath, data: bytes, mode: int = 0o600) -> None:
    """Write `data` so readers see the old or the new file, never a torn one."""
    folder, name = os.path.split(os.fspath(path))
    ensure_private_dir(folder or ".")
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_text(path: StrPath) -> str:
    """The file's text (UTF-8); raises OSError or UnicodeDecodeError."""
    with open(path, encoding="utf-8") as handle:
        return handle.read()
