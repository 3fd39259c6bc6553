"""Escalation severities, lowest first (the Queue shows them without loading the rules)."""

from __future__ import annotations

SEVERITIES = ("low", "medium", "high", "critical")
