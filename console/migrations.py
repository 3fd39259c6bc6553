"""Versioned schema of the cache. `PRAGMA user_version` is the version a file is at.

Each migration is a list of SQL statements run in one transaction; a file at version N gets
every migration after N, in order. Never edit a migration that has shipped: add a new one.
"""

from __future__ import annotations

SQLITE_ONLY = "/* sqlite only */"
"""A statement starting so is the cache's own (an SQL comment to SQLite); console/team/dialect.py
renders it as nothing for the team database."""

CLOSED_DAY = (
    "(CASE WHEN {row}.closed_at > {row}.raised_at THEN {row}.closed_at ELSE {row}.raised_at END)"
)
"""The timestamp whose day an escalation counts as closed on (migration 37; `{row}`: the table or
a trigger's old/new): its closed_at, or its raised_at if it was "closed" before it was raised."""

ESCALATION_RECOUNT: tuple[str, ...] = (
    """DELETE FROM escalation_days""",
    f"""INSERT INTO escalation_days (day, raised, closed)
        SELECT day, sum(raised), sum(closed) FROM (
          SELECT substr(raised_at, 1, 10) AS day, 1 AS raised, 0 AS closed FROM escalations
          UNION ALL
          SELECT substr({CLOSED_DAY.format(row="escalations")}, 1, 10), 0, 1
            FROM escalations WHERE closed_at IS NOT NULL
        ) AS moves GROUP BY day""",
    """DELETE FROM escalation_rule_states""",
    """INSERT INTO escalation_rule_states (rule_id, state, escalations)
        SELECT rule_id, state, count(*) FROM escalations GROUP BY rule_id, state""",
)
"""Migration 37's kept counts taken again from the escalations themselves (on both engines, as
written): the migration fills them so, and `peerdesk escalations --recount` mends them so."""

# migration 37's trigger steps: a row's escalation leaves its days and its (rule, state) count
# (old) or enters them (new)
_DAYS_OUT = f"""
    UPDATE escalation_days SET raised = raised - 1 WHERE day = substr(old.raised_at, 1, 10);
    UPDATE escalation_days SET closed = closed - 1
     WHERE old.closed_at IS NOT NULL AND day = substr({CLOSED_DAY.format(row="old")}, 1, 10);"""
_DAYS_IN = f"""
    INSERT INTO escalation_days (day, raised) VALUES (substr(new.raised_at, 1, 10), 1)
    ON CONFLICT (day) DO UPDATE SET raised = raised + 1;
    INSERT INTO escalation_days (day, closed)
    SELECT substr({CLOSED_DAY.format(row="new")}, 1, 10), 1 WHERE new.closed_at IS NOT NULL
    ON CONFLICT (day) DO UPDATE SET closed = closed + 1;"""
_STATE_OUT = """
    UPDATE escalation_rule_states SET escalations = escalations - 1
     WHERE rule_id = old.rule_id AND state = old.state;"""
_STATE_IN = """
    INSERT INTO escalation_rule_states (rule_id, state, escalations)
    VALUES (new.rule_id, new.state, 1)
    ON CONFLICT (rule_id, state) DO UPDATE SET escalations = escalations + 1;"""


def _listed(tags: str) -> str:
    """A thread's tags (a JSON list in a text column) for json_each, or an empty list if the
    text is not JSON (a write never fails on it; its thread has no tags to filter on)."""
    return f"CASE WHEN json_valid({tags}) THEN {tags} ELSE '[]' END"


_TEXTS = "type = 'text' AND typeof(key) = 'integer'"
"""json_each's rows that are a tag: the texts of a list (a key is a list's index; a bare text
or an object's member has none or a name). The team database keeps the same (_tags_of in
console/team/dialect.py)."""

