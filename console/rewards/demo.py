"""Rewards in the demo community: votes, payout addresses, a schedule, planted fraud.

`plant(cache, seed)` is the one call from `console.demo.build_demo`. Everything comes from
`Random(seed)`, so the same demo gives the same rows. It adds:

- up-votes behind every answer's score, cast by ordinary members soon after the answer;
- a registration-IP signal per member (2001:db8::/32, the documentation range) and an example.com
  payout address for nearly everyone;
- the schedule `demo-2026.2` and the ledger accrued from it, so October 2026 is a payout period
  ready to prepare;
- fraud with ground truth in meta `demo_planted_fraud` ({check: [member usernames]}): a voting
  ring, sock puppets voting for one member, a second account answering its owner's questions, a
  copy-paster, a burst of answers in the last week of October;
- demo staff identities in meta `demo_staff` for trying four-eyes (the demo gives everyone every
  role; four-eyes is about who, not which role): priya prepares, tom and una approve.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from random import Random

from console.db import Cache
from console.ingest import upsert_members, upsert_threads
from console.models import MemberRecord, PostRecord, ThreadRecord
from console.rewards.accrue import accrue
from console.rewards.schedule import parse_schedule
from console.rewards.service import store_schedule

SCHEDULE = """\
# The demo community's points schedule (Kestrel Mobile's "Community Rewards").
version = "demo-2026.2"
currency = "GBP"
point_value = "0.01"          # a point is 1p

[points]
accepted_answer = 50
verified_answer = 100
helpful_vote = 2
escalation_first_response = 20
duplicate_flagged = 10

[caps]
per_day = 400
per_thread = 150

