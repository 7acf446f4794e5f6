"""One WordPress site's REST API, spoken to as one user.

Authentication is an Application Password (Users → Profile → Application
Passwords) sent with HTTP Basic, as WordPress shows it (spaces and all:
WordPress strips them). WordPress accepts application passwords only over
HTTPS, or on a site whose ``WP_ENVIRONMENT_TYPE`` is ``local``; elsewhere it
ignores them and answers as it would a visitor.

The API lives at ``{base}/wp-json/`` on sites with pretty permalinks and at
``{base}/?rest_route=/`` on every site. The site is asked once, without
credentials, which of the two answers, and the answer kept (following a
redirect there, e.g. from http:// to https://). The index it reads also says
whether the site offers application passwords, which turns a puzzling "not
logged in" into a precise message.

API requests themselves are never redirected: a redirected POST arrives as a
GET without its credentials, so a redirect is reported, with the address to
configure, instead of followed.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import requests

from visibility.adapters.http import (
    excerpt,
    host_of,
    loads_json,
    make_session,
    network_error,
    redact,
    retry_after,
)
from visibility.adapters.wordpress_errors import Answer, explain, read_answer
from visibility.errors import ChannelError, PermanentChannelError, RetryableChannelError


def salvage_json(text: str) -> Any:
    """A success answer's JSON, also after PHP notices printed in front of it."""
    value = loads_json(text)
    if value is not None:
        return value
    for start in sorted(i for i in (text.find("{"), text.find("[")) if i >= 0):
        try:
            value, _ = json.JSONDecoder().raw_decode(text, start)
        except ValueError:
            continue
        return value
    return None


@dataclass(frozen=True)
class Api:
    """Where the REST API answers, and what its index said."""

    root: str  # ".../wp-json" (pretty) or the home URL ending in "/" (rest_route)
    pretty: bool
    app_passwords: bool | None  # None: the index did not say

    def url(self, route: str, params: Mapping[str, str] | None = None) -> str:
        query = urlencode(params or {})
        if self.pretty:
            return f"{self.root}{route}" + (f"?{query}" if query else "")
        url = f"{self.root}?rest_route={quote(route, safe='/')}"
        return f"{url}&{query}" if query else url


class WordPressSite:
    """Requests to one site's REST API as one user, and what its errors mean."""

    def __init__(
        self,
        *,
        channel: str,
        base: str,
        username: str,
        password: str,
        timeout: float,
        session: requests.Session | None,
    ) -> None:
        self.channel = channel
        self.base = base
        self.username = username
        self.timeout = timeout
        self._authorization = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode(
            "ascii"
        )
        self._secrets = (password, password.replace(" ", ""), self._authorization[6:])
        self._owns_session = session is None
        self.session = session if session is not None else make_session()
        #: Found on the first request (``root``).
        self.api: Api | None = None

    @property
    def host(self) -> str:
        return host_of(self.api.root if self.api else self.base)

    def close(self) -> None:
        if self._owns_session:
            self.session.close()

    # -- where the API is ---------------------------------------------------------

    def root(self) -> Api:
        if self.api is None:
            self.api = self._discover()
        return self.api

    def _discover(self) -> Api:
        tried = []
        for pretty, url in (
            (True, f"{self.base}/wp-json/"),
            (False, f"{self.base}/?rest_route=/"),
        ):
            try:
                # No credentials: the index is public, and a wrong password
                # would make this look like a site without a REST API.
                response = self.session.get(url, timeout=self.timeout)
            except requests.RequestException as exc:
                raise network_error(
                    exc, channel=self.channel, url=url, timeout=self.timeout
                ) from exc
            status = response.status_code
            if status == 429 or status >= 500:
                raise RetryableChannelError(
                    f"WordPress at {host_of(url)} answered HTTP {status} when asked where its "
                    f"REST API is ({self.redact(excerpt(response.text))}); will try again",
                    channel=self.channel,
                    retry_after=retry_after(response.headers),
                    reached=status != 429,
                )
            index = loads_json(response.text)
            if isinstance(index, dict) and (
                "namespaces" in index or "routes" in index or "code" in index
            ):
                final = urlsplit(response.url)
                if pretty:
                    path = final.path.rstrip("/")
                    root = (
                        f"{final.scheme}://{final.netloc}{path}"
                        if path.endswith("/wp-json")
                        else f"{self.base}/wp-json"
                    )
                else:
                    root = f"{final.scheme}://{final.netloc}{final.path or '/'}"
                auth = index.get("authentication")
                available = (
                    isinstance(auth, dict) and "application-passwords" in auth
                    if "namespaces" in index
                    else None
                )
                return Api(root=root, pretty=pretty, app_passwords=available)
            shape = "JSON" if index is not None else "not JSON"
            tried.append(f"{url} gave HTTP {status}, {shape}")
        raise PermanentChannelError(
            f"no WordPress REST API answers at {self.base} ({'; '.join(tried)}): check "
            "base_url (the site's address, e.g. https://qbsc.example.org) and that no plugin "
            "turns the REST API off",
            channel=self.channel,
        )

    # -- requests -----------------------------------------------------------------

    def request(
        self,
        method: str,
        route: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        url = self.root().url(route, params)
        sent = {"Authorization": self._authorization, "Accept": "application/json"}
        sent.update(headers or {})
        try:
            return self.session.request(
                method,
                url,
                json=json_body,
                data=data,
                headers=sent,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise network_error(exc, channel=self.channel, url=url, timeout=self.timeout) from exc

    def json(
        self,
        method: str,
        route: str,
        *,
        what: str,
        action: str,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> Any:
        """The JSON of a success answer; a ``ChannelError`` for anything else."""
        response = self.request(method, route, params=params, json_body=json_body)
        if not 200 <= response.status_code < 300:
            raise self.error(response, what=what, action=action)
        value = loads_json(response.text)
        if value is None:
            raise PermanentChannelError(
                f"WordPress at {self.host} gave an answer that is not JSON (HTTP "
                f"{response.status_code}) while {action}: "
                f"{self.redact(excerpt(response.text))}; check base_url",
                channel=self.channel,
            )
        return value

    # -- errors -------------------------------------------------------------------

    def redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def answer(self, response: requests.Response) -> Answer:
        return read_answer(self, response)

    def error(
        self, response: requests.Response, *, what: str, action: str, subject: str = ""
    ) -> ChannelError:
        """The error staff should see for ``response`` (see ``wordpress_errors``)."""
        return explain(self, response, what=what, action=action, subject=subject)
