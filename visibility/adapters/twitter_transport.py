"""How the X adapter's requests travel: to X or an emulator, with a timeout, and
without credentials in the logs.

tweepy's ``Client`` always talks to ``https://api.twitter.com``. To reach an
emulator or proxy (``options.base_url``), a transport adapter mounted on the
session rewrites the address just before sending: after the OAuth 1.0a
signature was computed over the real URL, so the receiver can verify it as X
would. The same transport gives every request ``options.timeout``, which
tweepy never passes. The media uploads go through the same session.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Final
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

__all__ = ["XTransport"]


class _CredentialLogFilter(logging.Filter):
    """Keeps credentials out of the DEBUG lines of tweepy and the OAuth libraries.

    tweepy logs each request's headers, the Bearer token among them: that is
    blanked. requests-oauthlib and oauthlib log the ``Authorization`` header,
    parameters, base strings and signatures, in several shapes: their DEBUG
    lines are only about signing, so they are dropped whole.
    """

    _BEARER: Final = re.compile(r"(Bearer\s+)[^\s'\",}]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(("oauthlib", "requests_oauthlib")):
            return record.levelno > logging.DEBUG
        text = record.getMessage()
        cleaned = self._BEARER.sub(r"\1***", text)
        if cleaned != text:
            record.msg, record.args = cleaned, None
        return True


def _install_log_filter() -> None:
    # A filter on a logger sees only the records made by that very logger,
    # so each module's logger gets one.
    for name in (
        "tweepy.client",
        "requests_oauthlib.oauth1_auth",
        "requests_oauthlib.oauth1_session",
        "oauthlib.oauth1.rfc5849",
        "oauthlib.oauth1.rfc5849.signature",
    ):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _CredentialLogFilter) for f in logger.filters):
            logger.addFilter(_CredentialLogFilter())


_install_log_filter()


class XTransport(HTTPAdapter):
    """Sends what tweepy addressed to api.twitter.com to ``target``, with a timeout."""

    def __init__(self, *, target: str | None, timeout: float) -> None:
        super().__init__()  # max_retries=0: the scheduler owns retries
        self.target = urlsplit(target) if target else None
        self.timeout = timeout

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        if self.target is not None and request.url:
            # The OAuth 1.0a signature is already in the headers, computed
            # over the real URL; only where the bytes go changes.
            url = urlsplit(request.url)
            path = self.target.path.rstrip("/") + url.path
            request.url = urlunsplit(
                (self.target.scheme, self.target.netloc, path, url.query, url.fragment)
            )
        return super().send(
            request,
            stream=stream,
            timeout=self.timeout if timeout is None else timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )
