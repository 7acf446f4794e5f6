"""Visibility posts derived per channel from editable templates."""

from __future__ import annotations
