"""The event catalogue: every event the plugin sends, with every property it may carry.

This is data the code reads, and the one source of truth: every event is built
by `build` from an entry here (usage, error, heartbeat, install, opt-out and
the commands' own events), which keeps only the entry's properties and the
common ones; docs/events.md's table is checked against it by
`tests/test_catalogue.py`.  Each property says where its value comes from (the
plugin's code, an option as the user types it, a fact the command set, the
outcome) and how it is made safe: matched against a pattern, reduced to a
kind, counted, or hashed with a key.  Free text never qualifies, except the
error message, which is scrubbed before it gets here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Union

from .._values import Value
from ..hooks.invocation import STATUSES as OUTCOME_STATUSES
from .events import event_name, new_event

if TYPE_CHECKING:
    from ..hooks.host import Host
    from ..hooks.invocation import Invocation, Outcome

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


class Prop(Value):
    """One allowed property: where its value comes from and how it is made safe."""

    __slots__ = ("name", "sources", "clean", "doc")

    def __init__(self, name: str, sources: tuple[Source, ...], clean: Callable[[Any, Keyed], Any], doc: str) -> None:
        self.name = name
        self.sources = sources
        self.clean = clean
        self.doc = doc


class Event(Value):
    """One event: its canonical name, when it is sent, its properties, and the command paths that make it.

    `paths` (without the program name) are for a command's own events; the
    general events (usage, error, heartbeat, install, opt-out) have none.
    """

    __slots__ = ("event", "paths", "props", "doc")

    def __init__(self, event: str, paths: tuple[tuple[str, ...], ...], props: tuple[Prop, ...], doc: str) -> None:
        self.event = event
        self.paths = paths
        self.props = props
        self.doc = doc


def _number(value: Any, keyed: Keyed) -> Optional[Union[int, float]]:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value else None


def _duration(value: Any, keyed: Keyed) -> Optional[float]:
    return round(float(value), 1) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _text(limit: int) -> Callable[[Any, Keyed], Optional[str]]:
    """Text the plugin's own code made (a command path, a class name, a scrubbed message), bounded."""
    return lambda value, keyed: value[:limit] if isinstance(value, str) else None


def _one_of(*choices: str) -> Callable[[Any, Keyed], Optional[str]]:
    return lambda value, keyed: value if value in choices else None


def _flag(value: Any, keyed: Keyed) -> Optional[bool]:
    return value if isinstance(value, bool) else None


def _given(name: str, clean: Callable[[Any, Keyed], Any], doc: str) -> Prop:
    """A property whose value the plugin's code hands to `build`."""
    return Prop(name, (), clean, doc)


STEPS = Prop("steps", (Fact("steps"),), _count, "number of steps (a count)")
TEMPLATES = Prop("templates", (Fact("templates"),), _count, "number of templates used (a count)")
DURATION = Prop("duration_ms", (FromOutcome("duration_ms"),), _duration, "how long the run took")
STATUSES = OUTCOME_STATUSES  # what `Outcome.status` can be
STATUS = Prop("status", (FromOutcome("status"),), _one_of(*STATUSES), "success, error, usage_error, aborted or help")
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

# Testkube's own command events: the reference host declares them (`Telemetry(events=...)` in cli.py).
COMMAND_EVENTS: tuple[Event, ...] = (
    Event("testkube_cli_create_test", (("create", "test"),), (TEST_TYPE_PROP, TEST_SOURCE), "a test was created"),
    Event("testkube_cli_create_testsuite", (("create", "testsuite"),), (STEPS,), "a test suite was created"),
    Event("testkube_cli_run_test", (("run", "test"),), (DURATION, STATUS, CLUSTER_ID), "a test was run"),
    Event("testkube_cli_run_testsuite", (("run", "testsuite"),), (DURATION, STATUS, CLUSTER_ID),
              "a test suite was run"),
    Event("testkube_cli_create_testworkflow", (("create", "testworkflow"), ("create", "tw")),
              (STEPS, TEMPLATES), "a test workflow was created"),
    Event("testkube_cli_run_testworkflow", (("run", "testworkflow"), ("run", "tw")),
              (DURATION, STATUS, TEMPLATES, CLUSTER_ID), "a test workflow was run"),
    Event("testkube_cli_create_testworkflowtemplate", (("create", "testworkflowtemplate"), ("create", "twt")),
              (), "a test workflow template was created"),
    Event("testkube_cli_init", (("init",),),
              (Prop("cluster_type", (Fact("cluster_type"),), _cluster_type, "kind, gke, eks, ... or other"),
               CLUSTER_ID),
              "Testkube was installed to a cluster"),
)

# The properties every event carries (events.base_properties makes them).
COMMON = (
    _given("os", _one_of("linux", "darwin", "windows", "freebsd", "openbsd", "netbsd", "aix", "sunos5", "cygwin"),
           "linux, darwin or windows"),
    _given("arch", _text(40), "CPU architecture, e.g. x86_64"),
    _given("python", _text(20), "Python version"),
    _given("host", _text(40), "the host CLI's name"),
    _given("host_version", _text(40), "the host CLI's version"),
    _given("plugin_version", _text(40), "this package's version"),
    _given("ci", _flag, "true when run in CI"),
    _given("ci_provider", _text(40), "the CI system's name (github-actions, gitlab, ...)"),
)
HEARTBEAT_COUNTS = {  # heartbeat property -> the state counter it reports (and resets)
    "dropped_events": "dropped_spool",
    "rejected_events": "dropped_rejected",
    "oversized_events": "dropped_oversized",
    "corrupt_events": "dropped_corrupt",
}
COMMAND_PATH = _given("command", _text(200),
                      "the command path without argument values, e.g. create test; (none) for the root alone")
