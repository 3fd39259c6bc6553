"""A throwaway PostgreSQL cluster for the team-store tests: initdb + postgres, no TCP at all.

The server runs as a child of the test process that started it (not daemonised by pg_ctl), and
PR_SET_PDEATHSIG makes it shut down at once when that process dies: a killed test run leaves
no server behind.

One cluster serves the whole test run: under pytest-xdist the first worker that needs it starts
it (`join`) and the others join it, each with databases of its own (`db_name`: the worker's id
in front), coordinated through a folder all workers share (a lock, the cluster's address, one
file per process using it). Its server is the child of the worker that started it and would die
with it, so that worker, at its end, waits until the others have left (`leave`) and then stops it.

The cluster lives in a fresh folder under /dev/shm when that is a RAM file system with room
to spare, else under /tmp (pytest's own temp folder is closed to the non-root account below), listens only on a Unix socket in that folder and is run by a non-root
account: the current one, or (when the tests run as root, as CI does,
and PostgreSQL refuses to run as root) the OS account `pd-pgcluster`, created with useradd.

Authentication is PostgreSQL's own `peer` method: the server asks the kernel which OS account
is at the other end of the socket and maps it to a database role through pg_ident.conf. The
map of this throwaway cluster is the production one (every OS account is the role of the same
name) plus one test-only line: the account running the tests is the superuser `postgres`, so
fixtures can create databases and roles.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

CLUSTER_ACCOUNT = "pd-pgcluster"
SUPERUSER = "postgres"


PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the server's process before exec (after the switch of account, which would clear it):
    SIGQUIT when the process that started it exits."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGQUIT)


class ClusterUnavailable(Exception):
    """PostgreSQL cannot be started here; the text says what is missing, in one line."""


def find_bindir() -> Path:
    """The folder of initdb/pg_ctl: $PEERDESK_PG_BINDIR, PATH, or Debian's newest version."""
    named = os.environ.get("PEERDESK_PG_BINDIR")
    candidates: list[Path] = [Path(named)] if named else []
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = sorted(
            (p for p in debian.iterdir() if p.name.isdigit()), key=lambda p: int(p.name)
        )
        candidates += [p / "bin" for p in reversed(versions)]
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    raise ClusterUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: `apt-get install postgresql` "
        "or set PEERDESK_PG_BINDIR"
    )


