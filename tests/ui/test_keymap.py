"""The user's keymap: `[keys]` in the config rebinds keys by binding id; bad maps are refused in
one line before the console starts; `?` help lists every key with its current keys and id."""

from __future__ import annotations

# SQLite only: the keymap, its refusals and `?` help read nothing that differs by engine.
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from console.app import PeerdeskApp
from console.bindings import GROUPS
from console.config import load_config
from console.desk import Desk
from console.errors import ConfigError
from console.keymap import key_name, resolve
from console.screens.help import HelpScreen, key_help
from console.screens.keys import known_bindings
from tests.ui.helpers import screen_text, settle

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _utc() -> None:
    time.tzset()


def check(keys: dict[str, object]) -> dict[str, str]:
    return resolve(keys, known_bindings(), GROUPS)


# ---- the map itself (plain Python) ----
def test_a_rebinding_becomes_the_keymap_with_textual_key_names() -> None:
    assert check(
        {"queue.claim": "ctrl+l", "app.help": "?", "table.down": ["j", "down", "ctrl+n"]}
    ) == {
        "queue.claim": "ctrl+l",
        "app.help": "question_mark",
        "table.down": "j,down,ctrl+n",
    }
    assert key_name("/") == "slash" and key_name("$") == "dollar_sign" and key_name("x") == "x"


def test_an_unknown_id_is_refused_naming_the_closest() -> None:
    with pytest.raises(
        ConfigError, match=r"'queue.clam' is not a binding id \(did you mean queue.claim"
    ):
        check({"queue.clam": "c"})


def test_a_clash_on_one_screen_is_refused() -> None:
    # the Queue's list moves down with j: claim cannot take it
    with pytest.raises(
        ConfigError, match=r"'queue.claim' = 'j' clashes with table.down on the queue screen"
    ):
        check({"queue.claim": "j"})
    # two of the user's own keys on one key
    with pytest.raises(ConfigError, match="clashes"):
        check({"queue.claim": "ctrl+l", "queue.close": "ctrl+l"})


def test_swapping_two_keys_and_a_key_free_on_that_screen_are_fine() -> None:
    assert check({"queue.claim": "x", "queue.close": "c"}) == {
        "queue.claim": "x",
        "queue.close": "c",
    }
    # "s" is the Thread's spam key, but on the Queue nothing uses it
    assert check({"queue.search": "s"}) == {"queue.search": "s"}


def test_a_key_name_textual_never_sends_is_refused() -> None:
    with pytest.raises(ConfigError, match="'ctrl\\+nope' is not a key name"):
        check({"queue.claim": "ctrl+nope"})
    with pytest.raises(ConfigError, match="keys must be a string"):
        check({"queue.claim": 3})


def test_the_config_file_reads_keys_and_says_where(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[keys]\n"queue.claim" = "ctrl+l"\n', encoding="utf-8")
    assert load_config(path).keys == {"queue.claim": "ctrl+l"}
    path.write_text('keys = "c"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="line 1: \\[keys\\] must be a table"):
        load_config(path)


# ---- in the console ----
async def test_a_rebound_key_acts_and_the_old_one_does_not(desk: Desk) -> None:
    desk = replace(desk, config=replace(desk.config, keys={"queue.claim": "ctrl+l"}))
    app = PeerdeskApp(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        first = desk.queue(limit=1)[0].thread_id
        await pilot.press("c")  # no longer claim
        await settle(pilot)
        assert desk.cache.one("SELECT holder FROM claims WHERE thread_id = ?", (first,)) is None
        await pilot.press("ctrl+l")
        await settle(pilot)
        row = desk.cache.one("SELECT holder FROM claims WHERE thread_id = ?", (first,))
        assert row is not None and row[0] == "alice"
        assert "^l Claim" in screen_text(pilot)  # the key bar shows the user's key


async def test_help_lists_every_binding_with_its_current_key_and_id(desk: Desk) -> None:
    desk = replace(desk, config=replace(desk.config, keys={"queue.claim": "ctrl+l"}))
    app = PeerdeskApp(desk)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        queue = app.screen
        entries = {e.binding_id: e for e in key_help(queue)}
        assert entries["queue.claim"].keys == "^l"
        # every binding of the screen and its list is listed, with its id
        from console.bindings import of_scopes

        expected = {k.id for k in of_scopes("queue", "app", "panel") if k.description}
        expected |= {"table.down", "table.up", "table.activate"}
        assert expected <= set(entries)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(pilot)
        assert "^l*" in text and "queue.claim" in text
        await pilot.press(*["j"] * 10)  # the note is under the last key
        await settle(pilot)
        assert "* your key ([keys] in the config)" in screen_text(pilot)


def test_a_bad_keymap_stops_the_console_before_it_starts(desk: Desk) -> None:
    desk = replace(desk, config=replace(desk.config, keys={"queue.claim": "j"}))
    with pytest.raises(ConfigError, match="clashes with table.down"):
        PeerdeskApp(desk)


def test_help_snapshot_with_a_user_key_80x24(snap_compare: Any, desk: Desk) -> None:
    desk = replace(desk, config=replace(desk.config, keys={"queue.claim": "ctrl+l"}))

    async def help_screen(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(PeerdeskApp(desk), terminal_size=(80, 24), run_before=help_screen)


def test_help_snapshot_with_a_user_key_120x40(snap_compare: Any, desk: Desk) -> None:
    desk = replace(desk, config=replace(desk.config, keys={"queue.claim": "ctrl+l"}))

    async def help_screen(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(PeerdeskApp(desk), terminal_size=(120, 40), run_before=help_screen)


# ---- headless: peerdesk keys ----
def test_peerdesk_keys_lists_every_binding_with_the_users_keys(
    tmp_path: Path, ui_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from console.cli import main

    config = tmp_path / "config.toml"
    config.write_text('[keys]\n"queue.claim" = "ctrl+l"\n', encoding="utf-8")
    assert main(["--db", str(ui_db), "--config", str(config), "keys", "--json"]) == 0
    rows = {r["id"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows["queue.claim"] == {
        "id": "queue.claim",
        "keys": "ctrl+l",
        "default": "c",
        "does": "Claim the thread (a lease; others see it is yours)",
    }
    assert {b.id for b in known_bindings()} == set(rows)
    assert rows["table.down"]["does"] == "Move down a row"  # a widget's own binding
    assert main(["--db", str(ui_db), "--config", str(config), "keys", "--check"]) == 0
    assert capsys.readouterr().out.strip() == "[keys]: 1 rebound, no clash"


def test_peerdesk_keys_check_refuses_a_clash_in_one_line(
    tmp_path: Path, ui_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from console.cli import main

    config = tmp_path / "config.toml"
    config.write_text('[keys]\n"queue.claim" = "j"\n', encoding="utf-8")
    assert main(["--db", str(ui_db), "--config", str(config), "keys", "--check"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "clashes with table.down on the queue screen" in err
