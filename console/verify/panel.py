"""What the Verification panel and `peerdesk verify` show: one answer with its thread, its
competitors and their signals; moderators' agreement rates; the review list; known answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from console.db import Cache
from console.errors import NotFound
from console.verify.facts import body_hash
from console.verify.queue import assess_thread_in
from console.verify.settings import VerifySettings
from console.verify.signals import Assessment, Signal

BODY_LIMIT = 20_000


@dataclass(frozen=True)
class AnswerSide:
    post_id: int
    author: str
    position: int
    body: str
    score: int
    accepted: bool
    signals: tuple[Signal, ...]
    body_hash: str
    state: str | None = None  # its verification state, if it has one

    def why(self, limit: int | None = None) -> str:
        return Assessment(str(self.post_id), self.score, self.signals).why(limit)


@dataclass(frozen=True)
class AnswerView:
    verification_id: int
    thread_id: int
    title: str
    question: str
    asker: str
    source_kind: str
    candidate: AnswerSide
    competitors: tuple[AnswerSide, ...]
    state: str
    decided_by: str | None
    second_by: str | None
    reject_reason: str | None
    note: str | None
    proposed_state: str | None
    proposed_by: str | None
    contested: str | None
    recheck: str | None
    payout_minor: int
    impact: float
    blind: bool  # a calibration item for this moderator: the first decision is hidden

    @property
    def status_line(self) -> str:
        if self.blind:
            return "calibration: decide blind (verified or rejected)"
        if self.proposed_state:
            return (
                f"{self.proposed_by} proposes {self.proposed_state}: {self.contested}; "
                "a second moderator confirms (c) or disagrees (d)"
            )
        if self.recheck:
            return f"re-check: {self.recheck}"
        if self.state == "pending":
            return "pending"
        who = f" by {self.decided_by}" + (f" and {self.second_by}" if self.second_by else "")
        extra = f" ({self.reject_reason})" if self.reject_reason else ""
        return f"{self.state.replace('_', '-')}{who}{extra}"


def _side(row: dict[str, object], assessment: Assessment | None, state: str | None) -> AnswerSide:
    body = str(row["body"])
    return AnswerSide(
        post_id=int(str(row["id"])),
        author=str(row["author"]),
        position=int(str(row["position"])),
        body=body,
        score=assessment.score if assessment else 50,
        accepted=bool(row["accepted"]),
        signals=assessment.signals if assessment else (),
        body_hash=body_hash(body),
        state=state,
    )


def answer(cache: Cache, post_id: int, actor: str, settings: VerifySettings) -> AnswerView:
    """One answer in full, for `actor` (blind if it is a calibration item for them)."""
    row = cache.one(
        "SELECT v.*, t.title, s.kind AS source_kind, coalesce(a.username, '(unknown)') AS asker "
        "FROM verifications v JOIN threads t ON t.id = v.thread_id "
        "JOIN sources s ON s.id = t.source_id LEFT JOIN members a ON a.id = t.author_id "
        "WHERE v.post_id = ?",
        (post_id,),
    )
    if row is None:
        raise NotFound(f"Answer {post_id} is not in the verification queue")
    thread_id = int(row["thread_id"])
    posts = cache.query(
        f"SELECT p.id, p.position, {cache.dialect.prefix('p.body_text', BODY_LIMIT)} AS body, "
        "coalesce(m.username, '(unknown)') AS author, p.id = t.accepted_post_id AS accepted, "
        "p.hidden FROM posts p JOIN threads t ON t.id = p.thread_id "
        "LEFT JOIN members m ON m.id = p.author_id WHERE p.thread_id = ? ORDER BY p.position, p.id",
        (thread_id,),
    )
    question = next((p for p in posts if p["position"] == 0), None)
    mine = next((p for p in posts if p["id"] == post_id), None)
    if mine is None:
        raise NotFound(
            f"Answer {post_id} is no longer {cache.dialect.where} (deleted on the platform?)"
        )
    assessed = {int(a.key): a for a in assess_thread_in(cache.conn, thread_id, settings)}
    states = {
        int(r[0]): str(r[1])
        for r in cache.query(
            "SELECT post_id, state FROM verifications WHERE thread_id = ?", (thread_id,)
        )
    }
    blind = bool(
        cache.one(
            "SELECT 1 FROM verification_reviews WHERE verification_id = ? AND kind = "
            "'calibration' AND state = 'open' AND first_by != ?",
            (row["id"], actor),
        )
    )
    competitors = tuple(
        _side(dict(p), assessed.get(int(p["id"])), states.get(int(p["id"])))
        for p in sorted(
            (p for p in posts if p["position"] > 0 and p["id"] != post_id and not p["hidden"]),
            key=lambda p: -(assessed[int(p["id"])].total if int(p["id"]) in assessed else 0),
        )
    )
    return AnswerView(
        verification_id=int(row["id"]),
        thread_id=thread_id,
        title=str(row["title"]),
        question=str(question["body"]) if question else "",
        asker=str(row["asker"]),
        source_kind=str(row["source_kind"]),
        candidate=_side(dict(mine), assessed.get(post_id), None if blind else str(row["state"])),
        competitors=competitors,
        state="pending" if blind else str(row["state"]),
        decided_by=None if blind else row["decided_by"],
        second_by=None if blind else row["second_by"],
        reject_reason=None if blind else row["reject_reason"],
        note=None if blind else row["note"],
        proposed_state=row["proposed_state"],
        proposed_by=row["proposed_by"],
        contested=row["contested"],
        recheck=row["recheck"],
        payout_minor=int(row["payout_minor"]),
        impact=float(row["impact"]),
        blind=blind,
    )


@dataclass(frozen=True)
class Agreement:
    moderator: str
    calibrated: int  # their decisions a second moderator re-checked blind
    agreed: int

    @property
    def rate(self) -> float:
        return self.agreed / self.calibrated if self.calibrated else 0.0


def agreement(cache: Cache) -> list[Agreement]:
    """Each moderator's agreement rate on their calibrated decisions, lowest first."""
    rows = cache.query(
        "SELECT first_by, count(*), count(*) FILTER (WHERE state = 'agreed') "
        "FROM verification_reviews "
        "WHERE kind = 'calibration' AND state IN ('agreed', 'disagreed') GROUP BY first_by"
    )
    found = [Agreement(str(r[0]), int(r[1]), int(r[2] or 0)) for r in rows]
    return sorted(found, key=lambda a: (a.rate, a.moderator))


