"""A pluggy manager whose plugins cannot break the host command.

Hooks are called through pluggy itself, so its semantics hold: `tryfirst` and
`trylast` order, old- and new-style wrappers, hook-call monitoring.  What is
added is isolation: each plain implementation is guarded when it is
registered, so one that raises (anything, `KeyboardInterrupt` and `SystemExit`
included) is reported and counts as having returned None; the others still
run, and the command's output and exit code stay as they were.
"""

from __future__ import annotations

import functools
import sys
from types import ModuleType
from typing import Any, Callable, Optional

import pluggy

from . import hookspecs


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


class IsolatingPluginManager(pluggy.PluginManager):
    """`pluggy.PluginManager` for the contract's hooks, with each plugin isolated."""

    def __init__(self, on_failure: Callable[[str], None]) -> None:
        super().__init__(hookspecs.PROJECT_NAME)
        self.add_hookspecs(hookspecs)
        self._on_failure = on_failure

    # pluggy looks at every name a plugin module holds, dunders included, on every
    # command (pluggy 1.7 with `inspect.getattr_static`, which is slow).  A value in
    # the module's dict that cannot be called cannot be a hook, so it is passed over
    # before that (pluggy's documented override points); anything callable, any name
    # the dict lacks (a lazy module's), and any class or instance still go to pluggy.
    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        if _not_a_hook(plugin, name):
            return None
        return super().parse_hookimpl_opts(plugin, name)

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
