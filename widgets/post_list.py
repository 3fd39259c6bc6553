"""Post cards in a scrolled column with a cursor: the card the keys act on.

The list holds the focus; the cursor is a mark on one card (`PostView.set_cursor`), so moving
it repaints two cards from the lines they keep and scrolls, with no focus events and no styles
matched again. `m` shows the next part of the cursor's post when it is a long one.

The list does not read posts: its owner mounts the cards (and may hide some, which the cursor
skips) and tells it where the cursor goes.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.geometry import Size

from widgets.keys_follow_focus import KeysFollowFocus
from widgets.post_view import PostView


class PostList(KeysFollowFocus, VerticalScroll, inherit_bindings=False, can_focus=True):
    """The cards shown, one of them the cursor's. (Scrolled by its owner's keys: the arrow
    bindings a scroll has would shadow j/k.)"""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "more", "More", id="post.more", tooltip="Show the next part of a long post"),
    ]

    # Its own lines are blank (no border; the cards and the scrollbar are drawn apart): drawn
    # as such, not through Textual's styles cache, which a push or a new size clears.
    BLANK: ClassVar[bool] = True

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.index = 0  # the cursor's place among the cards shown
        self._offered_more: bool | None = None  # whether the key bar offers `m` now

    def cards(self) -> list[PostView]:
        """The cards shown, in order."""
        return [card for card in self.query_children(PostView) if card.display]

    @property
    def cursor_card(self) -> PostView | None:
        """The card the cursor is on (None without cards)."""
        cards = self.cards()
        return cards[min(self.index, len(cards) - 1)] if cards else None

    def move_cursor(self, index: int, *, now: bool = False) -> None:
        """Put the cursor on card `index` (kept within the cards) and scroll it to the top;
        `now`: scrolled in this frame (Textual's scroll_visible waits for the next one)."""
        cards = self.cards()
        if not cards:
            return
        index = max(0, min(index, len(cards) - 1))
        self.index = index
        card = cards[index]
        for shown in cards:
            shown.set_cursor(shown is card)  # repaints only the cards whose mark changes
        if card.pages != self._offered_more:  # `m` is offered on a long post only (the
            self._offered_more = card.pages  # cursor moved, or its card was given a post)
            self.refresh_bindings()
        if now:
            self.scroll_to_widget(card, animate=False, top=True, immediate=True)
        # after the next refresh too, where the card is once laid out (a no-op if it is there)
        card.scroll_visible(animate=False, top=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "more":
            card = self.cursor_card
            return card is not None and card.pages
        return True

    def action_more(self) -> None:
        card = self.cursor_card
        if card is not None:
            card.show_more()

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        # Its height is its owner's to give, its cards placed by the layout that gave them
        # their heights: a new virtual size (more cards than the last time) asks for no second
        # layout of the screen, which Textual's default does (every card painted again, a
        # frame after the first).
        return super()._size_updated(size, virtual_size, container_size, layout=False)
