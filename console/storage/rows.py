"""Rows of the team database read like sqlite3.Row: by index, by column name, `dict(row)`."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, ClassVar


class NamedRow(tuple[Any, ...]):
    """A tuple whose items are also reachable by column name (any case, as sqlite3.Row)."""

    __slots__ = ()
    _names: ClassVar[tuple[str, ...]] = ()
    _positions: ClassVar[dict[str, int]] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            try:
                position = self._positions[key.lower()]
            except KeyError:
                raise IndexError(f"No item with that key: {key!r}") from None
            return tuple.__getitem__(self, position)
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


@lru_cache(maxsize=1024)
def row_class(names: tuple[str, ...]) -> type[NamedRow]:
    """One row class per column list (made once, then reused for every row of that shape)."""
    index: dict[str, int] = {}
    for position, name in enumerate(names):
        index.setdefault(name.lower(), position)
    return type("NamedRow", (NamedRow,), {"__slots__": (), "_names": names, "_positions": index})


def maker(names: Sequence[str]) -> type[NamedRow]:
    return row_class(tuple(names))
