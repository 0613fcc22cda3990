"""A base for the small value classes on every command's path.

`typing.NamedTuple` would do, but creating one costs about 0.4% of a whole
command (it builds its methods with `exec`), and the hot path has a dozen.
These are plain classes with `__slots__`: each lists its fields there and
sets them in `__init__`; equality, hashing and `repr` come from the fields.
"""

from __future__ import annotations

from typing import Any, TypeVar

V = TypeVar("V", bound="Value")


class Value:
    __slots__: tuple[str, ...] = ()

    def fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    def replace(self: V, **changes: Any) -> V:
        clone = object.__new__(type(self))
        for name in self.__slots__:
            setattr(clone, name, changes.pop(name, getattr(self, name)))
        if changes:
            raise TypeError(f"{type(self).__name__} has no field {next(iter(changes))!r}")
        return clone

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Value) and type(other) is type(self) and other.fields() == self.fields()

    def __hash__(self) -> int:
        return hash((type(self).__name__, *self.fields()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({inner})"
