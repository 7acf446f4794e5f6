"""Text utilities: X's weighted tweet length and shortening text to fit a budget."""

from __future__ import annotations
