"""What the user typed for a command, and the CLI's own words (`invocation.typed`, `own_words`).

A plugin that sends text anywhere removes the first and may keep the second;
both are worked out only when a plugin asks for them.
"""

from __future__ import annotations

import os
from typing import Any, Iterable

import click


def _add_values(found: set[str], value: Any) -> None:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            _add_values(found, item)
        return
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    elif hasattr(value, "name") and hasattr(value, "read"):  # click.File
        value = value.name
    text = str(value)
    if text:
        found.add(text)


def words_of(chain: Iterable[click.Context], argv: Iterable[str]) -> tuple[frozenset[str], frozenset[str]]:
    """(what the user supplied, the CLI's own words) for a command's contexts."""
    contexts = list(chain)
    own: set[str] = set()
    for ctx in contexts:
        command = ctx.command
        if command.name:
            own.add(command.name)
        own.update(getattr(command, "commands", {}))
        for param in command.params:
            if isinstance(param, click.Option):
                own.update(param.opts)
                own.update(param.secondary_opts)
    typed: set[str] = set()
    for token in argv:
        if token in own:
            continue
        flag, equals, value = token.partition("=")
        typed.add(value if equals and flag in own else token)
    for ctx in contexts:
        for value in ctx.params.values():
            _add_values(typed, value)
    typed.discard("")
    typed.discard("--")
    return frozenset(typed), frozenset(own)
