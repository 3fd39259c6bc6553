"""The Zendesk adapter against the real recorded exchanges and against a local Zendesk server
built from them, with faults: 429 + Retry-After, 5xx, timeouts, wrong credentials, offline."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.escalate.shared import need_zendesk_fixtures

need_zendesk_fixtures()

from console.db import Cache  # noqa: E402
from console.desk import Desk  # noqa: E402
from console.escalate.tickets import link_created_tickets  # noqa: E402
from sync import push, runner  # noqa: E402
from sync.base import Outcome, PushRequest  # noqa: E402
from sync.credentials import Credentials  # noqa: E402
from sync.http import FAST_RETRIES  # noqa: E402
from sync.zendesk import (  # noqa: E402
    ZendeskAdapter,
    basic_auth,
    parse_audits,
    parse_incremental,
    parse_ticket,
)
from tests.escalate.conftest import post, store, thread  # noqa: E402
from tests.escalate.fake_zendesk import (  # noqa: E402
    AUDITS,
    CREATE,
    EMAIL,
    INCREMENTAL,
    TOKEN,
    FakeZendesk,
    body_of,
    recorded,
)
from tests.sync.conftest import add_source  # noqa: E402

pytestmark = pytest.mark.backends  # each test runs on a cache file and on a team database

# ---------------------------------------------------------------- the recordings themselves


def test_recorded_ticket_create_is_parsed() -> None:
    ticket = parse_ticket(body_of(recorded(CREATE, "POST", "/tickets.json")), "POST tickets")
    assert ticket["id"] == 4014 and ticket["status"] == "new" and ticket["subject"] == "test"


def test_recorded_incremental_export_pages() -> None:
    tickets, cursor, end = parse_incremental(
        body_of(recorded(INCREMENTAL, "GET", "cursor.json?per_page=1")), "incremental"
    )
    assert [t["id"] for t in tickets] == [28] and cursor == "MTY5NTA1MjY2My4wfHwyOHw="
    assert end is False
    tickets, _, end = parse_incremental(
        body_of(recorded(INCREMENTAL, "GET", "cursor.json?start_time=0")), "incremental"
    )
    assert len(tickets) == 87 and end is True
    assert {t["status"] for t in tickets} >= {"new", "open"}


def test_recorded_audits_give_public_comments_and_the_next_page() -> None:
    comments, following = parse_audits(
        body_of(recorded(AUDITS, "GET", "page%5Bsize%5D=1$")), "audits"
    )
    assert len(comments) == 1 and comments[0].body.startswith("Hi there,")
    assert comments[0].remote_id == "6130852545306" and following and "page%5Bafter%5D" in following
    page = body_of(recorded(AUDITS, "GET", "page%5Bsize%5D=100$"))
    comments, following = parse_audits(page, "audits")
    events = [e for a in page["audits"] for e in a["events"] if e["type"] == "Comment"]
    assert len(events) == 88 and sum(not e["public"] for e in events) == 1
    assert len(comments) == 87 and following is None  # the private comment stays out


def test_basic_auth_is_email_slash_token() -> None:
    import base64

    assert base64.b64decode(basic_auth("a@b.example", "t0k").split()[1]) == b"a@b.example/token:t0k"


# ---------------------------------------------------------------- against the local server


@pytest.fixture
def zd() -> Iterator[FakeZendesk]:
    server = FakeZendesk().start()
    yield server
    server.stop()


@pytest.fixture
def zd_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEERDESK_NO_KEYRING", "1")
    monkeypatch.setenv("PEERDESK_SUPPORT_API_USERNAME", EMAIL)
    monkeypatch.setenv("PEERDESK_SUPPORT_API_KEY", TOKEN)


def _escalate(cache: Cache, server: FakeZendesk, **options: object) -> tuple[Desk, int]:
    store(
        cache,
        [thread("1", "Refund never came", "u1", "2026-11-20T09:00:00Z")],
        [post("11", "1", "u1", 0, "I'm taking this to the ombudsman", "2026-11-20T09:00:00Z")],
    )
    add_source(
        cache,
        "support",
        "zendesk",
        server.url,
        requester_email="community@kestrel.example",
        **options,
    )
    desk = Desk.for_cache(cache, actor="alice")
    legal = int(cache.one("SELECT id FROM escalations WHERE rule_id = 'legal-threat'")[0])
    desk.escalations.send_to_support(legal)
    return desk, legal


def _push(cache: Cache) -> push.PushReport:
    return push.push_source(cache, runner.source(cache, "support"))


def test_hand_off_creates_one_ticket_and_follows_it_back(
    cache: Cache, zd: FakeZendesk, zd_env: None
) -> None:
    desk, legal = _escalate(cache, zd)
    report = _push(cache)
    assert report.applied == 1
    [sent] = zd.bodies
    ticket = sent["ticket"]
    assert ticket["priority"] == "urgent" and "legal" in ticket["tags"]
    assert ticket["subject"].startswith("[critical] Legal or regulator threat: Refund never came")
    assert ticket["comment"]["public"] is False
    assert "https://forum.example/t/1" in ticket["comment"]["body"]
    assert ticket["requester"] == {"name": "bob", "email": "community@kestrel.example"}
    assert ticket["external_id"].startswith("peerdesk-")
    assert link_created_tickets(cache) == 1
    row = desk.escalations.one(legal)
    assert row.ticket_ref == "4014" and row.state == "sent_to_support"

    zd.agent(4014, status="pending", comment="We have asked the customer for a bill photo")
    zd.agent(4014, comment="internal only", public=False)
    result = runner.sync_source(cache, runner.source(cache, "support"))
    assert result.result == "ok", result.message
    row = desk.escalations.one(legal)
    assert row.state == "waiting_on_customer" and row.ticket_status == "pending"
    bodies = [h.body for h in desk.escalations.history(legal) if h.event == "support_comment"]
    assert bodies == ["We have asked the customer for a bill photo"]

    zd.agent(4014, status="solved", comment="Refunded £12.50")
    runner.sync_source(cache, runner.source(cache, "support"))
    runner.sync_source(cache, runner.source(cache, "support"))  # nothing new: nothing doubled
    row = desk.escalations.one(legal)
    assert row.state == "resolved" and row.ticket_status == "solved"
    events = [(h.event, h.body) for h in desk.escalations.history(legal)]
    assert events.count(("support_comment", "Refunded £12.50")) == 1
    assert [e for e in events if e[0] == "ticket_status"] == [
        ("ticket_status", "ticket 4014 is pending"),
        ("ticket_status", "ticket 4014 is solved"),
    ]
    cursor = json.loads(cache.one("SELECT cursor FROM sources WHERE name = 'support'")[0])
    assert cursor["after_cursor"]
    assert len([r for r in zd.requests if r[1] == "/api/v2/tickets.json"]) == 1


def test_rate_limit_and_server_errors_are_retried(
    cache: Cache, zd: FakeZendesk, zd_env: None
) -> None:
    _escalate(cache, zd)
    zd.faults["POST /api/v2/tickets.json"] = ["429"]
    zd.faults["GET /api/v2/incremental/tickets/cursor.json"] = ["500", "503"]
    report = _push(cache)
    assert report.applied == 1 and len(zd.tickets) == 1
    posts = [r for r in zd.requests if r[:2] == ("POST", "/api/v2/tickets.json")]
    assert len(posts) == 2  # 429 with Retry-After, then created
    link_created_tickets(cache)
    zd.agent(4014, status="open")
    result = runner.sync_source(cache, runner.source(cache, "support"))  # reads retry 5xx
    assert result.result == "ok", result.message
    exports = [r for r in zd.requests if r[1] == "/api/v2/incremental/tickets/cursor.json"]
    assert len(exports) == 3


def test_a_ticket_system_that_is_down_leaves_the_hand_off_waiting(
    cache: Cache, zd: FakeZendesk, zd_env: None
) -> None:
    _escalate(cache, zd)
    zd.faults["POST /api/v2/tickets.json"] = ["500"]  # a write is not blindly retried
    report = _push(cache)
    assert report.applied == 0 and report.waiting == 1
    state, error = cache.one("SELECT state, last_error FROM outbox WHERE action = 'ticket_create'")
    assert state == "pending" and "waits in the outbox" in error
    assert "HTTP 500" in report.stopped
    assert _push(cache).applied == 1
    assert len(zd.tickets) == 1


def test_a_timeout_is_checked_by_external_id_before_sending_again(
    cache: Cache, zd: FakeZendesk, zd_env: None
) -> None:
    _escalate(cache, zd)
    zd.faults["POST /api/v2/tickets.json"] = ["timeout"]
    report = _push(cache)
    assert report.waiting == 1 and "no complete answer" in report.stopped
    assert _push(cache).applied == 1
    lookups = [r for r in zd.requests if r[:2] == ("GET", "/api/v2/tickets.json")]
    assert len(lookups) == 1 and lookups[0][2]["external_id"].startswith("peerdesk-")
    assert len(zd.tickets) == 1


def test_an_answer_lost_after_creation_does_not_create_a_second_ticket(
    cache: Cache, zd: FakeZendesk, zd_env: None
) -> None:
    _escalate(cache, zd)
    with cache.transaction() as conn:  # as if a push died after sending
        conn.execute(
            "UPDATE outbox SET state = 'sending', attempts = 1, sent_at = '2026-11-20T11:59:00Z' WHERE action = 'ticket_create'"
        )
    zd.route(
        "POST",
        "/api/v2/tickets.json",
        {},
        {
            "ticket": {
                "subject": "s",
                "comment": {"body": "b"},
                "external_id": "peerdesk-"
                + cache.one("SELECT idempotency_key FROM outbox WHERE action = 'ticket_create'")[0],
            }
        },
    )
    report = _push(cache)
    assert report.applied == 1 and len(zd.tickets) == 1
    assert cache.one("SELECT remote_ref FROM outbox WHERE action = 'ticket_create'")[0] == "4014"


def test_wrong_credentials_stop_the_push_and_keep_the_item(
    cache: Cache, zd: FakeZendesk, zd_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _escalate(cache, zd)
    monkeypatch.setenv("PEERDESK_SUPPORT_API_KEY", "wrong-token-123")
    report = _push(cache)
    assert report.applied == 0 and "refused the credentials" in report.stopped
    assert "wrong-token-123" not in report.stopped
    assert cache.one("SELECT state FROM outbox WHERE action = 'ticket_create'")[0] == "pending"
    monkeypatch.delenv("PEERDESK_SUPPORT_API_KEY")
    assert "no Zendesk credentials" in _push(cache).stopped


def test_offline_leaves_it_waiting(cache: Cache, zd: FakeZendesk, zd_env: None) -> None:
    _escalate(cache, zd)
    zd.stop()
    report = _push(cache)
    assert report.offline and report.waiting == 1
    result = runner.sync_source(cache, runner.source(cache, "support"))
    assert result.result in ("ok", "offline")


def test_a_refused_ticket_is_rejected(zd: FakeZendesk) -> None:
    adapter = ZendeskAdapter(zd.url, Credentials(TOKEN, EMAIL, "environment"), policy=FAST_RETRIES)
    try:
        result = adapter.push(
            PushRequest(1, "ticket_create", {"subject": "x", "body": ""}, {}, "k1", 1, None)
        )
    finally:
        adapter.close()
    assert result.outcome is Outcome.REJECTED and "cannot be blank" in result.message
