"""The scheduler service: publishing passes driven by APScheduler."""

from __future__ import annotations
