"""All SQL for users, API tokens and the audit log."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from visibility.accounts.passwords import (
    dummy_hash,
    hash_password,
    needs_rehash,
    verify_password,
)
from visibility.accounts.roles import Role
from visibility.errors import ConflictError, NotFoundError, UserError
from visibility.i18n import DEFAULT_LANGUAGE, translate
from visibility.queue.models import ApiToken, AuditEntry, User
from visibility.queue.types import utcnow

TOKEN_PREFIX = "vis_"  # noqa: S105  (a prefix, not a secret)


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, or a user's API token (with its own role)."""

    username: str
    display_name: str
    role: Role
    token: str | None = None  # the token's name when acting through one
    # For a signed-in user: the user's session version when this was read, which
    # a session must carry to stay valid (0 for token actors, who have none).
    session_version: int = 0
    language: str | None = None  # the pages' language the person chose

    @property
    def label(self) -> str:
        return f"{self.username} (token {self.token})" if self.token else self.username


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    display_name: str
    role: Role
    active: bool
    created_at: datetime
    last_login_at: datetime | None
    email: str | None = None  # where review notices go; None: none are sent


@dataclass(frozen=True)
class Contact:
    """Where to tell a person something by e-mail, in their language."""

    username: str
    email: str
    language: str


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def clean_email(value: str | None) -> str | None:
    """An e-mail address as given (trimmed), None for none, or a ``UserError``."""
    if value is None or not value.strip():
        return None
    address = value.strip()
    if len(address) > 320 or not _EMAIL.match(address):
        raise UserError("that is not an e-mail address: write it as name@example.org")
    return address


@dataclass(frozen=True)
class AuditView:
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    detail: str | None


def _user_view(row: User) -> UserView:
    assert row.id is not None
    return UserView(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=Role(row.role),
        active=row.active,
        created_at=row.created_at,
        last_login_at=row.last_login_at,
        email=row.email,
    )


