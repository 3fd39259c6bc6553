"""Where library logging goes: a rotated file, never the terminal or the console screen.

The retry library (stamina) logs every scheduled retry and httpx every request through Python's
`logging`; with no handler configured, Python prints warnings on stderr, in the middle of
`peerdesk sync -q` or of the console's screen. `setup()` (called once by the `peerdesk` command)
sends them to `peerdesk.log` in the platform's user log dir (Linux:
`~/.local/state/peerdesk/log/peerdesk.log`; `PEERDESK_LOG` overrides the path), rotated at
1 MB with three old files kept. Every credential an HTTP source uses is registered here and
replaced by `***` before a line is written. What the user must know (a failed sync, wrong
credentials) is still said on the terminal as one line by the command itself.
"""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import threading
from collections.abc import Iterable
from pathlib import Path

import platformdirs

LOG_ENV = "PEERDESK_LOG"
MAX_BYTES = 1_000_000
BACKUPS = 3
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
}
_secrets: set[str] = set()
_lock = threading.Lock()
_handler: logging.Handler | None = None


class _PrivateLog(logging.handlers.RotatingFileHandler):
    """The log file, readable by its owner only (its lines name threads, members and what
    moderators did): created 0600 whatever the umask, and an older one made 0600 when opened;
    a rotated file keeps the mode of the file it was."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            if os.fstat(fd).st_uid == os.getuid():
                os.fchmod(fd, 0o600)
            return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)
        except BaseException:
            os.close(fd)
            raise


def log_path() -> Path:
    override = os.environ.get(LOG_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_log_dir("peerdesk")) / "peerdesk.log"


def register_secrets(values: Iterable[str]) -> None:
    """Credentials that must never reach the log file (short values are not worth masking)."""
    with _lock:
        _secrets.update(v for v in values if v and len(v) >= 4)


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


class _Formatter(logging.Formatter):
    """One line per record: time, level, logger, message and any extra fields, redacted."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        if extras:
            line += " " + " ".join(f"{k}={v!r}" for k, v in sorted(extras.items()))
        return redact(line.replace("\n", "\\n"))


def setup(level: int = logging.INFO) -> Path | None:
    """Route all logging to the log file (idempotent). Returns the file, or None when it cannot
    be written (then library logging is dropped: it must never break a command)."""
    global _handler
    root = logging.getLogger()
    with _lock:
        if _handler is not None:
            return log_path() if not isinstance(_handler, logging.NullHandler) else None
        path: Path | None = log_path()
        handler: logging.Handler
        try:
            assert path is not None
            path.parent.mkdir(parents=True, exist_ok=True)
            handler = _PrivateLog(
                path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
            )
        except OSError:
            handler, path = logging.NullHandler(), None
        handler.setFormatter(_Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        # With a handler on the root logger, Python's last-resort stderr printer is never used.
        root.addHandler(handler)
        root.setLevel(level)
        logging.raiseExceptions = False  # a full disk must not print logging tracebacks
        _handler = handler
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    return path
