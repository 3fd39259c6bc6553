"""NUL characters in stored text: SQLite's length() and substr() stop at them; console.sqltext's
expressions do not, on every cache connection. Checked on a real cache file."""

from __future__ import annotations

import pytest

from console import previews, sqltext, store
from console.db import Cache
from console.dupes import panel

SAMPLES = ["plain text", "ab\x00cd after the nul é", "\x00" + "x" * 300, "", None]


@pytest.mark.parametrize("text", SAMPLES)  # SQLite only: PostgreSQL text cannot hold a NUL
def test_length_prefix_and_searchable_see_past_a_nul(cache: Cache, text: str | None) -> None:
    row = cache.one(
        f"SELECT {sqltext.length_sql('?1')}, {sqltext.prefix_sql('?1', 12)}, "
        f"{sqltext.searchable_sql('?1', 12)}, length(?1)",
        (text,),
    )
    assert row is not None
    assert row[0] == (None if text is None else len(text))
    assert row[1] == (None if text is None else text[:12])
    assert row[2] == ("" if text is None else text[:12].replace("\0", " "))
    if text and "\0" in text:
        assert row[3] < len(text)  # what plain length() does: the reason for all this


@pytest.mark.backends
def test_the_duplicates_panel_shows_a_question_past_its_nul(
    cache: Cache, ids: dict[str, int]
) -> None:
    body = "\x00 hidden start, then the real question about a PAC code"
    statement = "UPDATE posts SET body_text = ? WHERE thread_id = ? AND position = 0"
    cache.conn.execute(statement, (body, ids["t2"]))
    view = panel.pair(cache, ids["t2"], ids["t1"])
    # the team database stores a NUL as U+FFFD (console/storage/postgres.py): the rest stays
    assert view.thread.body == (body if cache.dialect.is_sqlite else body.replace("\0", "\ufffd"))
    assert view.thread.body_length == len(body)


@pytest.mark.backends
def test_the_thread_and_its_preview_show_a_post_past_its_nul(
    cache: Cache, ids: dict[str, int]
) -> None:
    # "text after them is searchable" (docs/jsonl-schema.md): a moderator must see it too, in
    # the Thread screen's window, its next part (`m`) and the Queue's preview pane
    body = "Thanks, that fixed it.\x00 Cheap unlocks at spam.example, DM me " + "x" * 60
    cache.conn.execute(
        "UPDATE posts SET body_text = ? WHERE thread_id = ? AND position = 0", (body, ids["t1"])
    )
    shown = body if cache.dialect.is_sqlite else body.replace("\0", "\ufffd")
    view = store.thread(cache, ids["t1"], window=40)
    (question,) = [p for p in view.posts if p.position == 0]
    assert question.body == shown[:40]
    assert question.body_length == len(body)
    assert store.post_body(cache, question.post_id, 40, 30) == shown[40:70]
    excerpt = previews.preview(cache, ids["t1"]).question
    assert excerpt is not None and excerpt.text.startswith(shown[:60])
    assert excerpt.length == len(body)
