"""The config file names the bad line; user text never reaches the terminal raw."""

from __future__ import annotations

# No store at all: config files and text, the same on either backend.
from pathlib import Path

import pytest

from console.config import load_config
from console.errors import ConfigError
from console.models import Role
from console.safe_text import printable


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_roles_are_read(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, '[roles]\nalice = ["moderator", "admin"]\nbob = ["payout_approver"]\n')
    )
    assert config.roles["alice"] == {Role.MODERATOR, Role.ADMIN}
    assert config.roles["bob"] == {Role.PAYOUT_APPROVER}


def test_a_role_given_as_a_string_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, '[roles]\nalice = ["moderator"]\nbob = "admin"\n')
    with pytest.raises(ConfigError, match=r"line 3: roles of 'bob' must be a list"):
        load_config(path)


def test_a_named_config_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "typo.toml", must_exist=True)


def test_missing_file_is_empty_config(tmp_path: Path) -> None:
    assert load_config(tmp_path / "absent.toml").roles == {}


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[roles]\nalice = ["moderator"]\nbob = [oops\n')
    with pytest.raises(ConfigError, match=rf"{path} line 3"):
        load_config(path)


def test_unknown_role_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '# roles\n[roles]\nalice = ["moderator"]\nbob = ["superuser"]\n')
    with pytest.raises(ConfigError, match=r"line 4: unknown role 'superuser' for 'bob'"):
        load_config(path)


def test_bad_lease_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[claims]\nlease_minutes = 0\n")
    with pytest.raises(ConfigError, match="line 2: lease_minutes"):
        load_config(path)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[2Jwiped", "\\x1b[2Jwiped"),
        ("\x1b]52;c;ZXZpbA==\x07", "\\x1b]52;c;ZXZpbA==\\x07"),
        ("bell\x07", "bell\\x07"),
        ("\u202eevil", "\\u202eevil"),
        ("\x9b31m", "\\x9b31m"),
        ("مرحبا 👋🏽 [bold]x[/]", "مرحبا 👋🏽 [bold]x[/]"),
        ("two\nlines\ttab", "two\nlines\ttab"),
    ],
)
def test_printable_shows_controls_as_escapes(raw: str, shown: str) -> None:
    assert printable(raw) == shown
    assert "\x1b" not in printable(raw)
