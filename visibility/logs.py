"""Logging set-up: readable lines with the post, channel and attempt they concern."""

from __future__ import annotations

import logging
import sys

_CONTEXT = ("post_id", "channel", "attempt")


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


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        ContextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # APScheduler logs every job run at INFO; that is noise for staff.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
