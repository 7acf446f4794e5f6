"""Grants and the news items published under them.

The database holds the grants in force: the channels file's entries are
applied by ``sync_grants`` when they are new or their entry changed, and an
admin may edit a grant on the web in between (that edit lasts until the
file's entry changes). A news item belongs to any number of grants.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from visibility.errors import NotFoundError, UserError
from visibility.grants.model import Grant, rules_from_json, rules_to_json
from visibility.queue.core import StoreCore, known_id
from visibility.queue.models import FundingGrant, NewsGrant, NewsItem
from visibility.queue.types import utcnow


def _grant(row: FundingGrant) -> Grant:
    return Grant(
        name=row.name,
        donor=row.donor,
        donor_name=row.donor_name,
        title=row.title,
        contract=row.contract,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        emblem_sha256=row.emblem_sha256,
        source="web" if row.source == "web" else "file",
        **rules_from_json(row.rules_json),
    )


def _fill(row: FundingGrant, grant: Grant) -> None:
    row.donor = grant.donor
    row.donor_name = grant.donor_name
    row.title = grant.title
    row.contract = grant.contract
    row.starts_on = grant.starts_on
    row.ends_on = grant.ends_on
    row.emblem_sha256 = grant.emblem_sha256
    row.rules_json = rules_to_json(grant)
    row.updated_at = utcnow()


def grant_ids(session: Session, names: Sequence[str]) -> dict[str, int]:
    """Grant ids by name; ``NotFoundError`` naming the first unknown one."""
    rows = session.exec(
        select(FundingGrant.name, FundingGrant.id).where(col(FundingGrant.name).in_(names))
    ).all()
    found = {name: gid for name, gid in rows if gid is not None}
    unknown = [n for n in names if n not in found]
    if unknown:
        known = sorted(session.exec(select(FundingGrant.name)).all())
        raise NotFoundError(
            f"no grant named {unknown[0]!r}; use one of {', '.join(known) or 'none yet'}"
        )
    return found


def under_grants(
    session: Session, news_id: int, names: Sequence[str], *, by: str | None
) -> list[str]:
    """Put a news item under grants within ``session``; the names newly added."""
    ids = grant_ids(session, names)
    have = set(
        session.exec(select(NewsGrant.grant_id).where(col(NewsGrant.news_item_id) == news_id)).all()
    )
    added = []
    for name in dict.fromkeys(names):
        if ids[name] in have:
            continue
        try:
            with session.begin_nested():
                session.add(NewsGrant(news_item_id=news_id, grant_id=ids[name], added_by=by))
        except IntegrityError:
            continue  # the same, added by someone else a moment ago
        added.append(name)
    return added


class GrantQueries(StoreCore):
    """Grants, and which news items are published under which."""

    def sync_grants(self, declared: Sequence[tuple[Grant, str]]) -> None:
        """Apply the channels file's grants: ``(grant, entry hash)`` pairs.

        A grant is written when it is new or its entry's hash changed; grants
        no longer in the file are kept (their posts' history needs them).
        """
        with self._session() as session:
            rows = {r.name: r for r in session.exec(select(FundingGrant))}
            for grant, digest in declared:
                row = rows.get(grant.name)
                if row is not None and row.file_hash == digest:
                    continue
                if row is None:
                    row = FundingGrant(
                        name=grant.name,
                        donor=grant.donor,
                        donor_name=grant.donor_name,
                        title=grant.title,
                        starts_on=grant.starts_on,
                        ends_on=grant.ends_on,
                    )
                _fill(row, grant)
                row.file_hash = digest
                row.source = "file"
                row.updated_by = None
                try:
                    with session.begin_nested():
                        session.add(row)
                except IntegrityError:
                    continue  # another process applied the same file a moment ago

    def grants(self) -> list[Grant]:
        with self._session() as session:
            rows = session.exec(select(FundingGrant).order_by(col(FundingGrant.starts_on)))
            return [_grant(r) for r in rows]

    def grant(self, name: str) -> Grant:
        with self._session() as session:
            row = session.exec(select(FundingGrant).where(col(FundingGrant.name) == name)).first()
            if row is None:
                known = sorted(session.exec(select(FundingGrant.name)).all())
                raise NotFoundError(
                    f"no grant named {name!r}; use one of {', '.join(known) or 'none yet'} "
                    "(declare grants in the channels file, [[grants]])"
                )
            return _grant(row)

    def save_grant(self, grant: Grant, *, by: str, create: bool = False) -> Grant:
        """An admin's edit (or a new grant made on the web)."""
        with self._session() as session:
            row = session.exec(
                select(FundingGrant).where(col(FundingGrant.name) == grant.name)
            ).first()
            if row is None and not create:
                raise NotFoundError(f"no grant named {grant.name!r}")
            if row is not None and create:
                raise UserError(f"a grant named {grant.name!r} exists already: choose another name")
            if row is None:
                row = FundingGrant(
                    name=grant.name,
                    donor=grant.donor,
                    donor_name=grant.donor_name,
                    title=grant.title,
                    starts_on=grant.starts_on,
                    ends_on=grant.ends_on,
                    source="web",
                )
            _fill(row, grant)
            row.updated_by = by
            session.add(row)
            session.flush()
            return _grant(row)

    # -- news items under grants -----------------------------------------

    def add_news_grants(self, news_id: int, names: Sequence[str], *, by: str | None) -> list[str]:
        """Put a news item under grants; returns the names newly added."""
        known_id(news_id, "news item")
        with self._session() as session:
            if session.get(NewsItem, news_id) is None:
                raise NotFoundError(f"no news item {news_id}; `visibility news list` shows the ids")
            return under_grants(session, news_id, names, by=by)

    def remove_news_grant(self, news_id: int, name: str) -> bool:
        known_id(news_id, "news item")
        with self._session() as session:
            gid = grant_ids(session, [name])[name]
            result = session.execute(
                delete(NewsGrant)
                .where(col(NewsGrant.news_item_id) == news_id)
                .where(col(NewsGrant.grant_id) == gid)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def news_grant_names(self, news_ids: Sequence[int]) -> dict[int, list[str]]:
        """Each item's grants, by name, in the order they start."""
        if not news_ids:
            return {}
        with self._session() as session:
            rows = session.exec(
                select(NewsGrant.news_item_id, FundingGrant.name)
                .join(FundingGrant, col(FundingGrant.id) == col(NewsGrant.grant_id))
                .where(col(NewsGrant.news_item_id).in_(list(news_ids)))
                .order_by(col(FundingGrant.starts_on), col(FundingGrant.name))
            ).all()
        result: dict[int, list[str]] = {}
        for news_id, name in rows:
            result.setdefault(news_id, []).append(name)
        return result

    def grant_news_ids(self, name: str) -> list[int]:
        with self._session() as session:
            gid = grant_ids(session, [name])[name]
            return sorted(
                session.exec(
                    select(NewsGrant.news_item_id).where(col(NewsGrant.grant_id) == gid)
                ).all()
            )
