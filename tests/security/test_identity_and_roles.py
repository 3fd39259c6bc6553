"""Impersonation by environment, by --config, by a roles file, and by calling the domain with
made-up identities: each is refused, says why in one line, and writes nothing."""

from __future__ import annotations

# SQLite only: who you are on a cache FILE (its owner, roles files, overrides); on a team
# database the server says (tests/domain/test_storage_backends.py, tests/team/test_attacks.py).
import dataclasses
import grp
import os
import pwd
import subprocess
from pathlib import Path

import pytest

from console import claims, decisions
from console.db import Cache, open_cache
from console.desk import Desk
from console.dupes import actions as dupe_actions
from console.errors import ConfigError, IdentityRefused, PermissionRefused
from console.identity import Identity
from console.models import Role
from tests.conftest import write_roles
from tests.domain.conftest import seed_community

from .conftest import ATTACKER, MODERATOR, account, need_root, run_as, run_peerdesk

ME = pwd.getpwuid(os.getuid()).pw_name


def audit_count(path: Path) -> int:
    cache = open_cache(path)
    try:
        return int(cache.one("SELECT count(*) FROM audit")[0])
    finally:
        cache.close()


def status_of(path: Path, thread_id: int) -> str:
    cache = open_cache(path)
    try:
        return str(cache.one("SELECT status FROM threads WHERE id = ?", (thread_id,))[0])
    finally:
        cache.close()


