"""Hook contract, host group and anonymous opt-out telemetry for Click CLIs.

Kept tiny on purpose: every command of the host CLI imports this package, so
heavy modules (requests, tomlkit, hashlib) are imported only where they are used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .hookspecs import hookimpl
from .host import Host, Telemetry
from .invocation import Invocation, Outcome, current_invocation

__version__ = "0.1.0"

__all__ = [
    "HookedGroup",
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
    from .hooked import HookedGroup
    from .server import send_heartbeat


def __getattr__(name: str) -> Any:
    # HookedGroup lives in hooked.py, which imports click; keep `import
    # testkube_telemetry_plugin` cheap for plugins that only need `hookimpl`.
    if name == "HookedGroup":
        from .hooked import HookedGroup

        return HookedGroup
    if name == "send_heartbeat":
        from .server import send_heartbeat

        return send_heartbeat
    raise AttributeError(name)
