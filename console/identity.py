"""Who is acting, and with which roles: from the operating system, never from the environment.

    who = establish(cache_path, config, requested="alice")   # the only way to get an Identity
    who.name        # the name decisions are recorded under ("alice")
    who.os_user     # the account the OS runs this process as ("root")
    who.roles       # looked up here, from the files below; callers never pass roles

The name is the process's real uid's account (`pwd`), not $USER or $LOGNAME. An override
(`--as NAME` or PEERDESK_USER) is honoured only on a cache file the current account owns: there
it grants nothing the file's permissions do not already grant (the owner can write the file
directly). Every audit entry of an overridden identity records the OS account too. A frozen
clock (PEERDESK_NOW) is honoured under the same condition: elsewhere it would date claims and
audit entries at will (a claim until 2099 locks every other moderator out of a thread).

Roles, in order:
1. the system roles file /etc/peerdesk/roles.toml (root-owned; refused if group- or
   world-writable, or its folder is); PEERDESK_ROLES_FILE names another one for tests and demos,
   honoured only if owned by root or by the cache's owner, and writable by nobody else;
2. without one, the `[roles]` of the config, under the same conditions (a laptop owner's own
   config); a config owned by someone else has no authority;
3. a per-user config's `[roles]` entry for the name can only narrow (1) or (2), never widen them;
4. on a demo cache the account that owns it has every role.
A user with no role is read-only.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
import weakref
from dataclasses import dataclass
from pathlib import Path

from console.clock import FROZEN_ENV, PAUSE_ENV
from console.config import Config, FileFacts, parse_roles, read_toml
from console.errors import ConfigError, IdentityRefused
from console.models import Role

SYSTEM_ROLES_FILE = Path("/etc/peerdesk/roles.toml")
ROLES_FILE_ENV = "PEERDESK_ROLES_FILE"
USER_ENV = "PEERDESK_USER"
ALL_ROLES = frozenset(Role)

# every Identity `establish` made, with the roles it found: the roles checks read them from here,
# so an Identity built by hand, copied with other roles or altered after the fact is worth nothing
_ESTABLISHED: weakref.WeakKeyDictionary[Identity, frozenset[Role]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Roster:
    """Everyone the authority of an identity's roles names, with their roles (who else may be
    handed work: an escalation's assignee). `anyone`: a demo cache its owner opened, where every
    name has every role."""

    roles: dict[str, frozenset[Role]]
    anyone: bool = False

    def holding(self, wanted: frozenset[Role]) -> list[str]:
        """The names holding one of `wanted`, sorted."""
        return sorted(name for name, held in self.roles.items() if held & wanted)


_ROSTERS: weakref.WeakKeyDictionary[Identity, Roster] = weakref.WeakKeyDictionary()


@dataclass(frozen=True, eq=False)
class Identity:
    """An acting user. Only `establish` makes ones the domain accepts (see `is_established`)."""

    name: str
    os_user: str
    roles: frozenset[Role]
    roles_from: str  # where the roles came from, in words
    notices: tuple[str, ...] = ()  # things the user should know (e.g. roles that were ignored)

    @property
    def overridden(self) -> bool:
        return self.name != self.os_user

    @property
    def audit_os_user(self) -> str | None:
        """The OS account to record beside the name in audit entries, when they differ."""
        return self.os_user if self.overridden else None

    @property
    def label(self) -> str:
        """The name for the header: an override is marked (`whoami` names the OS user)."""
        return f"{self.name} (override)" if self.overridden else self.name


def is_established(who: object) -> bool:
    """Whether `who` came from `establish` (an Identity built any other way is refused)."""
    return isinstance(who, Identity) and who in _ESTABLISHED


def same_person(name: str, os_user: str | None, acting: str, acting_os_user: str) -> bool:
    """Whether whoever acts as `acting` under the OS account `acting_os_user` is the person a
    record names as `name` under `os_user` (None: not recorded, taken as `name`): four-eyes'
    test (payout batches, answer verification).

    An override (`--as`) is the same person as its OS account: an account that did something
    under its own name cannot be the second pair of eyes under another, nor the other way
    round. Two overrides of one account are two names only, and that is all they can be: they
    are honoured only on a cache that account owns and could edit directly (README: four-eyes
    on a shared host).
    """
    theirs = {name, os_user or name}
    if acting != acting_os_user and (os_user or name) != name:  # both are overrides
        return acting == name
    return bool({acting, acting_os_user} & theirs)


def roster_of(who: Identity) -> Roster:
    """The roster `establish` read beside `who`'s roles (empty for an Identity it did not make,
    and on a team database, where the server's grants are the roster)."""
    found = _ROSTERS.get(who) if isinstance(who, Identity) else None
    return found or Roster({})


