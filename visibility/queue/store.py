"""All queue SQL lives in this package; ``Store`` is its one gateway.

``Store`` only puts the parts together; each part is a module of its own,
with its contract in its docstring:

- ``news``: news items and their drafts, stored once.
- ``images``: news items' pictures and each post's ordered choice of them.
- ``posts``: the workflow people drive (edit, approve, schedule, cancel,
  retry, hold, confirm, resend) and reading posts.
- ``review``: sending a post back to its author with a comment, resubmitting
  it, the review trail and each person's "returned to me" list.
- ``claims``: the scheduler's claims under a lease, pacing, heartbeats and
  recovery.
- ``outcomes``: recording what became of a claimed post, group commit
  included.
- ``engagement``: readings as a time series and the posts reports cover.
- ``grants``: grants (from the channels file or the web) and the news items
  under them.
- ``ops``: channel accounts, workers, alerts and the engine's figures.

Every status change is a guarded ``UPDATE ... WHERE status IN (...)``
(``core.StoreCore._move`` or a statement guarded the same way), so the
database decides which of two racing actors wins. Nothing outside this
package writes to the queue tables.
"""

from __future__ import annotations

from visibility.queue.claims import EngineClaims
from visibility.queue.engagement import EngagementQueries
from visibility.queue.grants import GrantQueries
from visibility.queue.news import NewsQueries
from visibility.queue.ops import OpsQueries
from visibility.queue.outcomes import EngineOutcomes
from visibility.queue.posts import PostWorkflow
from visibility.queue.review import ReviewQueries
from visibility.queue.views import (
    AttemptView,
    Claim,
    CommentView,
    Draft,
    ImageView,
    NewImage,
    NewsView,
    PostView,
    SnapshotView,
    Success,
)

__all__ = [
    "AttemptView",
    "Claim",
    "CommentView",
    "Draft",
    "ImageView",
    "NewImage",
    "NewsView",
    "PostView",
    "SnapshotView",
    "Store",
    "Success",
]


class Store(
    NewsQueries,
    PostWorkflow,
    ReviewQueries,
    EngineClaims,
    EngineOutcomes,
    EngagementQueries,
    GrantQueries,
    OpsQueries,
):
    """The queue's single gateway to the database."""
