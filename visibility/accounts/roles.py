"""Roles, each including the rights of the ones below it."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    EDITOR = "editor"  # add news items, edit drafts
    APPROVER = "approver"  # approve, schedule, cancel, retry
    ADMIN = "admin"  # channels, users, tokens

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


_RANKS = {Role.EDITOR: 1, Role.APPROVER: 2, Role.ADMIN: 3}


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise ValueError(f"unknown role {value!r}: use editor, approver or admin") from None
