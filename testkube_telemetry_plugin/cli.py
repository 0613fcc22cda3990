"""The reference `testkube` app: the stand-in for Testkube's own CLI.

It is what a real host looks like: one `Host` declaration (name, version,
plugin group, the plugins it always has, with their configuration), a
`HookedGroup` root, and its own commands; everything else comes from plugins.
This floor wires the other two together: it may import both, neither imports it.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from ._version import __version__
from .hooks.group import HookedGroup
from .hooks.host import Host
from .telemetry import Telemetry

# As datasette's DEFAULT_PLUGINS: what every `testkube` has, whatever is installed.
# No collector: this reference app is nobody's product, so it sends nowhere until
# a collector with its credentials is configured (docs/settings.md); `status` says so.
DEFAULT_PLUGINS = (
    Telemetry(product="Testkube",
              root_commands=True,  # `testkube telemetry ...` and the seed's `testkube disable telemetry`
              events="testkube_telemetry_plugin.telemetry.catalogue:COMMAND_EVENTS"),  # Testkube's own events
)
TESTKUBE = Host(
    name="testkube",
    version=__version__,
    plugin_group="testkube.plugins",
    env_prefix="TESTKUBE",
    home="~/.testkube",
    plugins=DEFAULT_PLUGINS,
    project="testkube",  # the contract's own names: `testkube_*` hooks, `@hookimpl`
    hook_prefix="testkube_",
)


def plugin_rows(group: HookedGroup) -> list[dict[str, Any]]:
    """What `plugins` shows: name, distribution, version and hooks of each plugin."""
    manager = group.plugin_manager
    rows = []
    for name, plugin in sorted(manager.list_name_plugin(), key=lambda pair: str(pair[0])):
        if plugin is None:
            continue
        entry = group.plugin_entry(name)
        callers = manager.get_hookcallers(plugin) or []
        rows.append(
            {
                "name": name,
                "distribution": entry.distribution if entry else None,
                "version": entry.version if entry else None,
                "hooks": sorted(caller.name for caller in callers),
            }
        )
    for entry, reason in group.failed_plugins:  # listed too, with why they are not loaded
        rows.append({"name": entry.name, "distribution": entry.distribution or None,
                     "version": entry.version or None, "hooks": [], "error": reason})
    return rows


def _root(ctx: click.Context) -> HookedGroup:
    group = ctx.find_root().command
    assert isinstance(group, HookedGroup)
    return group


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        _root(ctx).debug = True


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    group = _root(ctx)
    python = ".".join(map(str, sys.version_info[:3]))
    click.echo(f"{group.host.display_name} {group.host.version} (Python {python})")
    for row in plugin_rows(group):
        if "error" not in row:
            click.echo(f"plugin {row['name']}: {row['distribution']} {row['version']}")
    ctx.exit()


def make_cli(host: Host = TESTKUBE) -> HookedGroup:
    """A fresh reference group: each call builds new command objects."""

    @click.group(cls=HookedGroup, name=host.name, host=host,
                 context_settings={"help_option_names": ["-h", "--help"]})
    @click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_set_debug,
                  help=f"Report plugin errors on stderr (or set {host.env('DEBUG')}=1).")
    @click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
                  help="Show the host's and the plugins' versions and exit.")
    def cli() -> None:
        """Testkube CLI: every installed plugin's commands appear below."""

    @cli.command("plugins")
    @click.option("--json", "as_json", is_flag=True, help="One JSON array, for scripts.")
    def plugins_command(as_json: bool) -> None:
        """List the loaded plugins and the hooks they implement."""
        rows = plugin_rows(_root(click.get_current_context()))
        if as_json:
            import json

            click.echo(json.dumps(rows, indent=2))
            return
        if not rows:
            click.echo("No plugins loaded.")
        for row in rows:
            source = f"{row['distribution']} {row['version']}" if row["distribution"] else "-"
            if "error" in row:
                click.echo(f"{row['name']}  ({source})  failed to load: {row['error']}")
            else:
                click.echo(f"{row['name']}  ({source})  hooks: {', '.join(row['hooks'])}")

    return cli


cli = make_cli()


def main() -> None:
    """Console-script entry point."""
    cli()
