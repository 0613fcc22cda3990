"""Hook contract, host group and anonymous opt-out telemetry for Click CLIs.

Three floors, imports flowing one way (see docs/architecture.md): `hooks/`, a
library for any Click CLI; `telemetry/`, the telemetry plugin; and the
reference `testkube` app (`cli.py`).  This module only names the public
parts, lazily: every command of a host CLI imports it, and a plugin that only
needs `hookimpl` must not pay for the group, the plugin or the app (nor the
detached flusher, a process of its own, for pluggy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

__all__ = [
    "HookedGroup",
    "adopt",
    "adopt_function",
    "Host",
    "Invocation",
    "Outcome",
    "Telemetry",
    "__version__",
    "current_invocation",
    "hookimpl",
    "send_heartbeat",
]

if TYPE_CHECKING:
    from .hooks.adoption import adopt, adopt_function
    from .hooks.group import HookedGroup
    from .hooks.host import Host
    from .hooks.invocation import Invocation, Outcome, current_invocation
    from .hooks.specs import hookimpl
    from .telemetry import Telemetry
    from .telemetry.heartbeat import send_heartbeat


def __getattr__(name: str) -> Any:
    if name in ("adopt", "adopt_function"):
        from .hooks import adoption

        return getattr(adoption, name)
    if name == "hookimpl":
        from .hooks.specs import hookimpl

        return hookimpl
    if name == "Host":
        from .hooks.host import Host

        return Host
    if name in ("Invocation", "Outcome", "current_invocation"):
        from .hooks import invocation

        return getattr(invocation, name)
    if name == "HookedGroup":
        from .hooks.group import HookedGroup

        return HookedGroup
    if name == "Telemetry":
        from .telemetry import Telemetry

        return Telemetry
    if name == "send_heartbeat":
        from .telemetry.heartbeat import send_heartbeat

        return send_heartbeat
    raise AttributeError(name)
