"""The team store: peerdesk on a shared PostgreSQL (issue #15).

What works today against PostgreSQL: the schema (built from the same migrations as the SQLite
cache, `dialect`), the roles and grants that make the audit log and the ledger append-only, the
payout tables the payout roles' alone, claims and outbox items their login role's (row-level
security) and four-eyes a server rule (`grants.sql`); notifications of claims and decisions
(`notify.sql`, `notify`); `migrate-to` (copy a SQLite cache into an empty team database,
`copy`); `team push` (a laptop's offline decisions, with conflicts, `push`); `audit verify` /
`audit head` against the server's copy (`audit`); and the claim and outbox-sending primitives
for concurrent moderators (`work`). Every other command refuses a postgresql:// database with
one line (`location`).
"""