def _no_such_user() -> NotFoundError:
    # The name is not repeated: it is the asker's input.
    return NotFoundError(
        translate(
            DEFAULT_LANGUAGE,
            "There is no user with this name: check the spelling (`visibility users list` "
            "and the admin page list them all).",
        )
    )


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AccountStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    # -- users ----------------------------------------------------------------

    def add_user(
        self,
        username: str,
        *,
        password: str,
        role: Role,
        display_name: str | None = None,
        email: str | None = None,
    ) -> UserView:
        username = username.strip().lower()
        address = clean_email(email)
        if (
            not username
            or not username.replace(".", "").replace("-", "").replace("_", "").isalnum()
        ):
            raise UserError(
                translate(
                    DEFAULT_LANGUAGE,
                    "A user name may hold only letters, digits, '.', '-' and '_': choose another.",
                )
            )
        try:
            hashed = hash_password(password)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        row = User(
            username=username,
            display_name=(display_name or username).strip(),
            password_hash=hashed,
            role=role.value,
            email=address,
        )
        try:
            with self._session() as session:
                session.add(row)
        except IntegrityError:
            raise UserError(
                translate(
                    DEFAULT_LANGUAGE, "A user with this name exists already: choose another name."
                )
            ) from None
        return _user_view(row)

    def users(self) -> list[UserView]:
        with self._session() as session:
            return [_user_view(u) for u in session.exec(select(User).order_by(col(User.username)))]

    def count_users(self) -> int:
        return len(self.users())

    def get_user(self, username: str) -> UserView:
        with self._session() as session:
            row = session.exec(
                select(User).where(col(User.username) == username.strip().lower())
            ).one_or_none()
            if row is None:
                raise _no_such_user()
            return _user_view(row)

    def set_role(self, username: str, role: Role) -> UserView:
        """Change the role; a real change signs the user out everywhere."""
        with self._session() as session:
            row = session.exec(select(User).where(col(User.username) == username)).one_or_none()
            if row is None:
                raise _no_such_user()
            if row.role != role.value:
                # A session opened under the old role must not outlive the decision.
                row.role = role.value
                row.session_version += 1
        return self.get_user(username)

    def set_email(self, username: str, email: str | None) -> UserView:
        """Set (or with None, remove) where a person's review notices go."""
        address = clean_email(email)
        with self._session() as session:
            done = session.execute(
                update(User).where(col(User.username) == username).values(email=address)
            )
            if done.rowcount == 0:  # type: ignore[attr-defined]
                raise _no_such_user()
        return self.get_user(username)

    def contacts(
        self, *, usernames: Sequence[str] = (), roles: Sequence[Role] = ()
    ) -> list[Contact]:
        """Active people with an e-mail address: these ``usernames``, or everyone of ``roles``."""
        stmt = (
            select(User)
            .where(col(User.active).is_(True))
            .where(col(User.email).is_not(None))
            .order_by(col(User.username))
        )
        if usernames:
            stmt = stmt.where(col(User.username).in_(list(usernames)))
        if roles:
            stmt = stmt.where(col(User.role).in_([r.value for r in roles]))
        with self._session() as session:
            return [
                Contact(u.username, u.email or "", u.language or DEFAULT_LANGUAGE)
                for u in session.exec(stmt)
            ]

    def set_active(self, username: str, active: bool) -> UserView:
        """Activate or deactivate; deactivating signs the user out everywhere."""
        with self._session() as session:
            row = session.exec(select(User).where(col(User.username) == username)).one_or_none()
            if row is None:
                raise _no_such_user()
            if row.active and not active:
                row.session_version += 1
            row.active = active
        return self.get_user(username)

    def end_sessions(self, username: str) -> None:
        """Sign the user out everywhere: every session made before now stops working."""
        with self._session() as session:
            done = session.execute(
                update(User)
                .where(col(User.username) == username)
                .values(session_version=col(User.session_version) + 1)
            )
            if done.rowcount == 0:  # type: ignore[attr-defined]
                raise _no_such_user()

    def set_password(self, username: str, password: str) -> None:
        try:
            hashed = hash_password(password)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        with self._session() as session:
            # Whoever knew the old password may hold a session: end them all.
            done = session.execute(
                update(User)
                .where(col(User.username) == username)
                .values(password_hash=hashed, session_version=col(User.session_version) + 1)
            )
            if done.rowcount == 0:  # type: ignore[attr-defined]
                raise _no_such_user()

    def authenticate(self, username: str, password: str) -> Actor | None:
        """The user, when the password is right and the account active; else None."""
        with self._session() as session:
            row = session.exec(
                select(User).where(col(User.username) == username.strip().lower())
            ).one_or_none()
            if row is None:
                verify_password(dummy_hash(), password)  # same time as a wrong password
                return None
            if not verify_password(row.password_hash, password) or not row.active:
                return None
            row.last_login_at = utcnow()
            if needs_rehash(row.password_hash):
                row.password_hash = hash_password(password)
            return Actor(
                row.username,
                row.display_name,
                Role(row.role),
                session_version=row.session_version,
                language=row.language,
            )

    def actor(self, username: str, session_version: int) -> Actor | None:
        """The user of a session made at ``session_version``, as they are now.

        None when the user is gone or deactivated, or when the session was
        ended since (signed out, password or role changed): the version moved on.
        """
        with self._session() as session:
            row = session.exec(select(User).where(col(User.username) == username)).one_or_none()
            if row is None or not row.active or row.session_version != session_version:
                return None
            return Actor(
                row.username,
                row.display_name,
                Role(row.role),
                session_version=row.session_version,
                language=row.language,
            )

    # -- API tokens -------------------------------------------------------------

    def create_token(self, username: str, *, name: str, role: Role) -> str:
        """A new token for ``username``; returned once, stored only as a hash."""
        user = self.get_user(username)
        if not user.role.allows(role):
            raise UserError(
                translate(
                    DEFAULT_LANGUAGE,
                    "A token cannot have more rights than its user: {user} is {role}.",
                    user=user.username,
                    role=user.role.value,
                )
            )
        name = name.strip()
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        duplicate = ConflictError(
            translate(
                DEFAULT_LANGUAGE,
                "{user} already has an active token with this name: revoke the old one "
                "first, or choose another name.",
                user=user.username,
            )
        )
        try:
            with self._session() as session:
                # Checked here for a clear message; the partial unique index
                # still refuses two requests that race past this check.
                if self._active_token(session, user.id, name) is not None:
                    raise duplicate
                session.add(
                    ApiToken(
                        user_id=user.id,
                        name=name,
                        token_hash=token_hash(token),
                        role=role.value,
                    )
                )
        except IntegrityError:
            raise duplicate from None
        return token

    @staticmethod
    def _active_token(session: Session, user_id: int, name: str) -> ApiToken | None:
        return session.exec(
            select(ApiToken)
            .where(col(ApiToken.user_id) == user_id)
            .where(col(ApiToken.name) == name)
            .where(col(ApiToken.revoked_at).is_(None))
        ).one_or_none()

    def token_actor(self, token: str) -> Actor | None:
        with self._session() as session:
            row = session.exec(
                select(ApiToken, User)
                .join(User, col(User.id) == col(ApiToken.user_id))
                .where(col(ApiToken.token_hash) == token_hash(token))
            ).one_or_none()
            if row is None:
                return None
            api_token, user = row
            if api_token.revoked_at is not None or not user.active:
                return None
            api_token.last_used_at = utcnow()
            # The narrower of the token's role and its user's current role.
            role = min(Role(api_token.role), Role(user.role), key=lambda r: r.rank)
            return Actor(user.username, user.display_name, role, token=api_token.name)

    def set_language(self, username: str, language: str) -> None:
        """Remember the pages' language a person chose, for their next sign-in."""
        with self._session() as session:
            session.execute(
                update(User).where(col(User.username) == username).values(language=language)
            )

    def revoke_token(self, username: str, name: str) -> None:
        user = self.get_user(username)
        with self._session() as session:
            done = session.execute(
                update(ApiToken)
                .where(col(ApiToken.user_id) == user.id)
                .where(col(ApiToken.name) == name)
                .where(col(ApiToken.revoked_at).is_(None))
                .values(revoked_at=utcnow())
            )
            if done.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFoundError(
                    translate(
                        DEFAULT_LANGUAGE,
                        "{user} has no active token with this name: check the name (a revoked "
                        "token stays revoked).",
                        user=user.username,
                    )
                )

    # -- audit log ------------------------------------------------------------

    def audit(
        self, actor: str, action: str, target: str | None = None, detail: str | None = None
    ) -> None:
        with self._session() as session:
            session.add(AuditEntry(actor=actor, action=action, target=target, detail=detail))

    def audit_log(self, *, limit: int = 200) -> list[AuditView]:
        with self._session() as session:
            rows = session.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit))
            return [
                AuditView(
                    id=r.id or 0,
                    at=r.at,
                    actor=r.actor,
                    action=r.action,
                    target=r.target,
                    detail=r.detail,
                )
                for r in rows
            ]