EXIT_CODE = _given("exit_code", _number, "the exit status")

# Canonical names, as Testkube's own CLI sends them; another host's stem replaces
# "testkube" (`events.event_name`).
INSTALL = Event("testkube_cli_install", (), (), "first run with this anonymous id")
HEARTBEAT = Event("testkube-heartbeat", (), (
    _given("dropped_events", _number, "events the full spool dropped since the last heartbeat"),
    _given("rejected_events", _number, "events a collector rejected (4xx) since the last heartbeat"),
    _given("oversized_events", _number, "events over 32 KB, never sent, since the last heartbeat"),
    _given("corrupt_events", _number, "spooled events found damaged and dropped since the last heartbeat"),
    _given("source", _one_of("cli", "server"), "cli (first command of the day) or server (`telemetry heartbeat`)"),
    Prop("cluster_id", (), _keyed_hash, "a server's cluster, hashed with this install's key (64 hex)"),
), "first command of each UTC day (source cli, with the four counts since the last one); "
   "or `telemetry heartbeat` (source server, with cluster_id, no counts)")
COMMAND = Event("testkube_cli_command", (), (
    COMMAND_PATH,
    EXIT_CODE,
    _given("status", _one_of(*STATUSES),
           "success, error, usage_error, aborted, or help (--help anywhere, or a bare group: nothing ran)"),
    _given("duration_ms", _duration, "from the start of argument parsing to the exit"),
), "every command")
ERROR = Event("testkube_cli_error", (), (
    _given("command", _text(200), "the command path without argument values"),
    _given("error_type", _text(100),
           "the exception's class name, the same on every Click version (NoSuchCommand for an unknown command)"),
    EXIT_CODE,
    _given("message", _text(200),
           "the error in the CLI's own words, everything else replaced (at most 200 characters)"),
), "a command that failed")
OPT_OUT = Event("testkube_cli_telemetry_disabled", (), (
    _given("scope", _one_of("user", "project"), "user, or project for `disable --project`"),
), "the user disabled telemetry (the last event sent)")
GENERAL_EVENTS: tuple[Event, ...] = (INSTALL, HEARTBEAT, COMMAND, ERROR, OPT_OUT)
EVENTS: tuple[Event, ...] = GENERAL_EVENTS + COMMAND_EVENTS


def build(host: Host, entry: Event, base: Mapping[str, Any], given: Optional[Mapping[str, Any]] = None, *,
          keyed: Optional[Keyed] = None, invocation: Optional[Invocation] = None, outcome: Optional[Outcome] = None,
          epoch: Optional[float] = None) -> dict[str, Any]:
    """The event `entry` describes, its properties made safe as the catalogue says.

    `base` holds the common properties, `given` what the plugin's code
    computed; a command's own properties are found from `invocation` and
    `outcome` by each property's sources.  A property the entry does not
    declare is a bug in the plugin's code (it would leave unreviewed): it
    raises, and the hook drops the whole record.
    """
    given = given or {}
    undeclared = (set(given) - {prop.name for prop in entry.props}) | (set(base) - _COMMON_NAMES)
    if undeclared:
        raise KeyError(f"{entry.event} does not declare {sorted(undeclared)}")
    properties: dict[str, Any] = {}
    for prop in (*COMMON, *entry.props):
        if prop.name in given or prop.name in base:
            raw = given.get(prop.name, base.get(prop.name))
        elif invocation is not None and outcome is not None:
            raw = next((v for v in (s.value(invocation, outcome) for s in prop.sources) if v is not None), None)
        else:
            raw = None
        cleaned = prop.clean(raw, keyed or _no_key) if raw is not None else None
        if cleaned is not None:
            properties[prop.name] = cleaned
    return new_event(event_name(host, entry.event), properties, epoch)


_COMMON_NAMES = frozenset(prop.name for prop in COMMON)


def _no_key(value: str) -> str:
    raise ValueError("this event carries an identifier to hash, but no key was given")


def domain_events(host: Host) -> tuple[Event, ...]:
    """The host's own command events, as its `Telemetry(events=...)` declares them (none by default).

    Testkube's (`COMMAND_EVENTS`: `create test`, `run testworkflow`, `init`, ...)
    belong to the reference host, which declares them; another host gets the
    general events only, or the rules it declares.
    """
    from . import declared

    events = declared(host).events
    if isinstance(events, str):
        cached = _LOADED.get(events)
        if cached is None:
            import importlib

            module, _, attribute = events.partition(":")
            loaded: Any = importlib.import_module(module)
            for part in filter(None, attribute.split(".")):
                loaded = getattr(loaded, part)
            cached = _LOADED[events] = tuple(loaded)
        events = cached
    return tuple(event for event in events if isinstance(event, Event))


_LOADED: dict[str, tuple[Event, ...]] = {}


def rule_for(path: tuple[str, ...], host: Host) -> Optional[Event]:
    """The host's own event for command `path` (without the program name), if it declares one."""
    for rule in domain_events(host):
        if path in rule.paths:
            return rule
    return None


def needs_key(rule: Optional[Event], facts: Mapping[str, Any]) -> bool:
    """Whether this command's events need the install's key (a cluster id to hash)."""
    return rule is not None and any(p is CLUSTER_ID for p in rule.props) and facts.get("cluster_id") is not None
