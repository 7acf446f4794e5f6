"""Visibility posts derived per channel from editable templates."""

from __future__ import annotations

#: Where a social post puts the article's URL until the article is published.
#: Kept here, away from the length rules, so the scheduler can use it without
#: loading the tweet-counting library.
LINK_PLACEHOLDER = "{link}"
