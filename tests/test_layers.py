"""The layer rules hold: the domain and sync never import Textual; widgets never the database."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

DOMAIN_MODULES = [
    "console.desk",
    "console.db",
    "console.store",
    "console.ingest",
    "console.decisions",
    "console.audit",
    "console.claims",
    "console.roles",
    "console.config",
    "console.cli",
]


def test_domain_imports_without_textual() -> None:
    modules = DOMAIN_MODULES + [
        name for name in ("sync", "console.dupes") if (REPO / name.replace(".", "/")).is_dir()
    ]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert result.stdout.strip() == ""


def test_import_contracts() -> None:
    lint = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    result = subprocess.run([lint], capture_output=True, text=True, check=False, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    """Each command's --help, parsed in this process (one interpreter a command took 90 s of
    the suite); the real entry point's --help once, as a user runs it."""
    from console.cli import build_parser

    actions = list(build_parser()._subparsers._group_actions)
    names = [name for action in actions for name in action.choices]
    assert len(names) >= 8
    for name in names:
        with pytest.raises(SystemExit) as ended:
            build_parser().parse_args([name, "--help"])
        assert ended.value.code == 0, name
        out = capsys.readouterr().out
        assert out.startswith(f"usage: peerdesk {name}"), (name, out[:200])
    result = subprocess.run(
        [sys.executable, "-m", "console", "--help"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    assert "usage: peerdesk" in result.stdout
    assert all(name in result.stdout for name in names)
