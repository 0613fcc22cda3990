"""The event catalogue: which commands become which events, with which properties.

This is data, in one place, and the README's event table is checked against it
(`tests/test_catalogue.py`).  A property leaves the machine only if it is listed
here, and every listed property says how its value is made safe: matched against
a pattern, reduced to a kind, or counted.  Free text never qualifies.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping, NamedTuple, Optional

TEST_TYPE = r"^[a-z0-9-]+/[a-z0-9-]+$"  # compiled (and cached by `re`) on first use
# Kinds of cluster Testkube is installed to; anything else is sent as "other".
CLUSTER_TYPES = frozenset(
    "kind minikube k3s k3d microk8s docker-desktop rancher openshift gke eks aks"
    " digitalocean linode civo oke".split()
)

# Option names (Click parameter names) that tell where a test's content comes
# from; the value itself (a URL, a path) is never sent, only the kind.
TEST_SOURCES = (
    ("git", ("git_uri", "git_repository", "git_url", "git")),
    ("file", ("file", "file_path")),
    ("uri", ("uri", "url")),
    ("string", ("string", "content", "script")),
)


def _count(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 <= value < 1_000_000:
        return value
    if isinstance(value, (list, tuple, set)):
        return len(value)
    return None


def _pattern(pattern: str) -> Callable[[Any], Optional[str]]:
    def check(value: Any) -> Optional[str]:
        if not isinstance(value, str) or not re.match(pattern, value):
            return None
        from .scrub import local_names

        lowered = value.lower()
        if any(name.lower() in lowered for name in local_names() if "/" not in name):
            return None  # shaped right, but it names this user or machine
        return value

    return check


def _cluster_type(value: Any) -> Optional[str]:
    if not isinstance(value, str) or not value:
        return None
    return value if value in CLUSTER_TYPES else "other"


def source_kind(params: Mapping[str, Any]) -> Optional[str]:
    """The kind of source a `create test` used: git, file, uri or string."""
    for kind, names in TEST_SOURCES:
        if any(params.get(name) not in (None, "", (), False) for name in names):
            return kind
    return None


class Prop(NamedTuple):
    """One allowed property: where its value comes from and how it is made safe."""

    name: str
    source: str  # "param:<name>", "facts:<name>", "derived:<what>"
    clean: Callable[[Any], Any]
    doc: str


class EventRule(NamedTuple):
    event: str
    paths: tuple[tuple[str, ...], ...]  # command paths without the program name
    props: tuple[Prop, ...]
    doc: str


STEPS = Prop("steps", "facts:steps", _count, "number of steps (a count)")
TEMPLATES = Prop("templates", "facts:templates", _count, "number of templates used (a count)")
DURATION = Prop("duration_ms", "derived:duration_ms", lambda v: v, "how long the run took")
STATUS = Prop("status", "derived:status", lambda v: v, "success, error, usage_error or aborted")

COMMAND_EVENTS: tuple[EventRule, ...] = (
    EventRule(
        "testkube_cli_create_test",
        (("create", "test"),),
        (
            Prop("test_type", "param:type", _pattern(TEST_TYPE), "e.g. k6/script; sent only if it looks like one"),
            Prop("test_source", "derived:test_source", lambda v: v, "git, file, uri or string; never the value"),
        ),
        "a test was created",
    ),
    EventRule(
        "testkube_cli_create_testsuite",
        (("create", "testsuite"),),
        (STEPS,),
        "a test suite was created",
    ),
    EventRule("testkube_cli_run_test", (("run", "test"),), (DURATION, STATUS), "a test was run"),
    EventRule(
        "testkube_cli_run_testsuite",
        (("run", "testsuite"),),
        (DURATION, STATUS),
        "a test suite was run",
    ),
    EventRule(
        "testkube_cli_create_testworkflow",
        (("create", "testworkflow"), ("create", "tw")),
        (STEPS, TEMPLATES),
        "a test workflow was created",
    ),
    EventRule(
        "testkube_cli_run_testworkflow",
        (("run", "testworkflow"), ("run", "tw")),
        (DURATION, STATUS, TEMPLATES),
        "a test workflow was run",
    ),
    EventRule(
        "testkube_cli_create_testworkflowtemplate",
        (("create", "testworkflowtemplate"), ("create", "twt")),
        (),
        "a test workflow template was created",
    ),
    EventRule(
        "testkube_cli_init",
        (("init",),),
        (Prop("cluster_type", "facts:cluster_type", _cluster_type, "kind, gke, eks, ... or other"),),
        "Testkube was installed to a cluster",
    ),
)

# Properties of the events every command can produce (not tied to a path).
COMMON_PROPS = {
    "os": "linux, darwin or windows",
    "arch": "CPU architecture, e.g. x86_64",
    "python": "Python version",
    "host": "the host CLI's name",
    "host_version": "the host CLI's version",
    "plugin_version": "this package's version",
    "ci": "true when run in CI",
    "ci_provider": "the CI system's name (github-actions, gitlab, ...)",
}
GENERAL_EVENTS: dict[str, tuple[str, dict[str, str]]] = {
    "testkube_cli_install": ("first run with this anonymous id", {}),
    "testkube-heartbeat": (
        "first command of each UTC day",
        {
            "dropped_events": "events the full spool dropped since the last heartbeat",
            "rejected_events": "events a collector rejected (4xx) since the last heartbeat",
            "oversized_events": "events over 32 KB, never sent, since the last heartbeat",
        },
    ),
    "testkube_cli_command": (
        "every command",
        {
            "command": "the command path without argument values, e.g. create test",
            "exit_code": "the exit status",
            "status": "success, error, usage_error or aborted",
            "duration_ms": "how long the command took",
        },
    ),
    "testkube_cli_error": (
        "a command that failed",
        {
            "command": "the command path without argument values",
            "error_type": "the exception's class name",
            "exit_code": "the exit status",
            "message": "the error message, personal data removed, at most 200 characters",
        },
    ),
    "testkube_cli_telemetry_disabled": (
        "the user disabled telemetry (the last event sent)",
        {"scope": "user, or project for `disable --project`"},
    ),
}


def rule_for(path: tuple[str, ...]) -> Optional[EventRule]:
    for rule in COMMAND_EVENTS:
        if path in rule.paths:
            return rule
    return None


def properties_for(
    rule: EventRule,
    params: Mapping[str, Any],
    facts: Mapping[str, Any],
    derived: Mapping[str, Any],
) -> dict[str, Any]:
    """Only the catalogue's properties, each made safe; unusable values left out."""
    values: dict[str, Any] = {}
    for prop in rule.props:
        where, _, key = prop.source.partition(":")
        raw = {"param": params, "facts": facts, "derived": derived}[where].get(key)
        cleaned = prop.clean(raw) if raw is not None else None
        if cleaned is not None:
            values[prop.name] = cleaned
    return values
