"""Running the rules: on every stored page or imported chunk (cost per new post: one compiled
scan of its text), and on the clock for rules about time (unanswered threads) or about other
features' data (a verified answer later rejected).

An escalation is unique on (rule, subject, version): the subject is a post or a thread, the
version a digest of the post's text (an edited post can fire again; a re-sync, re-import or a
rerun after a crash cannot). Raising happens in the caller's transaction, so a page is never
stored without its escalations.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from console import audit, outbox
from console.clock import iso, now, parse
from console.db import Cache
from console.escalate import active
from console.escalate.detect import Hit, PostMatcher
from console.escalate.rules import Rule, RuleSet
from console.models import PostRecord, ThreadRecord
from console.platforms import push_state
from console.storage import SQLITE, Connection, Dialect, Row, dialect_of

SYSTEM_ACTOR = "peerdesk-rules"
OPEN_STATES = ("new", "acknowledged", "sent_to_support", "waiting_on_customer")
HIDE_REASON = "personal data: hidden pending review"


@dataclass(frozen=True)
class Finding:
    """One rule that fires (or would fire) on one post or thread."""

    rule: Rule
    thread_id: int
    post_id: int | None
    subject: str
    version: str
    raised_at: str
    matched: str
    context: str
    start: int
    end: int
    detail: str


def text_version(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def _due(raised_at: str, minutes: int) -> str:
    return iso(parse(raised_at) + timedelta(minutes=minutes))


def _tags_ok(rule: Rule, tags: Iterable[str]) -> bool:
    return not rule.tags or bool(set(rule.tags) & {t.lower() for t in tags})


_PLAIN_TAG = re.compile(r"[a-z0-9 .:/+#-]+")


def _tags_prefilter(rule: Rule, dialect: Dialect = SQLITE) -> tuple[str, list[str]]:
    """An SQL condition every thread with one of the rule's tags meets (the stored tags are a
    JSON list, compared without case as _tags_ok does), so a rule for a few tags does not read
    every thread of its window; _tags_ok still decides. None for tags it cannot express."""
    if not rule.tags or not all(_PLAIN_TAG.fullmatch(tag) for tag in rule.tags):
        return "", []
    either = " OR ".join(dialect.like_ignoring_case("t.tags") for _ in rule.tags)
    return f"AND ({either})", [f'%"{tag}"%' for tag in rule.tags]


def _applies(rule: Rule, tags: Iterable[str], by_asker: bool) -> bool:
    return _tags_ok(rule, tags) and (by_asker or not rule.only_asker)


def _post_finding(hit: Hit, thread_id: int, post_id: int, created_at: str, body: str) -> Finding:
    return Finding(
        rule=hit.rule,
        thread_id=thread_id,
        post_id=post_id,
        subject=f"post:{post_id}",
        version=text_version(body),
        raised_at=created_at,
        matched=hit.matched,
        context=hit.context,
        start=hit.start,
        end=hit.end,
        detail=hit.detail,
    )


# ---------------------------------------------------------------------------- raising


def insert_escalation(conn: Connection, f: Finding, detected_at: str) -> int | None:
    """The escalation row of one finding, its clocks running from when it was raised; its id,
    or None if the same rule already raised it on the same version of the same subject."""
    cursor = conn.execute(
        """INSERT INTO escalations (rule_id, rule_name, rule_kind, severity, thread_id,
               post_id, subject, version, matched, context, match_start, match_end, detail,
               state, raised_at, detected_at, acknowledge_due, resolve_due,
               hide_pending_review, zendesk_priority, ticket_tags, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'new', ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (rule_id, subject, version) DO NOTHING RETURNING id""",
        (
            f.rule.id,
            f.rule.name,
            f.rule.kind,
            f.rule.severity,
            f.thread_id,
            f.post_id,
            f.subject,
            f.version,
            f.matched,
            f.context,
            f.start,
            f.end,
            f.detail,
            f.raised_at,
            detected_at,
            _due(f.raised_at, f.rule.acknowledge_minutes),
            _due(f.raised_at, f.rule.resolve_minutes),
            int(f.rule.hide_pending_review),
            f.rule.zendesk_priority,
            json.dumps(list(f.rule.ticket_tags)),
            detected_at,
        ),
    )
    row = cursor.fetchone()
    return None if row is None else int(row[0])


def raise_findings(conn: Connection, findings: Sequence[Finding]) -> list[int]:
    """Store findings not raised before (inside the caller's transaction); returns new ids."""
    stamp = iso(now())
    new_ids: list[int] = []
    for f in findings:
        escalation_id = insert_escalation(conn, f, stamp)
        if escalation_id is not None:
            new_ids.append(escalation_id)
            # A rule firing is a fact, not a decision: it is in the escalation's history; what
            # people (and the rules' own hide below) then do is in the audit log.
            conn.execute(
                "INSERT INTO escalation_history (escalation_id, ts, actor, event, to_state, body) "
                "VALUES (?, ?, ?, 'raised', 'new', ?)",
                (escalation_id, stamp, SYSTEM_ACTOR, f"{f.rule.name}: {f.detail}"),
            )
        if f.rule.hide_pending_review and f.post_id is not None:
            _hide_pending_review(conn, f)
    return new_ids


def _hide_pending_review(conn: Connection, f: Finding) -> None:
    """Hide a post with personal data until a moderator has looked (while its escalation is
    open); recorded like a moderator's hide: audit entry and outbox item for the platform."""
    row = conn.execute(
        "SELECT e.id, e.state, p.hidden, t.source_id, s.kind FROM escalations e "
        "JOIN posts p ON p.id = e.post_id JOIN threads t ON t.id = p.thread_id "
        "JOIN sources s ON s.id = t.source_id "
        "WHERE e.rule_id = ? AND e.subject = ? AND e.version = ?",
        (f.rule.id, f.subject, f.version),
    ).fetchone()
    if row is None or row["hidden"] or row["state"] not in OPEN_STATES:
        return
    conn.execute(
        "UPDATE posts SET hidden = 1, hidden_reason = ? WHERE id = ?", (HIDE_REASON, f.post_id)
    )
    payload = {"post_id": f.post_id, "reason": HIDE_REASON}
    audit_id = audit.append(
        conn,
        actor=SYSTEM_ACTOR,
        action="hide_post",
        target_kind="post",
        target_id=f.post_id,
        detail={
            "before": {"hidden": False, "hidden_reason": None},
            "after": {"hidden": True, "hidden_reason": HIDE_REASON},
            "thread_id": f.thread_id,
            "escalation_id": row["id"],
            "payload": payload,
        },
    )
    state, reason = push_state(row["kind"], "hide_post")
    outbox.enqueue(
        conn,
        source_id=int(row["source_id"]),
        action="hide_post",
        target_kind="post",
        target_id=f.post_id,
        payload=payload,
        batch_id=None,
        audit_id=audit_id,
        state=state,
        reason=reason,
    )


# ---------------------------------------------------------------------------- on ingest


def on_ingest(
    cache: Cache,
    source_id: int,
    thread_ids: dict[str, int],
    posts: Sequence[PostRecord],
    threads: Sequence[ThreadRecord] = (),
) -> int:
    """Run the post rules over the posts just stored (same transaction); returns new count."""
    rules, matcher = active.compiled(cache)
    if not posts or not rules.rules:
        return 0
    kind = cache.conn.execute("SELECT kind FROM sources WHERE id = ?", (source_id,)).fetchone()
    if kind is None or kind[0] == "demo":
        # the demo community is generated: its escalations come from console/escalate/demo.py,
        # on a fixed clock, so the same seed always gives the same demo
        return 0
    cutoff = iso(now() - timedelta(minutes=rules.ignore_older_than_minutes))
    fresh = [p for p in posts if p.created_at >= cutoff]
    if not fresh:
        return 0
    hits: list[tuple[PostRecord, list[Hit]]] = []
    scan = matcher.scan
    if matcher.keyword_rules or matcher.personal_rules:
        askers = {t.remote_id: t.author_remote_id for t in threads}
        for p in fresh:
            # unknown here (the thread is not in this batch): scan fully; checked when located
            asker = askers.get(p.thread_remote_id, p.author_remote_id)
            found = scan(p.body_text, asker is not None and asker == p.author_remote_id)
            if found:
                hits.append((p, found))
    findings: list[Finding] = []
    if hits:
        located = _locate(cache.conn, source_id, [p.remote_id for p, _ in hits])
        tags = _thread_tags(cache.conn, {t for t, _, _ in located.values()})
        for p, found in hits:
            if p.remote_id not in located:
                continue
            thread_id, post_id, by_asker = located[p.remote_id]
            findings.extend(
                _post_finding(h, thread_id, post_id, p.created_at, p.body_text)
                for h in found
                if _applies(h.rule, tags.get(thread_id, ()), by_asker)
            )
    follow_rules = [r for r in rules.rules if r.kind == "follow_ups"]
    if follow_rules:
        touched = {
            thread_ids[p.thread_remote_id]
            for p in fresh
            if p.position > 0 and p.thread_remote_id in thread_ids
        }
        findings.extend(follow_up_findings(cache.conn, follow_rules, sorted(touched)))
    if not findings:
        return 0
    return len(raise_findings(cache.conn, findings))


def _locate(
    conn: Connection, source_id: int, remote_ids: list[str]
) -> dict[str, tuple[int, int, bool]]:
    """{post remote id: (thread id, post id, written by the thread's asker)}"""
    found: dict[str, tuple[int, int, bool]] = {}
    for start in range(0, len(remote_ids), 500):
        chunk = remote_ids[start : start + 500]
        for row in conn.execute(
            "SELECT p.remote_id, p.thread_id, p.id, p.author_id = t.author_id FROM posts p "
            "JOIN threads t ON t.id = p.thread_id WHERE p.source_id = ? "
            f"AND p.remote_id IN ({','.join('?' * len(chunk))})",
            (source_id, *chunk),
        ):
            found[row[0]] = (int(row[1]), int(row[2]), bool(row[3]))
    return found


def _thread_tags(conn: Connection, thread_ids: set[int]) -> dict[int, list[str]]:
    ordered = sorted(thread_ids)
    tags: dict[int, list[str]] = {}
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        for row in conn.execute(
            f"SELECT id, tags FROM threads WHERE id IN ({','.join('?' * len(chunk))})", chunk
        ):
            tags[int(row[0])] = json.loads(row[1] or "[]")
    return tags


def follow_up_findings(
    conn: Connection, rules: Sequence[Rule], thread_ids: Sequence[int]
) -> list[Finding]:
    """Threads whose asker has posted `count` or more times in a row since anyone else did."""
    if not thread_ids or not rules:
        return []
    lowest = min(r.count for r in rules)
    rows: list[Row] = []
    for start in range(0, len(thread_ids), 500):
        chunk = list(thread_ids[start : start + 500])
        rows.extend(
            conn.execute(
                f"""SELECT t.id AS thread_id, t.tags, count(*) AS streak, max(p.id) AS last_post,
                       max(p.created_at) AS last_at, min(p.created_at) AS first_at
                    FROM threads t JOIN posts p ON p.thread_id = t.id
                    WHERE t.id IN ({",".join("?" * len(chunk))})
                      AND p.position > 0 AND p.author_id = t.author_id
                      AND p.position > coalesce((SELECT max(q.position) FROM posts q
                            WHERE q.thread_id = t.id AND q.position > 0
                              AND q.author_id IS DISTINCT FROM t.author_id), 0)
                    GROUP BY t.id HAVING count(*) >= ?""",
                (*chunk, lowest),
            ).fetchall()
        )
    findings = []
    for row in rows:
        tags = json.loads(row["tags"] or "[]")
        for rule in rules:
            if row["streak"] < rule.count or not _tags_ok(rule, tags):
                continue
            open_already = conn.execute(
                "SELECT 1 FROM escalations WHERE rule_id = ? AND subject = ? AND state IN "
                f"({','.join('?' * len(OPEN_STATES))})",
                (rule.id, f"thread:{row['thread_id']}", *OPEN_STATES),
            ).fetchone()
            if open_already:
                continue
            text = f"{row['streak']} posts by the asker in a row with no reply"
            findings.append(
                Finding(
                    rule=rule,
                    thread_id=int(row["thread_id"]),
                    post_id=int(row["last_post"]),
                    subject=f"thread:{row['thread_id']}",
                    version=f"streak-from:{row['first_at']}",
                    raised_at=str(row["last_at"]),
                    matched=text,
                    context=text,
                    start=0,
                    end=len(text),
                    detail=f"follow-ups: {row['streak']} (rule: {rule.count})",
                )
            )
    return findings


# ---------------------------------------------------------------------------- on the clock


def unanswered_findings(
    conn: Connection, rules: Sequence[Rule], at: datetime, ignore_minutes: int
) -> list[Finding]:
    findings = []
    for rule in rules:
        threshold = at - timedelta(hours=rule.hours)
        oldest = threshold - timedelta(minutes=ignore_minutes)
        tag_sql, tag_params = _tags_prefilter(rule, dialect_of(conn))
        rows = conn.execute(
            f"""SELECT t.id, t.created_at, t.tags,
                   (SELECT p.id FROM posts p WHERE p.thread_id = t.id AND p.position = 0
                    ORDER BY p.id LIMIT 1) AS question
               FROM threads t{dialect_of(conn).indexed_by("threads_unanswered")}  -- the window only
               WHERE t.in_queue = 1 AND t.status = 'open' AND t.reply_count = 0
                 AND t.created_at <= ? AND t.created_at >= ? {tag_sql}
                 AND NOT EXISTS (SELECT 1 FROM escalations e WHERE e.rule_id = ?
                                 AND e.subject = 'thread:' || t.id)""",
            (iso(threshold), iso(oldest), *tag_params, rule.id),
        ).fetchall()
        findings += [f for f in (unanswered_finding(rule, row) for row in rows) if f is not None]
    return findings


def unanswered_finding(rule: Rule, row: Row) -> Finding | None:
    """The finding of `rule` for an unanswered thread's row (id, created_at, tags, question:
    its first post's id), or None if the rule's tags leave the thread out."""
    if not _tags_ok(rule, json.loads(row["tags"] or "[]")):
        return None
    raised = iso(parse(row["created_at"]) + timedelta(hours=rule.hours))
    text = f"no reply for {rule.hours:g} hours"
    return Finding(
        rule=rule,
        thread_id=int(row["id"]),
        post_id=row["question"],
        subject=f"thread:{row['id']}",
        version="unanswered",
        raised_at=raised,
        matched=text,
        context=text,
        start=0,
        end=len(text),
        detail=f"asked {row['created_at']}, still no reply",
    )


def _columns(conn: Connection, table: str) -> set[str]:
    return dialect_of(conn).columns(conn, table)


def verification_findings(conn: Connection, rules: Sequence[Rule]) -> list[Finding]:
    """Answers verified and later rejected, when the verification feature's table exists.

    Two shapes are understood: a `verifications` row per decision (a 'rejected' row after a
    'verified' row for the same post), or one row per answer with a `previous_state` column.
    """
    if not rules:
        return []
    columns = _columns(conn, "verifications")
    if not {"post_id", "state"} <= columns:
        return []
    when = next((c for c in ("decided_at", "updated_at", "created_at") if c in columns), None)
    when_sql = f"v.{when}" if when else "NULL"
    if "previous_state" in columns:
        # SQLite's rowid (an older table may have no id); the team database's rows have an id
        rid = "v.rowid" if dialect_of(conn).is_sqlite else "v.id"
        sql = (
            f"SELECT {rid} AS rid, v.post_id, {when_sql} AS at FROM verifications v "
            "WHERE v.state = 'rejected' AND v.previous_state = 'verified'"
        )
    else:
        sql = (
            f"SELECT v.rowid AS rid, v.post_id, {when_sql} AS at FROM verifications v "
            "WHERE v.state = 'rejected' AND EXISTS (SELECT 1 FROM verifications w "
            "WHERE w.post_id = v.post_id AND w.state = 'verified' AND w.rowid < v.rowid)"
        )
    rows = conn.execute(
        f"SELECT x.rid, x.post_id, x.at, p.thread_id, t.tags FROM ({sql}) x "
        "JOIN posts p ON p.id = x.post_id JOIN threads t ON t.id = p.thread_id"
    ).fetchall()
    findings = []
    stamp = iso(now())
    for row in rows:
        for rule in rules:
            if not _tags_ok(rule, json.loads(row["tags"] or "[]")):
                continue
            text = "a verified answer was rejected"
            findings.append(
                Finding(
                    rule=rule,
                    thread_id=int(row["thread_id"]),
                    post_id=int(row["post_id"]),
                    subject=f"post:{row['post_id']}",
                    version=f"verification:{row['rid']}",
                    raised_at=str(row["at"] or stamp),
                    matched=text,
                    context=text,
                    start=0,
                    end=len(text),
                    detail="verified earlier, rejected now",
                )
            )
    return findings


def clock_findings(conn: Connection, rules: RuleSet, at: datetime) -> list[Finding]:
    findings = unanswered_findings(
        conn,
        [r for r in rules.rules if r.kind == "unanswered"],
        at,
        rules.ignore_older_than_minutes,
    )
    has_table = dialect_of(conn).has_table(conn, "verifications")
    if has_table:
        findings.extend(
            verification_findings(
                conn, [r for r in rules.rules if r.kind == "verification_rejected"]
            )
        )
    return findings


def scan_clock(cache: Cache, at: datetime | None = None) -> int:
    """Raise what time has made true (unanswered threads, rejected verifications).

    The findings are read before the write transaction, so the long read (seconds on a cache
    left alone for days at a million threads) never holds SQLite's write lock; raising them
    is idempotent (one escalation per rule, subject and version), so a finding read twice by
    two consoles is raised once."""
    rules = active.current(cache)
    findings = clock_findings(cache.conn, rules, at or now())
    if not findings:
        return 0
    with cache.transaction() as conn:
        return len(raise_findings(conn, findings))


# ---------------------------------------------------------------------------- whole cache


def scan_posts(
    cache: Cache, rules: RuleSet, matcher: PostMatcher, *, since: str | None = None
) -> Iterator[Finding]:
    """Post-rule findings over the whole cache (dry runs, rebuilds), streaming."""
    if not (matcher.keyword_rules or matcher.personal_rules):
        return
    sql = (
        "SELECT p.id, p.thread_id, p.body_text, p.created_at, t.tags, "
        "p.author_id = t.author_id FROM posts p JOIN threads t ON t.id = p.thread_id"
    )
    params: tuple[str, ...] = ()
    if since:
        sql += " WHERE p.created_at >= ?"
        params = (since,)
    for row in cache.conn.execute(sql + " ORDER BY p.id", params):
        found = matcher.scan(row[2], bool(row[5]))
        if not found:
            continue
        tags = json.loads(row[4] or "[]")
        for hit in found:
            if _applies(hit.rule, tags, bool(row[5])):
                yield _post_finding(hit, int(row[1]), int(row[0]), row[3], row[2])


def dry_run(
    cache: Cache, rules: RuleSet, *, everything: bool = False, at: datetime | None = None
) -> Iterator[tuple[Finding, bool]]:
    """What `rules` would raise on this cache, each with whether it is already raised.

    Writes nothing. Posts older than the rule set's ignore_older_than are skipped unless
    `everything`.
    """
    at = at or now()
    matcher = active.compile_set(rules)
    since = None if everything else iso(at - timedelta(minutes=rules.ignore_older_than_minutes))
    conn = cache.conn

    def known(f: Finding) -> bool:
        return bool(
            conn.execute(
                "SELECT 1 FROM escalations WHERE rule_id = ? AND subject = ? AND version = ?",
                (f.rule.id, f.subject, f.version),
            ).fetchone()
        )

    for finding in scan_posts(cache, rules, matcher, since=since):
        yield finding, known(finding)
    follow = [r for r in rules.rules if r.kind == "follow_ups"]
    if follow:
        threads = [r[0] for r in conn.execute("SELECT id FROM threads ORDER BY id")]
        for finding in follow_up_findings(conn, follow, threads):
            if everything or finding.raised_at >= (since or ""):
                yield finding, known(finding)
    ignore = rules.ignore_older_than_minutes if not everything else 10**8
    unanswered = [r for r in rules.rules if r.kind == "unanswered"]
    for finding in unanswered_findings(conn, unanswered, at, ignore):
        yield finding, False
    has_table = dialect_of(conn).has_table(conn, "verifications")
    if has_table:
        rejected = [r for r in rules.rules if r.kind == "verification_rejected"]
        for finding in verification_findings(conn, rejected):
            yield finding, known(finding)
