"""A plugin whose hooks raise, before any other plugin's (tryfirst).

RAISING_PLUGIN says where and what: ``pre:KeyboardInterrupt``,
``post:SystemExit``, ``both:Exception``, or ``wrapper:...`` for a new-style
wrapper of the post hook that raises after the others ran.  Without it the
hooks do nothing.
"""

from __future__ import annotations

import os

from testkube_telemetry_plugin import hookimpl

RAISED: list[str] = []


def _raise(where: str) -> None:
    hook, _, kind = os.environ.get("RAISING_PLUGIN", "").partition(":")
    if hook != where and not (hook == "both" and where in ("pre", "post")):
        return
    RAISED.append(f"{where}:{kind}")
    if kind == "KeyboardInterrupt":
        raise KeyboardInterrupt
    if kind == "SystemExit":
        raise SystemExit(7)
    raise RuntimeError(f"raising plugin broke in {where}")


@hookimpl(tryfirst=True)
def testkube_pre_command(invocation) -> None:
    _raise("pre")


@hookimpl(tryfirst=True)
def testkube_post_command(invocation, outcome) -> None:
    _raise("post")


@hookimpl(wrapper=True, specname="testkube_post_command")
def post_wrapper(invocation, outcome):
    result = yield
    _raise("wrapper")
    return result
