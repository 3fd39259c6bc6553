"""`peerdesk keys`: every key binding of the console with its id and current keys (after the
config's `[keys]`), to find the id to rebind; `--check` only checks the config's keymap."""

from __future__ import annotations

import argparse
import json
from typing import Any

from console.desk import load_config_for


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "keys",
        help="every key of the console with its binding id (rebind them in [keys] of the config)",
        description="List every key binding: its id, its keys now (yours from [keys] in the "
        "config marked *), and what it does. --check only checks the config's [keys].",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per binding")
    parser.add_argument("--check", action="store_true", help="check the config's [keys] only")
    parser.set_defaults(handler=cmd_keys)


def cmd_keys(args: argparse.Namespace) -> int:
    from console.screens.keys import known_bindings, user_keymap  # Textual: the widgets' keys

    config = load_config_for(args.config)
    mine = user_keymap(config)  # ConfigError (one line) if the keymap is wrong
    if args.check:
        print(f"[keys]: {len(mine)} rebound, no clash" if mine else "[keys]: nothing rebound")
        return 0
    for binding in known_bindings():
        keys = mine.get(binding.id, binding.keys)
        what = binding.description
        if args.json:
            row = {"id": binding.id, "keys": keys, "default": binding.keys, "does": what}
            print(json.dumps(row, ensure_ascii=False))
        else:
            mark = "*" if binding.id in mine else " "
            print(f"{binding.id:<28} {keys + mark:<22} {what}")
    return 0
