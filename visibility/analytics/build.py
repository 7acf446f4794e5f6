"""Build a website channel's analytics reader from its options and secrets."""

from __future__ import annotations

import requests

from visibility.adapters.specs import ANALYTICS_TOKEN, AnalyticsOptions
from visibility.analytics.base import Analytics
from visibility.config.channels import Channel
from visibility.errors import ConfigError


def build_analytics(channel: Channel, session: requests.Session | None = None) -> Analytics | None:
    """The reader for ``channel``'s ``options.analytics``; ``None`` without one.

    Only website channels have analytics. Readers are imported when first
    needed, like the adapters.
    """
    if channel.kind != "website":
        return None
    raw = channel.options.get("analytics")
    if raw is None:
        return None
    options = raw if isinstance(raw, AnalyticsOptions) else AnalyticsOptions.model_validate(raw)
    secret = channel.secrets.get(ANALYTICS_TOKEN)
    if secret is None:
        raise ConfigError(
            f"channel {channel.name!r} reads page views from {options.kind} but has no "
            f"{ANALYTICS_TOKEN}: add secrets.{ANALYTICS_TOKEN} naming the environment "
            "variable or secret file that holds the token"
        )
    token = secret.get_secret_value()
    if options.kind == "matomo":
        from visibility.analytics.matomo import MatomoAnalytics

        return MatomoAnalytics(channel.name, options, token, session=session)
    from visibility.analytics.plausible import PlausibleAnalytics

    return PlausibleAnalytics(channel.name, options, token, session=session)
