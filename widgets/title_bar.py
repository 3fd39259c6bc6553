"""The top line of every screen: the app's title and sub-title on the left, a status on the right.

It follows the app's `title` and `sub_title` and, if the app has them, the reactives named by
`status_attribute` (text) and `warning_attribute` (bool: show the status as a warning). Unlike
Textual's Header it keeps no room for an icon or a clock, so an 80-column line holds it all.
"""

from __future__ import annotations

from textual.reactive import reactive

from widgets.status_bar import StatusBar


class TitleBar(StatusBar):
    DEFAULT_CSS = """
    TitleBar {
        dock: top;
        background: $primary-background;
        color: $foreground;
        text-style: bold;
    }
    TitleBar.-warning { color: $warning; }
    """

    warning: reactive[bool] = reactive(False)

    def __init__(
        self,
        *,
        status_attribute: str = "status_line",
        warning_attribute: str = "status_warning",
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(message_attribute=None, id=id, classes=classes)
        self.status_attribute = status_attribute
        self.warning_attribute = warning_attribute

    def on_mount(self) -> None:
        app = self.app
        self.watch(app, "title", self._follow, init=False)
        self.watch(app, "sub_title", self._follow, init=False)
        if hasattr(app, self.status_attribute):
            self.watch(app, self.status_attribute, self._follow, init=False)
        if hasattr(app, self.warning_attribute):
            self.watch(app, self.warning_attribute, self._follow, init=False)
        self._follow()

    def _follow(self, *_: object) -> None:
        app = self.app
        left = app.title
        if app.sub_title:
            left += f" · {app.sub_title}"
        self.left = left
        self.right = str(getattr(app, self.status_attribute, ""))
        self.set_class(bool(getattr(app, self.warning_attribute, False)), "-warning")
