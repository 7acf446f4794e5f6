"""Visibility reports for donors: what was published where, and what it reached."""

from __future__ import annotations
