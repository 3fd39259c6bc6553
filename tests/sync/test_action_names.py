"""The Sync panel's Action column says every outbox action whole: "close_duplicate" (15
characters) used to be cut to "close_dupli…" in its 12 characters."""

from __future__ import annotations

# No store at all: the Sync panel's column widths.
from console.action_names import SHORT, short_action
from console.platforms import PUSHABLE
from console.screens.sync import OUTBOX_COLUMNS


def test_every_pushable_action_fits_the_column() -> None:
    width = next(c.width for c in OUTBOX_COLUMNS if c.label == "Action")
    assert width is not None
    actions = {a for kinds in PUSHABLE.values() for a in kinds} | set(SHORT)
    too_long = {a: short_action(a) for a in actions if len(short_action(a)) > width}
    assert too_long == {}
    assert short_action("close_duplicate") == "close dupe"
    assert short_action("hide_post") == "hide post"
