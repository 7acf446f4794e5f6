"""What a WordPress answer that is not a success means, in words staff can act on.

WordPress answers errors as ``{"code", "message", "data": {"status"}}``; a
proxy, a firewall or a PHP fatal error answers with a page instead. Rate
limits and 5xx are worth another try; a redirect, a refused permission or an
invalid parameter are not. A missing permission is a ``CredentialsError``
naming the role or capability the user lacks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol
from urllib.parse import urljoin, urlsplit

import requests

from visibility.adapters.http import excerpt, host_of, loads_json, plain_text, retry_after
from visibility.errors import (
    ChannelError,
    CredentialsError,
    PermanentChannelError,
    RetryableChannelError,
)


class ApiInfo(Protocol):
    """What the site's REST API index said (``wordpress_site.Api``)."""

    @property
    def root(self) -> str: ...

    @property
    def app_passwords(self) -> bool | None: ...


class WordPressSite(Protocol):
    """What a message needs to know of the site (``wordpress_site.WordPressSite``)."""

    @property
    def channel(self) -> str: ...

    @property
    def base(self) -> str: ...

    @property
    def username(self) -> str: ...

    @property
    def host(self) -> str: ...

    @property
    def api(self) -> ApiInfo | None: ...

    def redact(self, text: str) -> str: ...


#: Errors WordPress's application-password check gives (always HTTP 401).
LOGIN_CODES: Final = frozenset(
    {
        "incorrect_password",
        "invalid_username",
        "invalid_email",
        "application_passwords_disabled",
        "application_passwords_disabled_for_user",
    }
)


@dataclass(frozen=True)
class Answer:
    """A WordPress error answer, reduced to what a message needs."""

    status: int
    code: str | None  # None: not a WordPress error body (a proxy's page, say)
    message: str  # plain text, secrets blanked
    data: Mapping[str, Any]


def read_answer(site: WordPressSite, response: requests.Response) -> Answer:
    body = loads_json(response.text)
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        data = body.get("data")
        message = site.redact(plain_text(str(body.get("message") or "")))
        return Answer(
            response.status_code,
            body["code"],
            message or body["code"],
            data if isinstance(data, dict) else {},
        )
    return Answer(response.status_code, None, site.redact(excerpt(response.text)), {})


def refused_parameter(answer: Answer) -> Answer | None:
    """A parameter WordPress refused for want of a permission (``rest_forbidden_status``).

    WordPress reports it as an invalid parameter (HTTP 400) with the refusal
    in the parameter's details: the details are what staff need.
    """
    details = answer.data.get("details")
    if answer.code != "rest_invalid_param" or not isinstance(details, Mapping):
        return None
    for detail in details.values():
        code = detail.get("code") if isinstance(detail, Mapping) else None
        if isinstance(code, str) and code.startswith("rest_forbidden"):
            data = detail.get("data")
            data = data if isinstance(data, Mapping) else {}
            status = data.get("status")
            return Answer(
                status if isinstance(status, int) else answer.status,
                code,
                plain_text(str(detail.get("message") or code)),
                data,
            )
    return None


def explain(
    site: WordPressSite, response: requests.Response, *, what: str, action: str, subject: str = ""
) -> ChannelError:
    """The error staff should see for a WordPress answer that is not a success."""
    answer = read_answer(site, response)
    status, host, channel = answer.status, site.host, site.channel
    if status == 429 or status == 408:
        return RetryableChannelError(
            f"WordPress at {host} asked to slow down (HTTP {status}) while {action}; "
            "will try again",
            channel=channel,
            retry_after=retry_after(response.headers),
            reached=False,  # refused before WordPress acted on it
        )
    if 300 <= status < 400:
        location = urljoin(response.url, response.headers.get("Location", ""))
        parts = urlsplit(location)
        return PermanentChannelError(
            f"WordPress at {host} redirected the request to "
            f"{parts.scheme}://{parts.netloc}{parts.path} (HTTP {status}) while {action}: "
            "set base_url to the site's current address",
            channel=channel,
        )
    if answer.code is None:
        return _not_json(site, answer, action)
    if answer.code.startswith("rest_upload_") and status >= 500:
        return PermanentChannelError(
            f"WordPress at {host} could not store the image while {action}: "
            f"{answer.message.rstrip('.')}. Use a JPEG, PNG, GIF or WebP image, or ask the site "
            "administrator to check the uploads folder",
            channel=channel,
        )
    if status >= 500:
        return RetryableChannelError(
            f"WordPress at {host} failed while {action} (HTTP {status}: {answer.message}); "
            "will try again",
            channel=channel,
        )
    refusal = refused_parameter(answer)
    if refusal is not None:
        refusal = Answer(refusal.status, refusal.code, site.redact(refusal.message), {})
        return _credentials(site, refusal, what=what, action=action, subject=subject)
    if (
        answer.code in LOGIN_CODES
        or status in (401, 403)
        or (answer.code.startswith("rest_cannot_") or answer.code.startswith("rest_forbidden"))
    ):
        return _credentials(site, answer, what=what, action=action, subject=subject)
    if answer.code == "rest_no_route":
        return PermanentChannelError(
            f"the WordPress REST API is not reachable at {site.base}: WordPress at {host} "
            f"has no route for this request ({answer.message}). Check base_url, and that "
            "no plugin turns off the REST API or its posts endpoint",
            channel=channel,
        )
    details = ""
    params = answer.data.get("params")
    if isinstance(params, dict) and params:
        details = (
            " ("
            + "; ".join(
                f"{key}: {site.redact(plain_text(str(value)))}" for key, value in params.items()
            )
            + ")"
        )
    refused = "the article" if what == "post" else f"the request while {action}"
    return PermanentChannelError(
        f"WordPress refused {refused}: {answer.message}{details} [HTTP {status}, {answer.code}]",
        channel=channel,
    )