def roles_of(who: Identity) -> frozenset[Role]:
    """The roles `establish` found for `who` (none for an Identity it did not make)."""
    return _ESTABLISHED.get(who, frozenset()) if isinstance(who, Identity) else frozenset()


def account_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def os_user() -> str:
    """The account of the process's real uid."""
    return account_name(os.getuid())


def requested_name(explicit: str | None = None) -> str | None:
    """The override asked for: `--as NAME`, else PEERDESK_USER; None when neither."""
    return explicit or os.environ.get(USER_ENV) or None


def establish(
    cache_path: Path,
    config: Config,
    *,
    requested: str | None = None,
    demo: bool = False,
) -> Identity:
    """The identity acting on the cache at `cache_path` (which exists), with its roles."""
    uid = os.getuid()
    me = account_name(uid)
    try:
        owner = cache_path.stat().st_uid
    except OSError:
        owner = uid  # not created yet: it will be created by, and belong to, this account
    open_folder = _folder_others_can_write(cache_path)
    owns = owner == uid and open_folder is None
    name = me
    if requested and requested != me:
        if owner == uid and open_folder is not None:
            raise IdentityRefused(
                f"Acting as {requested!r} is refused: the cache {cache_path} is yours, but "
                f"others can write its folder {open_folder}, so it could have been made yours "
                "by replacing it; there peerdesk acts only under your own account name (unset "
                f"{USER_ENV} and drop --as)."
            )
        if not owns:
            raise IdentityRefused(
                f"Acting as {requested!r} is refused: you are {me}, and the cache {cache_path} "
                f"belongs to {account_name(owner)}. On a cache you do not own peerdesk acts only "
                f"under your own account name (unset {USER_ENV} and drop --as)."
            )
        name = requested
    for env, what, instead in (
        (FROZEN_ENV, "a frozen clock", "peerdesk keeps the real time"),
        (PAUSE_ENV, "a transaction held open", "peerdesk never waits on purpose"),
    ):
        if os.environ.get(env) and not owns:
            whose = (
                f"others can write its folder {open_folder}"
                if owner == uid
                else f"it belongs to {account_name(owner)}"
            )
            raise IdentityRefused(
                f"{env} ({what}, for tests and demos) is refused on the cache "
                f"{cache_path}: {whose}, and there {instead} (unset {env})."
            )
    notices: list[str] = []
    if demo and owns:
        roles, source = ALL_ROLES, f"the demo community, which {me} owns"
        roster = Roster({me: ALL_ROLES, name: ALL_ROLES}, anyone=True)
    else:
        table, source = _roles_table(config, owner, notices)
        roster = Roster({person: _narrowed(person, held, config) for person, held in table.items()})
        roles = _narrowed(name, table.get(name, frozenset()), config, notices)
    who = Identity(name, me, roles, source, tuple(notices))
    _ESTABLISHED[who] = roles
    _ROSTERS[who] = roster
    return who


def _folder_others_can_write(cache_path: Path) -> Path | None:
    """The cache's folder if another account may write it (group or world write, no sticky
    bit: a shared host's setgid folder), or None. There owning the cache file proves nothing:
    any writer of the folder can rename a file of their own over it."""
    folder = cache_path.absolute().parent
    try:
        info = folder.stat()
    except OSError:
        return None
    group = info.st_mode & stat.S_IWGRP and not _private_group(info.st_gid)
    others = group or info.st_mode & stat.S_IWOTH or info.st_uid not in (0, os.getuid())
    return folder if others and not info.st_mode & stat.S_ISVTX else None


def _private_group(gid: int) -> bool:
    """Whether `gid` is this account's own group and nobody else's (a user private group, as
    a umask of 002 leaves folders group-writable on many distributions)."""
    me = account_name(os.getuid())
    try:
        group = grp.getgrgid(gid)
    except KeyError:
        return False
    if group.gr_name != me or set(group.gr_mem) - {me}:
        return False
    return all(p.pw_name == me for p in pwd.getpwall() if p.pw_gid == gid)


