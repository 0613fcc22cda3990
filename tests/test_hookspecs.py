"""Every hook of the contract is documented in docs/plugins.md, with its signature."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from testkube_telemetry_plugin.hooks import specs as hookspecs

PLUGINS_DOC = (Path(__file__).parent.parent / "docs" / "plugins.md").read_text(encoding="utf-8")
SPECS = [
    (name, function)
    for name, function in vars(hookspecs).items()
    if name.startswith("testkube_") and callable(function)
]


def test_there_are_hooks() -> None:
    assert {name for name, _ in SPECS} == {
        "testkube_register_commands",
        "testkube_pre_command",
        "testkube_post_command",
    }


@pytest.mark.parametrize("name,function", SPECS)
def test_hook_is_documented_with_its_signature(name: str, function) -> None:
    arguments = ", ".join(inspect.signature(function).parameters)
    assert f"`{name}({arguments})`" in PLUGINS_DOC
    assert function.__doc__ and function.__doc__.strip()
