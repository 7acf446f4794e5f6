"""What staff do with news items and posts: the rules the CLI and API share.

``Visibility`` ties the settings, the channel configuration and the store
together. Its methods check content and channel rules, then hand the state
change to the store, which guards it in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from sqlalchemy import Engine

from visibility.accounts.store import AccountStore
from visibility.adapters.base import Account
from visibility.adapters.registry import build_adapter
from visibility.config.channels import AppConfig, Channel, load_channels
from visibility.config.settings import Settings, load_settings
from visibility.config.slots import local_to_utc, slot_times
from visibility.derive import LINK_PLACEHOLDER
from visibility.errors import ChannelError, CredentialsError, UserError, ValidationError
from visibility.funding import clean_reason

# News intake lives in visibility.intake; these names are part of the workflow's API.
from visibility.intake import Added, FeedImport, NewsIntake, language_code
from visibility.queue import db
from visibility.queue.states import PostStatus
from visibility.queue.store import Store
from visibility.queue.types import utcnow
from visibility.queue.views import PostView, Sent
from visibility.review import ReviewWork

__all__ = ["Added", "ChannelCheck", "FeedImport", "Visibility", "language_code", "parse_when"]

SAMPLES = Path(__file__).parent / "samples"
DEMO_SAMPLE = SAMPLES / "lajm-qendra-burimore-sq.txt"
# How far ahead to look for a free slot before giving up: a year of weeks.
_SLOT_SEARCH_LIMIT = 2_000


@dataclass(frozen=True)
class ChannelCheck:
    channel: str
    ok: bool
    message: str
    account: Account | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "channel": self.channel,
            "ok": self.ok,
            "message": self.message,
            "account": None if self.account is None else self.account.name,
            "account_id": None if self.account is None else self.account.external_id,
        }


def parse_when(text: str, tz_name: str) -> datetime:
    """Read ``2026-12-01 09:30`` as wall time in ``tz_name``, or an ISO time with offset."""
    from zoneinfo import ZoneInfo

    try:
        value = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        raise UserError(
            "cannot read the time: write it as 2026-12-01 09:30 "
            f"(in the channel's timezone, {tz_name}) or with an offset, 2026-12-01T09:30+01:00"
        ) from None
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    return local_to_utc(value.date(), value.time(), ZoneInfo(tz_name))


#: How far in the past a chosen time may be (the minutes spent filling a form).
PAST_GRACE = timedelta(minutes=5)


class Visibility(ReviewWork, NewsIntake):
    """The application: settings, channels and the queue store."""

    def __init__(self, settings: Settings, config: AppConfig, engine: Engine) -> None:
        self.settings = settings
        self.config = config
        self.engine = engine
        self.store = Store(engine)
        self.accounts = AccountStore(engine)

    @classmethod
    def open(cls, settings: Settings | None = None, *, migrate: bool = True) -> Visibility:
        """Load configuration, connect, bring the schema up to date and sync channels."""
        settings = settings or load_settings()
        config = load_channels(settings.resolved_channels_file, secret_dirs=settings.secret_dirs())
        engine = db.make_engine(settings.db_url)
        if migrate:
            db.upgrade(engine)
        app = cls(settings, config, engine)
        app.store.sync_channels(config.channels)
        app.sync_grants()
        return app

    def close(self) -> None:
        self.engine.dispose()

    def secret_values(self) -> list[str]:
        """Every secret this process knows, so logs can blank them wherever they appear."""
        values = [s.get_secret_value() for c in self.config.channels for s in c.secrets.values()]
        for secret in (self.settings.secret_key, self.settings.smtp_password):
            if secret is not None:
                values.append(secret.get_secret_value())
        if self.engine.url.password:
            values.append(str(self.engine.url.password))
        return values

    def setup_logging(self) -> None:
        import sys

        from visibility.logs import setup_logging

        settings = self.settings
        setup_logging(
            settings.log_level,
            fmt=settings.log_format,
            stream=sys.stdout if settings.log_stream == "stdout" else sys.stderr,
            secrets=self.secret_values(),
        )

    # -- posts ------------------------------------------------------------

    def image_problem(self, post: PostView) -> str | None:
        """Why the post's pictures cannot go out as they are, or None."""
        from visibility.media.limits import LIMITS

        images = self.store.post_images([post.id]).get(post.id, [])
        limits = LIMITS.get(post.kind)
        if limits is not None and len(images) > limits.max_images:
            return (
                f"post {post.id} carries {len(images)} pictures; {post.kind} takes at most "
                f"{limits.max_images}: choose fewer"
            )
        for number, image in enumerate(images, 1):
            if not image.alt:
                return (
                    f"picture {number} of post {post.id} ({image.source or image.sha256[:8]}) "
                    "has no alt text: describe what it shows, for people who cannot see it"
                )
        return None

    def channel_of(self, post: PostView) -> Channel:
        return self.config.channel(post.channel)

    def _required_link(self, post: PostView) -> str | None:
        if post.kind == "website":
            return None
        if post.link_post_id is not None:
            return LINK_PLACEHOLDER
        return post.link_url

    def check(self, post: PostView) -> None:
        from visibility.derive.limits import check_post

        channel = self.channel_of(post)
        check_post(
            post_id=post.id,
            kind=post.kind,
            body=post.body,
            title=post.title,
            required_link=self._required_link(post),
            thread=channel.kind == "twitter" and bool(channel.options.get("thread")),
        )
        problem = self.image_problem(post)
        if problem is not None:
            raise ValidationError(problem)

    def edit(
        self,
        post_id: int,
        *,
        body: str | None = None,
        title: str | None = None,
        excerpt: str | None = None,
        by: str | None = None,
    ) -> PostView:
        if body is not None and not body.strip():
            raise UserError(f"post {post_id}: the new text is empty; nothing was changed")
        return self.store.edit(post_id, body=body, title=title, excerpt=excerpt, by=by)

    def approve(self, post_id: int, *, by: str, override: str | None = None) -> PostView:
        """Approve a post that meets its channel's limits and its grants' rules.

        ``override``: the approver's reason to let it go without an element
        its grants require; refused when nothing is missing (so an override
        always names a real exception). Recorded with the post and in the
        audit log.
        """
        reason = clean_reason(override)
        if not by.strip():
            raise UserError("say who approves: --by NAME")
        post = self.store.get_post(post_id)
        if (
            not self.settings.allow_self_approval
            and post.author is not None
            and post.author == by.strip()
        ):
            raise UserError(
                f"post {post_id} was written by {post.author}, who cannot approve it too: ask "
                "another approver (or set VISIBILITY_ALLOW_SELF_APPROVAL=true)"
            )
        self.check(post)
        from visibility.grants.compliance import missing_words

        compliance = self.compliance(post)
        if compliance.missing and reason is None:
            raise ValidationError(missing_words(compliance, post_id))
        if reason is not None and not compliance.missing:
            raise UserError(
                f"post {post_id} carries everything its grants require: approve it without "
                "an override"
            )
        self._fit_images(post)
        approved = self.store.approve(post_id, by=by.strip(), override=reason)
        if reason is not None:
            missing = "; ".join(c.needed for c in compliance.missing)
            self.accounts.audit(
                by.strip(), "post.override", f"post {post_id}", f"{reason} (missing: {missing})"
            )
        return approved

    def _fit_images(self, post: PostView) -> None:
        """Make the copies the platform needs now, so a picture it cannot take stops
        approval, not publishing (copies are kept, by their content)."""
        from visibility.media.fit import fit
        from visibility.media.limits import LIMITS

        limits = LIMITS.get(post.kind)
        if limits is None:
            return
        files = self.image_files
        for image in self.store.post_images([post.id]).get(post.id, []):
            fit(files.get(image.sha256, image.mime_type), limits, files)

    def schedule(
        self,
        post_id: int,
        *,
        at: datetime | str | None = None,
        mode: Literal["at", "next-slot", "now"] = "at",
        now: datetime | None = None,
    ) -> PostView:
        post = self.store.get_post(post_id)
        channel = self.channel_of(post)
        now = now or utcnow()
        if mode == "now":
            when = now
        elif mode == "next-slot":
            when = self.next_free_slot(post, now=now)
        else:
            if at is None:
                raise UserError("say when: --at '2026-12-01 09:30', --next-slot or --now")
            when = parse_when(at, channel.timezone) if isinstance(at, str) else at
            if when.tzinfo is None:
                raise UserError("the time must carry a timezone")
            if when < now - PAST_GRACE:
                # A typo (a wrong year, a.m. for p.m.), not a wish to publish
                # at once: the post would go out now and be called "missed".
                raise UserError(
                    f"{when.astimezone(channel.tz):%Y-%m-%d %H:%M} ({channel.timezone}) has "
                    "passed: choose a later time, or publish now (--now)"
                )
        return self.store.schedule(post_id, at=when)

    def next_free_slot(self, post: PostView, *, now: datetime) -> datetime:
        channel = self.channel_of(post)
        if not channel.slots:
            raise UserError(
                f"channel {channel.name!r} has no posting slots; add slots to it in the "
                "channels file or schedule with --at or --now"
            )
        after = now
        if post.link_post_id is not None:
            article = self.store.get_post(post.link_post_id)
            if article.scheduled_at is not None and article.scheduled_at > after:
                # Social posts point at the article: no earlier than it.
                after = article.scheduled_at - timedelta(microseconds=1)
        taken = self.store.occupied_times(channel.name, since=after)
        if post.scheduled_at is not None:
            taken.discard(post.scheduled_at)  # a reschedule may keep its own slot
        for count, instant in enumerate(slot_times(channel.slots, channel.tz, after)):
            if instant not in taken:
                return instant
            if count > _SLOT_SEARCH_LIMIT:
                break
        raise UserError(f"channel {channel.name!r} has no free slot in the coming year")

    def handle_stale(self, now: datetime | None = None) -> list[PostView]:
        """Posts missed while nothing ran: re-slot them or hold them, per the settings.

        Posts overdue by less than ``stale_after_minutes`` are left to go out
        at once, in order; older ones are not blasted out together.
        """
        now = now or utcnow()
        grace = timedelta(minutes=self.settings.stale_after_minutes)
        handled = []
        for post in self.store.stale(before=now - grace):
            due = post.scheduled_at
            assert due is not None
            missed = f"missed its time ({due:%Y-%m-%d %H:%M} UTC) while visibility was not running"
            try:
                if self.settings.stale_policy == "reslot" and self.channel_of(post).slots:
                    slot = self.next_free_slot(post, now=now)
                    note = f"{missed}; moved to the next free slot, {slot:%Y-%m-%d %H:%M} UTC"
                    handled.append(self.store.schedule(post.id, at=slot, note=note))
                else:
                    reason = f"{missed}; held for you to schedule again"
                    handled.append(self.store.hold(post.id, reason=reason))
            except UserError:
                continue  # changed meanwhile (cancelled, claimed): nothing to do
        return handled

    def confirm(
        self, post_id: int, *, url: str, by: str, external_id: str | None = None
    ) -> PostView:
        """A post in doubt is on the channel after all: record it as published."""
        if not by.strip():
            raise UserError("say who checked the channel: --by NAME")
        post = self.store.get_post(post_id)
        now = utcnow()
        ages = self.settings.snapshot_ages
        return self.store.confirm(
            post_id,
            external_id=external_id or url,
            url=url,
            by=by.strip(),
            at=now,
            # Read like any other published post, from the first age on.
            next_snapshot_at=now + ages[0] if ages else None,
            sent=self._as_sent(post),
        )

    def _as_sent(self, post: PostView) -> Sent:
        """What a post in doubt went out as: its text with the article's link in place."""
        link = post.link_url
        if post.link_post_id is not None:
            link = self.store.get_post(post.link_post_id).external_url
        body = post.body
        if link and LINK_PLACEHOLDER in body:
            body = body.replace(LINK_PLACEHOLDER, link)
        return Sent(body=body, title=post.title, excerpt=post.excerpt, link=link)

    def resend(self, post_id: int, *, by: str) -> PostView:
        """A post in doubt is not on the channel: send it again now."""
        if not by.strip():
            raise UserError("say who checked the channel: --by NAME")
        return self.store.resend(post_id, at=utcnow(), by=by.strip())

    def cancel(self, post_id: int) -> PostView:
        return self.store.cancel(post_id)

    def retry(self, post_id: int) -> PostView:
        return self.store.retry(post_id)

    def waiting_reason(self, post: PostView) -> str | None:
        """Why a scheduled post is not going out yet, in words."""
        if post.status is not PostStatus.SCHEDULED:
            return None
        held = self.store.attention().get(post.channel)
        if held is not None:
            return (
                f"held: channel {post.channel!r} needs attention ({held}); fix it, then run "
                "`visibility channels check`"
            )
        if post.link_post_id is None:
            return None
        article = self.store.get_post(post.link_post_id)
        if article.status is PostStatus.PUBLISHED:
            return None
        if article.status in (PostStatus.CANCELLED, PostStatus.FAILED):
            return (
                f"its article (post {article.id}) is {article.status.value}, so this post "
                f"cannot carry its link: retry the article, or cancel this post"
            )
        return f"waits for its article (post {article.id}, {article.status.value}) to be published"

    # -- operations -------------------------------------------------------

    def status(self, now: datetime | None = None) -> dict[str, object]:
        """The operational view: workers, what is due, in flight, in doubt, failing."""
        now = now or utcnow()
        counts = self.store.count_by_status()
        alive_after = now - timedelta(seconds=max(30.0, self.settings.scan_interval * 3))
        workers = [
            {
                "name": w.name,
                "host": w.host,
                "pid": w.pid,
                "started_at": w.started_at.isoformat(),
                "heartbeat_at": w.heartbeat_at.isoformat(),
                "state": "stopped"
                if w.stopped_at is not None
                else ("alive" if w.heartbeat_at >= alive_after else "silent"),
            }
            for w in self.store.workers()
        ]
        return {
            "now": now.isoformat(),
            "workers": workers,
            "posts": {s.value: counts.get(s, 0) for s in PostStatus},
            "due_now": self.store.count_due(now),
            "in_flight": counts.get(PostStatus.PUBLISHING, 0),
            "in_doubt": counts.get(PostStatus.IN_DOUBT, 0),
            "failed_last_day": self.store.failed_since(now - timedelta(days=1)),
            "next_due": {
                name: when.isoformat() for name, when in self.store.next_due_per_channel().items()
            },
            "held_channels": self.store.attention(),
        }

    # -- channels ---------------------------------------------------------

    def check_channels(self, names: list[str] | None = None) -> list[ChannelCheck]:
        """Try each enabled account's credentials with a harmless read.

        Success releases a channel held for attention; a credentials failure
        holds it, so its posts wait in the queue instead of failing.
        """
        channels = (
            [self.config.channel(n) for n in names] if names else self.config.enabled_channels
        )
        results = []
        for channel in channels:
            if not channel.enabled:
                results.append(ChannelCheck(channel.name, False, "disabled in the configuration"))
                continue
            adapter = build_adapter(channel, self.settings)
            try:
                account = adapter.check()
            except CredentialsError as exc:
                self.store.set_attention(channel.name, str(exc))
                results.append(ChannelCheck(channel.name, False, str(exc)))
            except ChannelError as exc:
                # A network problem says nothing about the credentials: leave
                # the channel's state as it is.
                results.append(ChannelCheck(channel.name, False, str(exc)))
            else:
                self.store.clear_attention(channel.name)
                detail = f" ({account.detail})" if account.detail else ""
                results.append(ChannelCheck(channel.name, True, f"{account.name}{detail}", account))
            finally:
                adapter.close()
            results.extend(self._check_analytics(channel))
        return results

    def _check_analytics(self, channel: Channel) -> list[ChannelCheck]:
        """The website's analytics, when it reads page views from one.

        Page views are not publishing: a failure is reported, never holds the channel.
        """
        from visibility.analytics.build import build_analytics

        reader = build_analytics(channel)
        if reader is None:
            return []
        try:
            site = reader.check()
        except ChannelError as exc:
            return [ChannelCheck(channel.name, False, f"web analytics: {exc}")]
        else:
            detail = f" ({site.detail})" if site.detail else ""
            return [ChannelCheck(channel.name, True, f"web analytics: {site.name}{detail}", site)]
        finally:
            reader.close()
