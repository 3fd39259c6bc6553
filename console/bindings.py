"""The one table of key bindings: binding id -> default keys, action, description, domain action.

Every screen of the console builds its `BINDINGS` from here (`console.screens.keys.bindings`), so
a key, what it is called in the key bar and `?` help, and the domain action whose role it needs
are written once. The role tables the screens use to hide keys (`role_table(scope)`) are derived
from this table; the domain's own `console.roles.ACTION_ROLES` says which roles each domain
action needs (tests/security/test_ui_role_tables.py checks every name here is one it knows).

A binding id is `scope.name`; the scope is the screen (or the app) that owns it. Users rebind
keys by id in their config (`[keys]`, see console.keymap). Widgets in `widgets/` keep their own
bindings (they know nothing of the console); their ids are rebindable too.

Plain Python: no Textual here (the screens turn these into `textual.binding.Binding`s).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Key:
    id: str
    keys: str  # Textual key names, comma-separated ("j,down")
    action: str  # the screen's action ("claim", "move(1)")
    description: str  # short, for the key bar
    tooltip: str = ""  # longer, for `?` help and the command palette
    show: bool = True  # in the key bar
    priority: bool = False
    domain: str | None = None  # the domain action whose roles it needs (console.roles)

    @property
    def scope(self) -> str:
        return self.id.rsplit(".", 1)[0]

    @property
    def action_name(self) -> str:
        """The action without its arguments ("move(1)" -> "move"), as check_action sees it."""
        return re.sub(r"\(.*\)$", "", self.action)


def _escalate(scope: str) -> Key:
    """`!` in the Queue and the Thread screen: the same key, words and role."""
    return Key(
        f"{scope}.escalate",
        "exclamation_mark",
        "escalate",
        "Escalate",
        tooltip="Escalate the thread to support by hand, with a reason",
        show=False,
        domain="esc_raise",
    )


KEYS: tuple[Key, ...] = (
    # PeerdeskApp (console.app)
    Key("app.quit", "ctrl+q", "quit", "Quit", priority=True),
    Key("app.help", "question_mark", "help", "Help", tooltip="Show every key of this screen"),
    Key(
        "app.commands",
        "ctrl+p",
        "command_palette",
        "Commands",
        tooltip="Find any action by name",
        show=False,
    ),
    Key(
        "app.messages",
        "L",
        "message_log",
        "Messages",
        tooltip="Recent results and errors (the status line shows the last)",
        show=False,
    ),
    Key("panel.queue", "1", "panel('queue')", "Queue", show=False),
    Key("panel.duplicates", "D", "panel('duplicates')", "Duplicates", show=False),
    Key("panel.sync", "Y", "panel('sync')", "Sync", show=False),
    Key("panel.escalations", "E", "panel('escalations')", "Escalations", show=False),
    Key("panel.verification", "V", "panel('verification')", "Verification", show=False),
    Key("panel.rewards", "dollar_sign", "panel('rewards')", "Rewards", show=False),
    Key(
        "panel.audit",
        "W",
        "panel('audit')",
        "Audit",
        tooltip="The audit log: who did what, its hash chain checked",
        show=False,
    ),
    # QueueScreen (console.screens.queue)
    Key(
        "queue.claim",
        "c",
        "claim",
        "Claim",
        tooltip="Claim the thread (a lease; others see it is yours)",
        domain="claim",
    ),
    Key(
        "queue.release",
        "C",
        "release",
        "Release",
        tooltip="Release your claim",
        show=False,
        domain="release",
    ),
    Key(
        "queue.close",
        "x",
        "close",
        "Close",
        tooltip="Close the thread, or every selected thread as one batch",
        domain="close",
    ),
    Key(
        "queue.reopen",
        "o",
        "reopen",
        "Reopen",
        tooltip="Reopen the thread, or every selected thread as one batch",
        show=False,
        domain="reopen",
    ),
    Key(
        "queue.note",
        "n",
        "note",
        "Note",
        tooltip="Add an internal note to the thread",
        domain="note",
    ),
    _escalate("queue"),
    Key(
        "queue.undo", "u", "undo", "Undo", tooltip="Undo your last decision or batch", domain="undo"
    ),
    Key(
        "queue.select_author",
        "A",
        "select_author",
        "Select author's",
        tooltip="Select every open thread by this thread's author",
        show=False,
        domain="close",
    ),
    Key(
        "queue.member",
        "M",
        "member",
        "Member",
        tooltip="The thread author's member view (every source)",
        show=False,
    ),
    Key(
        "queue.preview",
        "p",
        "toggle_preview",
        "Preview",
        tooltip="Show or hide the preview pane (120 columns or more)",
        show=False,
    ),
    Key(
        "queue.search",
        "slash",
        "search",
        "Search",
        tooltip="Search or filter: words, source: status: tag: flagged claimed: age>2d",
    ),
    Key(
        "queue.filter",
        "f",
        "cycle_filter",
        "Filter",
        tooltip="Cycle filters and saved views: all/flagged/unanswered/mine/likely dupes/…",
    ),
    Key(
        "queue.next_view",
        "right_square_bracket",
        "next_view",
        "Next view",
        tooltip="The next tab: your saved views ([views] in the config) after the filters",
        show=False,
    ),
    Key(
        "queue.previous_view",
        "left_square_bracket",
        "previous_view",
        "Previous view",
        tooltip="The previous tab (saved views)",
        show=False,
    ),
    Key(
        "queue.refresh",
        "r",
        "refresh",
        "Refresh",
        tooltip="Reload the Queue now (it also reloads every 30 s)",
        show=False,
    ),
    Key(
        "queue.clear",
        "escape",
        "clear",
        "Clear search/selection",
        tooltip="Clear the search, then the selection",
        show=False,
    ),
    # ThreadScreen (console.screens.thread)
    Key("thread.back", "escape,q,backspace", "back", "Back", tooltip="Back to the Queue"),
    Key("thread.next", "j,down", "move(1)", "Next post", tooltip="Next post", show=False),
    Key(
        "thread.previous", "k,up", "move(-1)", "Previous post", tooltip="Previous post", show=False
    ),
    Key("thread.first", "g,home", "jump(0)", "First post", tooltip="First post", show=False),
    Key("thread.last", "G,end", "jump(-1)", "Last post", tooltip="Last post", show=False),
    Key(
        "thread.page_down",
        "pagedown,space",
        "page(1)",
        "Page down",
        tooltip="Scroll down a page",
        show=False,
    ),
    Key("thread.page_up", "pageup", "page(-1)", "Page up", tooltip="Scroll up a page", show=False),
    Key(
        "thread.claim", "c", "claim", "Claim", tooltip="Claim the thread (a lease)", domain="claim"
    ),
    Key(
        "thread.release",
        "C",
        "release",
        "Release",
        tooltip="Release your claim",
        show=False,
        domain="release",
    ),
    Key("thread.close", "x", "close", "Close", tooltip="Close the thread", domain="close"),
    Key(
        "thread.reopen",
        "o",
        "reopen",
        "Reopen",
        tooltip="Reopen the thread",
        show=False,
        domain="reopen",
    ),
    Key(
        "thread.hide_post",
        "s",
        "hide_post",
        "Spam",
        tooltip="Hide the focused post as spam",
        domain="hide_post",
    ),
    Key("thread.note", "n", "note", "Note", tooltip="Add an internal note", domain="note"),
    _escalate("thread"),
    Key(
        "thread.undo",
        "u",
        "undo",
        "Undo",
        tooltip="Undo your last decision or batch",
        domain="undo",
    ),
    Key("thread.refresh", "r", "refresh", "Refresh", tooltip="Reload the thread", show=False),
    Key(
        "thread.verify_answer",
        "V",
        "verify_answer",
        "Verify answer",
        tooltip="Check the focused answer in the Verification panel",
        show=False,
    ),
    Key(
        "thread.member",
        "M",
        "member",
        "Member",
        tooltip="The focused post's author: the member view (every source)",
        show=False,
    ),
    Key(
        "thread.duplicates",
        "D",
        "duplicates",
        "Duplicates",
        tooltip="Review this thread's possible duplicates in the Duplicates panel",
    ),
    # DuplicatesScreen (console.screens.duplicates)
    Key(
        "dupes.confirm",
        "y",
        "confirm",
        "Confirm",
        tooltip="Confirm: close the thread as a duplicate of the original shown",
        domain="dupe_confirm",
    ),
    Key(
        "dupes.reject",
        "n,x",
        "reject",
        "Reject",
        tooltip="Reject: not a duplicate; the pair is never proposed again",
        domain="dupe_reject",
    ),
    Key(
        "dupes.merge",
        "m",
        "merge",
        "Merge",
        tooltip="Merge: confirm, and show the duplicate's useful answers under the original",
        domain="dupe_merge",
    ),
    Key(
        "dupes.pick",
        "p",
        "pick",
        "Other",
        tooltip="Show the thread's next candidate original (y then confirms that one)",
    ),
    Key(
        "dupes.undo",
        "u",
        "undo",
        "Undo",
        tooltip="Undo your last decision (audited too)",
        domain="undo",
    ),
    Key(
        "dupes.scroll_down",
        "J,shift+down",
        "scroll_detail(1)",
        "Scroll comparison down",
        tooltip="Scroll the comparison down",
        show=False,
    ),
    Key(
        "dupes.scroll_up",
        "K,shift+up",
        "scroll_detail(-1)",
        "Scroll comparison up",
        tooltip="Scroll the comparison up",
        show=False,
    ),
    Key(
        "dupes.open_original",
        "o",
        "open_original",
        "Open original",
        tooltip="Open the proposed original thread",
        show=False,
    ),
    Key("dupes.refresh", "r", "refresh", "Refresh", tooltip="Reload the pairs", show=False),
    Key("dupes.back", "escape", "back", "Back", tooltip="Back to the Queue"),
    # SyncTable (console.screens.sync)
    Key(
        "sync.table.activate",
        "enter",
        "activate",
        "Sync source",
        tooltip="In the sources list: fetch news from that source",
        show=False,
    ),
    # SyncScreen (console.screens.sync)
    Key(
        "sync.all",
        "s",
        "sync_all",
        "Sync all",
        tooltip="Fetch news from every source",
        domain="sync",
    ),
    Key(
        "sync.selected",
        "S",
        "sync_selected",
        "Sync source",
        tooltip="Fetch news from the source under the cursor (enter in the list too)",
        domain="sync",
    ),
    Key(
        "sync.push",
        "p",
        "push",
        "Push",
        tooltip="Send the waiting decisions to the platforms",
        domain="push",
    ),
    Key(
        "sync.retry",
        "R",
        "retry",
        "Retry",
        tooltip="Send the chosen conflicted or rejected item again on the next push",
        domain="outbox_retry",
    ),
    Key(
        "sync.dismiss",
        "d",
        "dismiss",
        "Dismiss",
        tooltip="Give up on the chosen conflicted or rejected item (kept as cancelled)",
        domain="outbox_dismiss",
    ),
    Key(
        "sync.next_list",
        "tab",
        "cycle",
        "Next list",
        tooltip="Move between the sources and the outbox, conflicts and errors",
        show=False,
    ),
    Key("sync.outbox", "1", "tab('outbox')", "Outbox", tooltip="Show the outbox", show=False),
    Key(
        "sync.conflicts",
        "2",
        "tab('conflicts')",
        "Conflicts",
        tooltip="Show conflicts and rejected items with the platform's message",
        show=False,
    ),
    Key(
        "sync.errors",
        "3",
        "tab('errors')",
        "Errors",
        tooltip="Show what the last syncs could not read",
        show=False,
    ),
    Key("sync.refresh", "r", "refresh", "Refresh", tooltip="Reload this panel", show=False),
    Key("sync.back", "escape", "back", "Back", tooltip="Back to the Queue"),
    # EscalationsScreen (console.screens.escalations)
    Key(
        "esc.acknowledge",
        "a",
        "acknowledge",
        "Ack",
        tooltip="Acknowledge: you have seen it",
        domain="esc_acknowledge",
    ),
    Key(
        "esc.assign_me",
        "i",
        "assign_me",
        "Mine",
        tooltip="Assign it to yourself",
        domain="esc_assign",
    ),
    Key(
        "esc.assign_other",
        "I",
        "assign_other",
        "Assign",
        tooltip="Assign it to a named person",
        domain="esc_assign",
    ),
    Key(
        "esc.send",
        "s",
        "send",
        "Support",
        tooltip="Send to support (a ticket through the outbox)",
        domain="esc_send",
    ),
    Key("esc.note", "n", "note", "Note", tooltip="Add a note to its history", domain="esc_note"),
    Key("esc.resolve", "r", "resolve", "Resolve", tooltip="Resolve it", domain="esc_resolve"),
    Key(
        "esc.resolve_reply",
        "R",
        "resolve_reply",
        "Resolve + reply",
        tooltip="Resolve it and post a reply on the community thread (e.g. support's answer)",
        show=False,
        domain="esc_resolve",
    ),
    Key(
        "esc.dismiss",
        "d",
        "dismiss",
        "Dismiss",
        tooltip="Dismiss it as a false alarm, with a reason",
        domain="esc_dismiss",
    ),
    Key(
        "esc.reopen",
        "o",
        "reopen",
        "Reopen",
        tooltip="Reopen a resolved or dismissed one",
        show=False,
        domain="esc_reopen",
    ),
    Key(
        "esc.undo",
        "u",
        "undo",
        "Undo",
        tooltip="Undo your last decision",
        show=False,
        domain="undo",
    ),
    Key(
        "esc.closed",
        "c",
        "toggle_closed",
        "Closed",
        tooltip="Show or hide resolved and dismissed ones",
        show=False,
    ),
    Key(
        "esc.scroll_down",
        "J,shift+down",
        "scroll_detail(1)",
        "Scroll down",
        tooltip="Scroll the detail down",
        show=False,
    ),
    Key(
        "esc.scroll_up",
        "K,shift+up",
        "scroll_detail(-1)",
        "Scroll up",
        tooltip="Scroll the detail up",
        show=False,
    ),
    Key("esc.refresh", "f5", "refresh", "Refresh", tooltip="Reload", show=False),
    Key("esc.back", "escape", "back", "Back", tooltip="Back to the Queue"),
    # VerificationScreen (console.screens.verification)
    Key(
        "verify.verify", "v", "verify", "Verify", tooltip="Verified correct", domain="verify_answer"
    ),
    Key(
        "verify.reject",
        "x",
        "reject",
        "Reject",
        tooltip="Wrong: a reason and free text",
        domain="verify_reject",
    ),
    Key(
        "verify.needs_edit",
        "e",
        "needs_edit",
        "Needs edit",
        tooltip="Ask the author to edit it (a note through the outbox)",
        domain="verify_needs_edit",
    ),
    Key(
        "verify.pick",
        "p",
        "pick",
        "Pick",
        tooltip=(
            "Pick the highlighted competing answer instead "
            "(four-eyes if it overturns the asker's accept)"
        ),
        domain="verify_pick",
    ),
    Key(
        "verify.confirm",
        "c",
        "confirm",
        "Confirm",
        tooltip="Second moderator: confirm the contested proposal",
        show=False,
        domain="verify_confirm",
    ),
    Key(
        "verify.disagree",
        "d",
        "disagree",
        "Disagree",
        tooltip="Second moderator: disagree with the proposal (goes to the review list)",
        show=False,
        domain="verify_confirm",
    ),
    Key("verify.undo", "u", "undo", "Undo", tooltip="Undo your last decision", domain="undo"),
    Key(
        "verify.next_competitor",
        "right_square_bracket",
        "competitor(1)",
        "Next answer",
        tooltip="Highlight the next competing answer",
        show=False,
    ),
    Key(
        "verify.previous_competitor",
        "left_square_bracket",
        "competitor(-1)",
        "Previous answer",
        tooltip="Highlight the previous competing answer",
        show=False,
    ),
    Key(
        "verify.scroll_down",
        "J,shift+down",
        "scroll_detail(1)",
        "Scroll down",
        tooltip="Scroll the answer down",
        show=False,
    ),
    Key(
        "verify.scroll_up",
        "K,shift+up",
        "scroll_detail(-1)",
        "Scroll up",
        tooltip="Scroll the answer up",
        show=False,
    ),
    Key("verify.open", "o", "open_thread", "Open", tooltip="Open the thread", show=False),
    Key("verify.refresh", "r", "refresh", "Refresh", tooltip="Reload the queue", show=False),
    Key("verify.back", "escape", "back", "Back", tooltip="Back"),
    # RewardsScreen (console.screens.rewards)
    Key("rewards.members", "1", "tab('members')", "Members", show=False),
    Key("rewards.flags", "2", "tab('flags')", "Flags", show=False),
    Key("rewards.batch", "3", "tab('batch')", "Batch", show=False),
    Key("rewards.appeals", "4", "tab('appeals')", "Appeals", show=False),
    Key("rewards.next", "tab", "cycle", "Next list", show=False),
    Key(
        "rewards.prepare",
        "P",
        "prepare",
        "Prepare",
        tooltip="Prepare a payout batch",
        domain="payout_prepare",
    ),
    Key(
        "rewards.approve",
        "a",
        "approve",
        "Approve",
        tooltip="Approve the batch",
        domain="payout_approve",
    ),
    Key("rewards.hold", "h", "hold", "Hold", tooltip="Hold the chosen line", domain="payout_hold"),
    Key(
        "rewards.release",
        "H",
        "release",
        "Release",
        tooltip="Release a held line",
        domain="payout_release",
    ),
    Key(
        "rewards.export",
        "e",
        "export",
        "Export",
        tooltip="Write CSV + JSON here",
        domain="payout_export",
    ),
    Key(
        "rewards.appeal",
        "A",
        "appeal",
        "Appeal",
        tooltip="File the member's appeal against the chosen held line",
        show=False,
        domain="payout_appeal",
    ),
    Key(
        "rewards.uphold",
        "y",
        "uphold",
        "Uphold",
        tooltip="Uphold the chosen appeal (the line is released if it still can be)",
        show=False,
        domain="payout_appeal_decide",
    ),
    Key(
        "rewards.deny",
        "n",
        "deny",
        "Deny",
        tooltip="Deny the chosen appeal",
        show=False,
        domain="payout_appeal_decide",
    ),
    Key("rewards.refresh", "r", "refresh", "Refresh", show=False),
    Key("rewards.back", "escape", "back", "Back", tooltip="Back to the Queue"),
    # AuditScreen (console.screens.audit)
    Key(
        "audit.filter",
        "slash",
        "filter",
        "Filter",
        tooltip="Filter: mine, who:NAME, action:close, thread:12 (or #12), post:7, kind:KIND",
    ),
    Key(
        "audit.mine",
        "f",
        "toggle_mine",
        "Mine/all",
        tooltip="Only your own entries, or everyone's again",
    ),
    Key(
        "audit.same_action",
        "a",
        "same_action",
        "Same action",
        tooltip="Only entries of the focused entry's kind of action",
        show=False,
    ),
    Key(
        "audit.same_target",
        "t",
        "same_target",
        "Same target",
        tooltip="Only entries about the focused entry's target (its thread, post…)",
        show=False,
    ),
    Key(
        "audit.scroll_down",
        "J,shift+down",
        "scroll_detail(1)",
        "Scroll down",
        tooltip="Scroll the entry's detail down",
        show=False,
    ),
    Key(
        "audit.scroll_up",
        "K,shift+up",
        "scroll_detail(-1)",
        "Scroll up",
        tooltip="Scroll the entry's detail up",
        show=False,
    ),
    Key(
        "audit.refresh",
        "r",
        "refresh",
        "Refresh",
        tooltip="Read the log again and check its chain again",
        show=False,
    ),
    Key(
        "audit.back",
        "escape",
        "back",
        "Back",
        tooltip="Clear the filter; without one, back to the Queue",
    ),
    # HelpScreen (console.screens.help)
    Key("help.close", "escape,question_mark,q", "close", "Close help"),
    Key("help.down", "j,down", "scroll('down')", "Scroll down", show=False),
    Key("help.up", "k,up", "scroll('up')", "Scroll up", show=False),
    # MemberLedgerScreen (console.screens.member_ledger)
    Key("ledger.back", "escape", "back", "Back", tooltip="Back to Rewards"),
    # ConfirmScreen (console.screens.confirm)
    Key("confirm.yes", "y", "answer(True)", "Yes"),
    Key("confirm.no", "n,escape", "answer(False)", "No", tooltip="No (enter on No, focused first)"),
    Key("confirm.down", "j,down", "scroll('down')", "Scroll down", show=False),
    Key("confirm.up", "k,up", "scroll('up')", "Scroll up", show=False),
    Key("confirm.page_down", "pagedown", "scroll('page_down')", "Page down", show=False),
    Key("confirm.page_up", "pageup", "scroll('page_up')", "Page up", show=False),
    Key(
        "confirm.switch",
        "left,right,tab",
        "app.focus_next",
        "Yes/No",
        tooltip="Move between Yes and No",
        show=False,
    ),
    # MessageLogScreen (console.screens.message_log)
    Key("log.close", "escape,L,q", "close", "Close"),
    Key("log.down", "j,down", "scroll('down')", "Scroll down", show=False),
    Key("log.up", "k,up", "scroll('up')", "Scroll up", show=False),
    # NoteScreen (console.screens.note)
    Key("note.cancel", "escape", "cancel", "Cancel"),
    # PromptScreen (console.screens.prompt)
    Key("prompt.cancel", "escape", "cancel", "Cancel"),
    # ReasonScreen (console.screens.verify_reason)
    Key("verify_reason.cancel", "escape", "cancel", "Cancel"),
    # MemberScreen (console.screens.member)
    # MemberScreen (console.screens.member)
    Key("member.back", "escape,q,backspace", "back", "Back", tooltip="Back to where you came from"),
    Key(
        "member.next_section",
        "tab",
        "section(1)",
        "Next section",
        tooltip="Jump to the next section",
        show=False,
    ),
)

BY_ID: dict[str, Key] = {key.id: key for key in KEYS}
assert len(BY_ID) == len(KEYS), "binding ids must be unique"


# For each screen, the scopes whose bindings are live on it at once (the screen's, the app's and
# those of the widgets it holds: `table` is widgets.lazy_table, `post` widgets.post_view). Two
# bindings of one group on one key clash. Modal screens see only their own (and priority keys).
GROUPS: dict[str, tuple[str, ...]] = {
    "queue": ("app", "panel", "queue", "table"),
    "thread": ("app", "panel", "thread", "post"),
    "duplicates": ("app", "panel", "dupes", "table"),
    "sync": ("app", "panel", "sync", "sync.table", "table"),
    "escalations": ("app", "panel", "esc", "table"),
    "verification": ("app", "panel", "verify", "table"),
    "rewards": ("app", "panel", "rewards", "table"),
    "audit": ("app", "panel", "audit", "table"),
    "member ledger": ("app", "panel", "ledger", "table"),
    "member": ("app", "panel", "member", "table"),
    "help": ("help",),
    "confirmation": ("confirm",),
    "note": ("note",),
    "prompt": ("prompt",),
    "reason": ("verify_reason",),
}


def of_scopes(*scopes: str) -> list[Key]:
    """The bindings of these scopes, in table order."""
    wanted = set(scopes)
    return [key for key in KEYS if key.scope in wanted]


def role_table(*scopes: str) -> dict[str, str]:
    """Screen action name -> the domain action it needs, derived from the table."""
    table: dict[str, str] = {}
    for key in of_scopes(*scopes):
        if key.domain is not None:
            known = table.setdefault(key.action_name, key.domain)
            if known != key.domain:
                raise ValueError(f"{key.id}: action {key.action_name!r} needs two domain actions")
    return table


def domain_actions(keys: Iterable[Key] = KEYS) -> set[str]:
    return {key.domain for key in keys if key.domain is not None}
