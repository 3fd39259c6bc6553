"""Answer verification's count of an author's answers (console/verify/facts.py: posts with
position > 0, up to a cap) reads the team database's index of (author_id, position) alone
(migration 24), not the posts themselves."""

from __future__ import annotations

import pytest

from .cluster import Cluster
from .conftest import superuser

pytestmark = pytest.mark.xdist_group("teamdb")

COUNT = (
    "EXPLAIN SELECT m.id, (SELECT count(*) FROM (SELECT 1 FROM peerdesk.posts "
    "WHERE author_id = m.id AND position > 0 LIMIT 110) AS capped) FROM peerdesk.members m "
    "WHERE m.id IN (1, 2, 3)"
)


def test_an_authors_answers_are_counted_from_the_index(pg_cluster: Cluster, team_db: str) -> None:
    with superuser(pg_cluster, team_db) as conn:
        conn.execute("SET enable_seqscan = off")  # a tiny table: make the planner use an index
        conn.execute("SET enable_bitmapscan = off")
        plan = "\n".join(str(row[0]) for row in conn.execute(COUNT))
        indexes = {
            str(row[0]): str(row[1])
            for row in conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'peerdesk' "
                "AND tablename = 'posts' AND indexname LIKE 'posts_author%'"
            )
        }
    assert "Index Only Scan using posts_author_position on posts" in plan, plan
    assert indexes["posts_author_position"].endswith('(author_id, "position")')