def test_the_name_is_the_os_account_not_user_or_logname(
    cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PEERDESK_USER")
    monkeypatch.setenv("USER", "mod07")
    monkeypatch.setenv("LOGNAME", "mod07")
    desk = Desk.for_cache(cache)
    assert desk.actor == ME
    assert not desk.who.overridden


def test_an_override_on_your_own_cache_is_shown_and_audited(
    cache: Cache, grant_roles: object
) -> None:
    write_roles(Path(os.environ["PEERDESK_ROLES_FILE"]), {"dave": ["moderator"]})
    ids = seed_community(cache)
    dave = Desk.for_cache(cache, actor="dave")
    assert dave.who.overridden and "dave (override)" in dave.role_notice
    assert any(ME in line for line in dave.whoami())
    dave.close([ids["t1"]])
    dave.claim(ids["t2"])
    entries = dave.audit_entries()
    assert {e["action"] for e in entries} == {"close", "claim"}
    assert all(e["actor"] == "dave" and e["detail"]["os_user"] == ME for e in entries)


def test_environment_override_on_a_cache_you_do_not_own_is_refused(
    cache_path: Path, tmp_path: Path
) -> None:
    need_root()
    cache = open_cache(cache_path, create=True)
    ids = seed_community(cache)
    cache.close()
    mod = account(MODERATOR)
    os.chown(cache_path, mod.pw_uid, mod.pw_gid)  # a cache that belongs to someone else
    write_roles(Path(os.environ["PEERDESK_ROLES_FILE"]), {MODERATOR: ["moderator"]})
    for way in (["--as", MODERATOR], []):
        env = {} if way else {"PEERDESK_USER": MODERATOR}
        done = run_peerdesk("--db", str(cache_path), *way, "close", str(ids["t1"]), env=env)
        assert done.code == 2
        assert f"Acting as {MODERATOR!r} is refused" in done.err
        assert done.err.count("\n") == 1
    assert audit_count(cache_path) == 0
    assert status_of(cache_path, ids["t1"]) == "open"


def _shared_cache(shared: Path) -> tuple[Path, dict[str, int]]:
    """A root-owned cache every account may write (as if a careless admin made it 0666)."""
    path = shared / "cache.sqlite3"
    cache = open_cache(path, create=True)
    ids = seed_community(cache)
    cache.close()
    for item in shared.iterdir():
        item.chmod(0o666)
    shared.chmod(0o777)
    return path, ids


def test_another_account_cannot_borrow_a_name_or_roles(shared_dir: Path) -> None:
    need_root()
    mallory = account(ATTACKER)
    account(MODERATOR)
    db, ids = _shared_cache(shared_dir)
    roles = shared_dir / "roles"
    roles.mkdir(mode=0o755)
    system = write_roles(roles / "roles.toml", {MODERATOR: ["moderator"]})
    system.chmod(0o644)
    env = {"PEERDESK_ROLES_FILE": str(system)}  # no PEERDESK_NOW: refused on others' caches

    by_env = run_as(mallory, ["--db", str(db), "undo"], {**env, "PEERDESK_USER": MODERATOR})
    assert by_env.code == 2 and f"Acting as {MODERATOR!r} is refused" in by_env.err
    by_flag = run_as(mallory, ["--db", str(db), "--as", MODERATOR, "close", str(ids["t1"])], env)
    assert by_flag.code == 2 and "refused" in by_flag.err

    # her own config and her own roles file are no use either
    home = shared_dir / "mallory"
    home.mkdir(mode=0o700)
    os.chown(home, mallory.pw_uid, mallory.pw_gid)
    config = home / "mine.toml"
    config.write_text(f'[roles]\n{ATTACKER} = ["admin", "moderator"]\n')
    os.chown(config, mallory.pw_uid, mallory.pw_gid)
    config.chmod(0o600)
    by_config = run_as(
        mallory, ["--db", str(db), "--config", str(config), "close", str(ids["t1"])], env
    )
    assert by_config.code == 2 and f"{ATTACKER} may not close" in by_config.err
    no_system: dict[str, str] = {}
    who = run_as(mallory, ["--db", str(db), "--config", str(config), "whoami"], no_system)
    assert who.code == 0 and f"{ATTACKER} has no role" in who.out and "not used" in who.out
    # and it does not tell her to grant herself roles in that config: only root's roles file can
    assert f"under [roles] in {config}" not in who.out
    assert "under [roles] in /etc/peerdesk/roles.toml" in who.out
    by_roles_file = run_as(
        mallory,
        ["--db", str(db), "close", str(ids["t1"])],
        {**env, "PEERDESK_ROLES_FILE": str(config)},
    )
    assert by_roles_file.code == 2 and f"belongs to {ATTACKER}" in by_roles_file.err

    assert audit_count(db) == 0
    assert status_of(db, ids["t1"]) == "open"


def test_a_named_config_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    done = run_peerdesk("--config", str(tmp_path / "typo.toml"), "whoami")
    assert done.code == 2 and "does not exist" in done.err


def test_a_roles_file_others_can_write_is_refused(cache: Cache) -> None:
    roles = write_roles(Path(os.environ["PEERDESK_ROLES_FILE"]), {"alice": ["admin"]})
    roles.chmod(0o620)
    with pytest.raises(ConfigError, match="writable by its group or by everyone"):
        Desk.for_cache(cache)
    roles.chmod(0o600)
    roles.parent.chmod(0o777)  # anyone could replace the file
    try:
        with pytest.raises(ConfigError, match="writable by others"):
            Desk.for_cache(cache)
    finally:
        roles.parent.chmod(0o700)


def test_a_roles_file_owned_by_someone_else_is_refused(cache: Cache) -> None:
    need_root()
    mallory = account(ATTACKER)
    roles = write_roles(Path(os.environ["PEERDESK_ROLES_FILE"]), {"alice": ["admin"]})
    os.chown(roles, mallory.pw_uid, mallory.pw_gid)
    with pytest.raises(ConfigError, match=f"belongs to {ATTACKER}"):
        Desk.for_cache(cache)


def test_a_config_may_narrow_roles_but_not_widen_them(cache: Cache, tmp_path: Path) -> None:
    from console.config import load_config

    write_roles(Path(os.environ["PEERDESK_ROLES_FILE"]), {"alice": ["moderator", "admin"]})
    config = tmp_path / "narrow.toml"
    config.write_text('[roles]\nalice = ["moderator", "payout_approver"]\n')
    desk = Desk.for_cache(cache, config=load_config(config))
    assert desk.roles == {Role.MODERATOR}


def test_domain_functions_refuse_made_up_identities(cache: Cache) -> None:
    ids = seed_community(cache)
    forged = Identity("mallory", "mallory", frozenset(Role), "made up")
    nobody = Desk.for_cache(cache, actor="nobody").who  # real, but no role
    widened = dataclasses.replace(nobody, roles=frozenset(Role))
    object.__setattr__(nobody, "roles", frozenset(Role))  # even altering the real one
    for who in (forged, widened, nobody):
        calls = [
            lambda w=who: decisions.decide(cache, who=w, action="close", target_ids=[ids["t1"]]),
            lambda w=who: decisions.undo_last(cache, who=w),
            lambda w=who: claims.claim(cache, ids["t1"], w),
            lambda w=who: claims.release(cache, ids["t1"], w),
            lambda w=who: dupe_actions.decide(
                cache,
                who=w,
                action=dupe_actions.CONFIRM,
                thread_id=ids["t1"],
                original_id=ids["t2"],
            ),
        ]
        for call in calls:
            with pytest.raises(PermissionRefused):
                call()
    assert cache.one("SELECT count(*) FROM audit")[0] == 0
    assert cache.one("SELECT count(*) FROM claims")[0] == 0
    assert cache.one("SELECT status FROM threads WHERE id = ?", (ids["t1"],))[0] == "open"


def test_decide_takes_no_roles_argument(cache: Cache) -> None:
    ids = seed_community(cache)
    with pytest.raises(TypeError):
        decisions.decide(  # type: ignore[call-arg]
            cache, actor="alice", roles=frozenset(Role), action="close", target_ids=[ids["t1"]]
        )


def test_override_refusal_is_an_identity_error(cache_path: Path) -> None:
    need_root()
    cache = open_cache(cache_path, create=True)
    account(MODERATOR)
    os.chown(cache_path, pwd.getpwnam(MODERATOR).pw_uid, -1)
    with pytest.raises(IdentityRefused):
        Desk.for_cache(cache, actor="someone-else")
    cache.close()


def test_a_cache_made_your_own_in_the_shared_folder_lends_no_names(shared_dir: Path) -> None:
    """The shared-host recipe: a root-owned cache in a setgid folder (2770) of the moderators'
    group. A moderator of that group copies the cache and renames her copy over it (the
    folder lets her): the file is now hers. Before, that made her its owner in peerdesk's
    eyes: `--as` another name was honoured and she closed threads (and could approve payouts)
    as someone else. A cache in a folder others can write (no sticky bit) proves nothing
    about who may act under another name: the override is refused there."""
    need_root()
    mallory = account(ATTACKER)
    account(MODERATOR)
    mods = moderators_group(ATTACKER, MODERATOR)
    folder = shared_dir / "srv"
    folder.mkdir()
    os.chown(folder, 0, mods)
    folder.chmod(0o2770)
    db = folder / "cache.sqlite3"
    cache = open_cache(db, create=True)
    ids = seed_community(cache)
    cache.close()
    roles = shared_dir / "roles"
    roles.mkdir(mode=0o755)
    system = write_roles(roles / "roles.toml", {MODERATOR: ["moderator"]})
    system.chmod(0o644)
    env = {"PEERDESK_ROLES_FILE": str(system)}  # no PEERDESK_NOW: refused on others' caches
    for item in folder.iterdir():  # what she can do as a member of the folder's group
        os.chown(item, mallory.pw_uid, mods)
    argv = ["--db", str(db), "--as", MODERATOR, "close", str(ids["t1"])]
    done = run_as(mallory, argv, env, groups=(mods,))
    assert done.code == 2 and f"Acting as {MODERATOR!r} is refused" in done.err, done
    assert "others can write" in done.err
    assert status_of(db, ids["t1"]) == "open"


def moderators_group(*members: str) -> int:
    """The id of the group `pd-mods` (created if missing) with `members` in it."""
    try:
        grp.getgrnam("pd-mods")
    except KeyError:
        subprocess.run(["groupadd", "pd-mods"], check=True, capture_output=True)
    for member in members:
        subprocess.run(["usermod", "-aG", "pd-mods", member], check=True, capture_output=True)
    return grp.getgrnam("pd-mods").gr_gid


@pytest.mark.parametrize(
    ("variable", "value"),
    [("PEERDESK_NOW", "2099-01-01T00:00:00Z"), ("PEERDESK_TEST_PAUSE_AT", "prepare:lines")],
)
def test_a_frozen_clock_is_refused_on_a_cache_you_do_not_own(
    shared_dir: Path, variable: str, value: str
) -> None:
    """PEERDESK_NOW (for tests and demos) is the environment too. On the shared-host recipe a
    moderator set it and claimed a thread until 2099 (every other moderator locked out of it),
    and wrote audit entries dated whenever she liked. Like an override it is honoured only on
    a cache the account owns; elsewhere it is refused in one line and nothing is written. So is
    the kill -9 tests' pause (a payout transaction held open a minute: every other writer of
    the shared cache kept waiting)."""
    need_root()
    mallory = account(ATTACKER)
    mods = moderators_group(ATTACKER)
    folder = shared_dir / "srv"
    folder.mkdir()
    os.chown(folder, 0, mods)
    folder.chmod(0o2770)
    db = folder / "cache.sqlite3"
    cache = open_cache(db, create=True)
    ids = seed_community(cache)
    cache.close()
    for item in folder.iterdir():
        os.chown(item, 0, mods)
        item.chmod(0o660)
    roles = shared_dir / "roles"
    roles.mkdir(mode=0o755)
    system = write_roles(roles / "roles.toml", {ATTACKER: ["moderator"]})
    system.chmod(0o644)
    env = {"PEERDESK_ROLES_FILE": str(system)}
    t1 = str(ids["t1"])

    for argv in (["claim", t1], ["close", t1], ["whoami"]):
        done = run_as(
            mallory,
            ["--db", str(db), *argv],
            {**env, variable: value},
            (mods,),
        )
        assert done.code == 2, done
        assert variable in done.err and done.err.count("\n") == 1, done
    assert audit_count(db) == 0 and status_of(db, ids["t1"]) == "open"
    cache = open_cache(db)
    try:
        assert cache.one("SELECT count(*) FROM claims")[0] == 0
    finally:
        cache.close()
    # on the real clock she works as ever
    done = run_as(mallory, ["--db", str(db), "claim", t1], env, (mods,))
    assert done.code == 0 and "claimed thread" in done.out, done
    assert audit_count(db) == 1
