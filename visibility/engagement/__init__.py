"""Engagement: published posts' figures read at set ages, kept as a time series."""

from __future__ import annotations
