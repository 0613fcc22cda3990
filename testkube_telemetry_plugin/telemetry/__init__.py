"""The opt-out variables' one rule, shared by the settings and the hook's first check.

It is its own tiny module so the post-command hook can answer "did the user
switch telemetry off for this process?" before importing anything else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Optional

if TYPE_CHECKING:
    from .host import Host

TRUTHY = frozenset({"1", "true", "yes", "on"})
FALSY = frozenset({"", "0", "false", "no", "off"})


def env_flag(value: Optional[str]) -> Optional[bool]:
    """True, False, or None when the value is not a recognised yes/no word."""
    if value is None:
        return False
    word = value.strip().lower()
    if word in TRUTHY:
        return True
    if word in FALSY:
        return False
    return None


def disabling_env(host: Host, env: Mapping[str, str]) -> Optional[str]:
    """The opt-out variable that switches telemetry off, if one does.

    Any value but a clear "no" counts: `DO_NOT_TRACK=maybe` means off, since a
    person who typed it meant something, and privacy wins the doubt.
    """
    for name in ("DO_NOT_TRACK", host.env("TELEMETRY_DISABLED")):
        if env_flag(env.get(name)) is not False:
            return name
    return None
