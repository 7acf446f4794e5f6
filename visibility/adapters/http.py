"""What every HTTP adapter shares: a session, network-error translation, reset times.

Network errors are described from their type and the host only: the text of
a requests exception can carry the full URL, query string and all, and a
query string may hold a token.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from visibility import __version__
from visibility.errors import RetryableChannelError

USER_AGENT = f"visibility/{__version__} (+https://github.com/visibility-scheduler)"


def make_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


def host_of(url: str) -> str:
    return urlsplit(url).netloc or url


def network_error(
    exc: requests.RequestException, *, channel: str, url: str, timeout: float
) -> RetryableChannelError:
    """A retryable error naming the host and the kind of trouble, never the URL."""
    host = host_of(url)
    # Only a connection that was never made certainly did not deliver the request.
    reached = True
    if isinstance(exc, requests.ConnectTimeout):
        what = f"could not connect to {host} within {timeout:g} s"
        reached = False
    elif isinstance(exc, requests.Timeout):
        what = f"{host} did not answer within {timeout:g} s"
    elif isinstance(exc, requests.ConnectionError) and _never_connected(exc):
        what = f"could not connect to {host} (network down, DNS, or the server refused)"
        reached = False
    elif isinstance(exc, requests.ConnectionError):
        what = f"the connection to {host} broke before it answered"
    else:
        what = f"the request to {host} failed ({type(exc).__name__})"
    return RetryableChannelError(f"{what}; will try again", channel=channel, reached=reached)


def _never_connected(exc: requests.ConnectionError) -> bool:
    """A refused connection or a failed name lookup, as urllib3 reports them."""
    from urllib3.exceptions import NameResolutionError, NewConnectionError

    seen: BaseException | None = exc
    for _ in range(8):  # requests → MaxRetryError → NewConnectionError, a short chain
        if seen is None:
            break
        if isinstance(seen, NewConnectionError | NameResolutionError):
            return True
        reason = getattr(seen, "reason", None)
        if not isinstance(reason, BaseException) and seen.args:
            reason = seen.args[0] if isinstance(seen.args[0], BaseException) else None
        seen = reason if isinstance(reason, BaseException) else seen.__context__
    return False


def redact(text: str, secrets: Iterable[str]) -> str:
    """Blank out any secret a platform echoed back in its message."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def retry_after(headers: Mapping[str, str], *, now: datetime | None = None) -> datetime | None:
    """When the platform says to come back: ``Retry-After`` or ``x-rate-limit-reset``."""
    now = now or datetime.now(UTC)
    lowered = {k.lower(): v for k, v in headers.items()}
    value = lowered.get("retry-after")
    if value:
        value = value.strip()
        if value.isdigit():
            return now + timedelta(seconds=int(value))
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            return when if when.tzinfo else when.replace(tzinfo=UTC)
    reset = lowered.get("x-rate-limit-reset")
    if reset and reset.strip().isdigit():
        return datetime.fromtimestamp(int(reset), UTC)
    return None


def plain_text(text: str) -> str:
    """Text without HTML tags and entities, on one line (for a proxy's error page)."""
    text = re.sub(r"<(script|style)\b.*?</\1\s*>", " ", text, flags=re.S | re.I)
    # Inline tags go without a trace: "<strong>Error</strong>:" reads "Error:".
    text = re.sub(r"</?(?:strong|b|em|i|code|a|span)\b[^>]*>", "", text, flags=re.I)
    text = re.sub(r"<[^>]*>", " ", text)
    return " ".join(html.unescape(text).split())


def excerpt(text: str, limit: int = 160) -> str:
    """A short plain-text excerpt of an answer, for an error message."""
    plain = plain_text(text)
    if not plain:
        return "an empty answer"
    return plain if len(plain) <= limit else plain[: limit - 1] + "…"


def loads_json(text: str) -> Any:
    """JSON, also after a byte order mark or PHP whitespace; ``None`` when it is not JSON."""
    try:
        return json.loads(text.lstrip("\ufeff \t\r\n"))
    except ValueError:
        return None
