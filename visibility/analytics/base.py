"""The one interface every web analytics reader implements.

A reader speaks to the web analytics a website channel already runs (Matomo,
Plausible) and says how often its published articles were read. The contract,
for every method, is the adapters' (``visibility.adapters.base``):

* Success returns a value; failure raises a ``visibility.errors.ChannelError``:
  ``RetryableChannelError`` when trying again later may succeed (network
  trouble, timeouts, 5xx, rate limits, with ``retry_after`` set when the
  analytics said when), ``CredentialsError`` when the token is wrong, expired
  or may not read the site (or the site id is wrong), ``PermanentChannelError``
  for any other refusal. Vendor exceptions never leave a reader untranslated:
  ``raise ... from exc`` at the boundary.
* Messages name the analytics host and what to do; they never contain the
  token, not even inside a URL, and nothing is logged with it.
* A reader never retries or sleeps on its own: the engagement collector owns
  retries and backoff. Methods are called from worker threads, one at a time
  per reader; a reader may keep an HTTP session between calls.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from visibility.adapters.base import Account, Engagement

__all__ = ["Account", "Analytics", "Engagement", "Page", "first_day"]


@dataclass(frozen=True)
class Page:
    """A published article: the website channel's id for it, its address, and
    when it went out (timezone-aware)."""

    external_id: str
    url: str
    published_at: datetime


def first_day(pages: Sequence[Page]) -> date:
    """The first day to count from for ``pages``, by the UTC calendar.

    One day early: analytics count days in the site's own timezone, which may
    be behind UTC, and an article's address had no visits before it existed,
    so the extra day adds nothing but never loses the first hours.
    """
    earliest = min(page.published_at for page in pages)
    if earliest.tzinfo is None:
        earliest = earliest.replace(tzinfo=UTC)
    return (earliest.astimezone(UTC) - timedelta(days=1)).date()


class Analytics(ABC):
    """Reads the page views of a website channel's articles."""

    #: The website channel whose articles this reader counts.
    channel: str

    #: The most pages one ``page_views`` call may ask about at once.
    batch: int = 1

    @abstractmethod
    def page_views(self, pages: Sequence[Page]) -> list[Engagement]:
        """Figures for up to ``batch`` pages, counted from their publication to today.

        One ``Engagement`` per page asked about, in any order, with its
        ``external_id``: page views in ``impressions`` (0 for a page nobody
        visited: analytics cannot tell a page without visits from a deleted
        one), unique visitors in ``raw["visitors"]`` (``None`` when the
        analytics does not give them); every other figure ``None``. Uses as few
        requests as the analytics allows (one per call).
        """

    @abstractmethod
    def check(self) -> Account:
        """Verify the token and site with a harmless read.

        Raises ``CredentialsError`` saying what to fix (the token, its access
        to the site, the site id) when the analytics refuses.
        """

    def close(self) -> None:  # noqa: B027  (optional hook, empty by default)
        """Release connections; called once when the service stops."""
