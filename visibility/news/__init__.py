"""News items in: parsing text, Markdown and HTML press releases."""

from __future__ import annotations
