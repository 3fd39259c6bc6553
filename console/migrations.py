"""Versioned schema of the cache. `PRAGMA user_version` is the version a file is at.

Each migration is a list of SQL statements run in one transaction; a file at version N gets
every migration after N, in order. Never edit a migration that has shipped: add a new one.
"""

from __future__ import annotations

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
    # 5 (sync): an outbox item is sent under a lease held by one process; `base` is the remote
    # version the decision was made against (a change since becomes a conflict for a human)
    [
        """ALTER TABLE outbox ADD COLUMN lease_owner TEXT""",
        """ALTER TABLE outbox ADD COLUMN lease_until TEXT""",
        """ALTER TABLE outbox ADD COLUMN base TEXT""",
    ],
]

LATEST_VERSION = len(MIGRATIONS)
