"""Claims, outbox sending and four-eyes on the team database, attacked with a raw SQL client.

Real OS accounts log in over the Unix socket (peer authentication: the account is the role):
`pd-mod07` and `pd-mod08` are moderators; `pd-pay-both` holds BOTH payout roles (the person
four-eyes must stop), `pd-pay-tom` is an approver. From a forked child that dropped root, each
runs hand-written SQL. Row-level security and the triggers of console/team/grants.sql refuse
(an error, or no row changed) every claim, lease or approval in someone else's name, and let the
legitimate moves through. Needs root; skipped otherwise, failed under PEERDESK_REQUIRE_ALL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.security.conftest import MODERATOR, account, need_root

from .cluster import Cluster
from .conftest import login_role, superuser
from .test_attacks import as_os_account

pytestmark = pytest.mark.xdist_group("teamdb")

OTHER = "pd-mod08"
BOTH = "pd-pay-both"
TOM = "pd-pay-tom"
DENIED = "42501"  # insufficient_privilege: a grant, a row-level policy or a guard trigger
LATER = "peerdesk.peerdesk_time('1 hour')"
LONG_AGO = "'2000-01-01T00:00:00Z'"
ITEM = (
    "INSERT INTO outbox (source_id, action, target_kind, target_id, payload, idempotency_key, "
    "state, created_at, updated_at) VALUES (1, 'close', 'thread', 1, '{{}}', '{key}', '{state}', "
    "'now', 'now')"
)


@pytest.fixture
def seeded(pg_cluster: Cluster, team_db: str) -> Iterator[str]:
    """Three threads; pd-mod08 holds a live claim on 1 and an expired one on 2; outbox item 1
    is pending, 2 is being sent by pd-mod08 (live lease), 3 was (its lease ran out)."""
    need_root()
    for name in (MODERATOR, OTHER, BOTH, TOM):
        account(name)
    login_role(pg_cluster, MODERATOR, "moderator")
    login_role(pg_cluster, OTHER, "moderator")
    login_role(pg_cluster, BOTH, "payout_preparer", "payout_approver")
    login_role(pg_cluster, TOM, "payout_approver")
    with superuser(pg_cluster, team_db) as conn:
        conn.execute(
            "SET search_path = peerdesk; "
            "INSERT INTO sources (kind, name, created_at) VALUES ('discourse', 'f', 'now'); "
            "INSERT INTO members (source_id, remote_id, username) VALUES (1, 'm1', 'ann'); "
            "INSERT INTO reward_schedules (version, body, sha256, loaded_by, loaded_at) "
            "VALUES ('v1', '', '', 'root', 'now'); "  # batches are prepared under its terms
            "INSERT INTO reward_schedule_terms VALUES ('v1', 'GBP', 25, 100, 100, 1, 50000); "
            "INSERT INTO threads (source_id, remote_id, title, created_at, last_activity_at) "
            "VALUES (1, 't1', 'a', 'now', 'now'), (1, 't2', 'b', 'now', 'now'), "
            "(1, 't3', 'c', 'now', 'now'); "
            f"INSERT INTO claims VALUES (1, '{OTHER}', 'now', {LATER}), "
            f"(2, '{OTHER}', 'now', {LONG_AGO}); "
            f"INSERT INTO outbox (source_id, action, target_kind, target_id, payload, "
            "idempotency_key, state, attempts, created_at, updated_at, lease_owner, lease_until, "
            f"lease_role) VALUES (1, 'close', 'thread', 1, '{{}}', 'k1', 'pending', 0, 'now', "
            f"'now', NULL, NULL, NULL), (1, 'close', 'thread', 2, '{{}}', 'k2', 'sending', 1, "
            f"'now', 'now', 'h:1', {LATER}, '{OTHER}'), (1, 'close', 'thread', 3, '{{}}', 'k3', "
            f"'sending', 1, 'now', 'now', 'h:2', {LONG_AGO}, '{OTHER}'); "
            "SELECT peerdesk_import_close()"  # live from now on: no admin import exemption
        )
    yield team_db


def run(cluster: Cluster, dbname: str, name: str, script: dict[str, str]) -> dict[str, str]:
    result = as_os_account(account(name), cluster.conninfo(dbname, name), script, rows=True)
    assert result.pop("whoami") == f"{name}/{name}"  # peer authentication: the OS account
    return result


def rows(cluster: Cluster, dbname: str, query: str) -> list[tuple[object, ...]]:
    with superuser(cluster, dbname) as conn:
        return conn.execute(query).fetchall()


def test_claims_are_taken_and_given_up_only_in_ones_own_name(
    pg_cluster: Cluster, seeded: str
) -> None:
    result = run(
        pg_cluster,
        seeded,
        MODERATOR,
        {
            "claim in another's name": (
                f"INSERT INTO claims VALUES (3, '{OTHER}', 'now', peerdesk_time('1 minute'))"
            ),
            "steal a live claim": "UPDATE claims SET holder = session_user WHERE thread_id = 1",
            "steal it by upsert": (
                "INSERT INTO claims VALUES (1, session_user, 'now', peerdesk_time('1 minute')) "
                "ON CONFLICT (thread_id) DO UPDATE SET holder = excluded.holder"
            ),
            "release another's live claim": "DELETE FROM claims WHERE thread_id = 1",
            "claim for a year": (
                "INSERT INTO claims VALUES (3, session_user, 'now', peerdesk_time('1 year'))"
            ),
            "lengthen another's claim": (
                "UPDATE claims SET expires_at = peerdesk_time('1 year') WHERE thread_id = 1"
            ),
            # the legitimate moves
            "take over a claim that ran out": (
                "UPDATE claims SET holder = session_user, expires_at = peerdesk_time('15 "
                "minutes') WHERE thread_id = 2"
            ),
            "claim a free thread": (
                "INSERT INTO claims VALUES (3, session_user, 'now', peerdesk_time('15 minutes'))"
            ),
            "give up one's own claim": "DELETE FROM claims WHERE thread_id = 3",
        },
    )
    assert result == {
        "claim in another's name": DENIED,
        "steal a live claim": "ok 0",  # row-level security: the row is not there for it
        "steal it by upsert": DENIED,
        "release another's live claim": "ok 0",
        "claim for a year": DENIED,
        "lengthen another's claim": "ok 0",
        "take over a claim that ran out": "ok 1",
        "claim a free thread": "ok 1",
        "give up one's own claim": "ok 1",
    }
    assert rows(pg_cluster, seeded, "SELECT thread_id, holder FROM peerdesk.claims ORDER BY 1") == [
        (1, OTHER),
        (2, MODERATOR),
    ]


def test_outbox_items_are_sent_and_settled_only_by_their_lease_holder(
    pg_cluster: Cluster, seeded: str
) -> None:
    lease = "state = 'sending', attempts = attempts + 1, lease_owner = 'me', lease_until = "
    result = run(
        pg_cluster,
        seeded,
        MODERATOR,
        {
            "mark a pending item sent without sending": (
                "UPDATE outbox SET state = 'applied' WHERE id = 1"
            ),
            "settle another's live lease": (
                "UPDATE outbox SET state = 'applied', lease_owner = NULL WHERE id = 2"
            ),
            "take over another's live lease": (
                f"UPDATE outbox SET {lease} peerdesk_time('1 minute') WHERE id = 2"
            ),
            "rewrite what an item sends": "UPDATE outbox SET payload = '{\"x\": 1}' WHERE id = 1",
            "retarget an item": "UPDATE outbox SET target_id = 3 WHERE id = 1",
            "queue an item as already sent": ITEM.format(key="k9", state="applied"),
            "delete an item": "DELETE FROM outbox WHERE id = 1",
            "lease without counting an attempt": (
                "UPDATE outbox SET state = 'sending', lease_owner = 'me' WHERE id = 1"
            ),
            # the legitimate moves; the lease is recorded as this login role whatever it says
            "queue a new item": ITEM.format(key="k4", state="pending"),
            "lease a pending item in another's name": (
                f"UPDATE outbox SET {lease} peerdesk_time('1 minute'), lease_role = '{OTHER}' "
                "WHERE id = 1"
            ),
            "settle it": "UPDATE outbox SET state = 'applied', lease_owner = NULL WHERE id = 1",
            "take over a lease that ran out": (
                f"UPDATE outbox SET {lease} peerdesk_time('1 minute'), "
                "sent_mark = coalesce(sent_mark, '{\"after_post\": 7}') WHERE id = 3"
            ),
            # a retry looks for what the first send wrote after its mark: never moved
            "move the send mark": "UPDATE outbox SET sent_mark = NULL WHERE id = 3",
            "settle that one": "UPDATE outbox SET state = 'conflict' WHERE id = 3",
        },
    )
    assert result == {
        "mark a pending item sent without sending": DENIED,
        "settle another's live lease": "ok 0",
        "take over another's live lease": "ok 0",
        "rewrite what an item sends": DENIED,
        "retarget an item": DENIED,
        "queue an item as already sent": DENIED,
        "delete an item": DENIED,
        "lease without counting an attempt": DENIED,
        "queue a new item": "ok 1",
        "lease a pending item in another's name": "ok 1",
        "settle it": "ok 1",
        "take over a lease that ran out": "ok 1",
        "move the send mark": DENIED,
        "settle that one": "ok 1",
    }
    assert rows(
        pg_cluster,
        seeded,
        "SELECT idempotency_key, state, lease_role, payload FROM peerdesk.outbox ORDER BY id",
    ) == [
        ("k1", "applied", MODERATOR, "{}"),
        ("k2", "sending", OTHER, "{}"),
        ("k3", "conflict", MODERATOR, "{}"),
        ("k4", "pending", None, "{}"),
    ]
    # the lease's holder itself settles its item
    other = run(
        pg_cluster, seeded, OTHER, {"settle": "UPDATE outbox SET state = 'applied' WHERE id = 2"}
    )
    assert other == {"settle": "ok 1"}


BATCH = (
    "INSERT INTO payout_batches (period, period_start, period_end, currency, schedule_version, "
    "threshold_points, second_approver_over_minor, prepared_by, prepared_at) VALUES "
    "('{period}', 'a', 'b', 'GBP', 'v1', 0, 50000, {by}, 'now')"
)


def test_four_eyes_holds_against_someone_with_both_payout_roles(
    pg_cluster: Cluster, seeded: str
) -> None:
    prepared = run(
        pg_cluster,
        seeded,
        BOTH,
        {
            "prepare in another's name": BATCH.format(period="2026-10", by=f"'{TOM}'"),
            "prepare a small batch": BATCH.format(period="2026-11", by="session_user"),
            "prepare a large batch": BATCH.format(period="2026-12", by="session_user"),
            "a large line": (
                "INSERT INTO payout_lines (batch_id, member_id, points, amount_minor) "
                "SELECT id, 1, 10, 90000 FROM payout_batches WHERE period = '2026-12'"
            ),
            "approve one's own batch": (
                "INSERT INTO payout_approvals (batch_id, approver, approved_at) "
                "SELECT id, session_user, 'now' FROM payout_batches WHERE period = '2026-11'"
            ),
            "approve it in another's name": (
                "INSERT INTO payout_approvals (batch_id, approver, approved_at) "
                f"SELECT id, '{TOM}', 'now' FROM payout_batches WHERE period = '2026-11'"
            ),
            "mark it approved": "UPDATE payout_batches SET state = 'approved'",
            "hand the batch to someone else": (
                f"UPDATE payout_batches SET prepared_by = '{TOM}' WHERE period = '2026-11'"
            ),
            "raise the second-approver threshold": (
                "UPDATE payout_batches SET second_approver_over_minor = 10000000"
            ),
        },
    )
    assert prepared == {
        "prepare in another's name": DENIED,
        "prepare a small batch": "ok 1",
        "prepare a large batch": "ok 1",
        "a large line": "ok 1",
        "approve one's own batch": DENIED,
        "approve it in another's name": DENIED,
        "mark it approved": DENIED,
        "hand the batch to someone else": DENIED,
        "raise the second-approver threshold": DENIED,
    }
    approve = (
        "INSERT INTO payout_approvals (batch_id, approver, approved_at) SELECT id, "
        "session_user, 'now' FROM payout_batches WHERE period = '{period}'"
    )
    approved = run(
        pg_cluster,
        seeded,
        TOM,
        {
            "approve the small batch": approve.format(period="2026-11"),
            "mark it approved": "UPDATE payout_batches SET state = 'approved' "
            "WHERE period = '2026-11'",
            "take the approval back": "DELETE FROM payout_approvals",
            "approve the large batch": approve.format(period="2026-12"),
            "mark the large one approved with one approval": (
                "UPDATE payout_batches SET state = 'approved' WHERE period = '2026-12'"
            ),
        },
    )
    assert approved == {
        "approve the small batch": "ok 1",
        "mark it approved": "ok 1",
        "take the approval back": DENIED,
        "approve the large batch": "ok 1",
        "mark the large one approved with one approval": DENIED,  # 900.00 needs two
    }
    assert rows(
        pg_cluster,
        seeded,
        "SELECT period, state, prepared_by FROM peerdesk.payout_batches ORDER BY period",
    ) == [("2026-11", "approved", BOTH), ("2026-12", "prepared", BOTH)]
