"""A notice that the terminal is smaller than what the application needs.

Database-agnostic and reusable: it is given the smallest size that works (`MIN_WIDTH` x
`MIN_HEIGHT` by default) and words it from the terminal's size as it is now, so it stays right
while the user drags the window. It fills what it is given; the text wraps to any width.
"""

from __future__ import annotations

from textual.widgets import Static

MIN_WIDTH, MIN_HEIGHT = 80, 24


def too_small_text(width: int, height: int, need: tuple[int, int], quit_key: str = "") -> str:
    """What to say at `width` x `height` when `need` (columns, rows) is the least that works."""
    columns, rows = need
    short = []
    if width < columns:
        short.append(f"{columns - width} columns")
    if height < rows:
        short.append(f"{rows - height} rows")
    text = (
        f"The terminal is {width}x{height}; this needs at least {columns}x{rows} "
        f"({' and '.join(short) or 'nothing'} more). Make the window larger (or the font smaller)."
    )
    if quit_key:
        text += f" {quit_key} quits."
    return text


def too_small(width: int, height: int, need: tuple[int, int] = (MIN_WIDTH, MIN_HEIGHT)) -> bool:
    return width < need[0] or height < need[1]


class TooSmallNotice(Static):
    DEFAULT_CSS = """
    TooSmallNotice {
        width: 1fr;
        height: 1fr;
        padding: 1 2;
        color: $text-warning;
        text-style: bold;
    }
    """

    def __init__(
        self,
        need: tuple[int, int] = (MIN_WIDTH, MIN_HEIGHT),
        *,
        quit_key: str = "",
        id: str | None = None,
    ) -> None:
        super().__init__("", markup=False, id=id)
        self.need = need
        self.quit_key = quit_key

    def on_mount(self) -> None:
        self.reword()

    def on_resize(self) -> None:
        self.reword()

    def reword(self) -> None:
        size = self.app.size
        self.update(too_small_text(size.width, size.height, self.need, self.quit_key))