MIGRATIONS: list[list[str]] = [
    # 1: the core cache, claims, audit and outbox
    [
        """CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
        """CREATE TABLE sources (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            name TEXT NOT NULL UNIQUE,
            base_url TEXT,
            cursor TEXT,
            last_sync_at TEXT,
            last_sync_result TEXT,
            created_at TEXT NOT NULL
        )""",
        """CREATE TABLE members (
            id INTEGER PRIMARY KEY,
            source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
            remote_id TEXT NOT NULL,
            username TEXT NOT NULL,
            display_name TEXT,
            reputation INTEGER NOT NULL DEFAULT 0,
            trust_level INTEGER,
            joined_at TEXT,
            UNIQUE (source_id, remote_id)
        )""",
        """CREATE TABLE threads (
            id INTEGER PRIMARY KEY,
            source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
            remote_id TEXT NOT NULL,
            title TEXT NOT NULL,
            author_id INTEGER REFERENCES members(id),
            status TEXT NOT NULL DEFAULT 'open'
                CHECK (status IN ('open', 'answered', 'solved', 'closed', 'duplicate')),
            created_at TEXT NOT NULL,
            last_activity_at TEXT NOT NULL,
            reply_count INTEGER NOT NULL DEFAULT 0,
            flag_count INTEGER NOT NULL DEFAULT 0,
            report_count INTEGER NOT NULL DEFAULT 0,
            tags TEXT NOT NULL DEFAULT '[]',
            accepted_post_id INTEGER,
            duplicate_of INTEGER REFERENCES threads(id),
            url TEXT,
            remote_updated_at TEXT,
            in_queue INTEGER NOT NULL DEFAULT 1,
            urgency REAL NOT NULL DEFAULT 0,
            UNIQUE (source_id, remote_id)
        )""",
        """CREATE INDEX threads_queue ON threads (in_queue, urgency DESC)""",
        """CREATE INDEX threads_author ON threads (author_id)""",
        """CREATE TABLE posts (
            id INTEGER PRIMARY KEY,
            thread_id INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
            source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
            remote_id TEXT NOT NULL,
            author_id INTEGER REFERENCES members(id),
            position INTEGER NOT NULL,
            body_text TEXT NOT NULL,
            body_raw TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT,
            score INTEGER NOT NULL DEFAULT 0,
            flag_count INTEGER NOT NULL DEFAULT 0,
            hidden INTEGER NOT NULL DEFAULT 0,
            hidden_reason TEXT,
            UNIQUE (source_id, remote_id)
        )""",
        """CREATE INDEX posts_thread ON posts (thread_id, position)""",
        """CREATE INDEX posts_author ON posts (author_id)""",
        """CREATE TABLE notes (
            id INTEGER PRIMARY KEY,
            thread_id INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
            author TEXT NOT NULL,
            body TEXT NOT NULL,
            created_at TEXT NOT NULL,
            deleted INTEGER NOT NULL DEFAULT 0
        )""",
        """CREATE INDEX notes_thread ON notes (thread_id)""",
        """CREATE TABLE claims (
            thread_id INTEGER PRIMARY KEY REFERENCES threads(id) ON DELETE CASCADE,
            holder TEXT NOT NULL,
            claimed_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        )""",
        """CREATE TABLE batches (
            id INTEGER PRIMARY KEY,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            created_at TEXT NOT NULL,
            item_count INTEGER NOT NULL,
            undoes INTEGER REFERENCES batches(id),
            undone_by INTEGER REFERENCES batches(id)
        )""",
        """CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            ts TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target_kind TEXT NOT NULL,
            target_id INTEGER,
            batch_id INTEGER REFERENCES batches(id),
            detail TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        )""",
        """CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
            action TEXT NOT NULL,
            target_kind TEXT NOT NULL,
            target_id INTEGER,
            payload TEXT NOT NULL,
            idempotency_key TEXT NOT NULL UNIQUE,
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'sending', 'applied', 'conflict', 'rejected',
                                 'local_only', 'cancelled')),
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            batch_id INTEGER REFERENCES batches(id),
            audit_id INTEGER REFERENCES audit(id)
        )""",
        """CREATE INDEX outbox_state ON outbox (state, id)""",
        """CREATE VIRTUAL TABLE thread_fts USING fts5 (title, body, tokenize = 'unicode61')""",
        """CREATE VIRTUAL TABLE post_fts USING fts5 (body, tokenize = 'unicode61')""",
    ],
    # 2: duplicate candidates and a record of what a sync could not read
    [
        """CREATE TABLE duplicate_links (
            id INTEGER PRIMARY KEY,
            thread_id INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
            original_id INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
            score REAL NOT NULL,
            method TEXT NOT NULL,
            explanation TEXT NOT NULL DEFAULT '',
            decision TEXT NOT NULL DEFAULT 'pending'
                CHECK (decision IN ('pending', 'confirmed', 'rejected', 'merged')),
            decided_by TEXT,
            decided_at TEXT,
            created_at TEXT NOT NULL,
            UNIQUE (thread_id, original_id)
        )""",
        """CREATE INDEX duplicate_links_pending ON duplicate_links (decision, score DESC)""",
        """CREATE TABLE sync_errors (
            id INTEGER PRIMARY KEY,
            source_id INTEGER REFERENCES sources(id) ON DELETE CASCADE,
            endpoint TEXT NOT NULL,
            field TEXT,
            message TEXT NOT NULL,
            excerpt TEXT,
            created_at TEXT NOT NULL
        )""",
    ],
    # 3 (sync): per-source options, push bookkeeping, the platform review queue, change fingerprints
    [
        """ALTER TABLE sources ADD COLUMN options TEXT NOT NULL DEFAULT '{}'""",
        """ALTER TABLE outbox ADD COLUMN sent_at TEXT""",
        """ALTER TABLE outbox ADD COLUMN remote_ref TEXT""",
        """CREATE TABLE review_items (
            id INTEGER PRIMARY KEY,
            source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
            remote_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            thread_id INTEGER REFERENCES threads(id) ON DELETE SET NULL,
            post_id INTEGER REFERENCES posts(id) ON DELETE SET NULL,
            thread_remote_id TEXT,
            post_remote_id TEXT,
            status TEXT NOT NULL,
            version INTEGER NOT NULL DEFAULT 0,
            score REAL NOT NULL DEFAULT 0,
            reasons TEXT NOT NULL DEFAULT '[]',
            actions TEXT NOT NULL DEFAULT '[]',
            body TEXT NOT NULL DEFAULT '',
            created_by TEXT,
            created_at TEXT NOT NULL,
            UNIQUE (source_id, remote_id)
        )""",
        """CREATE INDEX review_items_status ON review_items (source_id, status)""",
        """CREATE TABLE sync_fingerprints (
            source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            remote_id TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            PRIMARY KEY (source_id, kind, remote_id)
        ) WITHOUT ROWID""",
    ],
    # 4 (dupes): a snapshot of thread_fts document frequencies (fts5vocab counts them
    # by walking posting lists, which costs milliseconds per common word at a million threads)
    [
        """CREATE TABLE dupe_terms (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID""",
        # answers of a merged duplicate, shown under the original locally
        """CREATE TABLE dupe_merged_posts (
            post_id INTEGER PRIMARY KEY REFERENCES posts(id) ON DELETE CASCADE,
            original_id INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
            from_thread_id INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE
        )""",
        """CREATE INDEX dupe_merged_posts_original ON dupe_merged_posts (original_id)""",
    ],
    # 5 (undo): where a batch was decided (console screen or command line), for the undo preview;
    # and later decisions on the same item, which undo looks for before overwriting anything
    [
        """ALTER TABLE batches ADD COLUMN origin TEXT NOT NULL DEFAULT ''""",
        """CREATE INDEX IF NOT EXISTS audit_target ON audit (target_kind, target_id, id)""",
        """CREATE INDEX IF NOT EXISTS audit_batch ON audit (batch_id)""",
        """CREATE INDEX IF NOT EXISTS outbox_batch ON outbox (batch_id)""",
    ],
    # 6 (rewards): votes and member signals for the fraud checks, the points schedules, the
    # append-only ledger (hash-chained; triggers refuse UPDATE and DELETE), payout batches
    [
        """CREATE TABLE votes (
            id INTEGER PRIMARY KEY,
            source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
            post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
            voter_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
            value INTEGER NOT NULL DEFAULT 1 CHECK (value IN (-1, 1)),
            created_at TEXT NOT NULL,
            retracted_at TEXT,
            UNIQUE (post_id, voter_id)
        )""",
        """CREATE INDEX votes_voter ON votes (voter_id)""",
        """CREATE TABLE member_signals (
            member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (member_id, kind, value)
        ) WITHOUT ROWID""",
        """CREATE INDEX member_signals_value ON member_signals (kind, value)""",
        """CREATE TABLE member_duplicate_flags (
            thread_id INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
            original_id INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
            member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
            flagged_at TEXT NOT NULL,
            PRIMARY KEY (thread_id, member_id)
        )""",
        """CREATE TABLE reward_schedules (
            id INTEGER PRIMARY KEY,
            version TEXT NOT NULL UNIQUE,
            body TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            loaded_by TEXT NOT NULL,
            loaded_at TEXT NOT NULL
        )""",
        """CREATE TABLE ledger (
            id INTEGER PRIMARY KEY,
            member_id INTEGER NOT NULL,
            kind TEXT NOT NULL
                CHECK (kind IN ('accrual', 'reversal', 'payout', 'payout_return')),
            rule TEXT NOT NULL,
            event_key TEXT NOT NULL,
            thread_id INTEGER,
            points INTEGER NOT NULL,
            amount_minor INTEGER NOT NULL,
            currency TEXT NOT NULL,
            schedule_version TEXT NOT NULL,
            occurred_at TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            reverses INTEGER,
            line_id INTEGER,
            detail TEXT NOT NULL DEFAULT '{}',
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        )""",
        """CREATE UNIQUE INDEX ledger_once ON ledger (kind, rule, event_key)""",
        """CREATE INDEX ledger_member
            ON ledger (member_id, occurred_at, kind, amount_minor, points)""",
        """CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
           BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END""",
        """CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
           BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END""",
        """CREATE TABLE reward_bans (
            member_id INTEGER PRIMARY KEY,
            banned_by TEXT NOT NULL,
            banned_at TEXT NOT NULL,
            reason TEXT NOT NULL
        )""",
        """CREATE TABLE reward_payees (
            member_id INTEGER PRIMARY KEY,
            recipient_type TEXT NOT NULL CHECK (recipient_type IN ('EMAIL', 'PHONE', 'PAYPAL_ID')),
            receiver TEXT NOT NULL
        )""",
        """CREATE TABLE payout_batches (
            id INTEGER PRIMARY KEY,
            period TEXT NOT NULL UNIQUE,
            period_start TEXT NOT NULL,
            period_end TEXT NOT NULL,
            currency TEXT NOT NULL,
            schedule_version TEXT NOT NULL,
            threshold_points INTEGER NOT NULL,
            second_approver_over_minor INTEGER NOT NULL,
            state TEXT NOT NULL DEFAULT 'prepared'
                CHECK (state IN ('prepared', 'approved', 'exported', 'closed')),
            prepared_by TEXT NOT NULL,
            prepared_at TEXT NOT NULL,
            approved_at TEXT,
            export_sha256 TEXT,
            exported_at TEXT
        )""",
        """CREATE TABLE payout_lines (
            id INTEGER PRIMARY KEY,
            batch_id INTEGER NOT NULL REFERENCES payout_batches(id),
            member_id INTEGER NOT NULL,
            points INTEGER NOT NULL,
            amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
            state TEXT NOT NULL DEFAULT 'ready'
                CHECK (state IN ('ready', 'held', 'returned', 'paid', 'failed')),
            recipient_type TEXT,
            receiver TEXT,
            UNIQUE (batch_id, member_id)
        )""",
        """CREATE TABLE payout_flags (
            id INTEGER PRIMARY KEY,
            batch_id INTEGER NOT NULL REFERENCES payout_batches(id),
            line_id INTEGER REFERENCES payout_lines(id),
            member_id INTEGER NOT NULL,
            check_name TEXT NOT NULL,
            summary TEXT NOT NULL,
            evidence TEXT NOT NULL,
            UNIQUE (batch_id, member_id, check_name)
        )""",
        """CREATE TABLE payout_line_history (
            id INTEGER PRIMARY KEY,
            line_id INTEGER NOT NULL REFERENCES payout_lines(id),
            action TEXT NOT NULL,
            actor TEXT NOT NULL,
            reason TEXT NOT NULL,
            at TEXT NOT NULL
        )""",
        """CREATE INDEX payout_line_history_line ON payout_line_history (line_id)""",
        """CREATE TABLE payout_approvals (
            batch_id INTEGER NOT NULL REFERENCES payout_batches(id),
            approver TEXT NOT NULL,
            approved_at TEXT NOT NULL,
            PRIMARY KEY (batch_id, approver)
        )""",
        """CREATE TABLE payout_appeals (
            id INTEGER PRIMARY KEY,
            line_id INTEGER NOT NULL REFERENCES payout_lines(id),
            text TEXT NOT NULL,
            filed_by TEXT NOT NULL,
            filed_at TEXT NOT NULL,
            decision TEXT CHECK (decision IN ('upheld', 'denied')),
            decided_by TEXT,
            decided_at TEXT,
            reason TEXT
        )""",
    ],
    # 7 (escalate): escalations raised by rules, their SLA clocks, ticket hand-off and history
    [
        """CREATE TABLE escalations (
            id INTEGER PRIMARY KEY,
            rule_id TEXT NOT NULL,
            rule_name TEXT NOT NULL,
            rule_kind TEXT NOT NULL,
            severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
            thread_id INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
            post_id INTEGER REFERENCES posts(id) ON DELETE SET NULL,
            subject TEXT NOT NULL,
            version TEXT NOT NULL,
            matched TEXT NOT NULL,
            context TEXT NOT NULL DEFAULT '',
            match_start INTEGER NOT NULL DEFAULT 0,
            match_end INTEGER NOT NULL DEFAULT 0,
            detail TEXT NOT NULL DEFAULT '',
            state TEXT NOT NULL DEFAULT 'new'
                CHECK (state IN ('new', 'acknowledged', 'sent_to_support', 'waiting_on_customer',
                                 'resolved', 'dismissed')),
            assignee TEXT,
            raised_at TEXT NOT NULL,
            detected_at TEXT NOT NULL,
            acknowledge_due TEXT NOT NULL,
            resolve_due TEXT NOT NULL,
            acknowledged_at TEXT,
            acknowledged_by TEXT,
            closed_at TEXT,
            closed_by TEXT,
            dismiss_reason TEXT,
            hide_pending_review INTEGER NOT NULL DEFAULT 0,
            zendesk_priority TEXT NOT NULL DEFAULT 'normal',
            ticket_tags TEXT NOT NULL DEFAULT '[]',
            ticket_system TEXT,
            ticket_ref TEXT,
            ticket_status TEXT,
            ticket_url TEXT,
            updated_at TEXT NOT NULL,
            UNIQUE (rule_id, subject, version)
        )""",
        """CREATE INDEX escalations_state ON escalations (state, resolve_due)""",
        """CREATE INDEX escalations_thread ON escalations (thread_id, state)""",
        """CREATE INDEX escalations_ticket ON escalations (ticket_system, ticket_ref)""",
        """CREATE TABLE escalation_history (
            id INTEGER PRIMARY KEY,
            escalation_id INTEGER NOT NULL REFERENCES escalations(id) ON DELETE CASCADE,
            ts TEXT NOT NULL,
            actor TEXT NOT NULL,
            event TEXT NOT NULL,
            from_state TEXT,
            to_state TEXT,
            body TEXT NOT NULL DEFAULT '',
            audit_id INTEGER REFERENCES audit(id),
            remote_id TEXT,
            UNIQUE (escalation_id, remote_id)
        )""",
        """CREATE INDEX escalation_history_escalation ON escalation_history (escalation_id, id)""",
    ],
    # 8 (dupes): one sentence embedding per thread (all-MiniLM-L6-v2, 384 int8 numbers), kept
    # in cells of an inverted-file index so recall reads a few cells, never every vector
    [
        """CREATE TABLE thread_vectors (
            source_id INTEGER NOT NULL,
            cell INTEGER NOT NULL,
            thread_id INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
            created_at TEXT NOT NULL,
            lang TEXT NOT NULL DEFAULT '',
            text_crc INTEGER NOT NULL,
            vec BLOB NOT NULL,
            PRIMARY KEY (source_id, cell, thread_id)
        ) WITHOUT ROWID""",
        """CREATE UNIQUE INDEX thread_vectors_thread ON thread_vectors (thread_id)""",
        """CREATE TABLE vector_cells (cell INTEGER PRIMARY KEY, centroid BLOB NOT NULL)""",
    ],
    # 9 (sync): an outbox item is sent under a lease held by one process; `base` is the remote
    # version the decision was made against (a change since becomes a conflict for a human)
    [
        """ALTER TABLE outbox ADD COLUMN lease_owner TEXT""",
        """ALTER TABLE outbox ADD COLUMN lease_until TEXT""",
        """ALTER TABLE outbox ADD COLUMN base TEXT""",
    ],
    # 10 (verify): answer verification, its review items (calibration, re-checks, four-eyes
    # disagreements) and a log of every state change (what rewards pay on). No foreign key to
    # posts/threads on purpose: a verified answer deleted on the platform keeps its history and
    # raises a re-check (triggers below) instead of vanishing with the post.
    [
        """CREATE TABLE verifications (
            id INTEGER PRIMARY KEY,
            post_id INTEGER NOT NULL UNIQUE,
            thread_id INTEGER NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'verified', 'rejected', 'needs_edit')),
            score INTEGER NOT NULL DEFAULT 50,
            reasons TEXT NOT NULL DEFAULT '[]',
            impact REAL NOT NULL DEFAULT 0,
            payout_minor INTEGER NOT NULL DEFAULT 0,
            contested TEXT,
            proposed_state TEXT CHECK (proposed_state IN ('verified', 'rejected')),
            proposed_action TEXT,
            proposed_by TEXT,
            proposed_at TEXT,
            reject_reason TEXT,
            note TEXT,
            decided_by TEXT,
            decided_at TEXT,
            second_by TEXT,
            body_hash TEXT,
            recheck TEXT,
            previous_state TEXT,
            updated_by TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        """CREATE INDEX verifications_queue ON verifications (state, impact DESC)""",
        """CREATE INDEX verifications_thread ON verifications (thread_id)""",
        """CREATE TABLE verification_reviews (
            id INTEGER PRIMARY KEY,
            verification_id INTEGER NOT NULL REFERENCES verifications(id) ON DELETE CASCADE,
            post_id INTEGER NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('calibration', 'recheck', 'four_eyes')),
            first_by TEXT,
            first_state TEXT,
            reviewer TEXT,
            review_state TEXT,
            state TEXT NOT NULL DEFAULT 'open'
                CHECK (state IN ('open', 'agreed', 'disagreed', 'done')),
            reason TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            decided_at TEXT
        )""",
        """CREATE INDEX verification_reviews_open ON verification_reviews (state, kind)""",
        """CREATE INDEX verification_reviews_post ON verification_reviews (post_id)""",
        """CREATE TABLE verification_events (
            id INTEGER PRIMARY KEY,
            verification_id INTEGER NOT NULL,
            post_id INTEGER NOT NULL,
            thread_id INTEGER NOT NULL,
            from_state TEXT NOT NULL,
            to_state TEXT NOT NULL,
            actor TEXT,
            at TEXT NOT NULL
        )""",
        """CREATE INDEX verification_events_post ON verification_events (post_id)""",
        # the queue's impact counts duplicates pointing at a thread
        """CREATE INDEX IF NOT EXISTS threads_duplicate_of ON threads (duplicate_of)""",
        """CREATE INDEX IF NOT EXISTS duplicate_links_original ON duplicate_links (original_id)""",
        # threads with activity since the queue was last scored
        """CREATE INDEX IF NOT EXISTS threads_activity ON threads (last_activity_at)""",
        """CREATE TRIGGER verification_state_logged AFTER UPDATE OF state ON verifications
           WHEN old.state IS NOT new.state
           BEGIN
             INSERT INTO verification_events
               (verification_id, post_id, thread_id, from_state, to_state, actor, at)
             VALUES (new.id, new.post_id, new.thread_id, old.state, new.state, new.updated_by,
                     new.updated_at);
           END""",
        # the last decision before the current state ('verified' then 'rejected' is what the
        # escalation rule "a verified answer was rejected" looks for)
        """CREATE TRIGGER verification_previous_state AFTER UPDATE OF state ON verifications
           WHEN old.state IS NOT new.state AND old.state IN ('verified', 'rejected', 'needs_edit')
           BEGIN
             UPDATE verifications SET previous_state = old.state WHERE id = new.id;
           END""",
        # An answer decided by a moderator and then edited, hidden or deleted on the platform
        # goes back to pending with a re-check item: never a silently stale "verified".
        """CREATE TRIGGER verification_answer_edited AFTER UPDATE OF body_text ON posts
           WHEN old.body_text IS NOT new.body_text AND EXISTS (
             SELECT 1 FROM verifications v WHERE v.post_id = new.id
               AND v.state IN ('verified', 'rejected', 'needs_edit'))
           BEGIN
             INSERT INTO verification_reviews
               (verification_id, post_id, kind, first_by, first_state, reason, created_at)
             SELECT id, post_id, 'recheck', decided_by, state,
                    'the answer was edited on the platform after it was '
                      || replace(state, '_', '-'),
                    strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
               FROM verifications WHERE post_id = new.id;
             UPDATE verifications SET state = 'pending', updated_by = 'platform',
                    recheck = 'edited on the platform after it was ' || replace(state, '_', '-'),
                    updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
              WHERE post_id = new.id;
           END""",
        """CREATE TRIGGER verification_answer_hidden AFTER UPDATE OF hidden ON posts
           WHEN new.hidden = 1 AND old.hidden = 0 AND EXISTS (
             SELECT 1 FROM verifications v WHERE v.post_id = new.id AND v.state = 'verified')
           BEGIN
             INSERT INTO verification_reviews
               (verification_id, post_id, kind, first_by, first_state, reason, created_at)
             SELECT id, post_id, 'recheck', decided_by, state,
                    'the verified answer was hidden', strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
               FROM verifications WHERE post_id = new.id;
             UPDATE verifications SET state = 'pending', updated_by = 'platform',
                    recheck = 'hidden after it was verified',
                    updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
              WHERE post_id = new.id;
           END""",
        """CREATE TRIGGER verification_answer_deleted AFTER DELETE ON posts
           WHEN EXISTS (
             SELECT 1 FROM verifications v WHERE v.post_id = old.id
               AND v.state IN ('verified', 'rejected', 'needs_edit'))
           BEGIN
             INSERT INTO verification_reviews
               (verification_id, post_id, kind, first_by, first_state, reason, created_at)
             SELECT id, post_id, 'recheck', decided_by, state,
                    'the answer was deleted on the platform after it was '
                      || replace(state, '_', '-'),
                    strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
               FROM verifications WHERE post_id = old.id;
             UPDATE verifications SET state = 'pending', updated_by = 'platform',
                    recheck = 'deleted on the platform',
                    updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
              WHERE post_id = old.id;
           END""",
    ],
    # 11 (dupes): semantic recall moves from k-means cells to an HNSW graph saved beside the
    # cache (console/dupes/ann.py). Every vector gets a sequence number when stored, so a
    # process reads only the vectors stored after the saved graph; existing vectors are
    # numbered by thread id (the meta counter `vector_seq` starts from the highest when first
    # needed). `cell` and `vector_cells` are no longer used.
    [
        """ALTER TABLE thread_vectors ADD COLUMN seq INTEGER NOT NULL DEFAULT 0""",
        """UPDATE thread_vectors SET seq = thread_id""",
        """CREATE INDEX thread_vectors_seq ON thread_vectors (source_id, seq)""",
        """DELETE FROM vector_cells""",
        """DELETE FROM meta WHERE key IN ('vector_count', 'vector_cells_trained_on')""",
    ],
    # 12 (escalations): the `unanswered` rules look for open, unanswered threads by age each
    # time the Escalations panel opens (and on `escalations --scan`): without this index that
    # reads every thread of the Queue (1.4 s at 100k threads, over 15 s at a million); with it,
    # only the threads in the rule's time window.
    [
        """CREATE INDEX IF NOT EXISTS threads_unanswered ON threads (created_at)
           WHERE in_queue = 1 AND status = 'open' AND reply_count = 0""",
    ],
    # 13 (payguard): four-eyes on identities. The OS account behind the preparer and each
    # approver (their name when it is not an override), so one account cannot prepare under
    # its own name and approve under an override, or the other way round.
    [
        """ALTER TABLE payout_batches ADD COLUMN prepared_os_user TEXT""",
        """ALTER TABLE payout_approvals ADD COLUMN approver_os_user TEXT""",
        # accruals by time: the burst check reads the weeks before a period's end, so its cost
        # follows the activity in that window, not the ledger's whole history
        """CREATE INDEX IF NOT EXISTS ledger_accruals_by_time
            ON ledger (occurred_at, rule, member_id, kind) WHERE kind = 'accrual'""",
    ],
    # 14 (views): a member's accounts on every source are found by username, any case (the
    # member view, console.members); without it, every `M` read the whole members table
    [
        """CREATE INDEX IF NOT EXISTS members_username_lower ON members (lower(username))""",
    ],
    # 15 (team store): the login role that holds an outbox item's sending lease. Only the team
    # database fills it (a trigger sets it to the connected role, and row-level security lets
    # nobody else finish the item while the lease is live: console/team/grants.sql); a SQLite
    # cache leaves it empty.
    [
        """ALTER TABLE outbox ADD COLUMN lease_role TEXT""",
    ],
    # 16 (views): a moderator's decisions that two accounts are one person (linked = 1) or are
    # not (linked = 0, outweighing the same username or platform identity), made through the
    # door as the decisions member_link / member_unlink (console.member_links). One row a pair,
    # the lower member id first.
    [
        """CREATE TABLE member_links (
            member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
            other_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
            linked INTEGER NOT NULL CHECK (linked IN (0, 1)),
            decided_by TEXT NOT NULL,
            decided_at TEXT NOT NULL,
            PRIMARY KEY (member_id, other_id),
            CHECK (member_id < other_id)
        )""",
        """CREATE INDEX member_links_other ON member_links (other_id)""",
    ],
    # 17 (dupes): each thread's analysed text for the duplicate scorer (stems, word forms,
    # character 4-grams, details; console/dupes/analysis.py), so scoring a recalled candidate
    # reads one row instead of analysing its text again
    [
        """CREATE TABLE thread_analysis (
            thread_id INTEGER PRIMARY KEY REFERENCES threads(id) ON DELETE CASCADE,
            version INTEGER NOT NULL,
            data BLOB NOT NULL
        )""",
    ],
    # 18 (ingest): full-text indexing as its own resumable step (console/search_index.py). A
    # bulk import commits posts and threads without their full-text rows; each full-text table
    # holds exactly the rows with ids up to `indexed_through`, and the catch-up indexes the
    # rest in batches, each batch one transaction with its new mark. Caches from before are
    # fully indexed.
    [
        """CREATE TABLE search_index_state (
            index_name TEXT PRIMARY KEY,
            indexed_through INTEGER NOT NULL
        )""",
        # (no row: nothing is indexed, as in an empty cache or a new team database)
        """INSERT INTO search_index_state (index_name, indexed_through)
           SELECT 'post_fts', newest FROM (SELECT max(id) AS newest FROM posts) x
           WHERE newest IS NOT NULL""",
        """INSERT INTO search_index_state (index_name, indexed_through)
           SELECT 'thread_fts', newest FROM (SELECT max(id) AS newest FROM threads) x
           WHERE newest IS NOT NULL""",
    ],
    # 19 (team store): two changes of the team database only. `SELECT 'postgresql: NAME'` does
    # nothing on SQLite; console/team/dialect.py renders NAME for PostgreSQL (BY_NAME):
    # - threads_title_trgm: titles alike by trigrams, for duplicate recall (pg_trgm under a
    #   GiST index; SQLite compares titles in the scorer only, on the recalled pool);
    # - fts_words_apart: full-text documents split into words as FTS5's unicode61 splits them
    #   (PostgreSQL's parser kept "spam.example" or "e-4012" whole: "spam" did not find them).
    [
        """SELECT 'postgresql: threads_title_trgm'""",
        """SELECT 'postgresql: fts_words_apart'""",
    ],
    # 20 (dupes): the CRC of the text (title and indexed question) a thread's analysis was made
    # from, so a re-sync that rewrites the thread's index with the same text keeps its analysis
    # (`console.dupes.analysis.forget`); rows from before it have none and are redone when their
    # thread is next re-indexed
    [
        """ALTER TABLE thread_analysis ADD COLUMN text_crc INTEGER""",
    ],
    # 21 (search): prefix indexes for the words typed so far. Search as you type matches the last
    # word as a prefix from its third letter (console.store.PREFIX_FROM); without a prefix index
    # FTS5 merges the posting lists of every word that starts so ("roa": roaming, road, …) before
    # it can give the newest few, 70-180 ms for a common prefix at a million threads ("the":
    # 1.4 s). With indexes of the 3- and 4-letter prefixes those read one list from its newest
    # end. FTS5 sets prefix indexes only when a table is made, so both tables are made again
    # (same columns, rowids and text); the search index's state (migration 18) is unchanged.
    # The team database needs nothing: a tsquery's `:*` prefix uses the GIN index it has.
    [
        f"""{SQLITE_ONLY} CREATE VIRTUAL TABLE thread_fts_prefixed USING fts5 (title, body,
            tokenize = 'unicode61', prefix = '3 4')""",
        f"""{SQLITE_ONLY} INSERT INTO thread_fts_prefixed (rowid, title, body)
            SELECT rowid, title, body FROM thread_fts""",
        f"""{SQLITE_ONLY} DROP TABLE thread_fts""",
        f"""{SQLITE_ONLY} ALTER TABLE thread_fts_prefixed RENAME TO thread_fts""",
        f"""{SQLITE_ONLY} CREATE VIRTUAL TABLE post_fts_prefixed USING fts5 (body,
            tokenize = 'unicode61', prefix = '3 4')""",
        f"""{SQLITE_ONLY} INSERT INTO post_fts_prefixed (rowid, body)
            SELECT rowid, body FROM post_fts""",
        f"""{SQLITE_ONLY} DROP TABLE post_fts""",
        f"""{SQLITE_ONLY} ALTER TABLE post_fts_prefixed RENAME TO post_fts""",
    ],
    # 22 (ingest): the duplicate refresh an import leaves waiting (console/dupes/refresh.py):
    # threads to embed, and (`candidates` = 1) threads whose candidates are to be computed; a
    # resumable catch-up after the import, at a sync or at the console's start works it off,
    # each step removing its rows in the transaction after its work is stored
    [
        """CREATE TABLE dupes_backlog (
            thread_id INTEGER PRIMARY KEY REFERENCES threads(id) ON DELETE CASCADE,
            candidates INTEGER NOT NULL
        )""",
    ],
    # 23 (rewards): a schedule's terms as rows, so the team database can check every accrual
    # against them (peerdesk_ledger_append, console/team/grants.sql): what a version pays per
    # rule, what a point is worth, the caps and the payout thresholds. Written with the
    # schedule when an admin loads it (console/rewards/schedule_store.py, audited), never
    # changed; schedules loaded before are filled in from their TOML by `team-install`,
    # `migrate-to` and loading the same version again (schedule_store.fill_missing_terms).
    [
        """CREATE TABLE reward_schedule_terms (
            version TEXT PRIMARY KEY REFERENCES reward_schedules(version),
            currency TEXT NOT NULL,
            point_value_minor INTEGER NOT NULL CHECK (point_value_minor > 0),
            cap_per_day INTEGER NOT NULL CHECK (cap_per_day > 0),
            cap_per_thread INTEGER NOT NULL CHECK (cap_per_thread > 0),
            threshold_points INTEGER NOT NULL CHECK (threshold_points > 0),
            second_approver_over_minor INTEGER NOT NULL CHECK (second_approver_over_minor >= 0)
        ) WITHOUT ROWID""",
        """CREATE TABLE reward_schedule_points (
            version TEXT NOT NULL REFERENCES reward_schedule_terms(version),
            rule TEXT NOT NULL,
            points INTEGER NOT NULL CHECK (points >= 0),
            PRIMARY KEY (version, rule)
        ) WITHOUT ROWID""",
    ],
    # 24 (team store): answer verification's facts count each author's answers (posts with
    # position > 0, up to a cap: console/verify/facts.py) for hundreds of authors at a time; on
    # the team database an index of (author_id, position) answers that from the index alone
    # (the first `V` at 100,000 threads: that query 613-732 -> 44-53 ms for 1,701 authors).
    # The cache was not measured: unchanged there.
    [
        """SELECT 'postgresql: posts_author_position'""",
    ],
    # 25 (escalations): the Escalations panel a page at a time (console/escalate/pages.py). Open
    # escalations in the order of their SLA clock (the time to acknowledge until acknowledged,
    # then the time to resolve), closed ones newest first, so a page is read from its place in an
    # index however many escalations there are (59,072 at a million threads: the panel sorted
    # them all for its first 500); escalations by when they closed and were raised, so the 30-day
    # trend counts the open ones day by day in an index; and by rule and state, so each rule's
    # dismiss rate is counted in an index rather than the table.
    [
        """CREATE INDEX escalations_open_clock ON escalations
            ((CASE WHEN acknowledged_at IS NULL THEN acknowledge_due ELSE resolve_due END), id)
            WHERE state IN ('new', 'acknowledged', 'sent_to_support', 'waiting_on_customer')""",
        """CREATE INDEX escalations_closed_newest ON escalations (id)
            WHERE state IN ('resolved', 'dismissed')""",
        """CREATE INDEX escalations_closed_raised ON escalations (closed_at, raised_at)""",
        """CREATE INDEX escalations_rule_state ON escalations (rule_id, state)""",
    ],
    # 26 (search): each full-text table gathers up to 16 MB of new entries in memory before it
    # writes them as a segment (FTS5's `hashsize`; 1 MB by default). The search catch-up indexes
    # 50,000 posts a transaction (console/search_index.py): with 1 MB FTS5 wrote dozens of small
    # segments per batch and merged them again, three times over since migration 21's prefix
    # indexes; with 16 MB, post_fts alone takes 1.73 CPU s instead of 2.05 for 100,000 posts of
    # forum length (1.17 instead of 1.52 for the demo's shorter posts), 4-5% smaller; the whole
    # catch-up 5-10% less. A write holds at most that much more memory while it lasts; a sync's
    # few rows never reach it. The team database has no FTS5 tables.
    [
        f"""{SQLITE_ONLY} INSERT INTO post_fts (post_fts, rank) VALUES ('hashsize', 16777216)""",
        f"""{SQLITE_ONLY} INSERT INTO thread_fts (thread_fts, rank)
            VALUES ('hashsize', 16777216)""",
    ],
    # 27 (team store): the team database's full-text documents made again with the characters
    # that draw nothing (zero-width space, joiners, byte-order mark...) as word separators, as
    # FTS5's unicode61 treats them (console.storage.dialect.INVISIBLE_SEPARATORS): PostgreSQL's
    # parser kept "pay\u200bpal" as one word, so neither "pay" nor "pal" found it. Nothing on
    # SQLite; on PostgreSQL it rewrites every row of thread_fts and post_fts once.
    [
        """SELECT 'postgresql: fts_invisible_apart'""",
    ],
    # 28 (rewards): the events the rewards rules pay for, as they are true now, in one view on
    # both engines: a rule, its event's id and key (`post:12`, `vote:7`, `escalation:3`,
    # `thread:9`), the member it pays, the thread and when it happened: the same events as the
    # sources in console/rewards/events.py (tests/rewards/test_reward_events.py keeps them
    # equal). The ledger's writers look an accrual's event up here by (rule, id): the server's
    # `peerdesk_ledger_append` (console/team/grants.sql) and the cache's Appender refuse an
    # accrual for an event that is not there, not of the rule's kind, not that member's, in
    # another thread or at another time, or spelt another way than its own key (which would pay
    # it twice). An accepted answer is found from its post (posts' primary key), so a look-up
    # by id reads a few rows on either engine.
    [
        """CREATE VIEW reward_events AS
            SELECT 'accepted_answer' AS rule, p.id AS event_id, 'post:' || p.id AS event_key,
                   p.author_id AS member_id, t.id AS thread_id, p.created_at AS occurred_at
              FROM posts p JOIN threads t ON t.id = p.thread_id AND t.accepted_post_id = p.id
             WHERE p.hidden = 0 AND p.position > 0 AND p.author_id IS NOT NULL
               AND (t.author_id IS NULL OR t.author_id != p.author_id)
            UNION ALL
            SELECT 'helpful_vote', v.id, 'vote:' || v.id, p.author_id, p.thread_id, v.created_at
              FROM votes v JOIN posts p ON p.id = v.post_id
             WHERE v.value > 0 AND v.retracted_at IS NULL AND p.hidden = 0
               AND p.author_id IS NOT NULL AND p.author_id != v.voter_id
            UNION ALL
            SELECT 'verified_answer', p.id, 'post:' || p.id, p.author_id, p.thread_id,
                   coalesce(v.decided_at, p.created_at)
              FROM verifications v JOIN posts p ON p.id = v.post_id
             WHERE v.state = 'verified' AND p.hidden = 0 AND p.author_id IS NOT NULL
            UNION ALL
            SELECT 'escalation_first_response', e.id, 'escalation:' || e.id, p.author_id,
                   e.thread_id, p.created_at
              FROM escalations e JOIN posts p ON p.id = (
                   SELECT p2.id FROM posts p2 JOIN threads t ON t.id = p2.thread_id
                    WHERE p2.thread_id = e.thread_id AND p2.position > 0
                      AND p2.created_at >= e.raised_at AND p2.hidden = 0
                      AND (t.author_id IS NULL OR p2.author_id != t.author_id)
                    ORDER BY p2.created_at, p2.id LIMIT 1)
             WHERE p.created_at <= e.acknowledge_due AND p.author_id IS NOT NULL
               AND e.state != 'dismissed'
            UNION ALL
            SELECT 'duplicate_flagged', f.thread_id, 'thread:' || f.thread_id, f.member_id,
                   f.thread_id, f.flagged_at
              FROM member_duplicate_flags f JOIN duplicate_links d
                ON d.thread_id = f.thread_id AND d.original_id = f.original_id
             WHERE d.decision IN ('confirmed', 'merged')
               AND f.flagged_at = (SELECT min(f2.flagged_at) FROM member_duplicate_flags f2
                     WHERE f2.thread_id = f.thread_id AND f2.original_id = f.original_id)""",
    ],
    # 29 (rewards): `reward_events` becomes the one definition of what the rules pay for. It
    # gains each event's `detail` as JSON text (a helpful vote's voter, the reply that was an
    # escalation's first response), so the accrual step reads its events from the view alone
    # on both engines (console/rewards/events.py no longer lists them in SQL of its own), and
    # the cache's ledger Appender checks each accrual's event in it as the team database's
    # `peerdesk_ledger_append` does. The events are those of migration 28's view, unchanged.
    # Accepted answers are now read from the threads that have one (an index of them), so both
    # uses read few rows: all of a rule's events (the accrual step; at 100,000 threads the
    # 37,892 accepted answers in 0.19 s, where the posts-first branch read every post: 0.49 s)
    # and one event by its post's id (an append's check).
    [
        """CREATE INDEX threads_accepted ON threads (accepted_post_id)
            WHERE accepted_post_id IS NOT NULL""",
        """DROP VIEW reward_events""",
        """CREATE VIEW reward_events AS
            SELECT 'accepted_answer' AS rule, p.id AS event_id, 'post:' || p.id AS event_key,
                   p.author_id AS member_id, t.id AS thread_id, p.created_at AS occurred_at,
                   '{}' AS detail
              FROM threads t JOIN posts p ON p.id = t.accepted_post_id
             WHERE p.hidden = 0 AND p.position > 0 AND p.author_id IS NOT NULL
               AND (t.author_id IS NULL OR t.author_id != p.author_id)
            UNION ALL
            SELECT 'helpful_vote', v.id, 'vote:' || v.id, p.author_id, p.thread_id, v.created_at,
                   '{"voter_id": ' || v.voter_id || '}'
              FROM votes v JOIN posts p ON p.id = v.post_id
             WHERE v.value > 0 AND v.retracted_at IS NULL AND p.hidden = 0
               AND p.author_id IS NOT NULL AND p.author_id != v.voter_id
            UNION ALL
            SELECT 'verified_answer', p.id, 'post:' || p.id, p.author_id, p.thread_id,
                   coalesce(v.decided_at, p.created_at), '{}'
              FROM verifications v JOIN posts p ON p.id = v.post_id
             WHERE v.state = 'verified' AND p.hidden = 0 AND p.author_id IS NOT NULL
            UNION ALL
            SELECT 'escalation_first_response', e.id, 'escalation:' || e.id, p.author_id,
                   e.thread_id, p.created_at, '{"post_id": ' || p.id || '}'
              FROM escalations e JOIN posts p ON p.id = (
                   SELECT p2.id FROM posts p2 JOIN threads t ON t.id = p2.thread_id
                    WHERE p2.thread_id = e.thread_id AND p2.position > 0
                      AND p2.created_at >= e.raised_at AND p2.hidden = 0
                      AND (t.author_id IS NULL OR p2.author_id != t.author_id)
                    ORDER BY p2.created_at, p2.id LIMIT 1)
             WHERE p.created_at <= e.acknowledge_due AND p.author_id IS NOT NULL
               AND e.state != 'dismissed'
            UNION ALL
            SELECT 'duplicate_flagged', f.thread_id, 'thread:' || f.thread_id, f.member_id,
                   f.thread_id, f.flagged_at, '{}'
              FROM member_duplicate_flags f JOIN duplicate_links d
                ON d.thread_id = f.thread_id AND d.original_id = f.original_id
             WHERE d.decision IN ('confirmed', 'merged')
               AND f.flagged_at = (SELECT min(f2.flagged_at) FROM member_duplicate_flags f2
                     WHERE f2.thread_id = f.thread_id AND f2.original_id = f.original_id)""",
    ],
    # 30 (dupes): what a recalled candidate is scored from, in ONE row per thread
    # (`dupe_features`: the pool columns of `threads`, the thread's vector and its stored
    # analysis), so a candidate search reads one b-tree row per recalled thread instead of three
    # (its `threads` row, `thread_vectors` and `thread_analysis`: at a million threads ~85 of a
    # cold search's ~100 page reads; console/dupes/features.py). On the cache it is a table kept
    # by triggers in the transaction of every write to those three tables (whoever writes them:
    # ingest, sync pages, import, the demo, decisions, --rebuild), filled here from the three.
    # On the team database it is a view of the same join (PostgreSQL reads it as it read the
    # three tables; nothing more is written there).
    [
        f"""{SQLITE_ONLY} CREATE TABLE dupe_features (
            thread_id INTEGER PRIMARY KEY,
            source_id INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            title TEXT NOT NULL,
            status TEXT NOT NULL,
            tags TEXT NOT NULL,
            duplicate_of INTEGER,
            accepted_post_id INTEGER,
            lang TEXT,
            vec BLOB,
            analysis_version INTEGER,
            analysis BLOB
        )""",
        f"""{SQLITE_ONLY} INSERT INTO dupe_features (thread_id, source_id, created_at, title,
            status, tags, duplicate_of, accepted_post_id, lang, vec, analysis_version, analysis)
            SELECT t.id, t.source_id, t.created_at, t.title, t.status, t.tags, t.duplicate_of,
                   t.accepted_post_id, v.lang, v.vec, a.version, a.data
              FROM threads t
              LEFT JOIN thread_vectors v ON v.thread_id = t.id
              LEFT JOIN thread_analysis a ON a.thread_id = t.id
             ORDER BY t.id""",
        f"""{SQLITE_ONLY} CREATE TRIGGER dupe_features_thread_added AFTER INSERT ON threads
            BEGIN
              INSERT INTO dupe_features (thread_id, source_id, created_at, title, status, tags,
                                         duplicate_of, accepted_post_id)
              VALUES (new.id, new.source_id, new.created_at, new.title, new.status, new.tags,
                      new.duplicate_of, new.accepted_post_id)
              ON CONFLICT (thread_id) DO UPDATE SET source_id = excluded.source_id,
                created_at = excluded.created_at, title = excluded.title,
                status = excluded.status, tags = excluded.tags,
                duplicate_of = excluded.duplicate_of, accepted_post_id = excluded.accepted_post_id;
            END""",
        f"""{SQLITE_ONLY} CREATE TRIGGER dupe_features_thread_changed
            AFTER UPDATE OF source_id, created_at, title, status, tags, duplicate_of,
                            accepted_post_id ON threads
            WHEN old.source_id IS NOT new.source_id OR old.created_at IS NOT new.created_at
              OR old.title IS NOT new.title OR old.status IS NOT new.status
              OR old.tags IS NOT new.tags OR old.duplicate_of IS NOT new.duplicate_of
              OR old.accepted_post_id IS NOT new.accepted_post_id
            BEGIN
              UPDATE dupe_features SET source_id = new.source_id, created_at = new.created_at,
                title = new.title, status = new.status, tags = new.tags,
                duplicate_of = new.duplicate_of, accepted_post_id = new.accepted_post_id
              WHERE thread_id = new.id;
            END""",
        f"""{SQLITE_ONLY} CREATE TRIGGER dupe_features_thread_removed AFTER DELETE ON threads
            BEGIN
              DELETE FROM dupe_features WHERE thread_id = old.id;
            END""",
        f"""{SQLITE_ONLY} CREATE TRIGGER dupe_features_vector_added
            AFTER INSERT ON thread_vectors
            BEGIN
              UPDATE dupe_features SET lang = new.lang, vec = new.vec
              WHERE thread_id = new.thread_id;
            END""",
        f"""{SQLITE_ONLY} CREATE TRIGGER dupe_features_vector_changed
            AFTER UPDATE OF thread_id, lang, vec ON thread_vectors
            BEGIN
              UPDATE dupe_features SET lang = NULL, vec = NULL WHERE thread_id = old.thread_id;
              UPDATE dupe_features SET lang = new.lang, vec = new.vec
              WHERE thread_id = new.thread_id;
            END""",
        f"""{SQLITE_ONLY} CREATE TRIGGER dupe_features_vector_removed
            AFTER DELETE ON thread_vectors
            BEGIN
              UPDATE dupe_features SET lang = NULL, vec = NULL WHERE thread_id = old.thread_id;
            END""",
        f"""{SQLITE_ONLY} CREATE TRIGGER dupe_features_analysis_added
            AFTER INSERT ON thread_analysis
            BEGIN
              UPDATE dupe_features SET analysis_version = new.version, analysis = new.data
              WHERE thread_id = new.thread_id;
            END""",
        f"""{SQLITE_ONLY} CREATE TRIGGER dupe_features_analysis_changed
            AFTER UPDATE OF thread_id, version, data ON thread_analysis
            BEGIN
              UPDATE dupe_features SET analysis_version = NULL, analysis = NULL
              WHERE thread_id = old.thread_id;
              UPDATE dupe_features SET analysis_version = new.version, analysis = new.data
              WHERE thread_id = new.thread_id;
            END""",
        f"""{SQLITE_ONLY} CREATE TRIGGER dupe_features_analysis_removed
            AFTER DELETE ON thread_analysis
            BEGIN
              UPDATE dupe_features SET analysis_version = NULL, analysis = NULL
              WHERE thread_id = old.thread_id;
            END""",
        """SELECT 'postgresql: dupe_features_view'""",
    ],
    # 31 (dupes): `dupe_features` only for threads with a vector or a stored analysis. Migration
    # 30's trigger on every new thread cost the JSONL import's writer ~15-30% more CPU (100,000
    # posts, 10,000 threads: 1.4-1.6 -> 2.0-2.1 CPU s); a thread now gets its row when its vector
    # or analysis is first stored (the catch-up after an import, sync pages, --rebuild), and a
    # search reads the few recalled threads without one from `threads`
    # (console/dupes/features.py). Rows of threads with neither are dropped.
    [
        f"""{SQLITE_ONLY} DROP TRIGGER dupe_features_thread_added""",
        f"""{SQLITE_ONLY} DROP TRIGGER dupe_features_vector_added""",
        f"""{SQLITE_ONLY} DROP TRIGGER dupe_features_vector_changed""",
        f"""{SQLITE_ONLY} DROP TRIGGER dupe_features_analysis_added""",
        f"""{SQLITE_ONLY} DROP TRIGGER dupe_features_analysis_changed""",
        f"""{SQLITE_ONLY} CREATE TRIGGER dupe_features_vector_stored
            AFTER INSERT ON thread_vectors
            BEGIN
              INSERT INTO dupe_features (thread_id, source_id, created_at, title, status,
                                         tags, duplicate_of, accepted_post_id, lang, vec)
              SELECT t.id, t.source_id, t.created_at, t.title, t.status, t.tags,
                     t.duplicate_of, t.accepted_post_id, new.lang, new.vec
                FROM threads t WHERE t.id = new.thread_id
              ON CONFLICT (thread_id) DO UPDATE SET lang = excluded.lang, vec = excluded.vec;
            END""",
        f"""{SQLITE_ONLY} CREATE TRIGGER dupe_features_vector_rewritten
            AFTER UPDATE OF thread_id, lang, vec ON thread_vectors
            BEGIN
              UPDATE dupe_features SET lang = NULL, vec = NULL
              WHERE thread_id = old.thread_id;
              INSERT INTO dupe_features (thread_id, source_id, created_at, title, status,
                                         tags, duplicate_of, accepted_post_id, lang, vec)
              SELECT t.id, t.source_id, t.created_at, t.title, t.status, t.tags,
                     t.duplicate_of, t.accepted_post_id, new.lang, new.vec
                FROM threads t WHERE t.id = new.thread_id
              ON CONFLICT (thread_id) DO UPDATE SET lang = excluded.lang, vec = excluded.vec;
            END""",
        f"""{SQLITE_ONLY} CREATE TRIGGER dupe_features_analysis_stored
            AFTER INSERT ON thread_analysis
            BEGIN
              INSERT INTO dupe_features (thread_id, source_id, created_at, title, status,
                                         tags, duplicate_of, accepted_post_id,
                                         analysis_version, analysis)
              SELECT t.id, t.source_id, t.created_at, t.title, t.status, t.tags,
                     t.duplicate_of, t.accepted_post_id, new.version, new.data
                FROM threads t WHERE t.id = new.thread_id
              ON CONFLICT (thread_id) DO UPDATE SET analysis_version = excluded.analysis_version,
                analysis = excluded.analysis;
            END""",
        f"""{SQLITE_ONLY} CREATE TRIGGER dupe_features_analysis_rewritten
            AFTER UPDATE OF thread_id, version, data ON thread_analysis
            BEGIN
              UPDATE dupe_features SET analysis_version = NULL, analysis = NULL
              WHERE thread_id = old.thread_id;
              INSERT INTO dupe_features (thread_id, source_id, created_at, title, status,
                                         tags, duplicate_of, accepted_post_id,
                                         analysis_version, analysis)
              SELECT t.id, t.source_id, t.created_at, t.title, t.status, t.tags,
                     t.duplicate_of, t.accepted_post_id, new.version, new.data
                FROM threads t WHERE t.id = new.thread_id
              ON CONFLICT (thread_id) DO UPDATE SET analysis_version = excluded.analysis_version,
                analysis = excluded.analysis;
            END""",
        f"""{SQLITE_ONLY} DELETE FROM dupe_features
            WHERE vec IS NULL AND analysis_version IS NULL""",
    ],
    # 32 (Queue): the Queue's counts under `all`, `flagged` and `unanswered` kept in one row
    # (console/queue_counts.py): counted once here, then moved by triggers when a thread enters
    # or leaves the Queue or its flags, reports or replies cross zero. Counting them walked every
    # thread (0.5-3 s at a million) on each start and each `f`. The team database has a view of
    # the same name that counts them when read (console/team/dialect.py). Run again on a file
    # whose version was set back, it counts again and keeps what exists.
    [
        f"""{SQLITE_ONLY} CREATE TABLE IF NOT EXISTS queue_counts (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            queued INTEGER NOT NULL,
            flagged INTEGER NOT NULL,
            unanswered INTEGER NOT NULL
        )""",
        f"""{SQLITE_ONLY} INSERT INTO queue_counts (id, queued, flagged, unanswered)
            SELECT 1, coalesce(sum(in_queue = 1), 0),
                   coalesce(sum(in_queue = 1 AND (flag_count > 0 OR report_count > 0)), 0),
                   coalesce(sum(in_queue = 1 AND reply_count = 0), 0)
              FROM threads WHERE 1
            ON CONFLICT (id) DO UPDATE SET queued = excluded.queued,
              flagged = excluded.flagged, unanswered = excluded.unanswered""",
        f"""{SQLITE_ONLY} CREATE TRIGGER IF NOT EXISTS queue_counts_thread_added
            AFTER INSERT ON threads
            WHEN new.in_queue = 1
            BEGIN
              UPDATE queue_counts SET queued = queued + 1,
                flagged = flagged + (new.flag_count > 0 OR new.report_count > 0),
                unanswered = unanswered + (new.reply_count = 0)
              WHERE id = 1;
            END""",
        f"""{SQLITE_ONLY} CREATE TRIGGER IF NOT EXISTS queue_counts_thread_removed
            AFTER DELETE ON threads
            WHEN old.in_queue = 1
            BEGIN
              UPDATE queue_counts SET queued = queued - 1,
                flagged = flagged - (old.flag_count > 0 OR old.report_count > 0),
                unanswered = unanswered - (old.reply_count = 0)
              WHERE id = 1;
            END""",
        f"""{SQLITE_ONLY} CREATE TRIGGER IF NOT EXISTS queue_counts_thread_changed
            AFTER UPDATE OF in_queue, flag_count, report_count, reply_count ON threads
            WHEN (new.in_queue = 1 OR old.in_queue = 1) AND (
                   new.in_queue IS NOT old.in_queue
                OR (new.flag_count > 0 OR new.report_count > 0)
                   IS NOT (old.flag_count > 0 OR old.report_count > 0)
                OR (new.reply_count = 0) IS NOT (old.reply_count = 0))
            BEGIN
              UPDATE queue_counts SET
                queued = queued + (new.in_queue = 1) - (old.in_queue = 1),
                flagged = flagged
                  + (new.in_queue = 1 AND (new.flag_count > 0 OR new.report_count > 0))
                  - (old.in_queue = 1 AND (old.flag_count > 0 OR old.report_count > 0)),
                unanswered = unanswered
                  + (new.in_queue = 1 AND new.reply_count = 0)
                  - (old.in_queue = 1 AND old.reply_count = 0)
              WHERE id = 1;
            END""",
        """SELECT 'postgresql: queue_counts_view'""",
    ],
    # 33 (accrual caps): a member's accruals in one thread, for the per-thread cap that every
    # accrual is priced against (console/rewards/pricing.py; the team database's
    # peerdesk_ledger_append does the same sum). Without it each sum read every accrual of the
    # member: an accrual run was quadratic in a busy member's history (a 100,000-thread demo's
    # accrual run did not finish in 30 minutes; its busiest member has ~400,000 accruals)
    [
        """CREATE INDEX IF NOT EXISTS ledger_accruals_by_thread
            ON ledger (member_id, thread_id, points) WHERE kind = 'accrual'""",
    ],
    # 34 (the audit filters): the Audit panel's person and action filters (console/audit_pages.py)
    # read a page of one person's or one action's entries newest first from these, instead of
    # walking the whole log by its primary key and skipping the rest (about 0.5 s a page at a
    # million entries, with the console's database lock held). Both engines.
    [
        """CREATE INDEX IF NOT EXISTS audit_actor ON audit (actor, id)""",
        """CREATE INDEX IF NOT EXISTS audit_action ON audit (action, id)""",
    ],
    # 35 (typed Queue filters): threads by their created time, for an `age<` filter on the
    # search line (console/store.py, few_created_since): the newest threads are the least
    # urgent, so on the Queue's index its first page and count walked the whole Queue (0.8-1.4 s
    # at a million threads for `age<1d`); from this index they read only the threads since the
    # bound. Both engines.
    [
        """CREATE INDEX IF NOT EXISTS threads_created ON threads (created_at)""",
    ],
    # 36 (the Verification panel's order): the pending answers in the order the panel lists
    # them (re-checks first, then by impact; console/verify/queue.py, pending). From the
    # (state, impact) index SQLite read every pending answer, joined each to its post and
    # thread and sorted them all for a page of 100 (94-266 ms CPU at a million threads, 15,325
    # pending, on the V key's path); from this one it reads the page's 100 in order (~1 ms).
    # Both engines (the expression and the partial WHERE are the same on both).
    [
        """CREATE INDEX IF NOT EXISTS verifications_pending
            ON verifications ((recheck IS NOT NULL) DESC, impact DESC, id)
            WHERE state = 'pending'""",
    ],
    # 37 (the Escalations panel's figures kept, not counted): escalations raised and closed per
    # UTC day (the day of the timestamp's text; an escalation "closed" before it was raised counts
    # as closed the day it was raised, so it is never open, as a direct count says) and per rule
    # and state, moved by triggers on every insert, change of raised_at/closed_at/rule/state
    # (close, reopen) and delete. The 30-day trend is then a sum over a few hundred days and the
    # rules' dismiss rates and the open/closed counts a read of a few dozen rows
    # (console/escalate/panel.py): counted from the escalations they cost ~160 ms and ~40 ms of
    # CPU a visit at a million threads (402,000 escalations). Both engines (the team database's
    # triggers are console/team/dialect.py's). Run again on a file whose version was set back,
    # it counts again and keeps what exists.
    [
        """CREATE TABLE IF NOT EXISTS escalation_days (
            day TEXT PRIMARY KEY,
            raised INTEGER NOT NULL DEFAULT 0,
            closed INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID""",
        """CREATE TABLE IF NOT EXISTS escalation_rule_states (
            rule_id TEXT NOT NULL,
            state TEXT NOT NULL,
            escalations INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (rule_id, state)
        ) WITHOUT ROWID""",
        *ESCALATION_RECOUNT,
        f"""CREATE TRIGGER IF NOT EXISTS escalation_counts_added
            AFTER INSERT ON escalations
            BEGIN {_DAYS_IN} {_STATE_IN} END""",
        f"""CREATE TRIGGER IF NOT EXISTS escalation_counts_removed
            AFTER DELETE ON escalations
            BEGIN {_DAYS_OUT} {_STATE_OUT} END""",
        f"""CREATE TRIGGER IF NOT EXISTS escalation_days_changed
            AFTER UPDATE OF raised_at, closed_at ON escalations
            WHEN old.raised_at IS NOT new.raised_at OR old.closed_at IS NOT new.closed_at
            BEGIN {_DAYS_OUT} {_DAYS_IN} END""",
        f"""CREATE TRIGGER IF NOT EXISTS escalation_states_changed
            AFTER UPDATE OF rule_id, state ON escalations
            WHEN old.rule_id IS NOT new.rule_id OR old.state IS NOT new.state
            BEGIN {_STATE_OUT} {_STATE_IN} END""",
    ],
    # 38 (typed Queue filters): each thread's tags as rows (`thread_tags`, one per tag and
    # thread), for `tag:` typed on the search line (console/store.py, few_tagged). The tags are
    # a JSON list in `threads.tags`; the filter read it thread by thread in the Queue's order
    # until its page was full, so a tag few threads have walked the whole Queue (`tag:nosuch`
    # at a million threads: page 1.5-2.1 s, count 1.3-1.4 s CPU). A row holds a tag exactly as
    # the filter compares it (each text of the list, case and spaces kept: json_each's value),
    # kept by triggers in the transaction of every write of a thread's tags, whoever writes it;
    # filled here from every thread. Keyed by (tag, thread) so a tag's threads are one range
    # and a thread's rows are found from its tags (no second index to write). The team
    # database has the same table, filled and kept by its own triggers (console/team/dialect.py;
    # `migrate-to` copies threads and leaves this table to them). The triggers insert with an
    # upsert's DO NOTHING: an OR IGNORE in a trigger gives way to the writing statement's own
    # conflict clause (ingest's upsert), which would refuse a tag written twice.
    [
        """CREATE TABLE IF NOT EXISTS thread_tags (
            tag TEXT NOT NULL,
            thread_id INTEGER NOT NULL,
            PRIMARY KEY (tag, thread_id)
        ) WITHOUT ROWID""",
        f"""{SQLITE_ONLY} INSERT OR IGNORE INTO thread_tags (tag, thread_id)
            SELECT j.value, t.id FROM threads t, json_each({_listed("t.tags")}) j
             WHERE {_TEXTS} ORDER BY 1, 2""",
        """SELECT 'postgresql: thread_tags_filled'""",
        f"""CREATE TRIGGER IF NOT EXISTS thread_tags_thread_added AFTER INSERT ON threads
            BEGIN
              INSERT INTO thread_tags (tag, thread_id)
              SELECT DISTINCT value, new.id FROM json_each({_listed("new.tags")})
               WHERE {_TEXTS} ON CONFLICT DO NOTHING;
            END""",
        f"""CREATE TRIGGER IF NOT EXISTS thread_tags_thread_retagged
            AFTER UPDATE OF tags ON threads
            WHEN old.tags IS NOT new.tags
            BEGIN
              DELETE FROM thread_tags WHERE thread_id = old.id AND tag IN
                (SELECT value FROM json_each({_listed("old.tags")}) WHERE {_TEXTS});
              INSERT INTO thread_tags (tag, thread_id)
              SELECT DISTINCT value, new.id FROM json_each({_listed("new.tags")})
               WHERE {_TEXTS} ON CONFLICT DO NOTHING;
            END""",
        f"""CREATE TRIGGER IF NOT EXISTS thread_tags_thread_removed AFTER DELETE ON threads
            BEGIN
              DELETE FROM thread_tags WHERE thread_id = old.id AND tag IN
                (SELECT value FROM json_each({_listed("old.tags")}) WHERE {_TEXTS});
            END""",
    ],
    # 39 (payout exports safe in a spreadsheet): the CSV format a batch's first export was
    # written in, kept with its hash (console/rewards/export.py, EXPORT_FORMAT). Format 1 wrote
    # every cell as it was, so a member's username starting with `=` reached the accountant's
    # spreadsheet as a formula; format 2 escapes such text cells. Every export of a batch is the
    # same bytes as its first (checked by hash), so a batch exported before keeps format 1;
    # one not exported yet has none until its first export, which writes the current format.
    # Both engines.
    [
        """ALTER TABLE payout_batches ADD COLUMN export_format INTEGER""",
        """UPDATE payout_batches SET export_format = 1
            WHERE export_sha256 IS NOT NULL AND export_format IS NULL""",
    ],
    # 40 (four-eyes on answer verification by OS account): the OS account a proposal was made
    # under (console/verify/actions.py), so that one account cannot propose under its own name
    # and confirm under an override (`--as`), or the other way round, as payouts' four-eyes
    # refuses (console.identity.same_person). An open proposal from before finds its account in
    # the audit entry that made it: the entry names the OS account beside an overridden name
    # (`os_user` in its detail), else its actor is the account (on the team database, the role
    # that logged in). One with no such entry keeps none, and is not confirmed (the confirm
    # says why). Both engines; the filling statement is each engine's own (JSON).
    [
        """ALTER TABLE verifications ADD COLUMN proposed_os_user TEXT""",
        f"""{SQLITE_ONLY} UPDATE verifications SET proposed_os_user = (
            SELECT coalesce(json_extract(a.detail, '$.os_user'), a.actor) FROM audit a
             WHERE a.target_kind = 'post' AND a.target_id = verifications.post_id
               AND a.action IN ('verify_answer', 'verify_pick', 'verify_reject')
               AND a.actor = verifications.proposed_by
               AND json_extract(CASE WHEN json_valid(a.detail) THEN a.detail ELSE '{{}}' END,
                                '$.after.proposed_state') IS NOT NULL
             ORDER BY a.id DESC LIMIT 1)
            WHERE proposed_state IS NOT NULL AND proposed_os_user IS NULL""",
        """SELECT 'postgresql: verification_proposers_found'""",
    ],
    # 41 (dupes): each thread's multilingual-e5-small vector (console/dupes/e5_vectors.py), the
    # third signal of a candidate pool's ranking beside the lexical score and MiniLM's cosine.
    # Read by thread id for a pool only (recall stays MiniLM's graph), so no other index; the
    # text's CRC keeps an unchanged thread from being embedded twice. Filled by whoever embeds
    # a thread's MiniLM vector, and for older threads by the catch-up.
    [
        """CREATE TABLE IF NOT EXISTS thread_vectors_e5 (
            thread_id INTEGER PRIMARY KEY REFERENCES threads(id) ON DELETE CASCADE,
            text_crc INTEGER NOT NULL,
            vec BLOB NOT NULL
        )""",
    ],
    # 42 (sync): where the platform stood just before an item was sent (`sent_mark`, JSON; for a
    # Discourse reply the highest post id then, `{"after_post": N}`), written by the claim that
    # marks the item sent and never moved by a later one: a retry after a killed push looks for
    # its earlier reply among the posts after the mark only, however many came since
    # (sync/discourse.py). Items sent before have none and are looked for the older way.
    [
        """ALTER TABLE outbox ADD COLUMN sent_mark TEXT""",
    ],
]

LATEST_VERSION = len(MIGRATIONS)
