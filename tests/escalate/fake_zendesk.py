"""A local Zendesk Support server (127.0.0.1, a thread) built from the real recorded exchanges
in ../shared/fixtures/zendesk (zenpy's Betamax cassettes, see SOURCES.md): every answer is a
recorded body with only ids, texts and times changed. It keeps tickets and their audits, answers
the incremental cursor export and per-ticket audits with cursor paging, checks email/token basic
auth, and injects faults on request: 429 with Retry-After, 5xx, a timeout, or holding a request
(for the kill -9 tests)."""

from __future__ import annotations

import base64
import copy
import gzip
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.sync.fake_discourse import LocalServer

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "zendesk"
EMAIL = "agent@kestrel.example"
TOKEN = "zd-token-0123456789abcdef"


def cassette(name: str) -> list[dict[str, Any]]:
    return list(json.loads((FIXTURES / name).read_text("utf-8"))["http_interactions"])


def body_of(interaction: dict[str, Any]) -> Any:
    """The JSON answer of one recorded interaction (plain, or base64 + gzip)."""
    recorded = interaction["response"]["body"]
    text = recorded.get("string") or ""
    if not text and recorded.get("base64_string"):
        raw = base64.b64decode(recorded["base64_string"])
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        text = raw.decode("utf-8")
    return json.loads(text) if text else None


def recorded(name: str, method: str, uri_part: str) -> dict[str, Any]:
    """The first interaction whose URI contains `uri_part` ("$" at its end: ends with it)."""
    for interaction in cassette(name):
        request = interaction["request"]
        uri = request["uri"]
        found = uri.endswith(uri_part[:-1]) if uri_part.endswith("$") else uri_part in uri
        if request["method"] == method and found:
            return interaction
    raise KeyError(f"{name}: no {method} {uri_part}")


CREATE = "TestTicketCreateUpdateDelete.test_single_object_creation-create-single.json"
UPDATE = "TestTicketCreateUpdateDelete.test_single_object_update-update-single.json"
NOT_FOUND = "TestTicketCreateUpdateDelete.test_single_update_raises_recordnotfoundexception-recordnotfound-update.json"
AUDITS = "TestTicketAudits.test_values.json"
INCREMENTAL = "TicketsIncrementalTest.test_get_values.json"
LISTING = "TestTicketsPagination.test_pagination.json"


def templates() -> dict[str, Any]:
    created = body_of(recorded(CREATE, "POST", "/tickets.json"))
    audits = body_of(recorded(AUDITS, "GET", "page%5Bsize%5D=1$"))
    comment = next(e for a in audits["audits"] for e in a["events"] if e["type"] == "Comment")
    status_change = next(
        e
        for a in body_of(recorded(AUDITS, "GET", "page%5Bsize%5D=100"))["audits"]
        for e in a["events"]
        if e["type"] == "Change" and e.get("field_name") == "status"
    )
    return {
        "ticket": created["ticket"],
        "audit": created["audit"],
        "audits_page": audits,
        "comment": comment,
        "status_change": status_change,
        "incremental": body_of(recorded(INCREMENTAL, "GET", "cursor.json?per_page=1")),
        "listing": body_of(recorded(LISTING, "GET", "tickets.json?page%5Bsize%5D=1")),
        "not_found": body_of(recorded(NOT_FOUND, "PUT", "/tickets/")),
        "update": body_of(recorded(UPDATE, "PUT", "/tickets/")),
    }


@dataclass
class Ticket:
    data: dict[str, Any]
    audits: list[dict[str, Any]] = field(default_factory=list)
    generated: int = 0  # the export's order: a counter, like generated_timestamp


