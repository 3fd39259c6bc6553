"""Two Discourse forums behind one single sign-on: the same person has another username on each,
and the same e-mail address in the staff user API's `single_sign_on_record` (the fake server
serves the record recorded in the discourse_api gem's admin_user.json). The adapter keeps the
address hashed (member signal `sso_email_sha256`) and the member view joins the two accounts."""

from __future__ import annotations

import hashlib

import pytest

from console.db import Cache
from console.member_links import linked_accounts
from sync import runner
from tests.backends import pytest_generate_tests
from tests.sync.conftest import API_KEY, API_USER, add_source
from tests.sync.fake_discourse import community

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database
__all__ = ["pytest_generate_tests"]


def test_the_same_single_sign_on_address_links_accounts_on_two_forums(
    cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEERDESK_NO_KEYRING", "1")
    servers = []
    for name, uid, user, email in (
        ("forum", 11, "dave", "Dave@Example.com"),
        ("forum2", 21, "d.jones", "dave@example.com "),
    ):
        monkeypatch.setenv(f"PEERDESK_{name.upper()}_API_KEY", API_KEY)
        monkeypatch.setenv(f"PEERDESK_{name.upper()}_API_USERNAME", API_USER)
        server = community(n_topics=3, posts_per_topic=2)
        server.state.add_user(uid, user)
        server.state.sso_email[uid] = email
        server.state.add_user(uid + 1, "erin")  # no single sign-on record
        for tid in (1, 2):
            post = server.state.add_reply(tid, f"a reply by {user}", 9000 + tid, user)
            post.user_id = uid
        servers.append(server.start())
        add_source(cache, name, "discourse", server.url, per_page=20)
    try:
        for name in ("forum", "forum2"):
            report = runner.sync_source(cache, runner.source(cache, name))
            assert report.result == "ok", report.message
    finally:
        for server in servers:
            server.stop()
    digest = hashlib.sha256(b"dave@example.com").hexdigest()
    rows = cache.query(
        "SELECT m.username, s.value FROM member_signals s JOIN members m ON m.id = s.member_id "
        "WHERE s.kind = 'sso_email_sha256' ORDER BY m.username"
    )
    assert [tuple(r) for r in rows] == [("d.jones", digest), ("dave", digest)]
    assert "example.com" not in str(cache.query("SELECT value FROM member_signals"))
    dave, jones = (
        int(cache.one("SELECT id FROM members WHERE username = ?", (name,))[0])
        for name in ("dave", "d.jones")
    )
    got = {linked.member_id: linked.why for linked in linked_accounts(cache, dave)}
    assert got == {dave: "this account", jones: "same e-mail address at single sign-on"}
