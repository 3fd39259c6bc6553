"""What the Queue's table shows at a given width: which columns, how wide, and the words for an
empty list.

Columns that carry no information are left out: Source when the cache has one source, Claim when
nobody holds a claim. Below WIDE columns the status is abbreviated; from AUTHOR_FROM columns the
author is shown by display name (from AUTHOR_FULL_FROM as "Carol Ng (carol)"); the title takes
the rest.
Below 80x24 the console covers every screen with one notice (console.screens.too_small).

The layout is a function of the table's own width (not the terminal's), so a pane beside the
table (a preview) simply makes the table narrower. Rows carry every cell (`cells`); the columns
name the cell each shows, so a new width never needs the rows read again.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from console.clock import now, parse
from console.filters import PREFIX_FROM, parse_filter, whole_last_word
from console.models import QueueItem, member_label
from console.safe_text import printable
from widgets.lazy_table import Column

WIDE = 110  # from here the status is written out in full
AUTHOR_FROM = 100  # from here an Author column (the display name, else the username)
AUTHOR_FULL_FROM = 140  # from here the author as "Carol Ng (carol)"

STRONG_MARK = "≈ "  # before the title of a thread with strong duplicate candidates
ESCALATED_MARK = "! "  # before the title of a thread with an open escalation (E: the panel)

# the cells of a row, in order
AGE, SOURCE, STATUS, SHORT_STATUS, REPLIES, FLAGS, CLAIM, TITLE, AUTHOR, FULL_AUTHOR = range(10)

SHORT_STATUSES = {
    "open": "open",
    "answered": "answd",
    "solved": "solved",
    "closed": "closed",
    "duplicate": "dupe",
}


@dataclass(frozen=True)
class QueueLayout:
    columns: tuple[Column, ...]


def layout(width: int, *, sources: int, claims: bool) -> QueueLayout:
    """The columns for a table `width` cells wide, over `sources` sources, with or without any
    claim held."""
    wide = width >= WIDE
    columns = [Column("Age", 4, "right", cell=AGE)]
    if sources > 1:
        columns.append(Column("Source", 8 if not wide else 12, cell=SOURCE))
    if wide:
        columns.append(Column("Status", 9, cell=STATUS))
    else:
        columns.append(Column("State", 6, cell=SHORT_STATUS))
    columns += [Column("Re", 3, "right", cell=REPLIES), Column("Flags", 5, cell=FLAGS)]
    if claims:
        columns.append(Column("Claim", 8 if not wide else 12, cell=CLAIM))
    if width >= AUTHOR_FULL_FROM:
        columns.append(Column("Author", 24, cell=FULL_AUTHOR))
    elif width >= AUTHOR_FROM:
        columns.append(Column("Author", 14, cell=AUTHOR))
    columns.append(Column("Title", cell=TITLE))
    return QueueLayout(tuple(columns))


def age(created_at: str) -> str:
    """How long ago, in at most four characters."""
    minutes = max(0, int((now() - parse(created_at)).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes}m"
    if minutes < 48 * 60:
        return f"{minutes // 60}h"
    days = minutes // (24 * 60)
    return f"{days}d" if days < 1000 else f"{days // 365}y"


def flags(item: QueueItem) -> Text:
    parts = []
    if item.flag_count:
        parts.append(f"{item.flag_count}f")
    if item.report_count:
        parts.append(f"{item.report_count}r")
    return Text("".join(parts), style="bold" if parts else "")


def title(item: QueueItem) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    if item.strong_duplicate:
        text.append(STRONG_MARK, style="bold")
    if item.escalation:
        text.append(
            ESCALATED_MARK, style="bold reverse" if item.escalation == "critical" else "bold"
        )
    text.append(printable(item.title, single_line=True))
    return text


def cells(item: QueueItem, actor: str) -> tuple[str | Text, ...]:
    """Every cell of `item`'s row (the layout picks the ones shown)."""
    claim = ""
    if item.claimed_by:
        claim = "me" if item.claimed_by == actor else printable(item.claimed_by, single_line=True)
    return (
        age(item.created_at),
        printable(item.source, single_line=True),
        item.status,
        SHORT_STATUSES.get(item.status, item.status[:6]),
        str(item.reply_count),
        flags(item),
        claim,
        title(item),
        printable((item.author_name or "").strip() or item.author, single_line=True),
        printable(member_label(item.author, item.author_name), single_line=True),
    )


def empty_text(filter_name: str, search: str) -> str:
    """What an empty Queue says: what is empty, and why."""
    if search:
        shown = printable(search, single_line=True)
        where = "" if filter_name == "all" else f" among {filter_name} threads"
        short = whole_last_word(parse_filter(search).text)
        if short is not None:  # typed on the way to a longer word, most likely
            return (
                f"No thread matches “{shown}”{where}: a word of {PREFIX_FROM} letters or more "
                f"also finds the words it begins, “{printable(short, single_line=True)}” only "
                "itself. Escape clears the search."
            )
        return (
            f"No thread matches “{shown}”{where} (titles and posts are searched, closed threads "
            "included). Escape clears the search."
        )
    return {
        "all": "Nothing here needs a human: no open, unanswered, flagged or reported thread "
        "in the cache. / searches every thread.",
        "flagged": "No thread in the Queue is flagged or reported. f shows the next filter.",
        "unanswered": "Every thread in the Queue has at least one reply. f shows the next filter.",
        "mine": "You hold no claim: c on a thread claims it for 15 minutes. "
        "f shows the next filter.",
        "likely duplicates": "No thread in the Queue has a strong duplicate candidate; "
        "D lists every candidate.",
    }.get(filter_name, f"No thread in the Queue is {filter_name}.")