def _not_json(site: WordPressSite, answer: Answer, action: str) -> ChannelError:
    status, host = answer.status, site.host
    what = f"WordPress at {host} answered HTTP {status} while {action}: {answer.message}"
    if status >= 500:
        return RetryableChannelError(f"{what}; will try again", channel=site.channel)
    if status in (401, 403):
        hint = (
            "something in front of WordPress (a firewall, or password protection of the "
            "whole site) refused the request: ask the site administrator to let requests "
            "to the REST API through"
        )
    elif status == 404:
        hint = "the REST API is not at that address: check base_url"
    else:
        hint = "ask the site administrator what refused the request"
    return PermanentChannelError(f"{what}. {hint}", channel=site.channel)


def _credentials(
    site: WordPressSite, answer: Answer, *, what: str, action: str, subject: str
) -> CredentialsError:
    user, host, said = site.username, site.host, answer.message
    code = answer.code
    if code == "incorrect_password":
        text = (
            f"WordPress rejected the application password for user '{user}' ({said}): "
            "create a new one under Users → Profile → Application Passwords and put it in "
            "this channel's application_password secret"
        )
    elif code in ("invalid_username", "invalid_email"):
        text = (
            f"WordPress at {host} has no user '{user}' ({said}): set this channel's username "
            "secret to the login name of the WordPress user who owns the application password"
        )
    elif code == "application_passwords_disabled":
        text = f"WordPress at {host} does not accept application passwords ({said}): " + (
            _why_no_app_passwords(site)
        )
    elif code == "application_passwords_disabled_for_user":
        text = (
            f"WordPress does not allow application passwords for user '{user}' ({said}): ask "
            "the site administrator to allow them for this user, or use another user"
        )
    elif answer.status == 401:
        # WordPress answered as to a visitor: it never saw a valid login.
        api = site.api
        if api is not None and api.app_passwords is False:
            text = (
                f"WordPress at {host} ignored the application password and answered as to "
                f"a visitor ({said}): " + _why_no_app_passwords(site)
            )
        else:
            text = (
                f"WordPress at {host} answered as to a visitor, not as user '{user}' "
                f"({said}): check that this user has an application password (Users → "
                "Profile → Application Passwords); if it has, the web server is not passing "
                "the Authorization header on to WordPress, ask the site administrator"
            )
            unsure = api is None or api.app_passwords is None
            if unsure and urlsplit(api.root if api else site.base).scheme != "https":
                text += (
                    ". WordPress also ignores application passwords on sites that are not on HTTPS"
                )
    elif what == "media":
        text = (
            f"WordPress user '{user}' may not upload images ({said}): give the user the "
            "Author role or higher (contributors cannot upload), or publish the article "
            "without pictures"
        )
    elif what == "term":
        text = (
            f"WordPress user '{user}' may not create '{subject}' ({said}): create it in "
            "WordPress first (Posts → Categories or Posts → Tags) or give the user the "
            "Editor role"
        )
    elif code == "rest_cannot_publish":
        text = (
            f"WordPress user '{user}' may not publish posts ({said}): give the user the "
            'Author or Editor role, or set status = "pending" in this channel\'s options '
            "so an editor publishes each article"
        )
    elif code == "rest_cannot_assign_term":
        text = (
            f"WordPress user '{user}' may not give posts the categories or tags of this "
            f"channel ({said}): give the user the Editor role, or change categories and "
            "tags in this channel's options"
        )
    elif what == "post":
        text = (
            f"WordPress user '{user}' may not create posts ({said}): give the user the "
            "Author or Editor role (Users → All Users → Role)"
        )
    elif what == "find":
        text = (
            f"WordPress user '{user}' may not list unpublished posts ({said}), which "
            "visibility needs to find out whether the article was created: give the user "
            "a role that may write posts, Contributor or higher (Users → All Users → Role)"
        )
    elif what == "delete":
        text = (
            f"WordPress user '{user}' may not delete this post ({said}): delete it in "
            "WordPress, or give the user the Editor role"
        )
    else:
        text = (
            f"WordPress refused user '{user}' while {action} ({said}; HTTP {answer.status}, "
            f"{code}): ask the site administrator for the permission"
        )
    return CredentialsError(site.redact(text), channel=site.channel)


def _why_no_app_passwords(site: WordPressSite) -> str:
    root = site.api.root if site.api else site.base
    if urlsplit(root).scheme != "https":
        return (
            "WordPress offers application passwords only on sites served over HTTPS, and "
            f"{host_of(root)} is not: set base_url to the site's https:// address (the "
            "site needs an HTTPS certificate first), or, on a local test site only, set "
            "WP_ENVIRONMENT_TYPE to 'local'"
        )
    return (
        "application passwords are turned off on this site (by a security plugin or the "
        "site's configuration): ask the site administrator to turn them on"
    )
