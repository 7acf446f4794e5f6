"""Build the adapter for a channel account from its configuration.

Adapters are imported when first needed: a dry-run set-up never loads
tweepy, and a scheduler without dry-run channels never loads the tweet counter.
"""

from __future__ import annotations

from visibility.adapters.base import Adapter, Memory
from visibility.config.channels import Channel
from visibility.config.settings import Settings


def build_adapter(channel: Channel, settings: Settings, *, memory: Memory | None = None) -> Adapter:
    """``memory``: where the adapter keeps what it learns about its platform (the
    database, shared by all workers); without one it remembers for this process only."""
    if channel.kind == "dry-run":
        from visibility.adapters.dry_run import DryRunAdapter

        return DryRunAdapter(
            channel.name, data_dir=settings.data_dir, base_url=settings.dry_run_base_url
        )
    if channel.kind == "twitter":
        from visibility.adapters.twitter import TwitterAdapter

        return TwitterAdapter(channel, memory=memory)
    if channel.kind == "facebook":
        from visibility.adapters.facebook import FacebookAdapter

        return FacebookAdapter(channel, memory=memory)
    if channel.options.get("api") == "webhook":
        from visibility.adapters.webhook import WebhookAdapter

        return WebhookAdapter(channel)
    from visibility.adapters.wordpress import WordPressAdapter

    return WordPressAdapter(channel, memory=memory)
