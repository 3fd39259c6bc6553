"""The console in a real terminal: a lone ESC read is the escape key at once (console.terminal),
and Textual draws on a faster frame clock (console.cli.core.frame_clock)."""

from __future__ import annotations

# No store: the terminal's input and the frame clock.
import pytest
from textual import events
from textual._xterm_parser import XTermParser

from console.terminal import escape_at_once, keys_of_read


def keys(found: list[object]) -> list[str]:
    return [event.key for event in found if isinstance(event, events.Key)]


def test_a_read_that_is_one_escape_byte_is_the_escape_key_without_waiting() -> None:
    parser = XTermParser()
    assert keys(keys_of_read(parser, "\x1b", lone_escape=True)) == ["escape"]
    # the parser is back to reading keys: the next read is not taken as alt+j
    assert keys(keys_of_read(parser, "j", lone_escape=True)) == ["j"]


def test_without_the_rule_a_lone_escape_waits_for_the_rest_of_a_sequence() -> None:
    parser = XTermParser()
    assert keys(keys_of_read(parser, "\x1b", lone_escape=False)) == []


def test_a_whole_sequence_in_one_read_is_still_its_key() -> None:
    parser = XTermParser()
    assert keys(keys_of_read(parser, "\x1b[A", lone_escape=True)) == ["up"]
    assert keys(keys_of_read(parser, "\x1b[6~", lone_escape=True)) == ["pagedown"]
    assert keys(keys_of_read(parser, "q", lone_escape=True)) == ["q"]


def test_an_escape_delay_chosen_by_the_user_keeps_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESCDELAY", "25")
    assert not escape_at_once()
    monkeypatch.delenv("ESCDELAY")
    assert escape_at_once()


def test_the_console_draws_on_a_faster_frame_clock_unless_the_user_chose_one() -> None:
    from console.cli.core import FRAMES_PER_SECOND, frame_clock

    environ: dict[str, str] = {}
    frame_clock(environ)
    assert environ == {"TEXTUAL_FPS": FRAMES_PER_SECOND}
    chosen = {"TEXTUAL_FPS": "30"}
    frame_clock(chosen)
    assert chosen == {"TEXTUAL_FPS": "30"}
