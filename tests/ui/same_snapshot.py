"""A screen on the team database compared with the snapshot its cache-file twin approved: the
same community on either engine must draw the same screen, line for line (the snapshot's own
file, so one approved picture covers both; `--snapshot-update` only ever rewrites it from the
cache file). The top line is left out: it says who you are, which on a cache file is the demo's
override and on the team database the server's role."""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pytest_textual_snapshot import normalize_svg
from textual._doc import take_svg_screenshot  # what snap_compare draws with
from textual.app import App
from textual.pilot import Pilot


def _lines(svg: str) -> list[str]:
    """The SVG's text, one line per terminal row (for a readable failure)."""
    rows: dict[str, list[str]] = {}
    for y, text in re.findall(
        r'<text class="terminal-(?:\d+-)?r\d+"[^>]* y="([\d.]+)"[^>]*>([^<]*)</text>', svg
    ):
        rows.setdefault(y, []).append(html.unescape(text).replace("\xa0", " "))
    return ["".join(parts).rstrip() for _, parts in sorted(rows.items(), key=lambda r: float(r[0]))]


def assert_same_as_snapshot(
    app: App[Any],
    snapshot: Path,
    *,
    terminal_size: tuple[int, int],
    run_before: Callable[[Pilot[Any]], Awaitable[None]],
) -> None:
    """Draw `app` as snap_compare does and assert its text below the top line is the approved
    `snapshot` file's."""
    expected = _lines(normalize_svg(snapshot.read_text(encoding="utf-8")))
    actual = _lines(
        take_svg_screenshot(app=app, terminal_size=terminal_size, run_before=run_before)
    )
    assert len(expected) == terminal_size[1], f"{snapshot.name}: {len(expected)} rows"
    if actual[1:] != expected[1:]:
        diff = "\n".join(difflib.unified_diff(expected, actual, lineterm=""))
        raise AssertionError(f"not the screen of {snapshot.name}:\n{diff}")
