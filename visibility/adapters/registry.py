"""Build the adapter for a channel account from its configuration."""

from __future__ import annotations

from visibility.adapters.base import Adapter
from visibility.adapters.dry_run import DryRunAdapter
from visibility.config.channels import Channel
from visibility.config.settings import Settings
from visibility.errors import ConfigError


def build_adapter(channel: Channel, settings: Settings) -> Adapter:
    if channel.kind == "dry-run":
        return DryRunAdapter(
            channel.name, data_dir=settings.data_dir, base_url=settings.dry_run_base_url
        )
    raise ConfigError(
        f"channel {channel.name!r}: publishing to {channel.kind} is not available in this "
        'version yet; use kind = "dry-run" with imitates = '
        f'"{channel.kind}" until it is'
    )