class FakeZendesk(LocalServer):
    def __init__(self) -> None:
        self.t = templates()
        self.tickets: dict[int, Ticket] = {}
        self.next_id = 4014  # the recorded ticket id
        self.next_event = 6_200_000_000_000
        self.clock = 1_795_176_000  # 2026-11-20T12:00:00Z, the tests' frozen clock
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.bodies: list[Any] = []
        self.faults: dict[str, list[str]] = {}  # "METHOD path" or "*" -> faults, used in order
        self.hold: Callable[[str, str], str | None] | None = None
        self.held = threading.Event()
        self.release = threading.Event()
        self.page_size = 2
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                payload = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            def handle_one(self, method: str) -> None:
                url = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                with fake.lock:
                    fake.requests.append((method, url.path, query))
                    key = f"{method} {url.path}"
                    queue = fake.faults.get(key) or fake.faults.get("*")
                    fault = queue.pop(0) if queue else None
                if fault == "429":
                    return self.send(429, {"error": "APIRateLimitExceeded"}, {"Retry-After": "1"})
                if fault in ("500", "503"):
                    return self.send(int(fault), {"error": "InternalError"})
                if fault == "timeout":
                    time.sleep(3)  # longer than the test policy's read timeout
                    self.close_connection = True
                    return None
                expected = "Basic " + base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    return self.send(401, {"error": "Couldn't authenticate you"})
                mode = fake.hold(method, url.path) if fake.hold else None
                if mode == "before":
                    fake.held.set()
                    fake.release.wait(30)
                    self.close_connection = True
                    return None
                status, data = fake.route(method, url.path, query, json.loads(raw) if raw else None)
                if mode == "after":
                    fake.held.set()
                    fake.release.wait(30)
                    self.close_connection = True
                    return None
                return self.send(status, data)

            def do_GET(self) -> None:
                self.handle_one("GET")

            def do_POST(self) -> None:
                self.handle_one("POST")

            def do_PUT(self) -> None:
                self.handle_one("PUT")

        self._serve(Handler)

    def stop(self) -> None:
        self.release.set()
        super().stop()

    # ---------------------------------------------------------------- behaviour

    def _stamp(self) -> str:
        self.clock += 60
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock))

    def _event_id(self) -> int:
        self.next_event += 128
        return self.next_event

    def route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        with self.lock:
            if method == "POST" and path == "/api/v2/tickets.json":
                self.bodies.append(body)
                return self.create(body["ticket"])
            if method == "GET" and path == "/api/v2/tickets.json":
                return 200, self.listing(query)
            if method == "GET" and path == "/api/v2/incremental/tickets/cursor.json":
                return self.incremental(query)
            if path.startswith("/api/v2/tickets/") and path.endswith("/audits.json"):
                ticket = self.tickets.get(int(path.split("/")[4]))
                if ticket is None:
                    return 404, self.t["not_found"]
                return 200, self.audit_page(ticket, query)
            if method == "PUT" and path.startswith("/api/v2/tickets/"):
                ticket = self.tickets.get(int(path.split("/")[4].removesuffix(".json")))
                if ticket is None:
                    return 404, self.t["not_found"]
                return 200, {"ticket": ticket.data}
            return 404, {"error": "InvalidEndpoint", "description": "Not found"}

    def create(self, fields: dict[str, Any]) -> tuple[int, Any]:
        if not fields.get("comment", {}).get("body"):
            return 422, {
                "error": "RecordInvalid",
                "description": "Record validation errors",
                "details": {"base": [{"description": "Description: cannot be blank"}]},
            }
        ticket_id = self.next_id
        self.next_id += 1
        stamp = self._stamp()
        data = copy.deepcopy(self.t["ticket"])
        data.update(
            id=ticket_id,
            url=data["url"].replace("4014", str(ticket_id)),
            subject=fields["subject"],
            raw_subject=fields["subject"],
            description=fields["comment"]["body"],
            priority=fields.get("priority"),
            tags=sorted(set(fields.get("tags") or [])),
            external_id=fields.get("external_id"),
            status="new",
            created_at=stamp,
            updated_at=stamp,
        )
        audit = copy.deepcopy(self.t["audit"])
        audit.update(id=self._event_id(), ticket_id=ticket_id, created_at=stamp)
        first = audit["events"][0]
        first.update(
            id=self._event_id(),
            body=fields["comment"]["body"],
            plain_body=fields["comment"]["body"],
            public=bool(fields["comment"].get("public", True)),
            audit_id=audit["id"],
        )
        ticket = Ticket(data, [audit], self.clock)
        self.tickets[ticket_id] = ticket
        return 201, {"ticket": data, "audit": audit}

    def listing(self, query: dict[str, str]) -> dict[str, Any]:
        page = copy.deepcopy(self.t["listing"])
        wanted = query.get("external_id")
        found = [
            t.data
            for t in self.tickets.values()
            if wanted is None or t.data["external_id"] == wanted
        ]
        page["tickets"] = found
        page["meta"]["has_more"] = False
        return page

    def agent(
        self,
        ticket_id: int,
        status: str | None = None,
        comment: str | None = None,
        public: bool = True,
    ) -> None:
        """A support agent works the ticket: a status change and/or a comment, as one audit."""
        with self.lock:
            ticket = self.tickets[ticket_id]
            stamp = self._stamp()
            audit = copy.deepcopy(self.t["audit"])
            audit.update(id=self._event_id(), ticket_id=ticket_id, created_at=stamp, events=[])
            if comment is not None:
                event = copy.deepcopy(self.t["comment"])
                event.update(
                    id=self._event_id(),
                    body=comment,
                    plain_body=comment,
                    public=public,
                    audit_id=audit["id"],
                )
                audit["events"].append(event)
            if status is not None:
                change = copy.deepcopy(self.t["status_change"])
                change.update(
                    id=self._event_id(), value=status, previous_value=ticket.data["status"]
                )
                audit["events"].append(change)
                ticket.data["status"] = status
            ticket.data["updated_at"] = stamp
            ticket.audits.append(audit)
            ticket.generated = self.clock

    def incremental(self, query: dict[str, str]) -> tuple[int, Any]:
        if "cursor" in query:
            after = int(base64.b64decode(query["cursor"]).decode())
        elif "start_time" in query:
            after = int(query["start_time"]) - 1
        else:
            return 400, {
                "error": "InvalidPaginationParameter",
                "description": "start_time or cursor is required",
            }
        size = min(int(query.get("per_page") or 1000), self.page_size)
        changed = sorted(
            (t for t in self.tickets.values() if t.generated > after), key=lambda t: t.generated
        )
        chunk = changed[:size]
        page = copy.deepcopy(self.t["incremental"])
        page["tickets"] = [
            {**copy.deepcopy(t.data), "generated_timestamp": t.generated} for t in chunk
        ]
        last = chunk[-1].generated if chunk else after
        cursor = base64.b64encode(str(last).encode()).decode()
        page.update(
            after_cursor=cursor,
            after_url=f"{self.url}/api/v2/incremental/tickets/cursor.json?cursor={cursor}",
            end_of_stream=len(changed) <= size,
        )
        return 200, page

    def audit_page(self, ticket: Ticket, query: dict[str, str]) -> dict[str, Any]:
        size = int(query.get("page[size]") or 100)
        size = min(size, self.page_size)
        start = int(query.get("page[after]") or 0)
        chunk = ticket.audits[start : start + size]
        page = copy.deepcopy(self.t["audits_page"])
        page["audits"] = copy.deepcopy(chunk)
        more = start + size < len(ticket.audits)
        page["meta"]["has_more"] = more
        tid = ticket.data["id"]
        page["links"]["next"] = (
            f"https://elsewhere.zendesk.example/api/v2/tickets/{tid}/audits.json?page%5Bafter%5D={start + size}&page%5Bsize%5D={size}"
            if more
            else None
        )
        return page
