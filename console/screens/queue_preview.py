"""The Queue's preview pane (at PREVIEW_FROM columns or more, `p` toggles it): the thread under
the cursor.

The previews of the rows around the cursor (a screen above, two below) are read ahead in a
worker, on a connection of their own (console.previews, ~0.14 ms each), and kept in `ReadAhead`;
a cursor move onto a row read ahead paints the pane in the same frame as the cursor, so the
screen settles as soon as it does without the pane. A row not read yet (a jump, a page just
loaded) is read once the cursor has rested for PAUSE seconds, so holding `j` reads nothing.
Whatever the Queue loads anew (a refresh, a decision, another filter) starts a new generation:
what was read before is forgotten and read again.

    LazyTable.CursorMoved → ReadAhead.get → PreviewPane           (read ahead: same frame)
                          → worker: QueueReader.previews → PreviewsRead → ReadAhead
                          → (timer PAUSE) → worker: Desk.preview → PreviewLoaded → PreviewPane
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

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


class PreviewsRead(Message):
    """Previews read ahead of the cursor, for the ReadAhead generation they were asked in."""

    def __init__(
        self, generation: int, asked: list[int], previews: dict[int, ThreadPreview]
    ) -> None:
        super().__init__()
        self.generation = generation
        self.asked = asked  # a thread asked for and not in `previews` is gone
        self.previews = previews


class ReadAhead:
    """The previews read ahead of the cursor: at most `limit`, the oldest forgotten first."""

    def __init__(self, limit: int = 500) -> None:
        self.limit = limit
        self.generation = 0
        self._known: OrderedDict[int, ThreadPreview] = OrderedDict()
        self._asked: set[int] = set()

    def get(self, thread_id: int) -> ThreadPreview | None:
        return self._known.get(thread_id)

    def wanted(self, thread_ids: Iterable[int]) -> list[int]:
        """The threads of `thread_ids` neither known nor asked for yet (now asked for)."""
        wanted = [t for t in thread_ids if t not in self._known and t not in self._asked]
        self._asked.update(wanted)
        return wanted

    def store(
        self, generation: int, asked: Iterable[int], previews: dict[int, ThreadPreview]
    ) -> bool:
        """Keep what a read of `asked` brought; False if it was asked for before the last
        `forget` (then it is of no use)."""
        if generation != self.generation:
            return False
        self._asked.difference_update(asked)
        for thread_id, found in previews.items():
            self._known[thread_id] = found
            self._known.move_to_end(thread_id)
        while len(self._known) > self.limit:
            self._known.popitem(last=False)
        return True

    def failed(self, generation: int, thread_ids: Iterable[int]) -> None:
        """A read failed: its threads may be asked for again."""
        if generation == self.generation:
            self._asked.difference_update(thread_ids)

    def forget(self) -> None:
        """The Queue was read again: everything is read again (claims, replies, flags change)."""
        self.generation += 1
        self._known.clear()
        self._asked.clear()


def _when(iso: str) -> str:
    return iso[:16].replace("T", " ")


def _post(heading: str, post: PostExcerpt) -> Part:
    author = printable(post.author, single_line=True)
    notes = [f"{heading} · {author} · {_when(post.created_at)} · score {post.score}"]
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
    author = printable(preview.author, single_line=True)  # a fact is one line
    facts = [
        Fact(
            f"{preview.source} · {preview.status} · by {author} · "
            f"{_when(preview.created_at)} · {preview.reply_count} replies"
        )
    ]
    if preview.tags:
        tags = ", ".join(printable(tag, single_line=True) for tag in preview.tags)
        facts.append(Fact("tags: " + tags))
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
