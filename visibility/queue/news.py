"""News items and the drafts derived from them.

A news item is stored once: the same content (fingerprint), feed entry id or
canonical URL finds the stored item instead of a new one, also when two
processes add it at the same moment. Drafts are added with their item, in one
transaction, one per channel account; a social draft that carries the
article's link is tied to the item's first website post.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from visibility.errors import NotFoundError
from visibility.news.model import ParsedNews
from visibility.queue.core import known_id
from visibility.queue.grants import under_grants
from visibility.queue.images import ImageQueries
from visibility.queue.models import ChannelAccount, NewsItem, Post
from visibility.queue.views import Draft, NewImage, NewsView, PostView, news_view


class NewsQueries(ImageQueries):
    """Adding news items with their drafts, and reading them back."""

    @staticmethod
    def _same_item(news: ParsedNews, feed_guid: str | None) -> Any:
        same = [col(NewsItem.fingerprint) == news.fingerprint]
        if feed_guid is not None:
            same.append(col(NewsItem.feed_guid) == feed_guid)
        if news.canonical_url:
            same.append(col(NewsItem.canonical_url) == news.canonical_url)
        return or_(*same)

    def find_same(self, news: ParsedNews, *, feed_guid: str | None = None) -> NewsView | None:
        """The stored item with this content, feed id or canonical URL, if any."""
        with self._session() as session:
            row = session.exec(
                select(NewsItem).where(self._same_item(news, feed_guid)).order_by(col(NewsItem.id))
            ).first()
            return None if row is None else news_view(row)

    def add_news(
        self,
        news: ParsedNews,
        *,
        source: str,
        drafts: Sequence[Draft] = (),
        feed_guid: str | None = None,
        images: Sequence[NewImage] = (),
        grants: Sequence[str] = (),
        by: str | None = None,
    ) -> tuple[NewsView, bool, list[PostView]]:
        """Store a news item and its drafts in one transaction.

        An item is the same as a stored one when its content (fingerprint),
        its feed entry id or its canonical URL match. Returns the item, whether
        it is new, and its posts. Re-adding an item only adds drafts for
        channels that have none yet.
        """
        same = self._same_item(news, feed_guid)
        with self._session() as session:
            row = session.exec(select(NewsItem).where(same).order_by(col(NewsItem.id))).first()
            created = row is None
            if row is None:
                row = NewsItem(
                    fingerprint=news.fingerprint,
                    title=news.title,
                    social_title=news.social_title,
                    lead=news.lead,
                    paragraphs_json=json.dumps(list(news.paragraphs), ensure_ascii=False),
                    body_html=news.body_html,
                    language=news.language,
                    source_format=news.source_format,
                    source=source,
                    dateline_date=news.dateline_date,
                    dateline_place=news.dateline_place,
                    contact_email=news.contact_email,
                    canonical_url=news.canonical_url,
                    feed_guid=feed_guid,
                )
                try:
                    with session.begin_nested():
                        session.add(row)
                except IntegrityError:
                    # Another process stored the same item a moment ago.
                    created = False
                    row = session.exec(
                        select(NewsItem).where(same).order_by(col(NewsItem.id))
                    ).first()
                    assert row is not None
            assert row.id is not None
            view = news_view(row)
            if grants:
                under_grants(session, row.id, grants, by=by)
            # Pictures first: the new drafts choose among them.
            self._add_images(session, row.id, images)
            post_ids = self._add_drafts(session, row.id, drafts)
        return view, created, [self.get_post(i) for i in post_ids]

    def _add_drafts(self, session: Session, news_id: int, drafts: Sequence[Draft]) -> list[int]:
        accounts = {a.name: a for a in session.exec(select(ChannelAccount))}
        existing = {
            p.channel_id: p
            for p in session.exec(select(Post).where(col(Post.news_item_id) == news_id))
        }
        added: list[tuple[Post, Draft]] = []
        for draft in drafts:
            account = accounts.get(draft.channel)
            if account is None or account.id is None:
                raise NotFoundError(f"channel {draft.channel!r} is not in the database")
            if account.id in existing:
                continue
            post = Post(
                news_item_id=news_id,
                channel_id=account.id,
                kind=draft.kind,
                title=draft.title,
                body=draft.body,
                excerpt=draft.excerpt,
                link_url=draft.link_url,
                author=draft.author,
            )
            session.add(post)
            existing[account.id] = post
            added.append((post, draft))
        session.flush()
        self._choose_defaults(
            session,
            {post.id: draft.max_images for post, draft in added if post.id and draft.max_images},
            news_id,
        )
        for post, draft in added:
            if draft.extra_images and post.id is not None:
                self._attach(session, post.id, news_id, draft.extra_images)
        websites = {
            account.name: existing[account.id]
            for account in accounts.values()
            if account.id in existing and existing[account.id].kind == "website"
        }
        if websites:
            # The draft names its article's channel; a draft made without one
            # (by a caller other than derivation) takes the oldest website post.
            oldest = min(websites.values(), key=lambda p: p.id or 0)
            for post, draft in added:
                if draft.links_to_article and post.kind != "website":
                    article = websites.get(draft.link_from or "", oldest)
                    post.link_post_id = article.id
            session.flush()
        return sorted(p.id for p in existing.values() if p.id is not None)

    def find_news(self, fingerprint: str) -> NewsView:
        with self._session() as session:
            row = session.exec(
                select(NewsItem).where(col(NewsItem.fingerprint) == fingerprint)
            ).one_or_none()
            if row is None:
                raise NotFoundError(f"no news item with fingerprint {fingerprint}")
            return news_view(row)

    def get_news(self, news_id: int) -> NewsView:
        known_id(news_id, "news item")
        with self._session() as session:
            row = session.get(NewsItem, news_id)
            if row is None:
                raise NotFoundError(f"no news item {news_id}; `visibility news list` shows the ids")
            return news_view(row)

    def list_news(self, *, limit: int = 100) -> list[NewsView]:
        with self._session() as session:
            rows = session.exec(select(NewsItem).order_by(col(NewsItem.id).desc()).limit(limit))
            return [news_view(r) for r in rows]
