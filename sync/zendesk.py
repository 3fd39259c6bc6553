"""Zendesk Support: hand escalations over as tickets, and follow those tickets back.

Push (`ticket_create`, one outbox item per hand-off): POST /api/v2/tickets.json with the subject,
an internal first comment holding the thread link and what matched, the rule's priority and
tags, the requester named after the community member (with the source option
`requester_email`, else the API user is the requester), and `external_id` = "peerdesk-" + the
item's idempotency key. An item that may have been sent before (the process died mid-push, or
the answer never came) is first looked up by that external id, so a ticket is never created
twice.

Follow (`peerdesk sync SUPPORT`): the incremental ticket export
(/api/v2/incremental/tickets/cursor.json, start_time first, then the stored cursor) says which
tickets changed; for each ticket peerdesk handed over, its status is taken and its audits
(/api/v2/tickets/{id}/audits.json, cursor-paginated) give the public comments.

Credentials: email/token basic auth, "{email}/token:{api token}". Environment variables for a
source named "support": PEERDESK_SUPPORT_API_USERNAME (the agent's email) and
PEERDESK_SUPPORT_API_KEY (the API token), or the OS keyring (see sync/credentials.py).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from console.escalate.tickets import TicketComment, TicketUpdate
from sync.base import (
    AuthFailed,
    BadPayload,
    HttpFailure,
    Known,
    Offline,
    Outcome,
    Page,
    PushRequest,
    PushResult,
)
from sync.credentials import Credentials
from sync.http import HttpSource, RetryPolicy, parsed

PER_PAGE = 100


def basic_auth(email: str, token: str) -> str:
    raw = f"{email}/token:{token}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def external_id(idempotency_key: str) -> str:
    return f"peerdesk-{idempotency_key}"


def ticket_body(payload: dict[str, Any], key: str, requester_email: str | None) -> dict[str, Any]:
    """The JSON of a ticket create for one hand-off payload (see console/escalate/actions.py)."""
    ticket: dict[str, Any] = {
        "subject": str(payload.get("subject") or "Escalation from the community"),
        "comment": {"body": str(payload.get("body") or ""), "public": False},
        "priority": payload.get("priority") or "normal",
        "tags": list(payload.get("tags") or []),
        "external_id": external_id(key),
    }
    if requester_email:
        ticket["requester"] = {
            "name": str(payload.get("requester_name") or "community member"),
            "email": requester_email,
        }
    return {"ticket": ticket}


def parse_ticket(data: Any, endpoint: str) -> dict[str, Any]:
    ticket = data.get("ticket") if isinstance(data, dict) else None
    if not isinstance(ticket, dict) or not isinstance(ticket.get("id"), int):
        raise BadPayload(endpoint, "ticket.id", "no ticket id in the answer", str(data)[:200])
    return ticket


def parse_incremental(data: Any, endpoint: str) -> tuple[list[dict[str, Any]], str | None, bool]:
    """(tickets, after_cursor, end_of_stream) of one incremental cursor export page."""
    if not isinstance(data, dict) or not isinstance(data.get("tickets"), list):
        raise BadPayload(endpoint, "tickets", "expected a list of tickets", str(data)[:200])
    tickets = [t for t in data["tickets"] if isinstance(t, dict) and isinstance(t.get("id"), int)]
    cursor = data.get("after_cursor")
    return tickets, cursor if isinstance(cursor, str) else None, bool(data.get("end_of_stream"))


def parse_audits(data: Any, endpoint: str) -> tuple[list[TicketComment], str | None]:
    """Public comments in one page of audits, and the next page's URL (None at the end)."""
    if not isinstance(data, dict) or not isinstance(data.get("audits"), list):
        raise BadPayload(endpoint, "audits", "expected a list of audits", str(data)[:200])
    comments = []
    for audit in data["audits"]:
        if not isinstance(audit, dict):
            continue
        for event in audit.get("events") or []:
            if (
                isinstance(event, dict)
                and event.get("type") == "Comment"
                and event.get("public") is True
            ):
                comments.append(
                    TicketComment(
                        remote_id=str(event.get("id")),
                        author=str(event.get("author_id") or audit.get("author_id") or "?"),
                        body=str(event.get("plain_body") or event.get("body") or ""),
                        created_at=str(audit.get("created_at") or ""),
                    )
                )
    given_meta, given_links = data.get("meta"), data.get("links")
    meta: dict[str, Any] = given_meta if isinstance(given_meta, dict) else {}
    links: dict[str, Any] = given_links if isinstance(given_links, dict) else {}
    following = links.get("next") if meta.get("has_more") else None
    return comments, following if isinstance(following, str) else None


def zendesk_error(text: str) -> str:
    """Zendesk's own words: {"error", "description", "details": {field: [{description}]}}."""
    try:
        data = parsed(text)
    except ValueError:
        return " ".join(text[:200].split()) or "no details"
    if not isinstance(data, dict):
        return str(data)[:200]
    parts = [str(data.get("error") or "")]
    if data.get("description"):
        parts.append(str(data["description"]))
    details = data.get("details")
    if isinstance(details, dict):
        for field_name, problems in details.items():
            for problem in problems if isinstance(problems, list) else []:
                if isinstance(problem, dict) and problem.get("description"):
                    parts.append(f"{field_name}: {problem['description']}")
    return "; ".join(p for p in parts if p)[:500]


