"""People and machines that act on the queue: users, roles, API tokens, the audit log."""

from __future__ import annotations
