"""The screens not shown yet (the panels, `?`), made ready while the console is idle after its
first rows: their modules imported, then their stylesheets read.

A panel's first visit (D Y E V $) or the first `?` paid for both on its key: importing the
screen's module (15-150 ms at load: Rewards and Escalations bring their domain modules) and
reading its .tcss files, after which Textual parses the app's stylesheet again and restyles
every node of every screen (`App._load_screen_css`). Done here once, between keys, the visit
finds its module imported and its files read: Textual reads nothing and restyles nothing more.

`import_screens` runs in the app's warm-up worker (a thread); `read_styles` on the UI thread
(Textual's stylesheet is the app's). Reading a file the app has read already does nothing.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from importlib import import_module
from pathlib import Path
from typing import Any

from textual.app import App
from textual.screen import Screen

HELP = "console.screens.help:HelpScreen"


def import_screens(names: Iterable[str]) -> list[type[Screen[Any]]]:
    """The screen classes named "module:Class", imported (from a worker thread)."""
    classes = []
    for name in names:
        module, _, cls = name.partition(":")
        classes.append(getattr(import_module(module), cls))
    return classes


def css_paths(screen: type[Screen[Any]]) -> list[Path]:
    """The .tcss files of `screen` as Textual names them: each CSS_PATH entry relative to the
    file that defines the class."""
    entries = screen.CSS_PATH
    if entries is None:
        return []
    here = Path(inspect.getfile(screen)).parent
    listed = [entries] if isinstance(entries, str | Path) else list(entries)
    return [(here / entry).resolve() for entry in listed]


def read_styles(app: App[Any], screens: Iterable[type[Screen[Any]]]) -> list[Path]:
    """Read the .tcss files of `screens` that `app` has not read yet, and restyle the app once
    if there were any (what Textual does on the screen's first push). Returns the files read."""
    stylesheet = app.stylesheet
    read = []
    for screen in screens:
        for path in css_paths(screen):
            if path not in read and not stylesheet.has_source(str(path), ""):
                stylesheet.read(path)
                read.append(path)
    if read:
        stylesheet.reparse()
        stylesheet.update(app)
    return read
