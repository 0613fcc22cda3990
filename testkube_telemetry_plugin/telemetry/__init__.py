"""The telemetry plugin; here, what every command needs first: its declaration and its off switch.

A host asks for telemetry by declaring it, ``Host("mycli", plugins=[Telemetry(...)])``:
the declaration names the plugin's module for the hook library and carries the
host's packaged defaults.  The post-command hook asks "did the user switch
telemetry off for this process?" before importing anything else of the
plugin, so this package's `__init__` holds those two and nothing more.  The plugin knows the hook library
only through its public names, and never imports the app (`cli.py`): what it
needs of the app comes through the `Host`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence, Union

from .._values import Value
from .._version import __version__
from ..hooks.host import env_flag

if TYPE_CHECKING:
    from ..hooks.host import Host

CONSENT_MODES = ("opt-out", "opt-in")
CI_POLICIES = ("collect", "off")
PLUGIN_NAME = "telemetry"


class Telemetry(Value):
    """What a host that asks for telemetry declares: its product name, consent default, CI policy and collectors.

    `collectors` are the packaged defaults of the collectors' settings
    (``segment_url="https://..."``, ``segment_write_key="..."``; see
    docs/settings.md), each of which the user can override in their config or
    environment.  With none, events stay on the machine.

    `ci` is what happens in a CI job, where nobody reads a notice and every
    job starts with a fresh home: "collect" (no notice, no install event, one
    id shared by every job of a repository, as Astro does) or "off" (nothing
    from CI, as Flutter does).

    Where users reach the telemetry commands is the host's choice:
    `flag` (default ``--telemetry``) makes them ``<cli> --telemetry status``,
    claimed only as the first word of a command line (so a single-command CLI
    keeps its arguments, and a default command keeps what it receives; None:
    no such form); `root_commands=True` adds `<cli> telemetry ...` and the
    verb-first forms (`<cli> disable telemetry`) to a root group, each only
    where the host has no command of that name.  `events` are the host's own
    command events (catalogue `Event`s, or a ``"module:attribute"`` path to
    them, imported when a command is recorded); without them a host gets the
    general events only (usage, error, heartbeat, install, opt-out).
    """

    plugin_name = PLUGIN_NAME
    plugin_module = "testkube_telemetry_plugin.telemetry.plugin"
    plugin_distribution = "testkube-telemetry-plugin"
    plugin_version = __version__

    __slots__ = ("product", "consent", "notice", "ci", "collectors", "flag", "root_commands", "events")

    def __init__(
        self,
        product: Optional[str] = None,  # the name users know, for the notice; default: the host's name
        consent: str = "opt-out",  # or "opt-in": off until the user enables it
        notice: Optional[str] = None,  # the whole first-run notice, if the product wants its own words
        ci: str = "collect",  # or "off": nothing is collected in CI
        *,
        flag: Optional[str] = "--telemetry",
        root_commands: bool = False,
        events: Union[str, Sequence[Any]] = (),
        **collectors: str,
    ) -> None:
        if consent not in CONSENT_MODES:
            raise ValueError(f"Telemetry.consent must be one of {CONSENT_MODES}, not {consent!r}")
        if ci not in CI_POLICIES:
            raise ValueError(f"Telemetry.ci must be one of {CI_POLICIES}, not {ci!r}")
        for key, value in collectors.items():
            if not isinstance(value, str):
                raise TypeError(f"Telemetry({key}=...) must be a string")
        if flag is not None and not (flag.startswith("--") and len(flag) > 2):
            raise ValueError(f"Telemetry(flag=...) must be a long option such as '--telemetry', not {flag!r}")
        self.product = product
        self.consent = consent
        self.notice = notice
        self.ci = ci
        self.collectors: dict[str, str] = dict(collectors)
        self.flag = flag
        self.root_commands = root_commands
        self.events = events if isinstance(events, str) else tuple(events)

    def opt_out_variables(self, host: Host) -> tuple[str, ...]:
        """The variables that switch telemetry off; under them the host writes nothing at all."""
        return ("DO_NOT_TRACK", host.env("TELEMETRY_DISABLED"))


def declared(host: Host) -> Telemetry:
    """The host's telemetry declaration, or the defaults of a host that declared none."""
    found = host.plugin_config(PLUGIN_NAME)
    return found if isinstance(found, Telemetry) else Telemetry()


def product(host: Host) -> str:
    """The name to show users in the notice and messages."""
    return declared(host).product or host.display_name


def command_form(host: Host, verb: str) -> str:
    """How users run telemetry command `verb` in this host: ``testkube disable telemetry`` where the host
    asked for the root-level forms, else ``cookiecutter --telemetry disable``."""
    declaration = declared(host)
    name = host.display_name
    if declaration.root_commands or declaration.flag is None:
        return f"{name} {verb} telemetry" if verb in ("enable", "disable", "status") else f"{name} telemetry {verb}"
    return f"{name} {declaration.flag} {verb}"


def hint(host: Host) -> str:
    """How to opt out, in this host's words (the form that works in this CLI)."""
    return command_form(host, "disable")


def disabling_env(host: Host, env: Mapping[str, str]) -> Optional[str]:
    """The opt-out variable that switches telemetry off, if one does.

    Any value but a clear "no" counts: `DO_NOT_TRACK=maybe` means off, since a
    person who typed it meant something, and privacy wins the doubt.
    """
    for name in declared(host).opt_out_variables(host):
        if env_flag(env.get(name)) is not False:
            return name
    return None
