"""Finding plugins, and a pluggy manager whose plugins cannot break the host command.

Hooks are called through pluggy itself, so its semantics hold: `tryfirst` and
`trylast` order, old- and new-style wrappers, hook-call monitoring.  What is
added is isolation: each plain implementation is guarded when it is
registered, so one that raises (anything, `KeyboardInterrupt` and `SystemExit`
included) is reported and counts as having returned None; the others still
run, and the command's output and exit code stay as they were.

Finding plugins through entry points is cached: scanning every installed
distribution with `importlib.metadata` costs tens of milliseconds and grows
with the environment, and it sits on the path of every command.  The result is
kept in a small text file keyed by everything that can change it: the
interpreter, the entry-point group, and each `sys.path` entry with its
modification time (installing or removing a distribution adds or removes a
`*.dist-info` folder, which changes the folder's mtime).  The file is plain
text, parsed with `str.split`, so reading it imports nothing.
"""

from __future__ import annotations

import functools
import os
import sys
from types import ModuleType
from typing import Any, Callable, Optional

import pluggy

from .. import _fs
from .._values import Value
from . import specs
from .host import Host, declared_name


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _not_a_hook(namespace: object, name: str) -> bool:
    if type(namespace) is not ModuleType:
        return False
    held = vars(namespace)
    if name not in held:
        return False  # a lazy module's `__getattr__` may provide it: pluggy decides
    value = held[name]
    return not callable(value) and not isinstance(value, (classmethod, staticmethod))


def aliases(host: Host) -> dict[str, str]:
    """What an implementation marked with the library's `hookimpl` may be named -> the host's hook name.

    `testkube_post_command` and `post_command` both reach a host's post hook, whatever it calls it.
    """
    found = {}
    for hook, name in zip(specs.HOOKS, host.hook_names):
        for alias in (specs.PREFIX + hook, hook):
            if alias != name:
                found[alias] = name
    return found


