"""The dry-run adapter: publishes to an outbox file instead of a platform.

Every published post is appended as one JSON line to
``<data_dir>/outbox/<channel>.jsonl``, so staff can see exactly what would
have gone out, and the returned URL is a stand-in under the configured
``dry_run_base_url``. The post's content is still checked as the real kind
of channel would check it, so a dry run finds the same mistakes.

``find_published`` looks the post up in the outbox by its ``post_id``.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from visibility.adapters.base import Account, Adapter, Publication, Published
from visibility.derive.limits import check_post
from visibility.errors import PermanentChannelError, ValidationError

_LOCK = threading.Lock()
#: A record written this much before ``since`` still counts (clocks of several hosts).
CLOCK_SKEW = timedelta(minutes=2)


def outbox_path(data_dir: Path, channel: str) -> Path:
    return data_dir / "outbox" / f"{channel}.jsonl"


def read_outbox(data_dir: Path, channel: str) -> list[dict[str, object]]:
    path = outbox_path(data_dir, channel)
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


class DryRunAdapter(Adapter):
    def __init__(self, channel: str, *, data_dir: Path, base_url: str) -> None:
        self.channel = channel
        self.path = outbox_path(data_dir, channel)
        self.base_url = base_url.rstrip("/")

    def check(self) -> Account:
        return Account(name=self.channel, detail=f"dry run: posts go to {self.path}")

    def publish(self, publication: Publication) -> Published:
        body = publication.body
        try:
            check_post(
                post_id=publication.post_id,
                kind=publication.kind,
                body=body,
                title=publication.title,
                required_link=publication.link if publication.kind != "website" else None,
            )
        except ValidationError as exc:
            raise PermanentChannelError(str(exc), channel=self.channel) from exc
        external_id = f"{self.channel}-{publication.post_id}"
        url = f"{self.base_url}/{self.channel}/{publication.post_id}"
        record = {
            "external_id": external_id,
            "url": url,
            "post_id": publication.post_id,
            "news_item_id": publication.news_item_id,
            "channel": self.channel,
            "kind": publication.kind,
            "title": publication.title,
            "excerpt": publication.excerpt,
            "body": body,
            "media": [
                {"file": m.path, "sha256": m.sha256, "type": m.mime_type, "alt": m.alt}
                for m in publication.media
            ],
            "published_at": datetime.now(UTC).isoformat(),
        }
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with _LOCK:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One write of one line, flushed and synced: a crash leaves either
            # the whole record or none of it.
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        return Published(external_id=external_id, url=url)

    def find_published(self, publication: Publication, since: datetime) -> Published | None:
        try:
            with _LOCK, self.path.open(encoding="utf-8") as handle:
                lines = handle.readlines()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise PermanentChannelError(
                f"the dry-run outbox {self.path} cannot be read ({exc.strerror})",
                channel=self.channel,
            ) from exc
        earliest = since - CLOCK_SKEW
        for line in reversed(lines):  # newest last in the file
            record = _record(line)
            if record is None or record.get("post_id") != publication.post_id:
                continue
            written = _when(record.get("published_at"))
            if written is not None and written < earliest:
                continue
            url = record.get("url")
            return Published(
                external_id=str(record.get("external_id") or f"{self.channel}-{record['post_id']}"),
                url=url if isinstance(url, str) else None,
            )
        return None


def _record(line: str) -> dict[str, Any] | None:
    # A line cut short by a crash is no record.
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
