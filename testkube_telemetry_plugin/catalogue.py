"""The event catalogue: which commands become which events, with which properties.

This is the one source of truth (the README's event table is checked against
it by `tests/test_catalogue.py`).  A property leaves the machine only if it is
listed here, and each says where its value comes from (an option as the user
types it, a fact the command set, the outcome) and how it is made safe:
matched against a pattern, reduced to a kind, counted, or hashed with a key.
Free text never qualifies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Union

from .values import Value

if TYPE_CHECKING:
    from .invocation import Invocation, Outcome

Keyed = Callable[[str], str]  # a keyed hash, for identifiers that must match nothing outside this install
# Testkube's executor types: the `types` of the executors its Helm chart installs (executors.json), the
# distributed JMeter, Tracetest and Postman-custom executors, and the `framework:version/type` forms its docs
# name (cypress:v10/test, maven:jdk11/project).  A typed --type is free text: anything else is sent as "other".
_JDK = ("jdk8", "jdk11", "jdk17", "jdk18", "jdk21")
TEST_TYPES = frozenset(
    "k6/script postman/collection postman/custom cypress/project playwright/test curl/test jmeter/test jmeterd/test"
    " soapui/xml artillery/test ginkgo/test gradle/project gradle/test gradle/integrationTest maven/project"
    " maven/test maven/integration-test kubepug/yaml kubepug/json zap/api zap/baseline zap/full tracetest/test".split()
) | frozenset(f"cypress:v{n}/test" for n in range(8, 14)) | frozenset(
    f"{tool}:{jdk}/{kind}" for tool in ("maven", "gradle") for jdk in _JDK for kind in ("project", "test")
)
_TEST_TYPES_FOLDED = {t.lower(): t for t in TEST_TYPES}
CLUSTER_TYPES = frozenset(
    "kind minikube k3s k3d microk8s docker-desktop rancher openshift gke eks aks"
    " digitalocean linode civo oke".split()
)


class Option(Value):
    """The value of an option, found by the flags the user types, whatever its Python name."""

    __slots__ = ("flags",)

    def __init__(self, flags: tuple[str, ...]) -> None:
        self.flags = flags

    def value(self, invocation: Invocation, outcome: Outcome) -> Any:
        for flag in self.flags:
            if invocation.options.get(flag) not in (None, "", (), False):
                return invocation.options[flag]
        return None


class Fact(Value):
    """A value the running command put in `current_invocation().facts`."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def value(self, invocation: Invocation, outcome: Outcome) -> Any:
        return invocation.facts.get(self.name)


class FromOutcome(Value):
    """How the command ended: `duration_ms` or `status`."""

    __slots__ = ("field",)

    def __init__(self, field: str) -> None:
        self.field = field

    def value(self, invocation: Invocation, outcome: Outcome) -> Any:
        return round(outcome.duration_ms, 1) if self.field == "duration_ms" else outcome.status


class KindOf(Value):
    """The first kind whose option was given: the kind is sent, never the value."""

    __slots__ = ("kinds",)

    def __init__(self, kinds: tuple[tuple[str, Option], ...]) -> None:
        self.kinds = kinds

    def value(self, invocation: Invocation, outcome: Outcome) -> Any:
        for kind, option in self.kinds:
            if option.value(invocation, outcome) is not None:
                return kind
        return None


Source = Union[Option, Fact, FromOutcome, KindOf]


def _count(value: Any, keyed: Keyed) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 <= value < 1_000_000:
        return value
    if isinstance(value, (list, tuple, set)):
        return len(value)
    return None


def _test_type(value: Any, keyed: Keyed) -> Optional[str]:
    """An enumeration: a known executor type as Testkube spells it, else "other" (never the typed text)."""
    if not isinstance(value, str) or not value.strip():
        return None
    return _TEST_TYPES_FOLDED.get(value.strip().lower(), "other")


def _cluster_type(value: Any, keyed: Keyed) -> Optional[str]:
    if not isinstance(value, str) or not value:
        return None
    return value if value in CLUSTER_TYPES else "other"


def _keyed_hash(value: Any, keyed: Keyed) -> Optional[str]:
    return keyed(str(value)) if isinstance(value, (str, int)) and str(value) else None


def _as_is(value: Any, keyed: Keyed) -> Any:
    return value  # only for values the catalogue itself makes (kinds, outcome fields)


class Prop(Value):
    """One allowed property: where its value comes from and how it is made safe."""

    __slots__ = ("name", "sources", "clean", "doc")

    def __init__(self, name: str, sources: tuple[Source, ...], clean: Callable[[Any, Keyed], Any], doc: str) -> None:
        self.name = name
        self.sources = sources
        self.clean = clean
        self.doc = doc


class EventRule(Value):
    """Which command paths (without the program name) make `event`, with which properties."""

    __slots__ = ("event", "paths", "props", "doc")

    def __init__(self, event: str, paths: tuple[tuple[str, ...], ...], props: tuple[Prop, ...], doc: str) -> None:
        self.event = event
        self.paths = paths
        self.props = props
        self.doc = doc


