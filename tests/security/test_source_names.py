"""A source's name and address reach every line peerdesk prints about it (`source list`, `show`,
`sync`, `export`, the Sync panel). They come from an admin's `source add`, or from the header of
a JSONL file someone handed over: an escape sequence there (a screen clear, an OSC 52 write to
the clipboard) went to the terminal as is. Such a name is refused where it enters, in one line,
and nothing is written; one already in a cache is printed with its escapes made visible."""

from __future__ import annotations

# SQLite only: names enter through source add and import, the same code on either engine.
import contextlib
import io
import json
from pathlib import Path

import pytest

from console.cli import main
from console.db import open_cache
from tests.conftest import write_roles

HOSTILE = "\x1b[2J\x1b]52;c;ZXZpbA==\x07"


def peerdesk(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def admin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A new cache file whose OS account is an admin; its path."""
    import getpass

    roles = write_roles(tmp_path / "roles.toml", {getpass.getuser(): ["admin"]})
    monkeypatch.setenv("PEERDESK_ROLES_FILE", str(roles))
    monkeypatch.delenv("PEERDESK_USER", raising=False)
    return tmp_path / "cache.sqlite3"


def jsonl(path: Path, name: str, base_url: str) -> Path:
    header = {
        "type": "header",
        "format": "peerdesk-jsonl",
        "version": 1,
        "source": {"kind": "discourse", "name": name, "base_url": base_url},
    }
    path.write_text(json.dumps(header) + "\n", encoding="utf-8")
    return path


def source_names(cache_path: Path) -> list[str]:
    cache = open_cache(cache_path, create=True)
    try:
        return [str(row[0]) for row in cache.query("SELECT name FROM sources")]
    finally:
        cache.close()


@pytest.mark.parametrize(
    ("name", "url"),
    [
        (f"forum{HOSTILE}", "https://forum.example/"),
        ("forum", f"https://forum.example/{HOSTILE}"),
        ("pay\u200bpal", "https://forum.example/"),  # reads "paypal"
        ("forum\u202etxt.exe", "https://forum.example/"),
        ("two\nlines", "https://forum.example/"),
        ("   ", "https://forum.example/"),
    ],
)
def test_an_imported_files_hostile_source_is_refused_in_one_line(
    admin: Path, tmp_path: Path, name: str, url: str
) -> None:
    code, out, err = peerdesk(
        "--db", str(admin), "import", str(jsonl(tmp_path / "h.jsonl", name, url))
    )
    assert code == 2, (out, err)
    assert "\x1b" not in out + err and "\x07" not in out + err
    assert err.count("\n") == 1 and "source" in err
    assert source_names(admin) == []


def test_source_add_refuses_a_hostile_name_or_address(admin: Path) -> None:
    code, out, err = peerdesk(
        "--db", str(admin), "source", "add", f"forum{HOSTILE}", "--kind", "demo"
    )
    assert code == 2 and "\x1b" not in out + err and "control or invisible" in err
    code, out, err = peerdesk(
        "--db",
        str(admin),
        "source",
        "add",
        "forum",
        "--kind",
        "discourse",
        "--url",
        f"https://forum.example/{HOSTILE}",
    )
    assert code == 2 and "\x1b" not in out + err and "control or invisible" in err
    assert source_names(admin) == []
    assert peerdesk("--db", str(admin), "source", "add", "ask mobile", "--kind", "demo")[0] == 0
    assert source_names(admin) == ["ask mobile"]


def test_a_hostile_name_already_in_a_cache_is_printed_visibly(admin: Path) -> None:
    """A cache written before names were checked (or by hand)."""
    cache = open_cache(admin, create=True)
    with cache.transaction() as conn:
        conn.execute(
            "INSERT INTO sources (kind, name, base_url, created_at) "
            "VALUES ('jsonl', ?, ?, '2026-11-01T00:00:00Z')",
            (f"forum{HOSTILE}", f"https://forum.example/{HOSTILE}"),
        )
    cache.close()
    code, out, err = peerdesk("--db", str(admin), "source", "list")
    assert code == 0 and "\x1b" not in out + err and "\x07" not in out + err
    assert "forum\\x1b[2J\\x1b]52;c;ZXZpbA==\\x07" in out
    assert "https://forum.example/\\x1b[2J" in out