def _cluster_account() -> pwd.struct_passwd:
    """Who runs the server: this account, or a dedicated one when we are root."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    try:
        return pwd.getpwnam(CLUSTER_ACCOUNT)
    except KeyError:
        if not shutil.which("useradd"):
            raise ClusterUnavailable(
                "running as root, and useradd is missing to create the non-root account "
                f"{CLUSTER_ACCOUNT} that PostgreSQL needs"
            ) from None
        subprocess.run(
            ["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", CLUSTER_ACCOUNT],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(CLUSTER_ACCOUNT)


def db_name(stem: str) -> str:
    """A database name of this test process's own in the shared cluster: the xdist worker's id
    in front (gw0_t_team_3), so no two workers make or drop the same database."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"{worker}_{stem}" if worker else stem


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """The shared folder's lock, held by one process at a time (released if that one dies)."""
    with (folder / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Cluster:
    """A running throwaway cluster. `conninfo(db, user)` connects over its socket.

    `server` is set in the process that started it (its parent), None in those that joined;
    `shared` is the folder the processes using it coordinate through."""

    base: Path
    bindir: Path
    account: pwd.struct_passwd
    shared: Path
    me: str = field(default_factory=lambda: pwd.getpwuid(os.geteuid()).pw_name)
    server: subprocess.Popen[bytes] | None = None

    @contextmanager
    def cluster_wide(self) -> Iterator[None]:
        """Hold while changing what the whole cluster shares (roles, their memberships,
        pg_ident.conf): another worker doing the same at once would collide (two CREATE ROLEs
        after the same IF NOT EXISTS, two appends to one file)."""
        with (self.shared / "cluster-wide.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base / "socket"

    @property
    def logs(self) -> Path:
        return self.base / "log"

    def conninfo(self, dbname: str = "postgres", user: str = SUPERUSER) -> str:
        return f"host={self.socket_dir} dbname={dbname} user={user}"

    def url(self, dbname: str, user: str | None = None) -> str:
        """A postgresql:// URL for `peerdesk --db` (the socket folder as the host parameter)."""
        who = f"&user={user}" if user else ""
        return f"postgresql:///{dbname}?host={self.socket_dir}{who}"

    def allow(self, role: str) -> None:
        """Let the account running the tests log in as `role` (which exists) too: a
        pg_ident.conf line (PG 15 has no wildcard for the role side), a reload, and a wait
        until the server has read it (a reload is asynchronous)."""
        line = f"peerdesk {self.me} {role}\n"
        ident = self.data / "pg_ident.conf"
        with self.cluster_wide():
            if line in ident.read_text(encoding="utf-8").splitlines(keepends=True):
                return
            with ident.open("a", encoding="utf-8") as handle:
                handle.write(line)
        # any process may ask (the server may be another worker's child)
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute("SELECT pg_reload_conf()")
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(self.conninfo(user=role)).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        as_other = self.account.pw_uid != os.geteuid()
        return subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            cwd=self.base,
            user=self.account.pw_uid if as_other else None,
            group=self.account.pw_gid if as_other else None,
            extra_groups=[] if as_other else None,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"},
            timeout=120,
            check=False,
        )

    def start(self) -> None:
        for folder in (self.data, self.socket_dir, self.logs):
            folder.mkdir(mode=0o700)
            os.chown(folder, self.account.pw_uid, self.account.pw_gid)
        self.socket_dir.chmod(0o755)  # other OS accounts (the attack tests') reach the socket
        init = self._run(
            str(self.bindir / "initdb"),
            "--pgdata",
            str(self.data),
            "--username",
            SUPERUSER,
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--auth-local",
            "peer",
            "--auth-host",
            "reject",
            "--no-sync",
        )
        if init.returncode:
            raise ClusterUnavailable(f"initdb failed: {' '.join(init.stderr.split())[-300:]}")
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(
                "\n# peerdesk test cluster: a Unix socket only, durability traded for speed\n"
                "listen_addresses = ''\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                "unix_socket_permissions = 0777\n"
                "max_connections = 150\n"  # every xdist worker's tests at once
                "shared_buffers = 32MB\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "timezone = 'UTC'\n"
            )
        (self.data / "pg_hba.conf").write_text(
            "# Unix socket only; the OS account at the other end is the role (pg_ident.conf)\n"
            "local all all peer map=peerdesk\n",
            encoding="utf-8",
        )
        (self.data / "pg_ident.conf").write_text(
            "# MAPNAME SYSTEM-USERNAME PG-USERNAME\n"
            f"peerdesk {self.me} {SUPERUSER}\n"  # test-only: the fixtures' own account
            f"peerdesk {self.account.pw_name} {SUPERUSER}\n"
            "peerdesk /^(.*)$ \\1\n",  # production rule: the OS account is the role
            encoding="utf-8",
        )
        # The server is this process's child, and dies with it (PR_SET_PDEATHSIG: SIGQUIT is
        # PostgreSQL's immediate shutdown): a test run that is killed leaves no server behind.
        as_other = self.account.pw_uid != os.geteuid()
        with (self.logs / "server.log").open("ab") as log:
            self.server = subprocess.Popen(
                [str(self.bindir / "postgres"), "-D", str(self.data)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=self.base,
                user=self.account.pw_uid if as_other else None,
                group=self.account.pw_gid if as_other else None,
                extra_groups=[] if as_other else None,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"},
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + 60
        while not self._ready():
            if self.server.poll() is not None or time.monotonic() > deadline:
                text = (self.logs / "server.log").read_text(errors="replace")
                said = " ".join(" ".join(text.strip().splitlines()[-2:]).split())
                raise ClusterUnavailable(f"postgres did not start: {said}")
            time.sleep(0.05)

    def _ready(self) -> bool:
        """The server says so in postmaster.pid (as pg_ctl --wait reads it)."""
        try:
            lines = (self.data / "postmaster.pid").read_text(encoding="utf-8").splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[7].strip() == "ready"

    def stop(self) -> None:
        server = getattr(self, "server", None)
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGQUIT)  # immediate shutdown: the data is thrown away
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        shutil.rmtree(self.base, ignore_errors=True)


RAM_DISK = Path("/dev/shm")
RAM_DISK_ROOM = 4 << 30
"""Free space /dev/shm must have to hold the cluster (a run's peak is ~0.5 GB, WAL included; a
container's default /dev/shm of 64 MB is far too small: /tmp then)."""


def cluster_parent() -> Path:
    """Where the cluster's folder goes: a RAM file system if there is a big enough one. Every
    test copies a template database (CREATE DATABASE ... TEMPLATE: some 300 files) and drops it
    again; on ext4 half the server's CPU went to the kernel making and deleting those files."""
    try:
        room = shutil.disk_usage(RAM_DISK).free
    except OSError:
        return Path("/tmp")
    return RAM_DISK if room >= RAM_DISK_ROOM else Path("/tmp")


def start_cluster(shared: Path) -> Cluster:
    """Start a new throwaway cluster (the caller stops it); `shared`: see Cluster."""
    bindir = find_bindir()
    account = _cluster_account()
    base = Path(tempfile.mkdtemp(prefix="peerdesk-pg-", dir=cluster_parent()))
    base.chmod(0o755)
    cluster = Cluster(base=base, bindir=bindir, account=account, shared=shared)
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster


def join(shared: Path, prepare: Callable[[Cluster], object] = lambda _: None) -> Cluster:
    """The run's cluster, started by the first process to ask (which then runs `prepare` on
    it, before anyone else can use it) and joined by the others; this process is counted as
    using it until `leave`. Raises ClusterUnavailable (for every process that asks) when
    PostgreSQL cannot start here."""
    shared.mkdir(parents=True, exist_ok=True)
    (shared / "users").mkdir(exist_ok=True)
    where = shared / "cluster.json"
    with _locked(shared):
        cluster = None
        if where.exists():
            said = json.loads(where.read_text(encoding="utf-8"))
            if _alive(said["owner"]):
                cluster = Cluster(
                    base=Path(said["base"]),
                    bindir=Path(said["bindir"]),
                    account=pwd.getpwnam(said["account"]),
                    shared=shared,
                )
            else:  # its starter died, and the server with it (PR_SET_PDEATHSIG)
                shutil.rmtree(said["base"], ignore_errors=True)
                where.unlink()
        if cluster is None:
            cluster = start_cluster(shared)
            try:
                prepare(cluster)
            except BaseException:
                cluster.stop()
                raise
            said = {
                "owner": os.getpid(),
                "base": str(cluster.base),
                "bindir": str(cluster.bindir),
                "account": cluster.account.pw_name,
            }
            where.write_text(json.dumps(said), encoding="utf-8")
        (shared / "users" / str(os.getpid())).touch()
    return cluster


def _users(shared: Path) -> list[int]:
    """The processes still using the cluster (a worker that died no longer counts)."""
    return [pid for pid in (int(p.name) for p in (shared / "users").iterdir()) if _alive(pid)]


def leave(cluster: Cluster) -> None:
    """This process no longer uses the cluster. The process that started it waits until no
    other does (its server would die with it), then stops it and deletes its folder; a process
    that joined stops nothing, unless the starter has died and it is the last one."""
    shared = cluster.shared
    where = shared / "cluster.json"
    with _locked(shared):
        (shared / "users" / str(os.getpid())).unlink(missing_ok=True)
        if cluster.server is None:
            said = json.loads(where.read_text(encoding="utf-8")) if where.exists() else None
            if said and not _alive(said["owner"]) and not _users(shared):
                shutil.rmtree(said["base"], ignore_errors=True)
                where.unlink()
            return
    try:
        while True:
            with _locked(shared):
                if not _users(shared):
                    where.unlink(missing_ok=True)
                    cluster.stop()  # under the lock: a late joiner then starts a new one
                    return
            time.sleep(0.2)
    except BaseException:
        cluster.stop()  # interrupted while waiting: the server goes (it would die with us)
        raise