class IsolatingPluginManager(pluggy.PluginManager):
    """`pluggy.PluginManager` for one host's hooks, with each plugin isolated.

    The specs are the host's (its pluggy project, its hook names); implementations
    marked with the library's own `hookimpl` are taken too, under the reference
    names or the neutral ones (`aliases`).
    """

    def __init__(self, on_failure: Callable[[str], None], host: Optional[Host] = None) -> None:
        project, prefix = (host.project, host.hook_prefix) if host is not None else (specs.PROJECT_NAME, specs.PREFIX)
        super().__init__(project)
        self.add_hookspecs(specs.make_hookspecs(project, prefix))
        self._on_failure = on_failure
        self._aliases = aliases(host) if host is not None else {}

    # pluggy looks at every name a plugin module holds, dunders included, on every
    # command (pluggy 1.7 with `inspect.getattr_static`, which is slow).  A value in
    # the module's dict that cannot be called cannot be a hook, so it is passed over
    # before that (pluggy's documented override points); anything callable, any name
    # the dict lacks (a lazy module's), and any class or instance still go to pluggy.
    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        if _not_a_hook(plugin, name):
            return None
        opts = super().parse_hookimpl_opts(plugin, name)
        if not self._aliases:
            return opts
        generic = opts if self.project_name == specs.PROJECT_NAME else None
        if opts is None:
            own = self.project_name
            setattr(self, "project_name", specs.PROJECT_NAME)  # noqa: B010 - pluggy's own lookup, for our marker
            try:
                generic = super().parse_hookimpl_opts(plugin, name)
            finally:
                setattr(self, "project_name", own)  # noqa: B010
        if generic is None:
            return opts
        target = self._aliases.get(generic.get("specname") or name)
        return {**generic, "specname": target} if target is not None else opts

    def parse_hookspec_opts(self, module_or_class: Any, name: str) -> Any:
        if _not_a_hook(module_or_class, name):
            return None
        return super().parse_hookspec_opts(module_or_class, name)

    def register(self, plugin: object, name: Optional[str] = None) -> Optional[str]:
        registered = super().register(plugin, name)
        if registered is None:
            return None
        for caller in self.get_hookcallers(plugin) or []:
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin and not impl.hookwrapper and not getattr(impl, "wrapper", False):
                    # Typed Final, but a plain attribute that pluggy's own calls read each
                    # time; tests/test_hooks.py fails loudly if a pluggy release changes that.
                    setattr(impl, "function", self._guarded(impl.function, registered, caller.name))  # noqa: B010
        return registered

    def _guarded(self, function: Callable[..., Any], plugin: str, hook: str) -> Callable[..., Any]:
        @functools.wraps(function)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return function(*args, **kwargs)
            except BaseException as exc:  # noqa: B036 - a plugin must never end the host's command
                self._on_failure(f"plugin {plugin!r} failed in {hook}: {_describe(exc)}")
                return None

        return guarded

    def call(self, hook: str, **kwargs: Any) -> None:
        """Call a hook; a wrapper that raises is reported like an implementation."""
        try:
            getattr(self.hook, hook)(**kwargs)
        except BaseException as exc:  # noqa: B036
            self._on_failure(f"a wrapper of {hook} failed: {_describe(exc)}")

    def trace_to_stderr(self) -> None:
        """Print every hook call, its implementations and results (like datasette's switch)."""
        from pprint import pformat

        def before(hook_name: str, hook_impls: Any, kwargs: Any) -> None:
            print(f"\n{hook_name}:\n{pformat(kwargs, indent=4, width=60)}", file=sys.stderr)
            names = [impl.plugin_name for impl in hook_impls]
            print(f"Hook implementations: {names}", file=sys.stderr)

        def after(outcome: Any, hook_name: str, hook_impls: Any, kwargs: Any) -> None:
            try:
                results = outcome.get_result()
            except BaseException as exc:  # noqa: B036 - only shown
                results = f"raised {_describe(exc)}"
            print(f"Results of {hook_name}: {pformat(results, indent=4, width=60)}", file=sys.stderr)

        self.add_hookcall_monitoring(before, after)


# -- finding plugins ---------------------------------------------------------------------

CACHE_FORMAT = "entry-points-3"
MAX_CACHE_BYTES = 256 * 1024
SLOTS_KEPT = 4  # a few environments (console script, `python -m`, venvs) share one home


class PluginEntry(Value):
    """One `name = module` line of an installed distribution's entry points."""

    __slots__ = ("name", "value", "distribution", "version")

    def __init__(self, name: str, value: str, distribution: str, version: str) -> None:
        self.name = name
        self.value = value
        self.distribution = distribution
        self.version = version


def cache_key(group: str) -> str:
    parts = [CACHE_FORMAT, group, sys.executable, sys.version.replace("\n", " ")]
    for entry in sys.path:
        try:
            mtime = os.stat(entry or ".").st_mtime_ns
        except OSError:
            mtime = -1
        parts.append(f"{entry}={mtime}")
    return "\x1f".join(part.replace("\n", " ").replace("\x1f", " ") for part in parts)


def scan(group: str) -> list[PluginEntry]:
    """The authoritative scan of the installed distributions; the first one on sys.path wins.

    Importing `importlib.metadata` costs about 30 ms (email, zipfile, csv,
    pathlib), more than a whole command, and an opted-out user (whose home gets
    no cache) would pay it on every command.  So the folders on sys.path are
    read directly, as importlib.metadata's path finder reads them: each
    `*.dist-info` or `*.egg-info` folder's `entry_points.txt`, and for a match
    the `Name` and `Version` of its metadata.  A zip file on sys.path (an egg, a
    zipapp) is left to importlib.metadata itself.
    """
    if any(entry and os.path.isfile(entry) for entry in sys.path):
        return _scan_with_importlib(group)
    seen: set[str] = set()
    found: list[PluginEntry] = []
    for entry in sys.path:
        try:
            names = sorted(os.listdir(entry or "."))
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            key = _normalised(name.rsplit(".", 1)[0].split("-", 1)[0])
            if key in seen:
                continue
            folder = os.path.join(entry or ".", name)
            if not os.path.isdir(folder):
                continue
            seen.add(key)
            points = _entry_points(os.path.join(folder, "entry_points.txt"), group)
            if points:
                dist_name, version = _name_and_version(folder, name)
                found += [PluginEntry(point, value, dist_name, version) for point, value in points]
    return sorted(found, key=lambda entry: entry.name)


