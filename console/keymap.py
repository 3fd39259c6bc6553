"""The user's keymap: `[keys]` in the config rebinds keys by binding id (as posting and harlequin
let their users do).

    [keys]
    "queue.claim" = "ctrl+l"          # one key
    "table.down" = "j,down,ctrl+n"    # several: a comma-separated string (or a list)
    "app.help" = "?"                  # characters or Textual key names ("question_mark")

`resolve` checks the whole map before the console starts, against every binding the console has
(console.bindings.KEYS and the widgets' own, passed in by the UI), and refuses with one line:
an unknown id (naming the closest known ones), a key name Textual would never send, and a clash
(two bindings on one key where both are live at once, e.g. a screen's key and the list's, when
the user moved one of them there). Keys that shared a key by design before the user changed
anything (the Sync panel's `1` shadows the app's) are left alone.

Plain Python: the console hands the result to `App.set_keymap`.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from console.errors import ConfigError

NAMED_KEYS = frozenset(
    {
        "escape",
        "enter",
        "tab",
        "backspace",
        "delete",
        "insert",
        "space",
        "up",
        "down",
        "left",
        "right",
        "home",
        "end",
        "pageup",
        "pagedown",
        *(f"f{n}" for n in range(1, 25)),
    }
)
MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")
REPLACEMENTS = {  # Textual's names for a few characters
    "solidus": "slash",
    "reverse_solidus": "backslash",
    "commercial_at": "at",
    "hyphen_minus": "minus",
    "plus_sign": "plus",
    "low_line": "underscore",
}
NAMED_CHARACTERS = frozenset({*REPLACEMENTS.values()})


@dataclass(frozen=True)
class KnownBinding:
    id: str
    keys: str  # the default keys, comma-separated
    scope: str
    description: str = ""


def key_name(key: str) -> str:
    """A key as Textual names it: "?" -> "question_mark", "/" -> "slash", "ctrl+a" as is."""
    key = key.strip()
    if len(key) != 1:
        return key
    if key.isalnum():
        return key
    try:
        name = unicodedata.name(key).lower().replace("-", "_").replace(" ", "_")
    except ValueError:
        return key
    return REPLACEMENTS.get(name, name)


def _is_key(name: str) -> bool:
    *modifiers, base = name.split("+")
    if any(m not in MODIFIERS for m in modifiers) or not base:
        return False
    if len(base) == 1 or base in NAMED_KEYS or base in NAMED_CHARACTERS:
        return True
    try:
        unicodedata.lookup(base.replace("_", " ").upper())
    except KeyError:
        return False
    return True


def split_keys(value: str) -> list[str]:
    """Keys of a comma-separated string: "j, down" is ["j", "down"]; a lone "," is comma."""
    if value.strip() == ",":
        return ["comma"]
    return [key_name(part) for part in value.split(",") if part.strip()]


def _keys_of(raw: object, where: str) -> list[str]:
    if isinstance(raw, str):
        keys = split_keys(raw)
    elif isinstance(raw, list) and all(isinstance(k, str) for k in raw):
        keys = [key_name(k) for k in raw if k.strip()]
    else:
        raise ConfigError(f'{where}: keys must be a string like "ctrl+l" or "j,down"')
    if not keys:
        raise ConfigError(f"{where}: no key given")
    for key in keys:
        if not _is_key(key):
            raise ConfigError(
                f"{where}: {key!r} is not a key name (use a character, or a name such as "
                "enter, escape, tab, space, up, pagedown, f5, with ctrl+/shift+/alt+ before it)"
            )
    return list(dict.fromkeys(keys))


def resolve(
    user: Mapping[str, object],
    known: Iterable[KnownBinding],
    groups: Mapping[str, tuple[str, ...]],
    *,
    where: str = "[keys]",
) -> dict[str, str]:
    """Check the user's `[keys]` and return the keymap for `App.set_keymap` (id -> "k1,k2").

    `groups`: for each screen, the scopes whose bindings are live on it at the same time.
    """
    by_id = {binding.id: binding for binding in known}
    keymap: dict[str, str] = {}
    for binding_id, raw in user.items():
        if binding_id not in by_id:
            close = difflib.get_close_matches(binding_id, list(by_id), n=3, cutoff=0.6)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ConfigError(
                f"{where}: {binding_id!r} is not a binding id{hint}; `peerdesk keys` lists them all"
            )
        keymap[binding_id] = ",".join(_keys_of(raw, f"{where} {binding_id!r}"))
    for screen, scopes in groups.items():
        holders: dict[str, list[str]] = {}
        for binding in by_id.values():
            if binding.scope not in scopes:
                continue
            keys = keymap.get(binding.id, binding.keys)
            for key in dict.fromkeys(key_name(k) for k in keys.split(",")):
                holders.setdefault(key, []).append(binding.id)
        for key, ids in holders.items():
            moved = [i for i in ids if i in keymap]
            if len(ids) > 1 and moved:
                others = [i for i in ids if i != moved[0]]
                raise ConfigError(
                    f"{where}: {moved[0]!r} = {key!r} clashes with {', '.join(others)} "
                    f"on the {screen} screen; pick another key or move that one too"
                )
    return keymap
