"""find_published of the dry-run adapter (the other adapters' are in their own test files)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from visibility.adapters.base import Publication, Published
from visibility.adapters.dry_run import DryRunAdapter, outbox_path
from visibility.errors import PermanentChannelError

BASE_URL = "https://dry-run.example.org"


def article(post_id: int = 5, title: str = "Thirrje për projekte") -> Publication:
    return Publication(
        post_id=post_id,
        news_item_id=2,
        channel="website",
        kind="website",
        body="<p>Afati: 30 qershor.</p>",
        title=title,
    )


def minutes_ago(minutes: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


@pytest.fixture
def adapter(tmp_path: Path) -> DryRunAdapter:
    return DryRunAdapter("website", data_dir=tmp_path, base_url=BASE_URL)


def test_a_published_post_is_found_with_its_id_and_url(adapter: DryRunAdapter) -> None:
    since = minutes_ago(1)
    adapter.publish(article(post_id=4, title="Një tjetër"))
    published = adapter.publish(article())
    adapter.publish(article(post_id=6, title="Edhe një"))

    assert adapter.find_published(article(), since) == published
    assert published == Published("website-5", f"{BASE_URL}/website/5")


def test_a_post_not_in_the_outbox_is_not_found(adapter: DryRunAdapter) -> None:
    assert adapter.find_published(article(), minutes_ago(1)) is None  # no outbox yet
    adapter.publish(article(post_id=4))
    assert adapter.find_published(article(), minutes_ago(1)) is None


def test_a_record_from_before_since_does_not_count(adapter: DryRunAdapter) -> None:
    adapter.publish(article())
    assert adapter.find_published(article(), datetime.now(UTC) + timedelta(minutes=10)) is None
    # The clock-skew margin: a record a minute older than since still counts.
    assert adapter.find_published(article(), datetime.now(UTC) + timedelta(minutes=1)) is not None


def test_a_line_cut_short_by_a_crash_is_skipped(adapter: DryRunAdapter, tmp_path: Path) -> None:
    published = adapter.publish(article())
    path = outbox_path(tmp_path, "website")
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"post_id": 5, "external_id": "website-5"})[:20])
    assert adapter.find_published(article(), minutes_ago(1)) == published


def test_an_unreadable_outbox_cannot_tell(adapter: DryRunAdapter, tmp_path: Path) -> None:
    outbox_path(tmp_path, "website").mkdir(parents=True)  # a directory where the file should be
    with pytest.raises(PermanentChannelError, match="cannot be read"):
        adapter.find_published(article(), minutes_ago(1))
