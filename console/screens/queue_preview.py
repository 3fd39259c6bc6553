"""The Queue's preview pane (at PREVIEW_FROM columns or more, `p` toggles it): the thread under
the cursor, read by console.previews in a worker after the cursor has rested for PAUSE seconds,
so holding `j` costs nothing more than before.

    LazyTable.CursorMoved → (timer PAUSE) → worker: Desk.preview → PreviewLoaded → PreviewPane
"""

from __future__ import annotations

from textual.message import Message

from console.claims import local_hhmm
from console.previews import PostExcerpt, ThreadPreview
from console.safe_text import printable
from widgets.preview import Fact, Part

PREVIEW_FROM = 120  # columns: narrower, the list keeps the whole width
PAUSE = 0.06  # seconds the cursor rests before the preview is read


class PreviewLoaded(Message):
    def __init__(self, thread_id: int, preview: ThreadPreview | None, error: str = "") -> None:
        super().__init__()
        self.thread_id = thread_id
        self.preview = preview
        self.error = error


def _when(iso: str) -> str:
    return iso[:16].replace("T", " ")


def _post(heading: str, post: PostExcerpt) -> Part:
    notes = [f"{heading} · {post.author} · {_when(post.created_at)} · score {post.score}"]
    if post.accepted:
        notes.append("accepted")
    if post.flag_count:
        notes.append(f"{post.flag_count} flags")
    if post.hidden:
        notes.append("hidden")
    body = post.text
    if post.length > len(post.text):
        body += f"\n… ({post.length:,} characters in all)"
    return Part(" · ".join(notes), body)


def preview_parts(preview: ThreadPreview, actor: str) -> tuple[str, list[Fact], list[Part]]:
    """Title, facts and parts of the pane for one thread (strings; the pane sanitises them)."""
    facts = [
        Fact(
            f"{preview.source} · {preview.status} · by {preview.author} · "
            f"{_when(preview.created_at)} · {preview.reply_count} replies"
        )
    ]
    if preview.tags:
        facts.append(Fact("tags: " + ", ".join(preview.tags)))
    flags = []
    if preview.flag_count:
        flags.append(f"{preview.flag_count} flags")
    if preview.report_count:
        flags.append(f"{preview.report_count} reports")
    if preview.escalations:
        flags.append(f"{preview.escalations} open escalations")
    facts.append(Fact(", ".join(flags) if flags else "no flags", alert=bool(flags)))
    if preview.claimed_by:
        holder = "you" if preview.claimed_by == actor else preview.claimed_by
        until = local_hhmm(preview.claim_expires_at) if preview.claim_expires_at else "?"
        facts.append(Fact(f"claimed by {holder} until {until}", alert=holder != "you"))
    else:
        facts.append(Fact("not claimed"))
    parts = []
    if preview.question is not None:
        parts.append(_post("Question", preview.question))
    if preview.accepted is not None:
        parts.append(_post("Accepted answer", preview.accepted))
    if preview.latest is not None:
        parts.append(_post("Latest reply", preview.latest))
    else:
        parts.append(Part("No reply yet", ""))
    title = f"#{preview.thread_id} {printable(preview.title, single_line=True)}"
    return title, facts, parts


def sanitise(text: str) -> str:
    return printable(text)
