"""The rewards ledger on the team database, attacked with a raw SQL client.

Real OS accounts log in over the Unix socket (peer authentication: the account is the role):
`pd-mod07` moderates, `pd-pay-both` holds BOTH payout roles, `pd-pay-tom` approves payouts and
`pd-admin9` is an admin. From a forked child that dropped root, each runs hand-written SQL with
psycopg. Nobody (an admin included) rewrites, deletes or empties a ledger entry or moves the ledger's
head; a
moderator cannot append an entry at all (not even through `peerdesk_ledger_append`); the payout
roles append only entries that fit the ledger (a payout is exactly its line, negated, by the
batch's own preparer; a reversal negates exactly one accrual, once; an accrual only adds); the
preparer of a batch cannot approve it; and what the server chained verifies with peerdesk's own
code, while an edit by the server's superuser is found by `ledger verify`. Needs root; skipped
otherwise, failed under PEERDESK_REQUIRE_ALL.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator

import pytest

from console.cli import main
from console.team import audit as team_audit
from console.team.connect import connect
from tests.security.conftest import MODERATOR, account, need_root

from .cluster import Cluster
from .conftest import login_role, superuser
from .test_attacks import as_os_account

pytestmark = pytest.mark.xdist_group("teamdb")

BOTH = "pd-pay-both"
TOM = "pd-pay-tom"
ADMIN = "pd-admin9"
DENIED = "42501"  # insufficient_privilege: no grant, a row-level policy, a guard
UNFIT = "23514"  # check_violation: peerdesk_ledger_append's checks of the entry
AT = "2026-11-01T00:00:00Z"


def append(
    member: int,
    kind: str,
    rule: str,
    event: str,
    points: int,
    amount: int,
    *,
    reverses: int | None = None,
    line: int | None = None,
    thread: int | None = None,
    at: str = AT,
) -> str:
    """The call a client makes to append one entry (schedule v1, GBP). An accrual's thread is
    its event's number unless given (in the seeded community post N and vote N live in
    thread N)."""

    def sql(value: int | None) -> str:
        return "NULL" if value is None else str(value)

    if kind == "accrual" and thread is None:
        thread = int(event.rpartition(":")[2]) if event.rpartition(":")[2].isdigit() else None
    return (
        f"SELECT peerdesk_ledger_append({member}, '{kind}', '{rule}', '{event}', {sql(thread)}, "
        f"{points}, {amount}, 'GBP', 'v1', '{at}', {sql(reverses)}, {sql(line)}, '{{}}')"
    )


REWRITES = {
    "update an entry": "UPDATE ledger SET amount_minor = 1000000 WHERE id = 1",
    "delete an entry": "DELETE FROM ledger WHERE id = 2",
    "empty the ledger": "TRUNCATE ledger",
    "insert an entry directly": (
        "INSERT INTO ledger (member_id, kind, rule, event_key, points, amount_minor, currency, "
        "schedule_version, occurred_at, recorded_at, prev_hash, hash) VALUES (1, 'accrual', "
        "'r', 'e', 1, 100000, 'GBP', 'v1', 'ts', 'ts', 'x', 'y')"
    ),
    "move the ledger head": "UPDATE meta SET value = '1:00' WHERE key = 'ledger_head'",
    "write a new ledger head": "INSERT INTO meta VALUES ('ledger_head', '9:00')",
    "drop the guard trigger": "ALTER TABLE ledger DISABLE TRIGGER ledger_no_update",
}


COMMUNITY = (
    "INSERT INTO members (source_id, remote_id, username) VALUES (1, 'm1', 'ann'), "
    "(1, 'm2', 'bob'), (1, 'm3', 'cat'); "
    # threads 1-9 asked by cat; post N (position 1) answers thread N
    "INSERT INTO threads (id, source_id, remote_id, title, author_id, created_at, "
    f"last_activity_at) SELECT n, 1, 't' || n, 'Roaming ' || n, 3, '{AT}', '{AT}' "
    "FROM generate_series(1, 9) n; "
    "INSERT INTO posts (id, thread_id, source_id, remote_id, author_id, position, body_text, "
    f"body_raw, created_at) SELECT n, n, 1, 'p' || n, CASE WHEN n IN (2, 3, 7) THEN 2 ELSE 1 END, "
    f"1, 'Turn it off and on', '', '{AT}' FROM generate_series(1, 9) n; "
    # accepted: ann's answers 1 and 8, bob's 7 (bob's 2 and 3 and ann's 9 are not)
    "UPDATE threads SET accepted_post_id = id WHERE id IN (1, 7, 8); "
    # votes for bob's answers: 2 by ann (stands), 3 by cat (retracted)
    "INSERT INTO votes (id, source_id, post_id, voter_id, created_at, retracted_at) VALUES "
    f"(2, 1, 2, 1, '{AT}', NULL), (3, 1, 3, 3, '{AT}', '{AT}'); "
)
"""The events the seeded accruals pay for, and a few that may not be paid."""


@pytest.fixture
def seeded(pg_cluster: Cluster, team_db: str) -> Iterator[str]:
    """Members 1 (ann), 2 (bob) and 3 (cat, who asks); threads 1-9, post N answering thread N
    (ann's answers 1 and 8 and bob's 7 accepted; bob's answer 2 has ann's vote 2, his answer 3
    cat's retracted vote 3; all on 2026-11-01); schedule v1 (accepted_answer 10 points,
    helpful_vote 5, duplicate_flagged 0, a point 50 minor units of GBP, at most 15 points a
    member a day); two accruals (entries 1: ann 10 points / 500 for post:1, 2: bob 5 / 250 for
    vote:2); batch 1 (2026-10) prepared by pd-pay-both with line 1 (ann, 10 / 500)
    and line 2 (bob, 5 / 250), no payout entries yet; then the database is live (no import)."""
    need_root()
    for name in (MODERATOR, BOTH, TOM, ADMIN):
        account(name)
    login_role(pg_cluster, MODERATOR, "moderator")
    login_role(pg_cluster, BOTH, "payout_preparer", "payout_approver")
    login_role(pg_cluster, TOM, "payout_approver")
    login_role(pg_cluster, ADMIN, "admin")
    with superuser(pg_cluster, team_db) as conn:
        conn.execute(
            "SET search_path = peerdesk; "
            "INSERT INTO sources (kind, name, created_at) VALUES ('discourse', 'f', 'now'); "
            f"{COMMUNITY}"
            "INSERT INTO reward_schedules (version, body, sha256, loaded_by, loaded_at) "
            "VALUES ('v1', '', '', 'root', 'now'); "
            "INSERT INTO reward_schedule_terms VALUES ('v1', 'GBP', 50, 15, 40, 1, 100000); "
            "INSERT INTO reward_schedule_points VALUES ('v1', 'accepted_answer', 10), "
            "('v1', 'helpful_vote', 5), ('v1', 'duplicate_flagged', 0); "
            f"INSERT INTO payout_batches (period, period_start, period_end, currency, "
            "schedule_version, threshold_points, second_approver_over_minor, prepared_by, "
            f"prepared_at) VALUES ('2026-10', 'a', 'b', 'GBP', 'v1', 1, 100000, '{BOTH}', "
            "'now'); "
            "INSERT INTO payout_lines (batch_id, member_id, points, amount_minor) "
            "VALUES (1, 1, 10, 500), (1, 2, 5, 250); "
            "SELECT peerdesk_import_close()"  # live from now on
        )
        conn.execute(append(1, "accrual", "accepted_answer", "post:1", 10, 500))
        conn.execute(append(2, "accrual", "helpful_vote", "vote:2", 5, 250))
    yield team_db


def run(cluster: Cluster, dbname: str, name: str, script: dict[str, str]) -> dict[str, str]:
    result = as_os_account(account(name), cluster.conninfo(dbname, name), script, rows=True)
    assert result.pop("whoami") == f"{name}/{name}"  # peer authentication: the OS account
    return result


def entries(cluster: Cluster, dbname: str) -> list[tuple[object, ...]]:
    with superuser(cluster, dbname) as conn:
        return conn.execute(
            "SELECT id, member_id, kind, rule, event_key, points, amount_minor, reverses, line_id "
            "FROM peerdesk.ledger ORDER BY id"
        ).fetchall()


def test_nobody_rewrites_the_ledger_or_its_head(pg_cluster: Cluster, seeded: str) -> None:
    for name in (MODERATOR, BOTH, TOM, ADMIN):
        result = run(pg_cluster, seeded, name, REWRITES)
        # row-level security: the head's row is not there for an UPDATE to change
        assert result == {**dict.fromkeys(REWRITES, DENIED), "move the ledger head": "ok 0"}, name
    assert [row[0] for row in entries(pg_cluster, seeded)] == [1, 2]
    with superuser(pg_cluster, seeded) as conn:
        head = conn.execute("SELECT value FROM peerdesk.meta WHERE key = 'ledger_head'").fetchone()
        newest = conn.execute("SELECT id, hash FROM peerdesk.ledger WHERE id = 2").fetchone()
    assert head is not None and newest is not None and head[0] == f"2:{newest[1]}"
    with connect(pg_cluster.url(seeded, TOM)) as conn:
        assert team_audit.ledger_problems(conn) == []


def test_a_moderator_cannot_append_to_the_ledger_at_all(pg_cluster: Cluster, seeded: str) -> None:
    result = run(
        pg_cluster,
        seeded,
        MODERATOR,
        {
            "accrue to a member": append(1, "accrual", "accepted_answer", "post:9", 10, 500),
            "reverse an accrual": append(
                1, "reversal", "accepted_answer", "post:1", -10, -500, reverses=1
            ),
            "write a payout entry": append(1, "payout", "payout", "line:1", -10, -500, line=1),
        },
    )
    assert result == {
        "accrue to a member": DENIED,
        "reverse an accrual": DENIED,
        "write a payout entry": DENIED,
    }
    assert [row[0] for row in entries(pg_cluster, seeded)] == [1, 2]


def test_payout_staff_append_only_entries_that_fit(pg_cluster: Cluster, seeded: str) -> None:
    both = run(
        pg_cluster,
        seeded,
        BOTH,
        {
            "a payout larger than its line": append(
                1, "payout", "payout", "line:1", -10, -5000, line=1
            ),
            "a payout of a line to another member": append(
                2, "payout", "payout", "line:1", -10, -500, line=1
            ),
            "a payout of no line": append(1, "payout", "payout", "line:99", -10, -500, line=99),
            "an accrual that takes money": append(
                1, "accrual", "accepted_answer", "post:7", -10, -500
            ),
            "a reversal taking more than its accrual": append(
                1, "reversal", "accepted_answer", "post:1", -10, -5000, reverses=1
            ),
            "a reversal of another member's accrual": append(
                2, "reversal", "accepted_answer", "post:1", -10, -500, reverses=1
            ),
            "a 'ban' of a member who is not banned": append(
                1, "reversal", "member_banned", "member:1", -10, -500
            ),
            "a return of money never paid out": append(
                2, "payout_return", "payout", "line:2", 5, 250, reverses=2, line=2
            ),
            "an entry of an unknown schedule": append(
                1, "accrual", "accepted_answer", "post:8", 1, 50
            ).replace("'v1'", "'v9'"),
            # the legitimate moves
            "the payout entry of line 1": append(
                1, "payout", "payout", "line:1", -10, -500, line=1
            ),
            "reverse bob's accrual": append(
                2, "reversal", "helpful_vote", "vote:2", -5, -250, reverses=2
            ),
            "reverse it again under another event": append(
                2, "reversal", "accepted_answer", "post:2", -5, -250, reverses=2
            ),
            "approve one's own batch": (
                "INSERT INTO payout_approvals (batch_id, approver, approved_at) "
                "VALUES (1, session_user, 'now')"
            ),
        },
    )
    assert both == {
        "a payout larger than its line": UNFIT,
        "a payout of a line to another member": UNFIT,
        "a payout of no line": UNFIT,
        "an accrual that takes money": UNFIT,
        "a reversal taking more than its accrual": UNFIT,
        "a reversal of another member's accrual": UNFIT,
        "a 'ban' of a member who is not banned": UNFIT,
        "a return of money never paid out": UNFIT,
        "an entry of an unknown schedule": UNFIT,
        "the payout entry of line 1": "ok 1",
        "reverse bob's accrual": "ok 1",
        "reverse it again under another event": UNFIT,
        "approve one's own batch": DENIED,  # four-eyes, in the database
    }
    tom = run(
        pg_cluster,
        seeded,
        TOM,
        {
            "a payout entry of a batch tom did not prepare": append(
                2, "payout", "payout", "line:2", -5, -250, line=2
            ),
        },
    )
    assert tom == {"a payout entry of a batch tom did not prepare": DENIED}
    assert entries(pg_cluster, seeded) == [
        (1, 1, "accrual", "accepted_answer", "post:1", 10, 500, None, None),
        (2, 2, "accrual", "helpful_vote", "vote:2", 5, 250, None, None),
        (3, 1, "payout", "payout", "line:1", -10, -500, None, 1),
        (4, 2, "reversal", "helpful_vote", "vote:2", -5, -250, 2, None),
    ]
    with connect(pg_cluster.url(seeded, TOM)) as conn:
        assert team_audit.ledger_problems(conn) == []


def test_payout_staff_cannot_append_a_made_up_accrual(pg_cluster: Cluster, seeded: str) -> None:
    """The server checks an accrual against the schedule's terms it keeps (migration 23),
    which only an admin loads: what the rule pays, the point value, the currency, the caps."""
    v1_pays = "INSERT INTO reward_schedule_points VALUES ('v1', 'verified_answer', 1000)"
    both = run(
        pg_cluster,
        seeded,
        BOTH,
        {
            "an accrual worth 100 times the rule": append(
                1, "accrual", "accepted_answer", "post:7", 1000, 50000
            ),
            "the rule's points at 100 times the point value": append(
                1, "accrual", "accepted_answer", "post:7", 10, 50000
            ),
            "the rule's points and money in another currency": append(
                2, "accrual", "accepted_answer", "post:7", 10, 500
            ).replace("'GBP'", "'KWD'"),
            "a rule the schedule pays nothing for": append(
                1, "accrual", "duplicate_flagged", "thread:7", 3, 150
            ),
            "a rule the schedule does not name": append(
                1, "accrual", "verified_answer", "post:7", 25, 1250
            ),
            "past the day's cap (ann holds 10 of 15)": append(
                1, "accrual", "accepted_answer", "post:8", 10, 500
            ),
            "load a schedule of one's own": (
                "INSERT INTO reward_schedules (version, body, sha256, loaded_by, loaded_at) "
                "VALUES ('v2', '', '', session_user, 'now')"
            ),
            "make the schedule pay for another rule": v1_pays,
            "raise what a rule pays": "UPDATE reward_schedule_points SET points = 1000",
            "raise the point value": "UPDATE reward_schedule_terms SET point_value_minor = 5000",
            "drop the day's cap": "DELETE FROM reward_schedule_terms",
            # the legitimate moves: what v1 pays, capped
            "bob's accepted answer": append(2, "accrual", "accepted_answer", "post:7", 10, 500),
            "ann's second answer that day, capped to 5": append(
                1, "accrual", "accepted_answer", "post:8", 5, 250
            ),
        },
    )
    assert both == {
        "an accrual worth 100 times the rule": UNFIT,
        "the rule's points at 100 times the point value": UNFIT,
        "the rule's points and money in another currency": UNFIT,
        "a rule the schedule pays nothing for": UNFIT,
        "a rule the schedule does not name": UNFIT,
        "past the day's cap (ann holds 10 of 15)": UNFIT,
        "load a schedule of one's own": DENIED,
        "make the schedule pay for another rule": DENIED,
        "raise what a rule pays": DENIED,
        "raise the point value": DENIED,
        "drop the day's cap": DENIED,
        "bob's accepted answer": "ok 1",
        "ann's second answer that day, capped to 5": "ok 1",
    }
    admin = run(
        pg_cluster,
        seeded,
        ADMIN,
        {
            "raise what a rule pays": "UPDATE reward_schedule_points SET points = 1000",
            "make the schedule pay for another rule": v1_pays,
        },
    )
    # an admin loads schedules (peerdesk ledger schedule: audited), never changes one in use
    assert admin == dict.fromkeys(admin, DENIED)
    assert entries(pg_cluster, seeded)[2:] == [
        (3, 2, "accrual", "accepted_answer", "post:7", 10, 500, None, None),
        (4, 1, "accrual", "accepted_answer", "post:8", 5, 250, None, None),
    ]
    with connect(pg_cluster.url(seeded, TOM)) as conn:
        assert team_audit.ledger_problems(conn) == []


def test_payout_staff_cannot_pay_a_made_up_or_already_paid_event(
    pg_cluster: Cluster, seeded: str
) -> None:
    """Priced and capped as the schedule says is not enough: the event an accrual pays for must
    be true on the server now, of the rule's kind, the member's own, in its thread, at its
    time, and spelt as its own key (migration 28's reward_events)."""
    accepted = "accepted_answer"
    both = run(
        pg_cluster,
        seeded,
        BOTH,
        {
            "an answer that does not exist": append(1, "accrual", accepted, "post:99", 10, 500),
            "an answer nobody accepted": append(1, "accrual", accepted, "post:9", 10, 500),
            "a vote paid as an accepted answer": append(2, "accrual", accepted, "vote:2", 10, 500),
            "someone else's accepted answer": append(1, "accrual", accepted, "post:7", 10, 500),
            "a retracted vote": append(2, "accrual", "helpful_vote", "vote:3", 5, 250),
            "a paid answer spelt again (post:01)": append(
                1, "accrual", accepted, "post:01", 5, 250, thread=1
            ),
            "a paid answer spelt again (post:1 )": append(
                1, "accrual", accepted, "post:1 ", 5, 250, thread=1
            ),
            "an answer in another thread (dodging its cap)": append(
                2, "accrual", accepted, "post:7", 10, 500, thread=1
            ),
            "an answer on another day (dodging the day's cap)": append(
                1, "accrual", accepted, "post:8", 10, 500, at="2026-11-02T00:00:00Z"
            ),
            "an answer in no thread": append(2, "accrual", accepted, "post:7", 10, 500, thread=0),
            # the legitimate move: bob's accepted answer, as it is
            "bob's accepted answer": append(2, "accrual", accepted, "post:7", 10, 500),
            "paid once already: nothing written": append(2, "accrual", accepted, "post:7", 10, 500),
        },
    )
    assert both == {
        "an answer that does not exist": UNFIT,
        "an answer nobody accepted": UNFIT,
        "a vote paid as an accepted answer": UNFIT,
        "someone else's accepted answer": UNFIT,
        "a retracted vote": UNFIT,
        "a paid answer spelt again (post:01)": UNFIT,
        "a paid answer spelt again (post:1 )": UNFIT,
        "an answer in another thread (dodging its cap)": UNFIT,
        "an answer on another day (dodging the day's cap)": UNFIT,
        "an answer in no thread": UNFIT,
        "bob's accepted answer": "ok 1",
        "paid once already: nothing written": "ok 1",  # the call returns NULL
    }
    assert entries(pg_cluster, seeded)[2:] == [
        (3, 2, "accrual", accepted, "post:7", 10, 500, None, None),
    ]
    with connect(pg_cluster.url(seeded, TOM)) as conn:
        assert team_audit.ledger_problems(conn) == []


def test_an_entry_is_appended_once_even_when_offered_again(
    pg_cluster: Cluster, seeded: str
) -> None:
    with connect(pg_cluster.url(seeded, TOM), autocommit=True) as conn:
        again = conn.execute(append(1, "accrual", "accepted_answer", "post:1", 10, 500))
        assert again.fetchone() == (None,)  # already there: nothing written, no error
    assert [row[0] for row in entries(pg_cluster, seeded)] == [1, 2]


def ledger_verify(url: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["--db", url, "ledger", "verify"])
    return code, out.getvalue()


def test_the_servers_chain_is_verified_and_a_superusers_edit_is_found(
    pg_cluster: Cluster, seeded: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with connect(pg_cluster.url(seeded, BOTH), autocommit=True) as conn:  # pay both lines
        conn.execute(append(1, "payout", "payout", "line:1", -10, -500, line=1))
        conn.execute(append(2, "payout", "payout", "line:2", -5, -250, line=2))
    monkeypatch.setenv("PEERDESK_USER", TOM)
    url = pg_cluster.url(seeded, TOM)
    intact = "ledger intact: 4 entries, chain verified, 2 balances re-derived\n"
    assert ledger_verify(url) == (0, intact)
    with superuser(pg_cluster, seeded) as owner:  # only the server's superuser could
        owner.execute("ALTER TABLE peerdesk.ledger DISABLE TRIGGER USER")
        owner.execute("UPDATE peerdesk.ledger SET amount_minor = 99999 WHERE id = 1")
    code, out = ledger_verify(url)
    assert code == 1 and "ledger entry 1: entry edited: its hash does not match" in out


def test_a_moderator_files_appeals_in_their_own_name_only(pg_cluster: Cluster, seeded: str) -> None:
    appeal = (
        "INSERT INTO payout_appeals (line_id, text, filed_by, filed_at{extra}) "
        "VALUES (1, 'I did answer', {by}, 'now'{value})"
    )
    history = (
        "INSERT INTO payout_line_history (line_id, action, actor, reason, at) "
        "VALUES (1, '{action}', {by}, 'x', 'now')"
    )
    result = run(
        pg_cluster,
        seeded,
        MODERATOR,
        {
            "file an appeal in another's name": appeal.format(extra="", by=f"'{TOM}'", value=""),
            "file an appeal already upheld": appeal.format(
                extra=", decision", by="session_user", value=", 'upheld'"
            ),
            "write a release into the line's history": history.format(
                action="release", by="session_user"
            ),
            "decide an appeal": "UPDATE payout_appeals SET decision = 'upheld'",
            "release the line": "UPDATE payout_lines SET state = 'ready'",
            # the legitimate move: the payout_appeal action
            "file an appeal": appeal.format(extra="", by="session_user", value=""),
            "its history line": history.format(action="appeal", by="session_user"),
        },
    )
    assert result == {
        "file an appeal in another's name": DENIED,
        "file an appeal already upheld": DENIED,
        "write a release into the line's history": DENIED,
        "decide an appeal": DENIED,
        "release the line": DENIED,
        "file an appeal": "ok 1",
        "its history line": "ok 1",
    }


def test_a_preparer_cannot_raise_the_second_approver_threshold(
    pg_cluster: Cluster, seeded: str
) -> None:
    """A batch's second-approver threshold and currency are its schedule's terms: a preparer
    who wrote a higher threshold with a raw client would need one approval for any sum."""

    def batch(period: str, currency: str, over_minor: int) -> str:
        return (
            "INSERT INTO payout_batches (period, period_start, period_end, currency, "
            "schedule_version, threshold_points, second_approver_over_minor, prepared_by, "
            f"prepared_os_user, prepared_at) VALUES ('{period}', 'a', 'b', '{currency}', 'v1', "
            f"1, {over_minor}, session_user, session_user, 'now')"
        )

    both = run(
        pg_cluster,
        seeded,
        BOTH,
        {
            "a threshold no batch reaches": batch("2026-11", "GBP", 10**12),
            "the schedule's money in another currency": batch("2026-11", "KWD", 100000),
            "the schedule's own terms": batch("2026-11", "GBP", 100000),  # the legitimate move
        },
    )
    assert both == {
        "a threshold no batch reaches": DENIED,
        "the schedule's money in another currency": DENIED,
        "the schedule's own terms": "ok 1",
    }
