"""Calls to one Page's Graph API, shared by the Facebook adapter and its photo uploads.

It speaks to ``{base_url}/{api_version}`` with the Page access token in the
``Authorization`` header, never in a URL, so no logged URL can leak it. After
every answer it reads Graph's usage headers (see ``graph_usage``); failures
are translated in ``graph_errors``, with the token blanked out of whatever
Graph echoed back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO
from urllib.parse import quote

import requests

from visibility.adapters.graph_errors import (
    GraphError,
    is_rate_limit,
    rate_limit_reason,
    rate_limit_until,
    translate,
)
from visibility.adapters.graph_usage import UsageGauge
from visibility.adapters.http import make_session, network_error, redact
from visibility.errors import ChannelError, CredentialsError

#: A multipart file: (file name, open file, content type).
FilePart = tuple[str, BinaryIO, str]


@dataclass(frozen=True)
class GraphAnswer:
    status: int
    headers: Mapping[str, str]
    body: Any  # the decoded JSON, or None when the answer was not JSON

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300 and isinstance(self.body, dict) and "error" not in self.body


class GraphClient:
    """One Page's Graph API with its Page access token; safe to share between threads."""

    def __init__(
        self,
        *,
        channel: str,
        page_id: str,
        api: str,
        token: str,
        timeout: float,
        gauge: UsageGauge,
        session: requests.Session | None = None,
    ) -> None:
        self.channel = channel
        self.page_id = page_id
        self.api = api  # {base_url}/{api_version}
        self.timeout = timeout
        self.gauge = gauge
        self._token = token
        self._owns_session = session is None
        self._session = session if session is not None else make_session()

    def __repr__(self) -> str:
        return f"GraphClient(channel={self.channel!r}, page_id={self.page_id!r})"

    @property
    def page_path(self) -> str:
        """``/{page-id}``, quoted."""
        return f"/{quote(self.page_id, safe='')}"

    def call(
        self,
        method: str,
        path: str,
        *,
        action: str,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        files: Mapping[str, FilePart] | None = None,
    ) -> GraphAnswer:
        """One Graph call that must succeed; any failure is raised, translated."""
        answer = self.request(method, path, params=params, data=data, files=files)
        if answer.ok:
            return answer
        raise self.failure(answer, self.error(answer), action=action, path=path)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        files: Mapping[str, FilePart] | None = None,
    ) -> GraphAnswer:
        url = self.api + path
        try:
            response = self._session.request(
                method,
                url,
                params=params,
                data=data,
                files=files,
                headers={"Authorization": f"Bearer {self._token}"},
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise network_error(exc, channel=self.channel, url=url, timeout=self.timeout) from exc
        with response:
            try:
                body: Any = response.json()
            except ValueError:
                body = None
            headers = dict(response.headers)
            status = response.status_code
        self.gauge.record(headers, now=datetime.now(UTC))
        return GraphAnswer(status=status, headers=headers, body=body)

    def error(self, answer: GraphAnswer) -> GraphError | None:
        return GraphError.from_body(answer.body, secrets=self.secrets())

    def failure(
        self,
        answer: GraphAnswer,
        error: GraphError | None,
        *,
        action: str,
        path: str | None = None,
    ) -> ChannelError:
        """The channel error for a failed call to ``path`` (which names what it acted on)."""
        target = (path or "").strip("/").split("/")[0]
        if error is not None and error.is_missing_object and target == self.page_id:
            # Graph cannot tell "no such Page" from "this token may not see it".
            return CredentialsError(
                f"Facebook cannot find Page {self.page_id} with this token: either the "
                f"page_id option of channel '{self.channel}' is wrong, or the Page access "
                f"token is not for that Page or lacks access to it{error.trace}. Check the "
                "Page id (Page settings, About, Page ID) and the token, then run "
                "`visibility channels check`.",
                channel=self.channel,
            )
        now = datetime.now(UTC)
        if error is not None and is_rate_limit(error):
            until = rate_limit_until(error, answer.headers, now=now)
            self.gauge.hold(until, rate_limit_reason(error))
        failure = translate(
            error,
            status=answer.status,
            headers=answer.headers,
            channel=self.channel,
            action=action,
            now=now,
        )
        # Belt and braces: no message leaves with the token in it, whatever its source.
        failure.args = (redact(str(failure), self.secrets()),)
        return failure

    def secrets(self) -> tuple[str, ...]:
        return (self._token, quote(self._token, safe=""))

    def refuse_when_near_limit(self) -> None:
        refusal = self.gauge.refuse(now=datetime.now(UTC))
        if refusal is not None:
            raise refusal

    def close(self) -> None:
        if self._owns_session:
            self._session.close()
