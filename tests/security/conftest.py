"""Attack tests: a real cache, real `peerdesk` processes, and (as root) real other OS accounts.

Tests that need several OS identities create accounts with `useradd` and run peerdesk in a
forked child that has dropped to that account (the child keeps the already-imported modules, so
it does not need to read the interpreter's files). They skip when not run as root, and fail
instead when PEERDESK_REQUIRE_ALL is set (CI runs as root).
"""

from __future__ import annotations

import io
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

PEERDESK = Path(sys.executable).parent / "peerdesk"
ATTACKER = "pd-mallory"
MODERATOR = "pd-mod07"


def need_root() -> None:
    if os.geteuid() == 0 and shutil.which("useradd"):
        return
    if os.environ.get("PEERDESK_REQUIRE_ALL"):
        pytest.fail("these attack tests need root and useradd (PEERDESK_REQUIRE_ALL is set)")
    pytest.skip("needs root (to create OS accounts and hand files to them)")


def account(name: str) -> pwd.struct_passwd:
    """The OS account `name`, created (no home, no login) if it does not exist."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(name)


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_as(
    user: pwd.struct_passwd, argv: list[str], env: dict[str, str], groups: tuple[int, ...] = ()
) -> Result:
    """`peerdesk ARGV` as the OS account `user` (with the supplementary `groups`), in a forked
    child that dropped root."""
    import console.cli
    import console.dupes.refresh
    import sync.credentials
    import sync.jsonl
    import sync.push
    import sync.runner
    import sync.status

    console.cli.build_parser()  # import every command module before dropping privileges
    del sync
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 70
        try:
            os.close(out_r)
            os.setgroups(list(groups))
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
            os.environ.clear()
            os.environ.update(env)
            out, err = io.StringIO(), io.StringIO()
            with redirect_stdout(out), redirect_stderr(err):
                code = console.cli.main(argv)
            os.write(out_w, (out.getvalue() + "\0" + err.getvalue()).encode())
        except BaseException as error:  # report anything, never run pytest's code
            os.write(out_w, f"\0child failed: {type(error).__name__}: {error}".encode())
        finally:
            os._exit(code)
    os.close(out_w)
    chunks = []
    while chunk := os.read(out_r, 65536):
        chunks.append(chunk)
    os.close(out_r)
    _, status = os.waitpid(pid, 0)
    out, _, err = b"".join(chunks).decode().partition("\0")
    return Result(os.waitstatus_to_exitcode(status), out, err)


def run_peerdesk(*args: str, env: dict[str, str] | None = None) -> Result:
    """A real `peerdesk` process (the installed command) as the account running the tests."""
    done = subprocess.run(
        [str(PEERDESK), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder every account can reach (pytest's own tmp folders are private to root)."""
    path = Path(tempfile.mkdtemp(prefix="peerdesk-shared-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def _empty_roles_file(grant_roles: Callable[[dict[str, list[str]]], Path]) -> None:
    """Every attack test starts from a roles file that grants nothing (tests add to it)."""
    grant_roles({})
