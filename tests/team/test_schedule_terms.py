"""Schedules loaded before the team database kept their terms (migration 23) get them from
their own TOML when `team-install` runs again after the upgrade, so their accruals are checked
(and accepted) by the server; a body that does not parse is left without terms."""

from __future__ import annotations

import pytest

from console.team import schema

from .cluster import Cluster
from .conftest import superuser

pytestmark = pytest.mark.xdist_group("teamdb")

OLD = """\
version = "2026.1"
currency = "GBP"
point_value = "0.05"

[points]
accepted_answer = 10
helpful_vote = 1

[caps]
per_day = 100
per_thread = 40

[payouts]
threshold_points = 20
second_approver_over = "3.00"
"""


def test_team_install_fills_in_the_terms_of_schedules_loaded_before(
    pg_cluster: Cluster, team_db: str
) -> None:
    with superuser(pg_cluster, team_db) as conn:  # as a schedule loaded before migration 23
        conn.execute(
            "INSERT INTO peerdesk.reward_schedules (version, body, sha256, loaded_by, loaded_at) "
            "VALUES ('2026.1', %s, '', 'root', 'then'), ('broken', 'not toml [', '', 'root', "
            "'then')",
            (OLD,),
        )
        assert schema.install(conn)[0] == schema.LATEST_VERSION  # run again: an upgrade
        terms = conn.execute("SELECT * FROM peerdesk.reward_schedule_terms").fetchall()
        points = conn.execute(
            "SELECT rule, points FROM peerdesk.reward_schedule_points WHERE version = '2026.1' "
            "AND points > 0 ORDER BY rule"
        ).fetchall()
        role = conn.execute("SELECT current_user").fetchone()
    assert terms == [("2026.1", "GBP", 5, 100, 40, 20, 300)]
    assert points == [("accepted_answer", 10), ("helpful_vote", 1)]
    assert role == ("postgres",)  # the installer's role is as it was
