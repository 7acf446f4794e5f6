"""Configuration: the settings class and the channel accounts file."""

from __future__ import annotations

from visibility.config.channels import AppConfig, Channel, load_channels
from visibility.config.settings import Settings, load_settings

__all__ = ["AppConfig", "Channel", "Settings", "load_channels", "load_settings"]