def _normalised(name: str) -> str:
    """A distribution's name as PEP 503 compares them (importlib.metadata dedupes by it)."""
    return "".join("-" if ch in "-_." else ch for ch in name.lower())


def _entry_points(path: str, group: str) -> list[tuple[str, str]]:
    """The `name = value` lines of `group` in an `entry_points.txt` (an INI file)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read(1024 * 1024)
    except (OSError, UnicodeDecodeError):
        return []
    points, section = [], None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif section == group and "=" in line:
            name, _, value = line.partition("=")
            points.append((name.strip(), value.strip()))
    return points


def _name_and_version(folder: str, name: str) -> tuple[str, str]:
    """`Name` and `Version` from the metadata's headers, else from the folder's name."""
    stem, _, version = name.rsplit(".", 1)[0].partition("-")
    found = {"name": stem, "version": version}
    for file_name in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(folder, file_name), encoding="utf-8") as handle:
                for line in handle:
                    if not line.strip():
                        break  # the headers end at the first blank line
                    key, sep, value = line.partition(":")
                    if sep and key.strip().lower() in found:
                        found[key.strip().lower()] = value.strip()
            break
        except (OSError, UnicodeDecodeError):
            continue
    return found["name"], found["version"]


def _scan_with_importlib(group: str) -> list[PluginEntry]:
    import importlib.metadata

    if sys.version_info >= (3, 10):
        found_here = []
        for entry_point in importlib.metadata.entry_points(group=group):
            dist = entry_point.dist
            found_here.append(PluginEntry(entry_point.name, entry_point.value, (dist.metadata["Name"] or "") if dist
                                          else "", dist.version if dist else ""))
        return sorted(found_here, key=lambda entry: entry.name)
    seen: set[str] = set()
    found: list[PluginEntry] = []
    for dist in importlib.metadata.distributions():
        dist_name = dist.metadata["Name"] or ""
        if _normalised(dist_name) in seen:
            continue
        seen.add(_normalised(dist_name))
        for entry_point in dist.entry_points:
            if entry_point.group == group:
                found.append(PluginEntry(entry_point.name, entry_point.value, dist_name, dist.version))
    return sorted(found, key=lambda entry: entry.name)


def _slot(cache_dir: str, group: str, key: str) -> str:
    safe = "".join(ch if ch.isalnum() else "_" for ch in group)[:60]
    return os.path.join(cache_dir, f"{safe}-{_fs.checksum(key.encode('utf-8')):016x}.entry-points")


def _read(path: str, key: str) -> Optional[list[PluginEntry]]:
    try:
        intact = _fs.unsealed(_fs.read_bytes(path, MAX_CACHE_BYTES))
        lines = intact.decode("utf-8").split("\n") if intact is not None else []
    except (OSError, UnicodeDecodeError):
        return None
    if not lines or lines[0] != key:
        return None
    entries = []
    for line in lines[1:]:
        if line:
            fields = line.split("\t")
            if len(fields) != 4:
                return None  # not a file we wrote: scan again, and write it anew
            entries.append(PluginEntry(*fields))
    return entries


def _write(place: tuple[str, str], path: str, key: str, entries: list[PluginEntry]) -> None:
    rows = [entry.fields() for entry in entries]
    lines = [key] + ["\t".join(row) for row in rows if not any("\t" in f or "\n" in f for f in row)]
    try:
        cache_dir = _fs.folder(*place, create=True)
        _fs.write_atomic(path, _fs.sealed(("\n".join(lines) + "\n").encode("utf-8")), durable=False)
        prefix = os.path.basename(path).rsplit("-", 1)[0] + "-"
        slots = sorted((os.path.join(cache_dir, name) for name in os.listdir(cache_dir)
                        if name.startswith(prefix) and name.endswith(".entry-points")),
                       key=lambda slot: os.lstat(slot).st_mtime_ns, reverse=True)
        for old in slots[SLOTS_KEPT:]:
            _fs.remove(old)
    except OSError:
        pass  # a read-only or untrusted folder only costs speed


def discover(group: str, place: Optional[tuple[str, str]], write: bool = True) -> list[PluginEntry]:
    """Entry points of `group`, from the cache in `place` (a folder to trust, the cache's folder in it)
    when nothing that matters changed; with `write` False (under an opt-out) a stale cache is not renewed."""
    key = cache_key(group)
    path = _slot(os.path.join(*place), group, key) if place is not None else None
    if path is not None and place is not None:
        try:
            # A folder others can write (or a link to one) could name any module to import.
            _fs.folder(*place)
            cached = _read(path, key)
        except OSError:
            cached = None
        if cached is not None:
            return cached
    entries = scan(group)
    if path is not None and place is not None and write:
        _write(place, path, key, entries)
    return entries


def attach(manager: pluggy.PluginManager, host: Host) -> frozenset[str]:
    """Add the contract's specs to a host's own plugin manager (llm's, datasette's); returns those it had.

    A spec the manager already has (llm, datasette and sqlite-utils all have
    `register_commands(cli)`) must take the same arguments; it is *shared*: the
    host calls it itself, and the library never calls it.
    """
    import inspect

    if manager.project_name != host.project:
        raise ValueError(f"the manager is pluggy project {manager.project_name!r}, the host's is {host.project!r}: "
                         f"declare Host(..., project={manager.project_name!r})")
    hookspecs = specs.make_hookspecs(host.project, host.hook_prefix)
    shared, missing = set(), {}
    for name in host.hook_names:
        wanted = tuple(inspect.signature(getattr(hookspecs, name)).parameters)
        spec = getattr(getattr(manager.hook, name, None), "spec", None)
        if spec is None:
            missing[name] = getattr(hookspecs, name)
        elif getattr(spec.function, "_hooked_attached", False):
            continue  # added by an earlier attach: still the library's to call
        elif tuple(spec.argnames) == wanted:
            shared.add(name)
        else:
            raise ValueError(f"{manager.project_name}'s {name}{tuple(spec.argnames)} is not the contract's {wanted}")
    for function in missing.values():
        function._hooked_attached = True
    if missing:
        manager.add_hookspecs(type("attached_hookspecs", (), missing))
    return frozenset(shared)


def declared_entry(plugin: Any) -> PluginEntry:
    """The entry a host's declared plugin stands for: a module path, a module, or a declaration."""
    if isinstance(plugin, str):
        return PluginEntry(plugin.partition(":")[0], plugin, "", "")
    if isinstance(plugin, ModuleType):
        return PluginEntry(plugin.__name__, plugin.__name__, "", "")
    name = declared_name(plugin)
    module = getattr(plugin, "plugin_module", None)
    if name is None or not isinstance(module, str):
        raise TypeError(f"{plugin!r} is not a plugin: give a module, a module path, or an object with "
                        "plugin_name and plugin_module")
    return PluginEntry(name, module, str(getattr(plugin, "plugin_distribution", "") or ""),
                       str(getattr(plugin, "plugin_version", "") or ""))


def load(entry: PluginEntry) -> object:
    """Import the plugin's module (and attribute, for `module:attr` values)."""
    import importlib

    module_name, _, attribute = entry.value.partition(":")
    loaded: object = importlib.import_module(module_name.strip())
    for part in filter(None, attribute.strip().split(".")):
        loaded = getattr(loaded, part)
    return loaded
