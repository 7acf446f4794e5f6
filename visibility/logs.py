"""Logging: one JSON object per line for containers, readable lines on a terminal.

Every record carries the post, channel and attempt it concerns when there is
one. A filter on the handler blanks every configured secret (channel tokens
and passwords, the session key, the database password) wherever it appears:
in the message, its arguments, or an exception's text. Adapters already keep
secrets out of their messages; this is the net under them.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Literal, TextIO

_CONTEXT = ("post_id", "channel", "attempt")
MASK = "***"


class ContextFormatter(logging.Formatter):
    """Appends ``post=… channel=… attempt=…`` when a record carries them."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        context = [
            f"{key.removesuffix('_id')}={getattr(record, key)}"
            for key in _CONTEXT
            if getattr(record, key, None) is not None
        ]
        return f"{text} [{' '.join(context)}]" if context else text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _CONTEXT:
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class RedactSecrets(logging.Filter):
    """Replace every known secret value in a record with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret that contains another is blanked whole.
        known = set(self.secrets) | {s for s in secrets if s and len(s) >= 4}
        self.secrets = sorted(known, key=len, reverse=True)

    def _clean(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            # Render the traceback now, cleaned, so no formatter prints the raw one.
            text = "".join(traceback.format_exception(*record.exc_info))
            record.exc_text = self._clean(text).rstrip("\n")
            record.exc_info = None
            message = f"{message}\n{record.exc_text}"
            record.exc_text = None
        record.msg = self._clean(message)
        record.args = None
        return True


_REDACTOR = RedactSecrets()


def redactor() -> RedactSecrets:
    """The process-wide secret filter (add secrets to it as they are loaded)."""
    return _REDACTOR


def setup_logging(
    level: str = "INFO",
    *,
    fmt: Literal["auto", "json", "text"] = "auto",
    stream: TextIO | None = None,
    secrets: Iterable[str] = (),
) -> None:
    stream = stream or sys.stderr
    if fmt == "auto":
        fmt = "text" if stream.isatty() else "json"
    handler = logging.StreamHandler(stream)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            ContextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")
        )
    _REDACTOR.add(secrets)
    handler.addFilter(_REDACTOR)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # APScheduler logs every job run at INFO; that is noise for staff.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