@dataclass(frozen=True)
class Disagreement:
    review_id: int
    kind: str  # "calibration" | "four_eyes"
    post_id: int
    thread_id: int
    title: str
    first_by: str
    first_state: str
    reviewer: str
    review_state: str


def disagreements(cache: Cache, limit: int = 200) -> list[Disagreement]:
    """The review list: decisions two moderators saw differently, newest first."""
    rows = cache.query(
        "SELECT r.id, r.kind, r.post_id, v.thread_id, t.title, r.first_by, r.first_state, "
        "r.reviewer, r.review_state FROM verification_reviews r "
        "JOIN verifications v ON v.id = r.verification_id JOIN threads t ON t.id = v.thread_id "
        "WHERE r.state = 'disagreed' ORDER BY r.id DESC LIMIT ?",
        (limit,),
    )
    return [
        Disagreement(
            int(r[0]),
            str(r[1]),
            int(r[2]),
            int(r[3]),
            str(r[4]),
            str(r[5]),
            str(r[6]),
            str(r[7]),
            str(r[8]),
        )
        for r in rows
    ]


@dataclass(frozen=True)
class KnownAnswer:
    """The verified answer of a thread, shown beside its new duplicates."""

    thread_id: int
    post_id: int
    author: str
    excerpt: str
    verified_by: str


def known_answer(cache: Cache, thread_id: int) -> KnownAnswer | None:
    """The verified answer of `thread_id` (the accepted one first if both are verified)."""
    row = cache.one(
        "SELECT v.post_id, v.decided_by, coalesce(m.username, '(unknown)') AS author, "
        f"{cache.dialect.prefix('p.body_text', 300)} AS excerpt FROM verifications v "
        "JOIN posts p ON p.id = v.post_id JOIN threads t ON t.id = v.thread_id "
        "LEFT JOIN members m ON m.id = p.author_id "
        "WHERE v.thread_id = ? AND v.state = 'verified' AND p.hidden = 0 "
        "ORDER BY v.post_id = t.accepted_post_id DESC, v.decided_at DESC LIMIT 1",
        (thread_id,),
    )
    if row is None:
        return None
    excerpt = " ".join(str(row["excerpt"]).split())
    return KnownAnswer(thread_id, int(row[0]), str(row["author"]), excerpt, str(row[1]))
