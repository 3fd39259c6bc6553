"""The results of what the user did, in one place: the newest is shown in the status line, the
last LOG_SIZE are kept for a log screen. Toasts are left for what needs attention.

Plain Python (no Textual): the app owns one MessageLog and tells the screens when it changes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Severity = Literal["information", "warning", "error"]
LOG_SIZE = 200


@dataclass(frozen=True)
class LogEntry:
    at: datetime
    text: str
    severity: Severity = "information"

    @property
    def needs_attention(self) -> bool:
        return self.severity != "information"


class MessageLog:
    def __init__(self, size: int = LOG_SIZE) -> None:
        self._entries: deque[LogEntry] = deque(maxlen=size)

    def add(self, at: datetime, text: str, severity: Severity = "information") -> LogEntry:
        entry = LogEntry(at, text, severity)
        self._entries.append(entry)
        return entry

    @property
    def latest(self) -> LogEntry | None:
        return self._entries[-1] if self._entries else None

    def newest_first(self) -> list[LogEntry]:
        return list(reversed(self._entries))

    def __len__(self) -> int:
        return len(self._entries)
