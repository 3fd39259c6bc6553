"""The team store: peerdesk on a shared PostgreSQL (issue #15), a foundation.

What works today against PostgreSQL: the schema (built from the same migrations as the SQLite
cache, `dialect`), the roles and grants that make the audit log and the ledger append-only and
the payout tables the payout roles' alone (`grants.sql`), `migrate-to` (copy a SQLite cache into
an empty team database, `copy`), `audit verify` / `audit head` against the server's copy
(`audit`), and the claim and outbox-sending primitives for concurrent moderators (`work`).
Every other command refuses a postgresql:// database with one line (`location`).
"""
