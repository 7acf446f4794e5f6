"""Each platform's limits on pictures (no Pillow here: derivation and approval read
these without loading an image library)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageLimits:
    """What one platform takes for one picture, and how many a post may carry."""

    max_bytes: int
    max_side: int
    formats: frozenset[str]  # MIME types
    max_images: int


MB = 1_000_000
#: X: JPEG, PNG, WebP and GIF up to 5 MB each, four per post (the media upload docs).
X_LIMITS = ImageLimits(
    5 * MB, 8192, frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"}), 4
)
#: Facebook Page photos: JPEG, PNG, GIF up to 4 MB (the Graph API photo reference);
#: a multi-photo post of up to ten.
FACEBOOK_LIMITS = ImageLimits(4 * MB, 8192, frozenset({"image/jpeg", "image/png", "image/gif"}), 10)
#: A website: the file goes as the request body, so the web server's limit bites
#: first (nginx's default client_max_body_size is 1 MB; a multisite's upload limit
#: 1,500 KB). WordPress scales anything over 2560 pixels down itself.
WEBSITE_LIMITS = ImageLimits(
    1 * MB,
    2560,
    frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"}),
    20,
)
LIMITS = {"twitter": X_LIMITS, "facebook": FACEBOOK_LIMITS, "website": WEBSITE_LIMITS}
