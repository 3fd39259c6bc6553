"""Escalation: rules that raise escalations from synced and imported posts, SLA clocks, the
escalation decisions and the hand-off to a ticket system. Plain Python: no Textual here."""
