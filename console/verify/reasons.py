"""Why a moderator may reject an answer, in a module of their own: `peerdesk verify` lists the
reasons in its help, and every `peerdesk` process builds that parser; console.verify.actions would
bring the verification signals and the duplicate scorer with it (~50 ms of CPU at each start).
"""

from __future__ import annotations

REJECT_REASONS: dict[str, str] = {
    "wrong": "wrong or outdated information",
    "unsafe": "unsafe or harmful advice",
    "no_answer": "does not answer the question",
    "copied": "copied from another answer or source",
    "incomplete": "incomplete: a needed step is missing",
    "spam": "spam or self-promotion",
}
