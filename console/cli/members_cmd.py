"""`peerdesk members`: one member's accounts across the sources and why each is theirs; `link`
and `unlink` decide that two accounts are (or are not) one person (console.member_links)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from console.cli.core import open_desk
from console.safe_text import printable

ACCOUNT = "an account: SOURCE:USERNAME (any case) or SOURCE:#ID (the platform's user id)"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "members",
        help="a member's accounts on every source and why; link/unlink two accounts",
        description="Show which accounts are one member and why (a moderator's link, the same "
        "Stack Exchange network account, the same username), or decide it: link says two "
        "accounts are one person, unlink that they are not (it outweighs the same username). "
        "Both are decisions: audited, undone with `peerdesk undo`.",
    )
    actions = parser.add_subparsers(dest="members_action", required=True)
    show = actions.add_parser("show", help="the accounts of a member and why each is theirs")
    show.add_argument("account", help=ACCOUNT)
    show.add_argument("--json", action="store_true", help="one JSON object per account")
    show.set_defaults(handler=cmd_show)
    for name, linked in (("link", True), ("unlink", False)):
        sub = actions.add_parser(
            name,
            help="two accounts are one person" if linked else "two accounts are not one person",
        )
        sub.add_argument("first", help=ACCOUNT)
        sub.add_argument("second", help=ACCOUNT)
        sub.set_defaults(handler=cmd_link, linked=linked)


def cmd_show(args: argparse.Namespace) -> int:
    desk = open_desk(args)
    profile = desk.member(desk.find_account(args.account))
    for account in profile.accounts:
        if args.json:
            row = {
                "member_id": account.member_id,
                "source": account.source,
                "username": account.username,
                "display_name": account.display_name,
                "why": account.why,
            }
            print(json.dumps(row, ensure_ascii=False))
        else:
            name = printable(f"{account.source}:{account.username}", single_line=True)
            print(f"{name}  ({printable(account.why, single_line=True)})")
    return 0


def cmd_link(args: argparse.Namespace) -> int:
    desk = open_desk(args)
    first, second = desk.find_account(args.first), desk.find_account(args.second)
    result = desk.link_members(first, second, linked=args.linked)
    print(f"{result.message} ({args.first} and {args.second}; `peerdesk undo` takes it back)")
    return 0
