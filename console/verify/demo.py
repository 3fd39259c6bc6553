"""Answer verification in the demo community, so `make demo` shows the Verification panel full.

Called once at the end of `console.demo.build_demo`. It changes no thread or post (the demo's
own tests compare those with the generator): it scores the newest answered threads and every
thread whose accepted answer is one of the demo's wrong answers, marks the prolific helpers'
answers as earning a payout (the community pays them), and replays a few decisions by two demo
moderators, priya and sam, through the real decision pipeline:

- verified staff answers (some re-queued blind for calibration, so the demo user sees
  "calibrate" rows), and verified answers on originals of likely duplicates (the known answer);
- wrong answers rejected (their authors get a track record), among them a few that earned
  points in the payout period: the ground truth of the rewards check `rejected_by_verification`;
- a pick of the right answer over the asker's wrong accept, and a rejection of an asker-accepted
  wrong answer, both waiting for a second moderator (four-eyes);
- sam calibrating priya's decisions (agreement rates, one disagreement on the review list);
- a verification undone (a re-check) and a needs-edit note.

Near-copies need nothing planted: the demo's answers are built from shared step templates, so
some replies repeat an earlier one almost word for word, and the near-copy signal finds them.
Outbox items of these past decisions are marked applied: they happened before the demo begins.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial

from console import demo_corpus
from console.clock import now_iso
from console.config import Config
from console.db import Cache
from console.errors import PeerdeskError
from console.identity import Identity, establish
from console.models import DecisionResult
from console.rewards.periods import parse_period
from console.verify import queue
from console.verify.service import Verification
from console.verify.settings import VerifySettings

NEWEST_THREADS = (
    400  # answered threads scored at build time (the rest on `peerdesk verify --refresh`)
)
HELPER_TRUST = 3  # the demo's prolific helpers: the paid contributors
PAYOUT_MINOR = 500  # £5.00 per verified answer of a paid contributor
PAID_WRONG_REJECTED = 3  # wrong answers paid for in the payout period that priya rejects


def _wrong_prefixes() -> tuple[str, ...]:
    return tuple(
        {w.split("{")[0].strip() for topic in demo_corpus.TOPICS for w in topic.wrong} - {""}
    )


def _is_wrong(text: str, prefixes: tuple[str, ...]) -> bool:
    return any(text.startswith(p) for p in prefixes)


def plant(cache: Cache) -> None:
    """Score the demo's answers and replay the demo moderators' decisions (see the module)."""
    plain = VerifySettings(calibration_share=0.0)
    prefixes = _wrong_prefixes()
    answered = queue.answered_threads(cache)
    accepted = cache.query(
        "SELECT t.id, p.id AS post_id, p.body_text FROM threads t "
        "JOIN posts p ON p.id = t.accepted_post_id WHERE t.status != 'duplicate'"
    )
    wrong_accepts = [r for r in accepted if _is_wrong(str(r["body_text"]), prefixes)]
    originals = [
        int(r[0])
        for r in cache.query(
            "SELECT DISTINCT d.original_id FROM duplicate_links d "
            "JOIN threads t ON t.id = d.original_id WHERE d.decision = 'pending' "
            "AND t.accepted_post_id IS NOT NULL ORDER BY d.score DESC LIMIT 12"
        )
    ]
    chosen = sorted(
        set(answered[-NEWEST_THREADS:]) | {int(r["id"]) for r in wrong_accepts} | set(originals)
    )
    queue.refresh(cache, chosen, plain)
    queue.mark_all_seen(cache)  # the older threads are scored on `peerdesk verify --refresh`
    with cache.transaction() as conn:
        conn.execute(
            "UPDATE verifications SET payout_minor = ? WHERE state = 'pending' AND post_id IN ("
            "SELECT p.id FROM posts p JOIN members m ON m.id = p.author_id "
            "WHERE m.trust_level = ?)",
            (PAYOUT_MINOR, HELPER_TRUST),
        )
    priya = Verification(cache, moderator(cache, "priya"), overrides=plain)
    sam = Verification(cache, moderator(cache, "sam"), overrides=plain)
    always = VerifySettings(calibration_share=1.0)
    calibrated = Verification(cache, priya.who, overrides=VerifySettings(calibration_share=1.0))
    done: list[DecisionResult] = []

    def attempt(decide: Callable[[], DecisionResult]) -> None:
        """One past decision; one that does not apply to this build is skipped."""
        try:
            done.append(decide())
        except PeerdeskError:
            return

    staff_accepted = [
        int(r[0])
        for r in cache.query(
            "SELECT v.post_id FROM verifications v JOIN posts p ON p.id = v.post_id "
            "JOIN members m ON m.id = p.author_id JOIN threads t ON t.id = v.thread_id "
            "WHERE v.state = 'pending' AND m.trust_level = 4 AND t.accepted_post_id = v.post_id "
            "ORDER BY v.impact DESC, v.post_id LIMIT 10"
        )
    ]
    wrong_pending = [
        int(r[0])
        for r in cache.query(
            "SELECT v.post_id, p.body_text FROM verifications v JOIN posts p ON p.id = v.post_id "
            "JOIN threads t ON t.id = v.thread_id WHERE v.state = 'pending' "
            "AND (t.accepted_post_id IS NULL OR t.accepted_post_id != v.post_id) "
            "ORDER BY v.post_id"
        )
        if _is_wrong(str(r[1]), prefixes)
    ]
    for post in staff_accepted[:3]:  # re-queued blind: the demo user sees them as "calibrate"
        attempt(partial(calibrated.verify, post))
    for post in staff_accepted[3:6]:
        attempt(partial(sam.verify, post))
    for post in staff_accepted[6:8]:  # sam's, calibrated by priya below
        attempt(partial(Verification(cache, sam.who, overrides=always).verify, post))
    paid_wrong = _paid_wrong_answers(cache, prefixes)
    for post in paid_wrong:
        queue.ensure(cache, post, plain)
    for post in wrong_pending[:6] + paid_wrong:
        attempt(partial(priya.reject, post, "wrong", "contradicts the help pages"))
    for original in originals[:6]:  # the known answer shown beside new duplicates
        row = cache.one("SELECT accepted_post_id FROM threads WHERE id = ?", (original,))
        if row and row[0]:
            queue.ensure(cache, int(row[0]), plain)
            attempt(partial(priya.verify, int(row[0])))
    for thread in wrong_accepts[:2]:  # four-eyes: pick the right answer over the asker's
        best = cache.one(
            "SELECT v.post_id FROM verifications v WHERE v.thread_id = ? AND v.post_id != ? "
            "AND v.state = 'pending' ORDER BY v.score DESC LIMIT 1",
            (thread["id"], thread["post_id"]),
        )
        if best:
            attempt(partial(sam.pick, int(best[0]), "the accepted answer is wrong"))
    for thread in wrong_accepts[2:4]:  # four-eyes: reject the asker's wrong accept
        attempt(partial(priya.reject, int(thread["post_id"]), "wrong"))
    for index, review in enumerate(
        cache.query(
            "SELECT post_id FROM verification_reviews WHERE kind = 'calibration' "
            "AND state = 'open' AND first_by = 'sam' ORDER BY id"
        )
    ):
        second = "verified" if index == 0 else "rejected"  # one agreement, one disagreement
        attempt(partial(priya.calibrate, int(review[0]), second))
    recheck = staff_accepted[8:9]
    for post in recheck:  # verified, then undone: a re-check item
        attempt(partial(priya.verify, post))
        attempt(priya.undo)
    short = cache.one(
        "SELECT v.post_id FROM verifications v WHERE v.state = 'pending' AND v.reasons LIKE "
        "'%\"short\"%' ORDER BY v.post_id LIMIT 1"
    )
    if short:
        note = "Please add the steps, not just the answer, so others can follow them"
        attempt(partial(sam.needs_edit, int(short[0]), note))
    _record_paid_rejections(cache, wrong_pending[:6] + paid_wrong)
    mark_sent(cache, [i for result in done for i in result.outbox_ids])


def mark_sent(cache: Cache, outbox_ids: list[int]) -> None:
    """The demo's decisions as if the platform had received them: each item leased (one
    attempt) and then applied, the only way an item moves on the team database (its outbox
    guard refuses pending -> applied), in one transaction."""
    stamp = now_iso()
    with cache.transaction() as conn:
        conn.executemany(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1, sent_at = ?, "
            "updated_at = ? WHERE id = ? AND state = 'pending'",
            [(stamp, stamp, i) for i in outbox_ids],
        )
        conn.executemany(
            "UPDATE outbox SET state = 'applied', updated_at = ? "
            "WHERE id = ? AND state = 'sending'",
            [(stamp, i) for i in outbox_ids],
        )


def _paid_wrong_answers(cache: Cache, prefixes: tuple[str, ...]) -> list[int]:
    """The first few wrong answers that earned helpful-vote points in the demo's payout period."""
    period = cache.meta("demo_payout_period")
    if not period:
        return []
    bounds = parse_period(period)
    rows = cache.query(
        "SELECT DISTINCT p.id, p.body_text FROM ledger l "
        "JOIN votes x ON x.id = CAST(substr(l.event_key, 6) AS INTEGER) "
        "JOIN posts p ON p.id = x.post_id WHERE l.kind = 'accrual' AND l.rule = 'helpful_vote' "
        "AND l.occurred_at >= ? AND l.occurred_at < ? ORDER BY p.id",
        (bounds.start, bounds.end),
    )
    return [int(r[0]) for r in rows if _is_wrong(str(r[1]), prefixes)][:PAID_WRONG_REJECTED]


