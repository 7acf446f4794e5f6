"""What each kind of channel accepts, checked before a post can be approved."""

from __future__ import annotations

from dataclasses import dataclass

from visibility.derive import LINK_PLACEHOLDER
from visibility.errors import ValidationError
from visibility.text.tweet import MAX_TWEET_LENGTH, URL_LENGTH, check_tweet

# Any URL counts as 23 on X, so a stand-in of the right form measures the same.
_STAND_IN_URL = "https://example.org/"
FACEBOOK_MAX_CHARS = 63_206
WEBSITE_MAX_TITLE = 300


def measure_tweet(text: str) -> int:
    """Weighted length as X will count it once ``{link}`` is replaced by a URL."""
    return check_tweet(text.replace(LINK_PLACEHOLDER, _STAND_IN_URL)).weighted_length


@dataclass(frozen=True)
class Measure:
    length: int
    limit: int
    unit: str

    def __str__(self) -> str:
        if not self.limit:  # no limit on this kind
            return f"{self.length} {self.unit}"
        return f"{self.length}/{self.limit} {self.unit}"


def measure(kind: str, body: str) -> Measure:
    if kind == "twitter":
        return Measure(measure_tweet(body), MAX_TWEET_LENGTH, "weighted characters")
    if kind == "facebook":
        return Measure(len(body), FACEBOOK_MAX_CHARS, "characters")
    return Measure(len(body), 0, "characters")


def check_post(
    *,
    post_id: int,
    kind: str,
    body: str,
    title: str | None,
    required_link: str | None,
    thread: bool = False,
) -> None:
    """Raise ValidationError when the post breaks its channel's limits.

    ``required_link`` is the URL (or the ``{link}`` placeholder) a social post
    was derived to carry; an edit that drops it is refused.
    """
    problems: list[str] = []
    if not body.strip():
        problems.append("the text is empty")
    if kind == "website":
        if not (title or "").strip():
            problems.append("the article has no title")
        elif len(title or "") > WEBSITE_MAX_TITLE:
            problems.append(
                f"the title is {len(title or '')} characters; keep it to {WEBSITE_MAX_TITLE}"
            )
    elif kind == "twitter":
        stand_in = body.replace(LINK_PLACEHOLDER, _STAND_IN_URL)
        check = check_tweet(stand_in)
        # A channel that posts long text as a thread takes it in parts.
        if check.weighted_length > MAX_TWEET_LENGTH and not thread:
            problems.append(
                f"the tweet is {check.weighted_length} weighted characters; X allows "
                f"{MAX_TWEET_LENGTH} (every link counts as {URL_LENGTH}): shorten it by "
                f"{check.weighted_length - MAX_TWEET_LENGTH}"
            )
        elif not check.valid and body.strip() and check.weighted_length <= MAX_TWEET_LENGTH:
            problems.append("the tweet contains characters X does not accept")
    elif kind == "facebook" and len(body) > FACEBOOK_MAX_CHARS:
        problems.append(f"the post is {len(body)} characters; Facebook allows {FACEBOOK_MAX_CHARS}")
    if required_link and kind != "website" and required_link not in body:
        if required_link == LINK_PLACEHOLDER:
            problems.append(
                f"the text lost the {LINK_PLACEHOLDER} placeholder, where the article's link "
                "goes; put it back"
            )
        else:
            problems.append(
                f"the text lost its link {required_link}, which this post must carry; put it back"
            )
    if problems:
        raise ValidationError(f"post {post_id} cannot be approved: " + "; ".join(problems))