def establish_from_database(
    name: str, roles: frozenset[Role], database: str, *, requested: str | None = None
) -> Identity:
    """The identity on a team database: the role the server says is connected (`name`, its
    session user) with the peerdesk roles the server grants it. Acting under another name is
    refused: there the server, not peerdesk, decides who you are."""
    if requested and requested != name:
        raise IdentityRefused(
            f"Acting as {requested!r} is refused: on the team database {database} you are the "
            f"database role you connect as ({name}); unset {USER_ENV}, drop --as, or connect "
            "as that role."
        )
    source = f"the team database {database} (database roles of {name})"
    who = Identity(name, name, roles, source)
    _ESTABLISHED[who] = roles
    return who


def _roles_table(
    config: Config, cache_owner: int, notices: list[str]
) -> tuple[dict[str, frozenset[Role]], str]:
    """The roles table in authority for this cache, and where it came from in words."""
    authority = _roles_file(cache_owner)
    if authority is not None:
        table, source = authority
    elif config.path is not None and config.facts is not None and config.roles:
        _check_writers(config.path, config.facts, "config")
        problem = _untrusted(config.path, config.facts, cache_owner, "config")
        if problem is None:
            table, source = config.roles, f"the config {config.path}"
        else:
            notices.append(problem)
            table, source = {}, "nowhere (no system roles file)"
    else:
        table, source = {}, "nowhere (no system roles file)"
    return table, source


def _narrowed(
    name: str, roles: frozenset[Role], config: Config, notices: list[str] | None = None
) -> frozenset[Role]:
    """`roles` of `name` as the config's own entry for the name narrows them (if it has one)."""
    narrower = config.roles.get(name)
    if narrower is None:
        return roles
    if roles - narrower and notices is not None:
        notices.append(f"the config {config.path} narrows {name}'s roles")
    return roles & narrower


def _untrusted(path: Path, facts: FileFacts, cache_owner: int, what: str) -> str | None:
    """Why the roles in `path` carry no authority for this cache, or None if they do."""
    if facts.uid not in (0, cache_owner):
        return (
            f"roles in the {what} {path} are not used: it belongs to {account_name(facts.uid)}, "
            f"not to root or to the cache's owner {account_name(cache_owner)} "
            "(a config can only narrow the roles of the system roles file)"
        )
    return None


def _check_writers(path: Path, facts: FileFacts, what: str) -> None:
    if facts.writable_by_others:
        raise ConfigError(
            f"The {what} {path} is writable by its group or by everyone "
            f"(mode {stat.filemode(facts.mode)}); peerdesk will not take roles from it. "
            f"Fix it with: chmod go-w {path}"
        )
    folder = path.resolve().parent
    try:
        info = folder.stat()
    except OSError as error:
        raise ConfigError(f"Cannot check the folder of the {what} {path}: {error}") from error
    open_folder = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    if open_folder and not info.st_mode & stat.S_ISVTX:
        raise ConfigError(
            f"The folder {folder} of the {what} {path} is writable by others, so anyone could "
            f"replace the file; peerdesk will not take roles from it. Fix it with: "
            f"chmod go-w {folder}"
        )


def _roles_file(cache_owner: int) -> tuple[dict[str, frozenset[Role]], str] | None:
    """The authoritative roles table and its description, or None without a roles file."""
    hook = os.environ.get(ROLES_FILE_ENV)
    path = Path(hook).expanduser() if hook else SYSTEM_ROLES_FILE
    what = "roles file" if hook else "system roles file"
    try:
        text, data, facts = read_toml(path, what)
    except FileNotFoundError:
        if hook:
            raise ConfigError(f"The roles file {path} ({ROLES_FILE_ENV}) does not exist") from None
        return None
    allowed_owners = (0, cache_owner) if hook else (0,)
    if facts.uid not in allowed_owners:
        wanted = "root" if not hook else f"root or the cache's owner {account_name(cache_owner)}"
        raise ConfigError(
            f"The {what} {path} belongs to {account_name(facts.uid)}, not to {wanted}; "
            "peerdesk will not take roles from it."
        )
    _check_writers(path, facts, what)
    return parse_roles(text, data, path, what), f"the {what} {path}"