def _record_paid_rejections(cache: Cache, posts: list[int]) -> None:
    """Ground truth for the rewards check `rejected_by_verification`, beside the rewards demo's
    planted fraud: the authors of the wrong answers rejected above that earned helpful-vote
    points before the payout period's end."""
    period = cache.meta("demo_payout_period")
    if not period:
        return
    end = parse_period(period).end
    names = sorted(
        {
            str(r[0])
            for post in posts
            for r in cache.query(
                "SELECT m.username FROM verifications v JOIN posts p ON p.id = v.post_id "
                "JOIN members m ON m.id = p.author_id WHERE v.post_id = ? "
                "AND v.state = 'rejected' AND EXISTS (SELECT 1 FROM votes x JOIN ledger l "
                "ON l.kind = 'accrual' AND l.rule = 'helpful_vote' "
                "AND l.event_key = 'vote:' || x.id WHERE x.post_id = p.id AND l.occurred_at < ?)",
                (post, end),
            )
        }
    )
    truth = json.loads(cache.meta("demo_planted_fraud") or "{}")
    truth["rejected_by_verification"] = names
    with cache.transaction():
        cache.set_meta("demo_planted_fraud", json.dumps(truth, sort_keys=True))


def moderator(cache: Cache, name: str) -> Identity:
    """A demo moderator: the demo's owner acting under that name (it has every role there)."""
    return establish(cache.path, Config(), requested=name, demo=True)
