"""One post of a conversation, drawn from plain values.

The body is shown as literal text: it is wrapped in a Rich `Text`, so `[bold]` or `[@click=...]` in
a post stay characters. Callers pass text already made printable (no escape sequences). Very long
bodies show their first `limit` characters and say how many more there are; `m` shows all.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import Static

DEFAULT_LIMIT = 20_000


class PostView(Widget, can_focus=True):
    """A focusable card: a heading line (author, votes, marks) and the body."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "show_all", "Show all", id="post.show_all", tooltip="Show all of a long post"),
    ]

    DEFAULT_CSS = """
    PostView {
        height: auto;
        margin: 0 0 1 0;
        padding: 0 1;
        border-left: tall $panel;
        & > .post--heading { color: $text-muted; }
        & > .post--body { color: $foreground; }
        & > .post--more { color: $warning; text-style: italic; }
        &:focus { border-left: tall $accent; background: $boost; }
        &:focus > .post--heading { color: $foreground; text-style: bold; }
        &.-accepted { border-left: tall $success; }
        &.-accepted:focus { border-left: tall $accent; }
        &.-hidden > .post--body { color: $text-disabled; text-style: strike; }
        &.-note { border-left: tall $secondary; }
        &.-note > .post--heading { color: $secondary; }
    }
    """

    def __init__(
        self,
        *,
        key: int,
        author: str,
        when: str,
        body: str,
        score: int | None = None,
        reputation: int | None = None,
        accepted: bool = False,
        hidden_reason: str | None = None,
        flags: int = 0,
        label: str = "",
        limit: int = DEFAULT_LIMIT,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.key = key
        self.author = author
        self.when = when
        self.body = body
        self.score = score
        self.reputation = reputation
        self.accepted = accepted
        self.hidden_reason = hidden_reason
        self.flags = flags
        self.label = label
        self.limit = limit
        self.expanded = len(body) <= limit
        self.set_class(accepted, "-accepted")
        self.set_class(hidden_reason is not None, "-hidden")

    @property
    def hidden_chars(self) -> int:
        return 0 if self.expanded else len(self.body) - self.limit

    def heading(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        if self.label:
            text.append(f"{self.label} ")
        text.append(self.author, style="bold")
        if self.reputation is not None:
            text.append(f" ({self.reputation:,})")
        if self.score is not None:
            text.append(f"  {self.score:+d} votes")
        text.append(f"  {self.when}")
        if self.accepted:
            text.append("  ✔ accepted", style="bold")
        if self.flags:
            text.append(f"  ⚑ {self.flags} flag{'s' if self.flags != 1 else ''}")
        if self.hidden_reason is not None:
            text.append("  hidden" + (f": {self.hidden_reason}" if self.hidden_reason else ""))
        return text

    def _body_text(self) -> Text:
        shown = self.body if self.expanded else self.body[: self.limit]
        return Text(shown or "(empty)", end="")

    def _more_text(self) -> Text:
        return Text(f"… {self.hidden_chars:,} more characters: press m to show all")

    def compose(self) -> ComposeResult:
        yield Static(self.heading(), classes="post--heading", markup=False)
        yield Static(self._body_text(), classes="post--body", markup=False)
        more = Static(self._more_text(), classes="post--more", markup=False)
        more.display = not self.expanded
        yield more

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "show_all":
            return not self.expanded
        return True

    def action_show_all(self) -> None:
        if self.expanded:
            return
        self.expanded = True
        self.query_one(".post--body", Static).update(self._body_text())
        self.query_one(".post--more", Static).display = False
        self.refresh_bindings()
