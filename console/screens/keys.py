"""The console's bindings as Textual `Binding`s, built from the one table in console.bindings."""

from __future__ import annotations

from textual.binding import Binding, BindingType

from console.bindings import GROUPS, KEYS, of_scopes
from console.config import Config
from console.keymap import KnownBinding, resolve


def bindings(*scopes: str) -> list[BindingType]:
    """The `BINDINGS` of a screen (or the app) that owns these scopes of the table."""
    return [
        Binding(
            key.keys,
            key.action,
            key.description,
            show=key.show,
            id=key.id,
            tooltip=key.tooltip,
            priority=key.priority,
        )
        for key in of_scopes(*scopes)
    ]


def known_bindings() -> list[KnownBinding]:
    """Every binding a user may rebind: the console's table and the widgets' own."""
    from widgets.lazy_table import LazyTable
    from widgets.post_list import PostList

    known = [
        KnownBinding(key.id, key.keys, key.scope, key.tooltip or key.description) for key in KEYS
    ]
    for scope, widget in (("table", LazyTable), ("post", PostList)):
        for binding in widget.BINDINGS:
            if isinstance(binding, Binding) and binding.id:
                what = binding.tooltip or binding.description
                known.append(KnownBinding(binding.id, binding.key, scope, what))
    return known


def user_keymap(config: Config) -> dict[str, str]:
    """The config's `[keys]`, checked against every binding (ConfigError, one line, if not)."""
    if not config.keys:
        return {}
    where = f"The config {config.path} [keys]"
    return resolve(config.keys, known_bindings(), GROUPS, where=where)
