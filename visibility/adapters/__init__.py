"""Channel adapters: one narrow interface, one implementation per platform."""

from __future__ import annotations

from visibility.adapters.base import Adapter, Publication, Published

__all__ = ["Adapter", "Publication", "Published"]
