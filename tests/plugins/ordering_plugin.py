"""pluggy's own semantics through the isolating manager: both wrapper styles,
`tryfirst` and `trylast`, several implementations of one hook (`specname`)."""

from __future__ import annotations

from testkube_telemetry_plugin import hookimpl

CALLS: list[object] = []


@hookimpl(hookwrapper=True, specname="testkube_post_command")
def old_style_wrapper(invocation, outcome):
    CALLS.append("old-style wrapper: before")
    result = yield
    CALLS.append(("old-style wrapper: after", result.get_result()))


@hookimpl(wrapper=True, specname="testkube_post_command")
def new_style_wrapper(invocation, outcome):
    CALLS.append("new-style wrapper: before")
    result = yield
    CALLS.append(("new-style wrapper: after", list(result)))
    return result


@hookimpl(tryfirst=True, specname="testkube_post_command")
def runs_first(invocation, outcome) -> str:
    CALLS.append("tryfirst")
    return "first"


@hookimpl(trylast=True, specname="testkube_post_command")
def runs_last(invocation, outcome) -> str:
    CALLS.append("trylast")
    return "last"