class ZendeskAdapter:
    kind = "zendesk"

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        options: dict[str, Any] | None = None,
        policy: RetryPolicy | None = None,
        name: str = "zendesk",
    ) -> None:
        options = options or {}
        self.requester_email = options.get("requester_email")
        self.name = name
        headers = {"Content-Type": "application/json"}
        secrets = []
        if credentials.api_key and credentials.api_username:
            auth = basic_auth(credentials.api_username, credentials.api_key)
            headers["Authorization"] = auth
            secrets = [credentials.api_key, auth, auth.removeprefix("Basic ")]
        self.http = HttpSource(base_url, headers=headers, secrets=secrets, policy=policy, name=name)
        self.has_credentials = bool(credentials.api_key and credentials.api_username)

    @property
    def requests_made(self) -> int:
        return self.http.requests_made

    def close(self) -> None:
        self.http.close()

    def pull(self, cursor: dict[str, Any], known: Known, *, full: bool = False) -> Iterator[Page]:
        """A ticket system holds no community threads: following tickets is `follow`."""
        return iter(())

    def _need_credentials(self, endpoint: str) -> None:
        if not self.has_credentials:
            raise AuthFailed(
                endpoint,
                401,
                f"no Zendesk credentials for {self.name}: set "
                "PEERDESK_<NAME>_API_USERNAME (agent email) and PEERDESK_<NAME>_API_KEY (API "
                "token), or store them in the keyring",
            )

    # ---------------------------------------------------------------- push

    def find_by_external_id(self, key: str) -> str | None:
        endpoint = "/api/v2/tickets.json?external_id"
        data = self.http.get_json(
            "/api/v2/tickets.json", endpoint=endpoint, params={"external_id": external_id(key)}
        )
        tickets = data.get("tickets") if isinstance(data, dict) else None
        if isinstance(tickets, list):
            for ticket in tickets:
                if isinstance(ticket, dict) and ticket.get("external_id") == external_id(key):
                    return str(ticket["id"])
        return None

    def push(self, request: PushRequest) -> PushResult:
        if request.action != "ticket_create":
            return PushResult(Outcome.LOCAL_ONLY, f"Zendesk does not receive '{request.action}'")
        endpoint = "POST /api/v2/tickets.json"
        self._need_credentials(endpoint)
        try:
            if request.sent_at:
                found = self.find_by_external_id(request.idempotency_key)
                if found:
                    return PushResult(Outcome.APPLIED, "already created", remote_ref=found)
            response = self.http.request(
                "POST",
                "/api/v2/tickets.json",
                endpoint=endpoint,
                json_body=ticket_body(
                    dict(request.payload), request.idempotency_key, self.requester_email
                ),
            )
            if response.status_code in (401, 403):
                self.http.decode(response, endpoint)  # raises AuthFailed with the reason
            if response.status_code in (400, 404, 422):
                return PushResult(
                    Outcome.REJECTED,
                    f"Zendesk refused the ticket (HTTP {response.status_code}): "
                    + self.http.redact(zendesk_error(response.text)),
                )
            ticket = parse_ticket(self.http.decode(response, endpoint), endpoint)
            return PushResult(Outcome.APPLIED, "ticket created", remote_ref=str(ticket["id"]))
        except AuthFailed:
            raise
        except Offline as error:
            return PushResult(
                Outcome.RETRY_LATER, f"offline: {error}; the hand-off waits in the outbox"
            )
        except (HttpFailure, BadPayload) as error:
            return PushResult(
                Outcome.RETRY_LATER,
                f"Zendesk is not taking tickets now ({error}); the hand-off waits in the outbox",
            )

    # ---------------------------------------------------------------- follow

    def comments(self, ticket_id: str) -> list[TicketComment]:
        path = f"/api/v2/tickets/{ticket_id}/audits.json"
        found: list[TicketComment] = []
        params: dict[str, Any] | None = {"page[size]": PER_PAGE}
        next_url: str | None = path
        while next_url:
            data = self.http.get_json(next_url, endpoint=path, params=params)
            page, following = parse_audits(data, path)
            found.extend(page)
            # the next link may name another host (an account's alias): keep path and query
            parts = urlsplit(following) if following else None
            next_url = f"{parts.path}?{parts.query}" if parts else None
            params = None
        return found

    def follow(
        self, cursor: dict[str, Any], tickets: set[str], start_time: int
    ) -> Iterator[tuple[list[TicketUpdate], dict[str, Any]]]:
        """Changed tickets we follow, a page at a time, each with the cursor after it."""
        path = "/api/v2/incremental/tickets/cursor.json"
        self._need_credentials(path)
        params: dict[str, Any] = {"per_page": PER_PAGE}
        if cursor.get("after_cursor"):
            params["cursor"] = cursor["after_cursor"]
        else:
            params["start_time"] = start_time
        while True:
            data = self.http.get_json(path, params=params)
            page, after, end = parse_incremental(data, path)
            updates = []
            for ticket in page:
                ticket_id = str(ticket["id"])
                if ticket_id not in tickets:
                    continue
                updates.append(
                    TicketUpdate(
                        ticket_id=ticket_id,
                        status=str(ticket.get("status") or ""),
                        updated_at=str(ticket.get("updated_at") or ""),
                        url=ticket.get("url") if isinstance(ticket.get("url"), str) else None,
                        comments=tuple(self.comments(ticket_id)),
                    )
                )
            new_cursor = {"after_cursor": after or cursor.get("after_cursor")}
            yield updates, new_cursor
            if end or not after:
                return
            params = {"per_page": PER_PAGE, "cursor": after}
