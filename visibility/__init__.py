"""visibility: turn news items into website articles, Facebook posts and tweets, on schedule."""

from __future__ import annotations

__version__ = "0.1.0"