STEPS = Prop("steps", (Fact("steps"),), _count, "number of steps (a count)")
TEMPLATES = Prop("templates", (Fact("templates"),), _count, "number of templates used (a count)")
DURATION = Prop("duration_ms", (FromOutcome("duration_ms"),), _as_is, "how long the run took")
STATUS = Prop("status", (FromOutcome("status"),), _as_is, "success, error, usage_error or aborted")
CLUSTER_ID = Prop("cluster_id", (Fact("cluster_id"),), _keyed_hash,
                  "the cluster's id, hashed with this install's key (64 hex)")
TEST_TYPE_PROP = Prop("test_type", (Fact("test_type"), Option(("--type", "-t"))), _test_type,
                      "one of Testkube's executor types (k6/script, postman/collection, ...), else other")
TEST_SOURCE = Prop(
    "test_source",
    (Fact("test_source"), KindOf((
        ("git", Option(("--git-uri", "--git-repository", "--git-url", "--git"))),
        ("file", Option(("--file", "-f", "--file-path"))),
        ("uri", Option(("--uri", "--url"))),
        ("string", Option(("--string", "--content", "--script"))),
    ))),
    lambda value, keyed: value if value in ("git", "file", "uri", "string") else None,
    "git, file, uri or string; never the value",
)

COMMAND_EVENTS: tuple[EventRule, ...] = (
    EventRule("testkube_cli_create_test", (("create", "test"),), (TEST_TYPE_PROP, TEST_SOURCE), "a test was created"),
    EventRule("testkube_cli_create_testsuite", (("create", "testsuite"),), (STEPS,), "a test suite was created"),
    EventRule("testkube_cli_run_test", (("run", "test"),), (DURATION, STATUS, CLUSTER_ID), "a test was run"),
    EventRule("testkube_cli_run_testsuite", (("run", "testsuite"),), (DURATION, STATUS, CLUSTER_ID),
              "a test suite was run"),
    EventRule("testkube_cli_create_testworkflow", (("create", "testworkflow"), ("create", "tw")),
              (STEPS, TEMPLATES), "a test workflow was created"),
    EventRule("testkube_cli_run_testworkflow", (("run", "testworkflow"), ("run", "tw")),
              (DURATION, STATUS, TEMPLATES, CLUSTER_ID), "a test workflow was run"),
    EventRule("testkube_cli_create_testworkflowtemplate", (("create", "testworkflowtemplate"), ("create", "twt")),
              (), "a test workflow template was created"),
    EventRule("testkube_cli_init", (("init",),),
              (Prop("cluster_type", (Fact("cluster_type"),), _cluster_type, "kind, gke, eks, ... or other"),
               CLUSTER_ID),
              "Testkube was installed to a cluster"),
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
HEARTBEAT_COUNTS = {  # heartbeat property -> the state counter it reports (and resets)
    "dropped_events": "dropped_spool",
    "rejected_events": "dropped_rejected",
    "oversized_events": "dropped_oversized",
    "corrupt_events": "dropped_corrupt",
}
GENERAL_EVENTS: dict[str, tuple[str, dict[str, str]]] = {
    "testkube_cli_install": ("first run with this anonymous id", {}),
    "testkube-heartbeat": (
        "first command of each UTC day (source cli, with the four counts since the last one); "
        "or `telemetry heartbeat` (source server, with cluster_id, no counts)",
        {
            "dropped_events": "events the full spool dropped since the last heartbeat",
            "rejected_events": "events a collector rejected (4xx) since the last heartbeat",
            "oversized_events": "events over 32 KB, never sent, since the last heartbeat",
            "corrupt_events": "spooled events found damaged and dropped since the last heartbeat",
            "source": "cli (first command of the day) or server (`telemetry heartbeat`)",
            "cluster_id": "a server's cluster, hashed with this install's key (64 hex)",
        },
    ),
    "testkube_cli_command": (
        "every command",
        {
            "command": "the command path without argument values, e.g. create test; (none) for the root alone",
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
            "message": "the error in the CLI's own words, everything else replaced (at most 200 characters)",
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


def properties_for(rule: EventRule, invocation: Invocation, outcome: Outcome, keyed: Keyed) -> dict[str, Any]:
    """Only the catalogue's properties, each made safe; unusable values left out."""
    values: dict[str, Any] = {}
    for prop in rule.props:
        raw = next((v for v in (s.value(invocation, outcome) for s in prop.sources) if v is not None), None)
        cleaned = prop.clean(raw, keyed) if raw is not None else None
        if cleaned is not None:
            values[prop.name] = cleaned
    return values


def needs_key(rule: Optional[EventRule], facts: Mapping[str, Any]) -> bool:
    """Whether this command's events need the install's key (a cluster id to hash)."""
    return rule is not None and any(p is CLUSTER_ID for p in rule.props) and facts.get("cluster_id") is not None
