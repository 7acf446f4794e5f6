"""Review with comments in the workflow: an approver sends a post back to its author with
a comment, the author answers by editing and resubmitting it, and both are told by e-mail.

``ReviewWork`` is a part of ``visibility.workflow.Visibility``. The store keeps the
state and the trail (``visibility.queue.review``: what "returned to me" means); this
adds the rules people see and the notices:

- A comment is required to send a post back: 1 to ``MAX_COMMENT`` characters once
  trimmed. A reply on resubmitting is optional, with the same limit.
- Each action is written to the audit log (``post.return``, ``post.resubmit``)
  with its comment, whoever took it: the pages, the API or the command line.
- E-mail: when ``VISIBILITY_SMTP_HOST`` is set, the author of a post sent back is
  told (if their user has an e-mail address: ``visibility users set-email``), and
  when a post is resubmitted every approver and admin with an address is told it
  waits for approval again (not the person who resubmitted it). Each notice is in
  the reader's chosen language and goes through the alerts' SMTP code
  (``visibility.alerts.send_mail``). A notice that cannot be sent is logged and
  never undoes the action. Drafts made when a news item is added are not
  announced: that happens for every item, several times a day, and the approval
  inbox already shows them.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from visibility.accounts.roles import Role
from visibility.errors import InputError, UserError
from visibility.i18n import DEFAULT_LANGUAGE, N_, Translate, translate, translator

if TYPE_CHECKING:
    from visibility.accounts.store import AccountStore, Contact
    from visibility.config.settings import Settings
    from visibility.queue.store import Store
    from visibility.queue.views import PostView

log = logging.getLogger(__name__)

#: The longest comment or reply, in characters.
MAX_COMMENT = 1000


def clean_comment(text: str | None, _: Translate, *, required: bool = True) -> str | None:
    """A comment as kept: line breaks as ``\\n``, trimmed; a ``InputError`` in the reader's
    language when it is empty (and required) or too long."""
    cleaned = (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not cleaned:
        if not required:
            return None
        raise InputError(
            _("The comment is empty: say what the author should change before it is approved.")
        )
    if len(cleaned) > MAX_COMMENT:
        raise InputError(
            _(
                "The comment is {count} characters long: keep it to {most}.",
                count=len(cleaned),
                most=MAX_COMMENT,
            )
        )
    return cleaned


class ReviewWork:
    settings: Settings
    store: Store
    accounts: AccountStore

    def return_post(
        self, post_id: int, *, by: str, comment: str, audit_as: str | None = None
    ) -> PostView:
        """Send a post back to draft for its author, with ``by``'s comment.

        ``audit_as``: who the audit log names, when not ``by`` (an API token).
        """
        english = translator(DEFAULT_LANGUAGE)
        text = clean_comment(comment, english)
        assert text is not None
        if not by.strip():
            raise UserError("say who sends the post back: --by NAME")
        post = self.store.return_post(post_id, by=by.strip(), comment=text)
        self.accounts.audit(audit_as or by.strip(), "post.return", f"post {post_id}", text)
        if post.returned_to is not None:
            self._notify(
                self.accounts.contacts(usernames=[post.returned_to]),
                N_("Post {id} was sent back to you"),
                N_(
                    "{by} sent post {id} ({channel}) back to you, with this comment:\n\n"
                    "{comment}\n\nChange it, then send it for approval again: open “Returned "
                    "to me” in visibility, or run `visibility posts resubmit {id}`."
                ),
                post=post,
                by=by.strip(),
                comment=text,
            )
        return post

    def resubmit(
        self,
        post_id: int,
        *,
        by: str,
        comment: str | None = None,
        audit_as: str | None = None,
    ) -> PostView:
        """A post sent back is ready for approval again; ``comment``: an optional reply."""
        text = clean_comment(comment, translator(DEFAULT_LANGUAGE), required=False)
        if not by.strip():
            raise UserError("say who resubmits the post: --by NAME")
        post = self.store.resubmit(post_id, by=by.strip(), comment=text)
        self.accounts.audit(audit_as or by.strip(), "post.resubmit", f"post {post_id}", text)
        approvers = [
            c
            for c in self.accounts.contacts(roles=[Role.APPROVER, Role.ADMIN])
            if c.username != by.strip()
        ]
        self._notify(
            approvers,
            N_("Post {id} waits for your approval again"),
            N_(
                "{by} changed post {id} ({channel}) after it was sent back and asks for "
                "approval again.\n\n{comment}\n\nThe approval inbox in visibility shows it."
            ),
            post=post,
            by=by.strip(),
            comment=text or "",
        )
        return post

    def _notify(
        self,
        people: Sequence[Contact],
        subject: str,
        text: str,
        *,
        post: PostView,
        by: str,
        comment: str,
    ) -> None:
        """Tell each person by e-mail, in their language; a failure is logged, not raised."""
        from visibility.alerts import send_mail

        if not self.settings.smtp_host:
            return
        for person in people:
            values = {"id": post.id, "channel": post.channel, "by": by, "comment": comment}
            try:
                send_mail(
                    self.settings,
                    [person.email],
                    translate(person.language, subject, **values),
                    translate(person.language, text, **values).replace("\n\n\n\n", "\n\n"),
                )
            except (OSError, smtplib.SMTPException) as exc:
                log.warning(
                    "could not tell %s about post %s by e-mail: %s",
                    person.username,
                    post.id,
                    type(exc).__name__,
                )
