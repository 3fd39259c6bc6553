"""The Queue's saved views as tabs: the config's `[views]` (console.config), each a tab after one
for the built-in filters, over the Queue (widgets.tab_line).

The tabs are another look at what `f` cycles through (the built-in filters, then the views): the
first tab shows the built-in filter in force (or the one last used), the others the views. `]`
and `[` (console.bindings: queue.next_view, queue.previous_view) step through the tabs; leaving a
view for the first tab goes back to the built-in filter used last. Plain functions of indexes into
`QueueScreen.filter_names()`; no Textual here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tabs:
    labels: tuple[str, ...]
    active: int


def tabs(names: tuple[str, ...], builtins: int, index: int, last_builtin: int) -> Tabs:
    """The tabs for `names` (the first `builtins` are the built-in filters) with `names[index]`
    in force; `last_builtin` is the built-in filter used last."""
    shown = index if index < builtins else last_builtin
    labels = (names[shown], *names[builtins:])
    return Tabs(labels, 0 if index < builtins else index - builtins + 1)


def step(names: tuple[str, ...], builtins: int, index: int, last_builtin: int, by: int) -> int:
    """The index into `names` of the tab `by` tabs on from the one in force (round the end)."""
    count = len(names) - builtins + 1
    tab = (tabs(names, builtins, index, last_builtin).active + by) % count
    return last_builtin if tab == 0 else builtins + tab - 1
