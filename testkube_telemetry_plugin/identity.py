"""The anonymous id: stable on this machine, matchable to nothing else.

It is HMAC-SHA256 of the machine's id keyed with a random per-install salt kept
in the user config, so two installs on one machine differ, the id survives
reinstalls of the package, and nobody holding the machine id can recompute it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Optional

from .config_file import edit_table
from .paths import StrPath
from .settings import is_anonymous_id

MACHINE_ID_FILES: tuple[StrPath, ...] = ("/etc/machine-id", "/var/lib/dbus/machine-id")


def machine_id() -> Optional[str]:
    """The operating system's machine id, or None where none can be read."""
    for path in MACHINE_ID_FILES:
        try:
            with open(path, encoding="ascii") as handle:
                value = handle.read().strip()
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

            key = winreg.OpenKey(
                winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Microsoft\Cryptography"
            )
            return str(winreg.QueryValueEx(key, "MachineGuid")[0]) or None
    except (OSError, subprocess.SubprocessError):
        return None
    return None


def derive(salt: str, machine: Optional[str]) -> str:
    """64 lowercase hex characters, like the `anonymousId` of Testkube's events."""
    import hashlib
    import hmac

    if machine is None:
        return os.urandom(32).hex()
    return hmac.new(salt.encode(), machine.encode(), hashlib.sha256).hexdigest()


def ensure_anonymous_id(config: StrPath, renew: bool = False) -> str:
    """The stored id, created once (or anew, with `renew`) under the config lock."""

    def change(table: dict[str, object]) -> Optional[dict[str, object]]:
        if not renew and is_anonymous_id(table.get("anonymous_id")):
            return None
        salt = os.urandom(16).hex()
        return {"salt": salt, "anonymous_id": derive(salt, machine_id())}

    anonymous_id = edit_table(config, change).get("anonymous_id")
    assert isinstance(anonymous_id, str)
    return anonymous_id
