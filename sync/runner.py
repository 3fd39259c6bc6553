"""Running a pull: each page an adapter yields is stored in ONE transaction together with the
cursor that covers it, so killing the process at any point loses nothing and duplicates nothing
(upserts are idempotent; a rerun starts from the last stored cursor).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from console import ingest, member_signals, search_index
from console.clock import now_iso
from console.db import Cache
from console.errors import NotFound, PeerdeskError
from sync import credentials
from sync.base import (
    Adapter,
    AuthFailed,
    BadPayload,
    HttpFailure,
    Offline,
    Page,
    QuotaSpent,
    SyncError,
)

if TYPE_CHECKING:  # httpx and stamina come with it: only a pull or a push needs them
    from sync.http import RetryPolicy

KINDS = ("discourse", "stackexchange", "demo", "jsonl", "zendesk", "webhook")


@dataclass(frozen=True)
class SourceRow:
    id: int
    kind: str
    name: str
    base_url: str | None
    cursor: dict[str, Any]
    options: dict[str, Any]


@dataclass
class SyncReport:
    source: str
    result: str = "ok"  # ok | errors | partial | offline | failed
    message: str = ""
    pages: int = 0
    threads: int = 0
    posts: int = 0
    members: int = 0
    problems: int = 0
    requests: int = 0
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return {"ok": 0, "partial": 0, "failed": 1, "offline": 3, "errors": 4}[self.result]


def _row(row: Any) -> SourceRow:
    return SourceRow(
        id=int(row["id"]),
        kind=str(row["kind"]),
        name=str(row["name"]),
        base_url=row["base_url"],
        cursor=json.loads(row["cursor"]) if row["cursor"] else {},
        options=json.loads(row["options"] or "{}"),
    )


def sources(cache: Cache) -> list[SourceRow]:
    return [_row(r) for r in cache.query("SELECT * FROM sources ORDER BY name")]


def source(cache: Cache, name: str) -> SourceRow:
    row = cache.one("SELECT * FROM sources WHERE name = ?", (name,))
    if row is None:
        known = ", ".join(s.name for s in sources(cache)) or "none"
        raise NotFound(f"There is no source named {name!r} (known: {known})")
    return _row(row)


def policy_from(options: dict[str, Any]) -> RetryPolicy | None:
    retry = options.get("retry")
    if not isinstance(retry, dict):
        return None
    from sync.http import RetryPolicy  # the HTTP client: see the TYPE_CHECKING import

    fields = RetryPolicy.__dataclass_fields__
    return RetryPolicy(**{k: v for k, v in retry.items() if k in fields})


def make_adapter(row: SourceRow, *, policy: RetryPolicy | None = None) -> Adapter:
    policy = policy or policy_from(row.options)
    if row.kind == "discourse":
        from sync.discourse import DiscourseAdapter, DiscourseOptions

        return DiscourseAdapter(
            row.base_url or "",
            credentials.load(row.name),
            options=DiscourseOptions.from_dict(row.options),
            policy=policy,
            name=row.name,
        )
    if row.kind == "stackexchange":
        from sync.stackexchange import StackExchangeAdapter

        return StackExchangeAdapter(
            row.base_url or "",
            credentials.load(row.name),
            options=row.options,
            policy=policy,
            name=row.name,
        )
    if row.kind == "zendesk":
        from sync.zendesk import ZendeskAdapter

        return ZendeskAdapter(
            row.base_url or "",
            credentials.load(row.name),
            options=row.options,
            policy=policy,
            name=row.name,
        )
    if row.kind == "webhook":
        from sync.webhook import WebhookAdapter

        return WebhookAdapter(
            row.base_url or "", credentials.load(row.name), policy=policy, name=row.name
        )
    if row.kind in ("demo", "jsonl"):
        from sync.demo import LocalAdapter

        return LocalAdapter(row.kind)
    raise PeerdeskError(f"Source {row.name!r} has an unknown kind {row.kind!r}")


class CacheKnown:
    """What the cache holds for one source (adapters decide what to fetch from this)."""

    def __init__(self, cache: Cache, source_id: int) -> None:
        self.cache = cache
        self.source_id = source_id

    def fingerprints(self, kind: str, remote_ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(remote_ids), 500):
            chunk = remote_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.cache.conn.execute(
                "SELECT remote_id, fingerprint FROM sync_fingerprints WHERE source_id = ? "
                f"AND kind = ? AND remote_id IN ({marks})",
                (self.source_id, kind, *chunk),
            ):
                found[row[0]] = row[1]
        return found

    def remote_ids(self, kind: str) -> set[str]:
        rows = self.cache.conn.execute(
            "SELECT remote_id FROM sync_fingerprints WHERE source_id = ? AND kind = ?",
            (self.source_id, kind),
        )
        return {r[0] for r in rows}

    def active_topics(self, since: str) -> list[str]:
        rows = self.cache.conn.execute(
            "SELECT remote_id FROM threads WHERE source_id = ? AND last_activity_at >= ?",
            (self.source_id, since),
        )
        return [r[0] for r in rows]

    def post_ids(self, thread_remote_id: str) -> set[str]:
        rows = self.cache.conn.execute(
            "SELECT p.remote_id FROM posts p JOIN threads t ON t.id = p.thread_id "
            "WHERE t.source_id = ? AND t.remote_id = ?",
            (self.source_id, thread_remote_id),
        )
        return {r[0] for r in rows}


def record_problem(
    conn: Any,
    source_id: int | None,
    endpoint: str,
    message: str,
    field: str | None = None,
    excerpt: str = "",
) -> None:
    conn.execute(
        "INSERT INTO sync_errors (source_id, endpoint, field, message, excerpt, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (source_id, endpoint, field, message, excerpt[:300] or None, now_iso()),
    )


def _store_reviews(cache: Cache, source_id: int, page: Page) -> None:
    conn = cache.conn
    for r in page.reviews:
        thread = post = None
        if r.thread_remote_id:
            row = conn.execute(
                "SELECT id FROM threads WHERE source_id = ? AND remote_id = ?",
                (source_id, r.thread_remote_id),
            ).fetchone()
            thread = row[0] if row else None
        if r.post_remote_id:
            row = conn.execute(
                "SELECT id FROM posts WHERE source_id = ? AND remote_id = ?",
                (source_id, r.post_remote_id),
            ).fetchone()
            post = row[0] if row else None
        conn.execute(
            """INSERT INTO review_items (source_id, remote_id, kind, thread_id, post_id,
                   thread_remote_id, post_remote_id, status, version, score, reasons, actions,
                   body, created_by, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (source_id, remote_id) DO UPDATE SET
                 kind = excluded.kind, thread_id = excluded.thread_id,
                 post_id = excluded.post_id, thread_remote_id = excluded.thread_remote_id,
                 post_remote_id = excluded.post_remote_id, status = excluded.status,
                 version = excluded.version, score = excluded.score,
                 reasons = excluded.reasons, actions = excluded.actions, body = excluded.body,
                 created_by = excluded.created_by, created_at = excluded.created_at""",
            (
                source_id,
                r.remote_id,
                r.kind,
                thread,
                post,
                r.thread_remote_id,
                r.post_remote_id,
                r.status,
                r.version,
                r.score,
                json.dumps(list(r.reasons)),
                json.dumps(list(r.actions)),
                r.body,
                r.created_by,
                r.created_at,
            ),
        )
    if page.reviews_complete:
        pending = [r.remote_id for r in page.reviews if r.status == "pending"]
        marks = ",".join("?" * len(pending))
        extra = f"AND remote_id NOT IN ({marks})" if pending else ""
        conn.execute(
            f"UPDATE review_items SET status = 'resolved' WHERE source_id = ? "
            f"AND status = 'pending' {extra}",
            (source_id, *pending),
        )


def store_page(cache: Cache, source_id: int, page: Page) -> None:
    """Everything of one page, and its cursor, in one transaction."""
    with cache.transaction() as conn:
        if page.members:
            ingest.upsert_members(cache, source_id, _dedupe(page.members))
        if page.member_refs:
            conn.executemany(
                "INSERT INTO members (source_id, remote_id, username, display_name, trust_level) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (source_id, remote_id) DO UPDATE SET "
                "username = excluded.username, "
                "display_name = coalesce(excluded.display_name, members.display_name), "
                "trust_level = coalesce(excluded.trust_level, members.trust_level)",
                [
                    (source_id, m.remote_id, m.username, m.display_name, m.trust_level)
                    for m in _dedupe(page.member_refs)
                ],
            )
        if page.threads or page.posts:
            from console.dupes.candidates import update_candidates  # numpy: a page with threads

            stored = ingest.upsert_threads(cache, source_id, page.threads, page.posts)
            # candidates in the same transaction: a killed sync never leaves a page without them
            update_candidates(cache, [stored[t.remote_id] for t in page.threads])
        if page.voters:
            member_signals.store_voters(conn, source_id, page.voters, now_iso())
        if page.member_facts:
            member_signals.store_member_facts(conn, source_id, page.member_facts)
        if page.deleted_posts:
            ingest.remove_posts(cache, source_id, page.deleted_posts)
        if page.gone_topics:
            ingest.leave_queue(cache, source_id, page.gone_topics)
        if page.reviews or page.reviews_complete:
            _store_reviews(cache, source_id, page)
        if page.fingerprints:
            conn.executemany(
                "INSERT INTO sync_fingerprints (source_id, kind, remote_id, fingerprint) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (source_id, kind, remote_id) "
                "DO UPDATE SET fingerprint = excluded.fingerprint",
                [(source_id, k, rid, fp) for (k, rid), fp in page.fingerprints.items()],
            )
        if page.forget:
            conn.executemany(
                "DELETE FROM sync_fingerprints WHERE source_id = ? AND kind = ? AND remote_id = ?",
                [(source_id, k, rid) for k, rid in page.forget],
            )
        for problem in page.problems:
            record_problem(
                conn, source_id, problem.endpoint, problem.message, problem.field, problem.excerpt
            )
        if page.cursor is not None:
            conn.execute(
                "UPDATE sources SET cursor = ? WHERE id = ?",
                (json.dumps(page.cursor, sort_keys=True), source_id),
            )


def _dedupe(members: Iterable[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for m in members:
        previous = seen.get(m.remote_id)
        if previous is None or (m.reputation and not previous.reputation):
            seen[m.remote_id] = m
    return list(seen.values())


def record_failure(cache: Cache, row: SourceRow, report: SyncReport, error: SyncError) -> None:
    """A source run that stopped on a platform error: failed, with the problem recorded."""
    report.result = "failed"
    report.message = str(error)
    with cache.transaction() as conn:
        record_problem(
            conn,
            row.id,
            getattr(error, "endpoint", "?"),
            str(error),
            getattr(error, "field", None),
            getattr(error, "excerpt", ""),
        )
    report.problems += 1


@contextmanager
def reported(
    cache: Cache, row: SourceRow, report: SyncReport, adapter: Adapter, *, own: bool, started: float
) -> Iterator[None]:
    """A source run's ending, whatever stopped it: offline or out of quota in the report, a
    platform error recorded as the source's problem, the requests and seconds counted, and an
    adapter the run made for itself closed."""
    try:
        yield
    except Offline as error:
        report.result = "offline"
        report.message = str(error)  # (the result says offline)
    except QuotaSpent as error:
        report.result = "partial"
        report.message = f"stopped: {error}; the next sync resumes from here"
    except (AuthFailed, HttpFailure, BadPayload) as error:
        record_failure(cache, row, report, error)
    finally:
        report.requests = getattr(adapter, "requests_made", 0)
        report.seconds = round(time.monotonic() - started, 3)
        if own:
            adapter.close()


def _finish(cache: Cache, row: SourceRow, report: SyncReport) -> None:
    summary = {k: v for k, v in asdict(report).items() if k not in ("source", "extra")}
    with cache.transaction() as conn:
        conn.execute(
            "UPDATE sources SET last_sync_at = ?, last_sync_result = ? WHERE id = ?",
            (now_iso(), json.dumps(summary, sort_keys=True), row.id),
        )


Progress = Callable[[str, Page], None]


def sync_source(
    cache: Cache,
    row: SourceRow,
    *,
    full: bool = False,
    progress: Progress | None = None,
    adapter: Adapter | None = None,
    policy: RetryPolicy | None = None,
) -> SyncReport:
    """Pull one source into the cache. Never raises for platform trouble: see the report."""
    if row.kind in ("zendesk", "webhook"):  # ticket systems: follow the escalations' tickets
        from sync.handoff import follow_source

        return follow_source(cache, row, adapter=adapter, policy=policy)
    # what an import left for the search index first: the pages' new rows are indexed with them
    # only when nothing older waits (console/search_index.py)
    search_index.catch_up(cache)
    report = SyncReport(row.name)
    started = time.monotonic()
    own = adapter is None
    adapter = adapter or make_adapter(row, policy=policy)
    known = CacheKnown(cache, row.id)
    with reported(cache, row, report, adapter, own=own, started=started):
        for page in adapter.pull(dict(row.cursor), known, full=full):
            store_page(cache, row.id, page)
            report.pages += 1
            report.threads += len(page.threads)
            report.posts += len(page.posts)
            report.members += len(page.members) + len(page.member_refs)
            report.problems += len(page.problems)
            if progress:
                progress(row.name, page)
        report.result = "errors" if report.problems else "ok"
        report.message = f"{report.threads} threads, {report.posts} posts updated" + (
            f"; {report.problems} items could not be read (see sync errors)"
            if report.problems
            else ""
        )
    _finish(cache, row, report)
    # then the duplicate refresh an import left waiting (resumable; console/dupes/refresh.py)
    from console.dupes import refresh

    refresh.catch_up(cache)
    return report