[payouts]
threshold_points = 1000       # GBP 10.00
second_approver_over = "250.00"
"""

STAFF = {"priya": "payout_preparer", "tom": "payout_approver", "una": "payout_approver"}
PERIOD = "2026-10"
_OCT = datetime(2026, 10, 1, tzinfo=UTC)

_OPENERS = (
    "Had exactly this last month.",
    "This one comes up a lot.",
    "I can help with this.",
    "Right, a few things to try.",
    "Same happened to my partner's phone.",
    "Don't worry, it's usually simple.",
)
_STEPS = (
    "Take the SIM out, wait thirty seconds and put it back in.",
    "Check Settings > Mobile network > Network operators and pick Kestrel manually.",
    "Turn on airplane mode for a minute, then off again.",
    "Reset network settings (you'll need your wifi passwords again).",
    "Make sure your allowance hasn't run out in the app.",
    "Update the phone's carrier settings from the About screen.",
    "Try the SIM in another phone to rule the handset out.",
    "Check the outage map for your postcode before anything else.",
    "Set the APN to kestrel.internet with no username or password.",
    "If it's an eSIM, delete the profile only after support send a new QR code.",
    "Dial *#06# and check the IMEI matches what's on your account.",
    "Log out of the app and back in so it refreshes your plan.",
)
_CLOSERS = (
    "Shout if that doesn't sort it.",
    "Let us know how you get on.",
    "Worked for me every time.",
    "Good luck!",
    "Should be fine after that.",
)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _answer(rng: Random, tag: int) -> str:
    steps = rng.sample(_STEPS, 4)
    numbered = " ".join(f"{n}) {s}" for n, s in enumerate(steps, 1))
    return (
        f"{rng.choice(_OPENERS)} {numbered} {rng.choice(_CLOSERS)} "
        f"(ref {tag:05d}, {rng.choice(('iPhone', 'Pixel', 'Galaxy', 'Moto'))})"
    )


class _Planter:
    def __init__(self, cache: Cache, seed: int) -> None:
        self.cache = cache
        self.rng = Random(seed ^ 0x5EED)
        self.source = int(cache.one("SELECT id FROM sources WHERE name = 'demo'")[0])
        self.members = {
            str(r[1]): int(r[0])
            for r in cache.query("SELECT id, username FROM members WHERE source_id = ?", (self.source,))
        }
        self.truth: dict[str, list[str]] = {}
        self.threads: list[ThreadRecord] = []
        self.posts: list[PostRecord] = []
        self.votes: list[tuple[str, str, str]] = []  # (post remote id, voter username, at)
        self.new_members: list[MemberRecord] = []
        self.signals: list[tuple[str, str, str]] = []
        self.counter = 0
        askers = cache.query(
            "SELECT m.username FROM members m WHERE m.source_id = ? AND m.reputation BETWEEN 1 "
            "AND 2000 ORDER BY m.id",
            (self.source,),
        )
        self.askers = [str(r[0]) for r in askers] or list(self.members)

    def member(self, name: str, joined: datetime) -> str:
        self.new_members.append(MemberRecord(f"rw-{name}", name, name, 40, 1, _iso(joined)))
        return name

    def thread(self, asker: str, answerer: str, at: datetime, body: str | None = None) -> str:
        """A new solved thread: `asker` asks at `at`, `answerer`'s answer is accepted."""
        self.counter += 1
        remote = f"rw{self.counter}"
        text = body or _answer(self.rng, self.counter)
        answered = at + timedelta(minutes=self.rng.randrange(20, 300))
        self.threads.append(
            ThreadRecord(
                remote,
                self.rng.choice(
                    (
                        "No signal since this morning",
                        "Data not working abroad",
                        "SIM says invalid",
                        "Can't send picture messages",
                        "Top-up not showing",
                    )
                ),
                self._remote(asker),
                "solved",
                _iso(at),
                _iso(answered),
                reply_count=1,
                accepted_post_remote_id=f"{remote}.1",
            )
        )
        self.posts.append(
            PostRecord(f"{remote}.0", remote, self._remote(asker), 0, "Any ideas? Thanks.",
                       "<p>Any ideas? Thanks.</p>", _iso(at))
        )
        self.posts.append(
            PostRecord(f"{remote}.1", remote, self._remote(answerer), 1, text, f"<p>{text}</p>",
                       _iso(answered), score=0)
        )
        return f"{remote}.1"

    def _remote(self, username: str) -> str:
        if username.startswith("rw:"):
            return username[3:]
        for m in self.new_members:
            if m.username == username:
                return m.remote_id
        row = self.cache.one(
            "SELECT remote_id FROM members WHERE username = ? AND source_id = ?",
            (username, self.source),
        )
        return str(row[0])

    def when(self, day_from: int, day_to: int) -> datetime:
        """A moment in October 2026 between day_from and day_to (1-based, inclusive)."""
        day = self.rng.randint(day_from, day_to)
        return _OCT + timedelta(days=day - 1, minutes=self.rng.randrange(8 * 60, 22 * 60))

    # ---- planted fraud ----
    def ring(self) -> None:
        names = [
            self.member(n, datetime(2025, m, 3, tzinfo=UTC))
            for n, m in (("sim_sam", 2), ("data_dave", 5), ("roam_rita", 9))
        ]
        answers: dict[str, list[tuple[str, datetime]]] = {n: [] for n in names}
        for name in names:
            for _ in range(21):
                at = self.when(2, 28)
                answers[name].append((self.thread(self.rng.choice(self.askers), name, at), at))
        for voter in names:
            for author in names:
                if voter != author:
                    for post, at in answers[author][:10]:
                        self.votes.append((post, voter, _iso(at + timedelta(hours=2))))
        self.truth["voting_ring"] = names

    def puppets(self) -> None:
        target = self.member("helpful_harry", datetime(2024, 3, 14, tzinfo=UTC))
        made = datetime(2026, 9, 12, 21, 5, tzinfo=UTC)
        puppets = [
            self.member(f"{n}", made + timedelta(minutes=7 * k))
            for k, n in enumerate(("harry_fan1", "kestrel_kev", "mobile_mo", "signal_sue", "pat_p"))
        ]
        posts = []
        for _ in range(21):
            at = self.when(1, 28)
            posts.append((self.thread(self.rng.choice(self.askers), target, at), at))
        for puppet in puppets:
            self.signals.append((puppet, "registration_ip", "2001:db8:bad:1::7"))
            for post, at in self.rng.sample(posts, 12):
                self.votes.append((post, puppet, _iso(at + timedelta(hours=3))))
        self.truth["sock_puppets"] = [target]

    def self_answer(self) -> None:
        owner = self.member("nina_k", datetime(2025, 6, 2, tzinfo=UTC))
        second = self.member("n1na_helps", datetime(2026, 8, 30, tzinfo=UTC))
        self.signals.append((owner, "registration_ip", "2001:db8:77:5::12"))
        self.signals.append((second, "registration_ip", "2001:db8:77:5::12"))
        for _ in range(5):
            self.thread(owner, second, self.when(1, 27))
        for _ in range(17):  # and some real answers, so nina_helps reaches the threshold
            self.thread(self.rng.choice(self.askers), second, self.when(1, 27))
        self.truth["self_answer"] = [second]

    def copy_paste(self) -> None:
        copier = self.member("copycat_carl", datetime(2025, 11, 20, tzinfo=UTC))
        originals = self.cache.query(
            "SELECT p.body_text FROM threads t JOIN posts p ON p.id = t.accepted_post_id "
            "WHERE p.author_id IS NOT NULL AND length(p.body_text) BETWEEN 200 AND 3000 "
            "AND p.created_at < '2026-09-25' ORDER BY p.id"
        )
        bodies = [str(r[0]) for r in originals]
        picked = self.rng.sample(bodies, min(6, len(bodies)))
        for body in picked:
            self.thread(self.rng.choice(self.askers), copier, self.when(3, 28), body=body)
        for _ in range(16):
            self.thread(self.rng.choice(self.askers), copier, self.when(3, 28))
        self.truth["copy_paste"] = [copier] if len(picked) >= 2 else []

    def burst(self) -> None:
        bella = self.member("burst_bella", datetime(2024, 1, 9, tzinfo=UTC))
        for k in range(4):  # a few answers in August and September
            at = datetime(2026, 8, 26, 15, tzinfo=UTC) + timedelta(days=9 * k)
            self.thread(self.rng.choice(self.askers), bella, at)
        for _ in range(24):
            self.thread(self.rng.choice(self.askers), bella, self.when(26, 31))
        self.truth["burst"] = [bella]

    # ---- organic votes, signals, payees ----
    def organic_votes(self) -> list[tuple[int, int, int, str]]:
        voters = [
            int(r[0])
            for r in self.cache.query(
                "SELECT id FROM members WHERE source_id = ? AND reputation > 0 "
                "AND remote_id NOT LIKE 'rw-%' ORDER BY id",
                (self.source,),
            )
        ]
        rows = []
        for post_id, author, created, score in self.cache.query(
            "SELECT id, author_id, created_at, score FROM posts WHERE source_id = ? "
            "AND position > 0 AND score > 0 AND author_id IS NOT NULL ORDER BY id",
            (self.source,),
        ):
            start = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
            chosen = set()
            for voter in self.rng.sample(voters, min(len(voters), int(score) + 2)):
                if voter != author and len(chosen) < min(int(score), 30):
                    chosen.add(voter)
            for voter in sorted(chosen):
                at = min(start + timedelta(minutes=self.rng.randrange(5, 72 * 60)),
                         datetime(2026, 11, 20, 11, tzinfo=UTC))
                rows.append((self.source, int(post_id), voter, _iso(at)))
        return rows

    def write(self) -> None:
        upsert_members(self.cache, self.source, self.new_members)
        upsert_threads(self.cache, self.source, self.threads, self.posts)
        organic = self.organic_votes()
        ids = {
            str(r[1]): int(r[0])
            for r in self.cache.query(
                "SELECT id, username FROM members WHERE source_id = ?", (self.source,)
            )
        }
        post_ids = {
            str(r[1]): int(r[0])
            for r in self.cache.query(
                "SELECT id, remote_id FROM posts WHERE source_id = ? AND remote_id LIKE 'rw%'",
                (self.source,),
            )
        }
        rng = self.rng
        with self.cache.transaction() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO votes (source_id, post_id, voter_id, created_at) "
                "VALUES (?, ?, ?, ?)",
                organic
                + [(self.source, post_ids[p], ids[v], at) for p, v, at in self.votes],
            )
            conn.execute(
                "UPDATE posts SET score = (SELECT count(*) FROM votes v WHERE v.post_id = posts.id) "
                "WHERE source_id = ? AND remote_id LIKE 'rw%'",
                (self.source,),
            )
            signals = [
                (member_id, "registration_ip",
                 f"2001:db8:{rng.randrange(0x10000):x}:{rng.randrange(0x10000):x}::{member_id:x}")
                for name, member_id in sorted(ids.items(), key=lambda kv: kv[1])
                if not any(name == s[0] for s in self.signals)
            ]
            signals += [(ids[name], kind, value) for name, kind, value in self.signals]
            conn.executemany(
                "INSERT OR IGNORE INTO member_signals (member_id, kind, value) VALUES (?, ?, ?)",
                signals,
            )
            conn.executemany(
                "INSERT OR IGNORE INTO reward_payees (member_id, recipient_type, receiver) "
                "VALUES (?, 'EMAIL', ?)",
                [
                    (member_id, f"member{member_id}@example.com")
                    for member_id in sorted(ids.values())
                    if rng.random() > 0.03
                ],
            )
            self.cache.set_meta("demo_planted_fraud", json.dumps(self.truth, sort_keys=True))
            self.cache.set_meta("demo_staff", json.dumps(STAFF, sort_keys=True))
            self.cache.set_meta("demo_payout_period", PERIOD)


def plant(cache: Cache, seed: int) -> dict[str, list[str]]:
    """Add the rewards part of the demo; returns the planted fraud's ground truth."""
    planter = _Planter(cache, seed)
    planter.ring()
    planter.puppets()
    planter.self_answer()
    planter.copy_paste()
    planter.burst()
    planter.write()
    schedule = parse_schedule(SCHEDULE, "the demo schedule")
    store_schedule(cache, schedule, "peerdesk-demo")
    accrue(cache, schedule, actor="peerdesk-demo")
    return planter.truth
