"""The anonymous id and the install's key: stable here, matchable to nothing else.

The id is HMAC-SHA256 of the machine's id keyed with a random per-install salt
kept in the user config, so two installs on one machine differ, the id
survives reinstalls of the package, and nobody holding the machine id can
recompute it.  The same salt keys the hash of a cluster's id.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Optional

from .config_file import edit_table
from .decision import is_anonymous_id

MACHINE_ID_FILES: tuple[str, ...] = ("/etc/machine-id", "/var/lib/dbus/machine-id")


def machine_id() -> Optional[str]:
    """The operating system's machine id, or None where none can be read."""
    for path in MACHINE_ID_FILES:
        try:
            with open(path, encoding="ascii") as handle:
                value = handle.read(256).strip()
        except (OSError, UnicodeDecodeError):
            continue
        if value:
            return value
    try:
        if sys.platform == "darwin":
            out = subprocess.run(
                ["ioreg", "-rd1", "-c", "IOPlatformExpertDevice"],
                capture_output=True, text=True, timeout=2, check=False,
            ).stdout
            for line in out.splitlines():
                if "IOPlatformUUID" in line:
                    return line.split("=")[-1].strip().strip('"') or None
        if sys.platform == "win32":
            import winreg

            key = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Microsoft\Cryptography")
            return str(winreg.QueryValueEx(key, "MachineGuid")[0]) or None
    except (OSError, subprocess.SubprocessError):
        return None
    return None


def keyed_hash(salt: str, purpose: str, value: str) -> str:
    """64 lowercase hex characters: `value` hashed with this install's key."""
    import hashlib
    import hmac

    return hmac.new(salt.encode(), f"{purpose}\0{value}".encode(), hashlib.sha256).hexdigest()


def derive(salt: str, machine: Optional[str]) -> str:
    """64 lowercase hex characters, like the `anonymousId` of Testkube's events."""
    import hashlib
    import hmac

    if machine is None:
        return os.urandom(32).hex()
    return hmac.new(salt.encode(), machine.encode(), hashlib.sha256).hexdigest()


def ensure_anonymous_id(config: str, lock_path: str, header: str, renew: bool = False) -> tuple[str, str, bool]:
    """(id, salt, created now): the stored id, created once (or anew) under the lock."""
    created = []

    def change(table: dict[str, object]) -> Optional[dict[str, object]]:
        salt = table.get("salt")
        if not renew and is_anonymous_id(table.get("anonymous_id")) and isinstance(salt, str) and salt:
            return None
        salt = os.urandom(16).hex()
        created.append(True)
        return {"salt": salt, "anonymous_id": derive(salt, machine_id())}

    table = edit_table(config, change, lock_path, header)
    anonymous_id, salt = table.get("anonymous_id"), table.get("salt")
    assert isinstance(anonymous_id, str) and isinstance(salt, str)
    return anonymous_id, salt, bool(created)
