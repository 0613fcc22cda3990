"""Where the CLI keeps its files: one place, so tests can move it all at once."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "TESTKUBE_HOME"


def home_dir() -> Path:
    """`TESTKUBE_HOME`, else `~/.testkube`; may not exist and may not be writable."""
    configured = os.environ.get(HOME_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".testkube"


def config_path() -> Path:
    return home_dir() / "config.toml"


def telemetry_dir() -> Path:
    return home_dir() / "telemetry"


def cache_dir() -> Path:
    return home_dir() / "cache"


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) readable by the owner only; raises OSError."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write `data` so readers see the old or the new file, never a torn one."""
    ensure_private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
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
