"""Alerts staff will see: a post failed, an account needs re-authorisation, a scheduler
stopped. Sent by e-mail (SMTP, ``send_mail``, which review notices use too) and/or
to a webhook, at most once per cause.

Causes are found in the database, not in one worker's memory, so any running
worker tells about any other (a scheduler that died cannot tell about
itself), and the ``alert_sent`` table makes sure only one of them does.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

import requests

from visibility.adapters.http import make_session
from visibility.config.settings import Settings
from visibility.queue.store import Store
from visibility.queue.types import utcnow

log = logging.getLogger(__name__)


def send_mail(settings: Settings, recipients: Sequence[str], subject: str, text: str) -> None:
    """One plain-text e-mail through the configured SMTP server (``VISIBILITY_SMTP_*``).

    Alerts and review notices (``visibility.review``) both go this way. Raises
    ``OSError`` or ``smtplib.SMTPException`` when it cannot be sent.
    """
    s = settings
    if not s.smtp_host:
        raise smtplib.SMTPException("no SMTP server is configured (VISIBILITY_SMTP_HOST)")
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = s.alert_from or f"visibility@{s.smtp_host}"
    message["To"] = ", ".join(recipients)
    message.set_content(text)
    with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=30) as smtp:
        if s.smtp_starttls:
            smtp.starttls()
        if s.smtp_username and s.smtp_password:
            smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
        smtp.send_message(message)


@dataclass(frozen=True)
class Alert:
    cause: str  # the same cause is told once
    subject: str
    text: str


class Alerter:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        session: requests.Session | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.session = session or make_session()
        self.started = clock()

    @property
    def enabled(self) -> bool:
        s = self.settings
        return bool((s.smtp_host and s.alert_recipients) or s.alert_webhook_url)

    def find(self) -> list[Alert]:
        now = self.clock()
        alerts = []
        for post in self.store.failed_posts(since=now - timedelta(days=1)):
            alerts.append(
                Alert(
                    cause=f"post-failed:{post.id}:{post.attempts}",
                    subject=f"visibility: post {post.id} on {post.channel} failed",
                    text=f"Post {post.id} (news item {post.news_item_id}) could not be "
                    f"published on {post.channel}.\n\nReason: {post.last_error}\n\n"
                    f"Details: visibility posts show {post.id}",
                )
            )
        for channel, reason in sorted(self.store.attention().items()):
            digest = hashlib.sha256(reason.encode()).hexdigest()[:12]
            alerts.append(
                Alert(
                    cause=f"attention:{channel}:{digest}",
                    subject=f"visibility: the {channel} account needs re-authorisation",
                    text=f"Publishing to {channel} is on hold; its posts wait in the queue.\n\n"
                    f"{reason}\n\nAfter fixing it, run: visibility channels check {channel}",
                )
            )
        silent_after = timedelta(seconds=max(60.0, self.settings.lease_seconds * 2))
        for worker in self.store.workers():
            if worker.stopped_at is None and now - worker.heartbeat_at > silent_after:
                alerts.append(
                    Alert(
                        cause=f"scheduler-stopped:{worker.name}:{worker.started_at.isoformat()}",
                        subject=f"visibility: the scheduler {worker.name} stopped",
                        text=f"The scheduler {worker.name} on {worker.host} has not been heard "
                        f"from since {worker.heartbeat_at:%Y-%m-%d %H:%M} UTC. Posts it held are "
                        "taken over by other schedulers; if none runs, nothing is published.",
                    )
                )
        return alerts

    def run_once(self) -> list[Alert]:
        """Send every alert not sent before; returns those sent now."""
        if not self.enabled:
            return []
        sent = []
        for alert in self.find():
            if not self.store.claim_alert(alert.cause):
                continue
            try:
                self.send(alert)
            except (OSError, smtplib.SMTPException, requests.RequestException) as exc:
                self.store.release_alert(alert.cause)  # try again at the next check
                log.warning("could not send the alert %r: %s", alert.subject, type(exc).__name__)
                continue
            sent.append(alert)
        return sent

    def send(self, alert: Alert) -> None:
        s = self.settings
        if s.smtp_host and s.alert_recipients:
            send_mail(s, s.alert_recipients, alert.subject, alert.text)
        if s.alert_webhook_url:
            answer = self.session.post(
                s.alert_webhook_url,
                json={"cause": alert.cause, "subject": alert.subject, "text": alert.text},
                timeout=30,
            )
            answer.raise_for_status()
