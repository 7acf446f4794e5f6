"""Grants in the workflow: which items are under which grant, what their posts
must carry, and the approval that lets a post go without it (with a reason).

``FundingWork`` is a part of ``visibility.workflow.Visibility``; it needs the
application's settings, configuration, store and picture files.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from visibility.errors import UserError
from visibility.grants.compliance import check, text_language, texts_for
from visibility.grants.model import Compliance, Grant, Override
from visibility.queue.states import PostStatus
from visibility.queue.views import ImageView, NewImage, NewsView, PostView

if TYPE_CHECKING:
    from visibility.config.channels import AppConfig
    from visibility.config.settings import Settings
    from visibility.grants.suggest import Suggestion
    from visibility.media.files import ImageFiles
    from visibility.queue.store import Store

#: The longest reason an approver may give for an exception.
MAX_REASON = 500


class FundingWork:
    settings: Settings
    config: AppConfig
    store: Store

    @property
    def image_files(self) -> ImageFiles:
        raise NotImplementedError

    # -- grants -----------------------------------------------------------

    def sync_grants(self) -> None:
        """Apply the channels file's grants (emblems go into the picture store)."""
        from visibility.grants.config import build_grant, emblem_path, entry_hash

        if not self.config.grants:
            return
        beside = self.config.source.parent if self.config.source else None
        declared = []
        for entry in self.config.grants:
            path = emblem_path(entry, beside=beside)
            sha = None
            if path is not None:
                sha = self.image_files.add(path.read_bytes(), name=path.name).sha256
            declared.append((build_grant(entry, emblem_sha256=sha), entry_hash(entry, sha)))
        self.store.sync_grants(declared)

    def grants_of(self, news_id: int) -> list[Grant]:
        names = self.store.news_grant_names([news_id]).get(news_id, [])
        return [self.store.grant(n) for n in names]

    def language_tag(self, news: NewsView) -> str:
        return text_language(news.language, f"{news.title} {news.lead}")

    def emblem_images(self, grants: Iterable[Grant], tag: str) -> dict[str, NewImage]:
        """The grants' emblems as pictures to attach, described in the item's language."""
        from visibility.media.intake import new_image

        images: dict[str, NewImage] = {}
        for grant in grants:
            sha = grant.emblem_sha256
            if sha is None or sha in images:
                continue
            texts = texts_for(grant, tag)
            alt = (texts.emblem_alt if texts else None) or f"{grant.donor_name} emblem"
            stored = self.image_files.find(sha)
            if stored is None:
                continue  # the file is gone: compliance will say the emblem is missing
            image = new_image(stored, alt=alt, caption=None, source=f"grant {grant.name}")
            images[sha] = dataclasses.replace(image, role="emblem")
        return images

    def check_grant_names(self, names: Sequence[str]) -> list[Grant]:
        return [self.store.grant(n) for n in dict.fromkeys(n.strip() for n in names if n.strip())]

    def suggest_grants(self, news: NewsView) -> list[Suggestion]:
        """Grants the item's words name the donor of, that it is not under yet."""
        from visibility.grants.suggest import suggest

        have = set(self.store.news_grant_names([news.id]).get(news.id, []))
        texts = [news.title, news.lead, *news.paragraphs]
        day = news.dateline_date or news.created_at.date()
        return [s for s in suggest(self.store.grants(), texts, on=day) if s.grant not in have]

    def add_grants(self, news_id: int, names: Sequence[str], *, by: str | None) -> list[str]:
        """Put an item under grants; its drafts gain what the grants require."""
        grants = self.check_grant_names(names)
        before = self.grants_of(news_id)
        added = self.store.add_news_grants(news_id, [g.name for g in grants], by=by)
        if added:
            self._complete_drafts(news_id, before)
        return added

    def remove_grant(self, news_id: int, name: str) -> None:
        if not self.store.remove_news_grant(news_id, name):
            raise UserError(f"news item {news_id} is not under grant {name!r}; nothing changed")

    def _complete_drafts(self, news_id: int, before: Sequence[Grant]) -> None:
        """Give the item's drafts what its grants now require.

        A draft nobody edited is derived again (a tweet is shortened anew to
        make room); an edited one gets the missing elements at its end.
        Approved or scheduled posts keep the text that was approved: their
        compliance shows what they lack.
        """
        from visibility.derive.render import derive_posts
        from visibility.grants.apply import additions

        news = self.store.get_news(news_id)
        grants = self.grants_of(news_id)
        tag = self.language_tag(news)
        emblems = self.emblem_images(grants, tag)
        org = self.config.organisation
        old = {d.channel: d for d in derive_posts(news, self.config.channels, org, grants=before)}
        new = {
            d.channel: d
            for d in derive_posts(news, self.config.channels, org, grants=grants, emblems=emblems)
        }
        for post in self.store.list_posts(news_item_id=news_id, status=[PostStatus.DRAFT]):
            extra = additions(grants, kind=post.kind, body=post.body, language=tag)
            derived, fresh = old.get(post.channel), new.get(post.channel)
            if derived is not None and fresh is not None and derived.body == post.body:
                if fresh.body != post.body:
                    self.store.edit(post.id, body=fresh.body, by=post.author)
            elif extra.html:
                self.store.edit(post.id, body=f"{post.body}\n{extra.html}", by=post.author)
            elif extra.line:
                self.store.edit(post.id, body=f"{post.body}\n\n{extra.line}", by=post.author)
            pictures = [emblems[s] for s in extra.emblems if s in emblems]
            if pictures:
                self.store.attach_images(post.id, pictures)

    # -- compliance -------------------------------------------------------

    def compliance_of(self, posts: Sequence[PostView]) -> dict[int, Compliance]:
        """Each post checked against its item's grants: the text that went out for a
        published post, the current text otherwise."""
        if not posts:
            return {}
        names = self.store.news_grant_names(sorted({p.news_item_id for p in posts}))
        cache: dict[str, Grant] = {}

        def grant(name: str) -> Grant:
            if name not in cache:
                cache[name] = self.store.grant(name)
            return cache[name]

        pictures = self.store.post_images([p.id for p in posts])
        news_tags: dict[int, str] = {}
        result = {}
        for post in posts:
            grants = [grant(n) for n in names.get(post.news_item_id, [])]
            if post.news_item_id not in news_tags:
                news_tags[post.news_item_id] = self.language_tag(
                    self.store.get_news(post.news_item_id)
                )
            body, images = _checked_content(post, pictures.get(post.id, []))
            result[post.id] = check(
                grants,
                kind=post.kind,
                body=body,
                images=images,
                language=news_tags[post.news_item_id],
                override=_override(post),
            )
        return result

    def compliance(self, post: PostView) -> Compliance:
        return self.compliance_of([post])[post.id]


def _checked_content(post: PostView, pictures: Sequence[ImageView]) -> tuple[str, set[str]]:
    # A published post's pictures cannot change, so its chosen ones are what
    # went out; the text is what the platform received, link in place.
    images = {p.sha256 for p in pictures}
    if post.sent is not None:
        return ("\n\n".join(post.sent.parts) if post.sent.parts else post.sent.body), images
    return post.body, images


def _override(post: PostView) -> Override | None:
    if not post.override_reason:
        return None
    at = post.override_at.isoformat() if post.override_at else ""
    return Override(post.override_reason, post.override_by or "?", at)


def clean_reason(reason: str | None) -> str | None:
    """An approver's reason for an exception: one line, not empty, not too long."""
    if reason is None:
        return None
    text = " ".join(reason.split())
    if not text:
        raise UserError("the reason for the exception is empty: say why the post may go without it")
    if len(text) > MAX_REASON:
        raise UserError(f"the reason is {len(text)} characters; keep it to {MAX_REASON}")
    return text
