from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from pydantic import SecretStr
from real_wordpress import RealWordPress

from emulators.server import Request
from emulators.webhook import WebhookReceiver
from emulators.wordpress import DEFAULT_APP_PASSWORD, WordPressEmulator
from visibility.adapters.base import Account, Engagement, Media, Publication, Published
from visibility.adapters.wordpress import WordPressAdapter
from visibility.config.channels import Channel
from visibility.errors import (
    ChannelError,
    CredentialsError,
    PermanentChannelError,
    RetryableChannelError,
)

SECRETS = (DEFAULT_APP_PASSWORD, DEFAULT_APP_PASSWORD.replace(" ", ""), "wrong pass word 1234")


def channel(
    base_url: str, *, username: str = "editor", password: str = DEFAULT_APP_PASSWORD, **options: Any
) -> Channel:
    return Channel(
        name="site",
        kind="website",
        post_kind="website",
        enabled=True,
        language=None,
        tz=ZoneInfo("Europe/Belgrade"),
        slots=(),
        hashtags=(),
        template=None,
        secrets={"username": SecretStr(username), "application_password": SecretStr(password)},
        options={"base_url": base_url, **options},
    )


def article(post_id: int = 7, **fields: Any) -> Publication:
    values: dict[str, Any] = {
        "post_id": post_id,
        "news_item_id": 3,
        "channel": "site",
        "kind": "website",
        "title": "Fondi i ri për shoqërinë civile",
        "body": "<p>Qendra hap thirrjen.</p>",
        "excerpt": "Thirrja e re",
        **fields,
    }
    return Publication(**values)


def no_secret(error: ChannelError) -> str:
    text = str(error)
    for secret in SECRETS:
        assert secret not in text
    assert "ZWRpdG9y" not in text  # base64 of the Basic credentials
    return text


@pytest.fixture
def wp() -> Iterator[WordPressEmulator]:
    with WordPressEmulator() as emulator:
        assert isinstance(emulator, WordPressEmulator)
        yield emulator


Make = Callable[..., WordPressAdapter]


@pytest.fixture
def make(wp: WordPressEmulator) -> Iterator[Make]:
    made: list[WordPressAdapter] = []

    def build(base_url: str | None = None, **kwargs: Any) -> WordPressAdapter:
        adapter = WordPressAdapter(channel(base_url or wp.base_url, **kwargs))
        made.append(adapter)
        return adapter

    yield build
    for adapter in made:
        adapter.close()


def api_requests(wp: WordPressEmulator, method: str, route: str) -> list[Request]:
    """Requests for a REST route, whether sent to /wp-json/ or ?rest_route=."""
    found = []
    for r in wp.requests:
        path = r.path.removeprefix("/wp-json") if r.path.startswith("/wp-json") else None
        if r.path == "/" and r.arg("rest_route") is not None:
            path = r.arg("rest_route")
        if r.method == method and path == route:
            found.append(r)
    return found


# -- publishing ---------------------------------------------------------------------


def test_publish_creates_the_post_and_returns_its_id_and_link(
    wp: WordPressEmulator, make: Make
) -> None:
    published = make().publish(article())

    post = wp.posts[int(published.external_id)]
    assert published == Published(
        external_id=str(post["id"]), url=f"{wp.base_url}/fondi-i-ri-per-shoqerine-civile/"
    )
    assert post["title"] == "Fondi i ri për shoqërinë civile"
    assert post["content"] == "<p>Qendra hap thirrjen.</p>"
    assert post["excerpt"] == "Thirrja e re"
    assert post["status"] == "publish"
    assert post["author"] == wp.user("editor").id
    (sent,) = api_requests(wp, "POST", "/wp/v2/posts")
    assert sent.json() == {
        "title": "Fondi i ri për shoqërinë civile",
        "content": "<p>Qendra hap thirrjen.</p>",
        "excerpt": "Thirrja e re",
        "status": "publish",
    }
    # The application password goes as WordPress showed it, spaces and all.
    expected = base64.b64encode(f"editor:{DEFAULT_APP_PASSWORD}".encode()).decode()
    assert sent.headers["authorization"] == f"Basic {expected}"


def test_status_option_is_sent_and_a_draft_has_a_query_link(
    wp: WordPressEmulator, make: Make
) -> None:
    published = make(status="draft").publish(article())
    assert wp.posts[int(published.external_id)]["status"] == "draft"
    assert published.url == f"{wp.base_url}/?p={published.external_id}"


def test_categories_and_tags_are_found_or_created_once_then_reused(
    wp: WordPressEmulator, make: Make
) -> None:
    lajme = wp.add_term("category", "Lajme")
    roads = wp.add_term("category", "Roads & Bridges")  # stored as "Roads &amp; Bridges"
    wp.add_term("category", "Lajme të vjetra")  # also found by the search, not the same name
    adapter = make(categories=["lajme", "Roads & Bridges"], tags=["shoqëria civile"])

    first = adapter.publish(article(1))
    second = adapter.publish(article(2))

    for published in (first, second):
        post = wp.posts[int(published.external_id)]
        assert post["categories"] == [lajme, roads]
        assert wp.term_names("post_tag", post["tags"]) == ["shoqëria civile"]
    # Found by search; "Roads & Bridges" by term_exists (the search misses
    # escaped names); the tag created: all during the first publish only.
    assert len(api_requests(wp, "GET", "/wp/v2/categories")) == 2
    assert len(api_requests(wp, "POST", "/wp/v2/categories")) == 1
    assert len(api_requests(wp, "GET", "/wp/v2/tags")) == 1
    assert len(api_requests(wp, "POST", "/wp/v2/tags")) == 1
    assert len(wp.terms["post_tag"]) == 1


def test_a_category_deleted_after_it_was_cached_is_looked_up_again(
    wp: WordPressEmulator, make: Make
) -> None:
    adapter = make(categories=["Projekte"])
    adapter.publish(article(1))
    old = next(iter(i for i, t in wp.terms["category"].items() if t["name"] == "Projekte"))
    wp.delete_term("category", old)

    published = adapter.publish(article(2))

    post = wp.posts[int(published.external_id)]
    assert wp.term_names("category", post["categories"]) == ["Projekte"]
    assert post["categories"] != [old]


def test_without_pretty_permalinks_the_rest_route_address_is_used(make: Make) -> None:
    with WordPressEmulator(pretty_permalinks=False) as plain:
        assert isinstance(plain, WordPressEmulator)
        base_url = plain.base_url
        adapter = make(base_url, categories=["Lajme"])

        account = adapter.check()
        published = adapter.publish(article())
        adapter.delete(published.external_id)

    assert account.name == "Editor"
    assert published.url == f"{base_url}/?p={published.external_id}"
    assert not plain.posts
    # Asked once where the API is; everything after went to ?rest_route=.
    assert [r.path for r in plain.requests].count("/wp-json/") == 1
    api = [r for r in plain.requests if r.path != "/wp-json/"]
    assert all(r.path == "/" and r.arg("rest_route") for r in api)
    create = next(r for r in api if r.method == "POST" and r.arg("rest_route") == "/wp/v2/posts")
    assert create.url.startswith("/?rest_route=/wp/v2/posts")
    delete = next(r for r in api if r.method == "DELETE")
    assert delete.url == f"/?rest_route=/wp/v2/posts/{published.external_id}&force=true"


def test_the_api_root_is_discovered_once(wp: WordPressEmulator, make: Make) -> None:
    adapter = make()
    adapter.check()
    adapter.publish(article(1))
    adapter.publish(article(2))
    assert [r.path for r in wp.requests].count("/wp-json/") == 1


def test_discovery_follows_a_redirect_and_keeps_the_new_address(
    wp: WordPressEmulator, make: Make
) -> None:
    with WordPressEmulator() as old_address:
        assert isinstance(old_address, WordPressEmulator)
        old_address.fail_next(
            1, status=301, headers={"Location": f"{wp.base_url}/wp-json/"}, path=r"^/wp-json/$"
        )
        adapter = make(old_address.base_url)
        published = adapter.publish(article())
        assert [r.path for r in old_address.requests] == ["/wp-json/"]
    assert published.url == f"{wp.base_url}/fondi-i-ri-per-shoqerine-civile/"
    assert int(published.external_id) in wp.posts


def test_a_201_with_php_notices_before_the_json_still_gives_the_post(
    wp: WordPressEmulator, make: Make
) -> None:
    body = (
        b"<br />\n<b>Deprecated</b>:  Function create_function() is deprecated in "
        b"<b>/var/www/wp-content/plugins/old/old.php</b> on line <b>12</b><br />\n"
        + json.dumps({"id": 321, "link": f"{wp.base_url}/?p=321"}).encode()
    )
    wp.fail_next(1, status=201, body=body, path=r"/wp/v2/posts$")
    assert make().publish(article()) == Published("321", f"{wp.base_url}/?p=321")


# -- check ----------------------------------------------------------------------------


def test_check_names_the_user_and_what_it_may_do(wp: WordPressEmulator, make: Make) -> None:
    account = make().check()
    assert account == Account(
        name="Editor", external_id=str(wp.user("editor").id), detail="can publish posts"
    )


def test_check_refuses_a_contributor_when_posts_are_published(
    wp: WordPressEmulator, make: Make
) -> None:
    wp.add_user("contrib", application_password="zzzz zzzz zzzz zzzz zzzz zzzz", role="contributor")
    with pytest.raises(CredentialsError) as caught:
        make(username="contrib", password="zzzz zzzz zzzz zzzz zzzz zzzz").check()
    assert str(caught.value) == (
        "WordPress user 'contrib' (contributor) cannot publish posts: it lacks the "
        "publish_posts capability; give the user the Author or Editor role (Users → All Users "
        '→ Role), or set status = "pending" in this channel\'s options so an editor publishes '
        "each article"
    )


def test_check_accepts_a_contributor_who_submits_for_review(
    wp: WordPressEmulator, make: Make
) -> None:
    wp.add_user("contrib", application_password="zzzz zzzz zzzz zzzz zzzz zzzz", role="contributor")
    account = make(
        username="contrib", password="zzzz zzzz zzzz zzzz zzzz zzzz", status="pending"
    ).check()
    assert account.detail == (
        "can write posts; cannot upload images, so articles with pictures will fail"
    )


# -- errors ---------------------------------------------------------------------------


def test_a_wrong_application_password_is_a_credentials_error(make: Make) -> None:
    with pytest.raises(CredentialsError) as caught:
        make(password="wrong pass word 1234").publish(article())
    assert no_secret(caught.value) == (
        "WordPress rejected the application password for user 'editor' (The provided password "
        "is an invalid application password.): create a new one under Users → Profile → "
        "Application Passwords and put it in this channel's application_password secret"
    )


def test_the_password_without_its_spaces_works_too(make: Make) -> None:
    make(password=DEFAULT_APP_PASSWORD.replace(" ", "")).check()


def test_an_unknown_user_is_a_credentials_error(wp: WordPressEmulator, make: Make) -> None:
    with pytest.raises(CredentialsError) as caught:
        make(username="nobody").check()
    host = wp.base_url.removeprefix("http://")
    assert no_secret(caught.value) == (
        f"WordPress at {host} has no user 'nobody' (Error: Unknown username. Check again or "
        "try your email address.): set this channel's username secret to the login name of "
        "the WordPress user who owns the application password"
    )


def test_a_site_not_on_https_ignores_application_passwords(make: Make) -> None:
    with WordPressEmulator(application_passwords_available=False) as plain_http:
        assert isinstance(plain_http, WordPressEmulator)
        host = plain_http.base_url.removeprefix("http://")
        with pytest.raises(CredentialsError) as caught:
            make(plain_http.base_url).publish(article())
    assert no_secret(caught.value) == (
        f"WordPress at {host} ignored the application password and answered as to a visitor "
        "(Sorry, you are not allowed to create posts as this user.): WordPress offers "
        f"application passwords only on sites served over HTTPS, and {host} is not: set "
        "base_url to the site's https:// address (the site needs an HTTPS certificate first), "
        "or, on a local test site only, set WP_ENVIRONMENT_TYPE to 'local'"
    )


def test_credentials_that_never_reach_wordpress(wp: WordPressEmulator, make: Make) -> None:
    # What a web server that drops the Authorization header looks like.
    wp.fail_next(
        1,
        status=401,
        body={
            "code": "rest_cannot_create",
            "message": "Sorry, you are not allowed to create posts as this user.",
            "data": {"status": 401},
        },
        path=r"/wp/v2/posts$",
    )
    with pytest.raises(CredentialsError, match=r"answered as to a visitor, not as user 'editor'"):
        make().publish(article())


def test_a_contributor_may_not_publish(wp: WordPressEmulator, make: Make) -> None:
    wp.add_user("contrib", application_password="zzzz zzzz zzzz zzzz zzzz zzzz", role="contributor")
    with pytest.raises(CredentialsError) as caught:
        make(username="contrib", password="zzzz zzzz zzzz zzzz zzzz zzzz").publish(article())
    assert str(caught.value) == (
        "WordPress user 'contrib' may not publish posts (Sorry, you are not allowed to publish "
        "posts in this post type.): give the user the Author or Editor role, or set status = "
        '"pending" in this channel\'s options so an editor publishes each article'
    )
    assert not wp.posts


def test_an_author_may_not_create_categories(wp: WordPressEmulator, make: Make) -> None:
    wp.add_user("author", application_password="yyyy yyyy yyyy yyyy yyyy yyyy", role="author")
    adapter = make(username="author", password="yyyy yyyy yyyy yyyy yyyy yyyy", tags=["Të reja"])
    with pytest.raises(CredentialsError) as caught:
        adapter.publish(article())
    assert str(caught.value) == (
        "WordPress user 'author' may not create 'Të reja' (Sorry, you are not allowed to create "
        "terms in this taxonomy.): create it in WordPress first (Posts → Categories or Posts → "
        "Tags) or give the user the Editor role"
    )


def test_an_invalid_parameter_is_permanent_with_the_details(
    wp: WordPressEmulator, make: Make
) -> None:
    wp.fail_next(
        1,
        status=400,
        body={
            "code": "rest_invalid_param",
            "message": "Invalid parameter(s): status",
            "data": {
                "status": 400,
                "params": {"status": "status is not one of publish, future, draft, pending."},
            },
        },
        path=r"/wp/v2/posts$",
    )
    with pytest.raises(PermanentChannelError) as caught:
        make().publish(article())
    assert type(caught.value) is PermanentChannelError
    assert str(caught.value) == (
        "WordPress refused the article: Invalid parameter(s): status (status: status is not one "
        "of publish, future, draft, pending.) [HTTP 400, rest_invalid_param]"
    )


def test_no_route_says_the_rest_api_is_not_there(wp: WordPressEmulator, make: Make) -> None:
    wp.fail_next(
        1,
        status=404,
        body={
            "code": "rest_no_route",
            "message": "No route was found matching the URL and request method.",
            "data": {"status": 404},
        },
        path=r"/wp/v2/posts$",
    )
    with pytest.raises(PermanentChannelError) as caught:
        make().publish(article())
    assert str(caught.value).startswith(
        f"the WordPress REST API is not reachable at {wp.base_url}: "
    )
    assert "Check base_url" in str(caught.value)


def test_an_address_without_wordpress_is_permanent(make: Make) -> None:
    with WebhookReceiver() as other:
        base_url = other.base_url
        with pytest.raises(PermanentChannelError) as caught:
            make(base_url).check()
    assert str(caught.value).startswith(f"no WordPress REST API answers at {base_url} (")
    assert "check base_url" in str(caught.value)


def test_a_proxy_error_page_is_retryable_with_an_excerpt(wp: WordPressEmulator, make: Make) -> None:
    page = (
        b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>"
        b"<hr><center>nginx</center></body></html>"
    )
    wp.fail_next(
        1, status=502, body=page, headers={"Content-Type": "text/html"}, path=r"/wp/v2/posts$"
    )
    with pytest.raises(RetryableChannelError) as caught:
        make().publish(article())
    host = wp.base_url.removeprefix("http://")
    assert str(caught.value) == (
        f"WordPress at {host} answered HTTP 502 while publishing the article: 502 Bad Gateway "
        "502 Bad Gateway nginx; will try again"
    )


def test_a_wordpress_error_500_is_retryable(wp: WordPressEmulator, make: Make) -> None:
    wp.fail_next(
        1,
        status=500,
        body={
            "code": "db_insert_error",
            "message": "Could not insert post into the database.",
            "data": {"status": 500},
        },
        path=r"/wp/v2/posts$",
    )
    with pytest.raises(RetryableChannelError, match=r"HTTP 500: Could not insert post"):
        make().publish(article())


def test_a_firewall_page_refusing_is_permanent_but_not_credentials(
    wp: WordPressEmulator, make: Make
) -> None:
    wp.fail_next(
        1, status=403, body=b"<html><body>Access denied by WAF</body></html>", path=r"/wp/v2/posts$"
    )
    with pytest.raises(PermanentChannelError) as caught:
        make().publish(article())
    assert not isinstance(caught.value, CredentialsError)
    assert "Access denied by WAF" in str(caught.value)
    assert "firewall" in str(caught.value)


def test_rate_limiting_is_retryable_when_the_server_says(wp: WordPressEmulator, make: Make) -> None:
    wp.fail_next(
        1,
        status=429,
        body=b"Too Many Requests",
        headers={"Retry-After": "120"},
        path=r"/wp/v2/posts$",
    )
    with pytest.raises(RetryableChannelError) as caught:
        make().publish(article())
    assert caught.value.retry_after is not None
    expected = datetime.now(UTC) + timedelta(seconds=120)
    assert abs((caught.value.retry_after - expected).total_seconds()) < 5


def test_a_redirect_is_reported_not_followed(wp: WordPressEmulator, make: Make) -> None:
    wp.fail_next(
        1,
        status=301,
        body=b"",
        headers={"Location": "https://www.example.org/wp-json/wp/v2/posts"},
        path=r"/wp/v2/posts$",
    )
    with pytest.raises(PermanentChannelError) as caught:
        make().publish(article())
    assert "redirected the request to https://www.example.org/wp-json/wp/v2/posts" in str(
        caught.value
    )
    assert "set base_url" in str(caught.value)


def test_a_timeout_is_retryable(wp: WordPressEmulator, make: Make) -> None:
    wp.fail_next(1, delay=1.0, path=r"/wp/v2/posts$")
    with pytest.raises(RetryableChannelError) as caught:
        make(timeout=0.2).publish(article())
    host = wp.base_url.removeprefix("http://")
    assert str(caught.value) == f"{host} did not answer within 0.2 s; will try again"


def test_a_dropped_connection_is_retryable(wp: WordPressEmulator, make: Make) -> None:
    wp.fail_next(1, drop=True, path=r"/wp/v2/posts$")
    with pytest.raises(RetryableChannelError, match=r"broke before it answered") as caught:
        make().publish(article())
    assert caught.value.reached is True


def test_an_unreachable_site_is_retryable(make: Make) -> None:
    with WordPressEmulator() as gone:
        address = gone.base_url
    with pytest.raises(RetryableChannelError):
        make(address).check()


def test_missing_secrets_are_named(wp: WordPressEmulator) -> None:
    config = channel(wp.base_url)
    config = Channel(**{**config.__dict__, "secrets": {"username": SecretStr("editor")}})
    with pytest.raises(
        CredentialsError, match=r"lacks the WordPress secret\(s\) application_password"
    ):
        WordPressAdapter(config)


def test_the_adapter_repr_holds_no_secret(make: Make) -> None:
    text = repr(make())
    assert DEFAULT_APP_PASSWORD not in text and "Basic" not in text


# -- delete and engagement -------------------------------------------------------------


def test_delete_removes_the_post_and_a_second_delete_is_fine(
    wp: WordPressEmulator, make: Make
) -> None:
    adapter = make()
    published = adapter.publish(article())
    adapter.delete(published.external_id)
    assert not wp.posts
    adapter.delete(published.external_id)
    (first, _) = api_requests(wp, "DELETE", f"/wp/v2/posts/{published.external_id}")
    assert first.arg("force") == "true"


def test_delete_of_someone_elses_post_by_an_author(wp: WordPressEmulator, make: Make) -> None:
    published = make().publish(article())
    wp.add_user("author", application_password="yyyy yyyy yyyy yyyy yyyy yyyy", role="author")
    with pytest.raises(CredentialsError, match=r"^WordPress user 'author' may not delete"):
        make(username="author", password="yyyy yyyy yyyy yyyy yyyy yyyy").delete(
            published.external_id
        )


def test_engagement_counts_approved_comments_and_skips_deleted_posts(
    wp: WordPressEmulator, make: Make
) -> None:
    adapter = make()
    assert adapter.engagement_batch == 1
    busy = adapter.publish(article(1))
    quiet = adapter.publish(article(2))
    gone = adapter.publish(article(3))
    for _ in range(3):
        wp.add_comment(int(busy.external_id))
    wp.add_comment(int(busy.external_id), approved=False)
    adapter.delete(gone.external_id)

    figures = [
        f
        for external_id in (busy.external_id, quiet.external_id, gone.external_id)
        for f in adapter.engagement([external_id])
    ]

    assert figures == [
        Engagement(busy.external_id, comments=3, raw={"X-WP-Total": "3"}),
        Engagement(quiet.external_id, comments=0, raw={"X-WP-Total": "0"}),
    ]
    (ask,) = [
        r for r in api_requests(wp, "GET", "/wp/v2/comments") if r.arg("post") == busy.external_id
    ]
    assert ask.arg("per_page") == "1"


# -- finding an article that may have gone out ------------------------------------------------


def minutes_ago(minutes: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


def test_find_published_finds_the_article_it_published(wp: WordPressEmulator, make: Make) -> None:
    adapter = make()
    published = adapter.publish(article())

    assert adapter.find_published(article(), minutes_ago(1)) == published

    (search,) = api_requests(wp, "GET", "/wp/v2/posts")
    assert search.arg("search") == "Fondi ri për shoqërinë civile"  # "i" WordPress drops
    assert search.arg("search_columns") == "post_title"
    assert search.arg("status") == "publish,future,draft,pending,private"
    assert search.arg("context") == "edit"
    assert search.arg("per_page") == "20"
    after = datetime.fromisoformat(str(search.arg("after"))).replace(tzinfo=UTC)
    assert abs((after - minutes_ago(1) + timedelta(days=1)).total_seconds()) < 5
    assert search.headers["authorization"].startswith("Basic ")


def test_find_published_finds_a_draft_through_rest_route(make: Make) -> None:
    with WordPressEmulator(pretty_permalinks=False) as site:
        adapter = make(site.base_url, status="draft")
        published = adapter.publish(article())
        assert adapter.find_published(article(), minutes_ago(1)) == published
        (search,) = api_requests(site, "GET", "/wp/v2/posts")
        assert search.path == "/"


def test_find_published_compares_the_title_as_stored(wp: WordPressEmulator, make: Make) -> None:
    older = wp.add_post("Grants &amp; training  for youth", age_seconds=120)
    newer = wp.add_post("Grants & training for youth", status="pending", age_seconds=60)
    wp.add_post("Grants & training for youth groups", age_seconds=30)
    found = make().find_published(article(title="Grants & training for youth"), minutes_ago(5))
    assert found == Published(str(newer), f"{wp.base_url}/?p={newer}")
    assert older < newer


def test_find_published_is_none_for_another_title(wp: WordPressEmulator, make: Make) -> None:
    adapter = make()
    adapter.publish(article())
    assert adapter.find_published(article(title="Fondi i vjetër"), minutes_ago(1)) is None
    assert adapter.find_published(article(title="Fondi i ri"), minutes_ago(1)) is None


def test_find_published_ignores_articles_from_before_since(
    wp: WordPressEmulator, make: Make
) -> None:
    wp.add_post("Buletini javor", age_seconds=3600)
    adapter = make()
    assert adapter.find_published(article(title="Buletini javor"), minutes_ago(10)) is None
    assert adapter.find_published(article(title="Buletini javor"), minutes_ago(90)) is not None


def test_find_published_pages_through_many_similar_titles(
    wp: WordPressEmulator, make: Make
) -> None:
    wanted = wp.add_post("Thirrje për grante", age_seconds=900)
    for i in range(110):
        wp.add_post(f"Thirrje për grante, raundi {i}", age_seconds=800 - i)

    found = make().find_published(article(title="Thirrje për grante"), minutes_ago(20))

    assert found is not None and found.external_id == str(wanted)
    searches = api_requests(wp, "GET", "/wp/v2/posts")
    assert [r.arg("page") for r in searches] == ["1", "2", "3", "4", "5", "6"]


def test_find_published_cannot_tell_past_its_page_limit(wp: WordPressEmulator, make: Make) -> None:
    for i in range(201):
        wp.add_post(f"Lajme ditore {i}", age_seconds=600 - i)
    with pytest.raises(PermanentChannelError, match="more than 200 posts like 'Lajme ditore'"):
        make().find_published(article(title="Lajme ditore"), minutes_ago(15))
    assert len(api_requests(wp, "GET", "/wp/v2/posts")) == 10


def test_find_published_without_a_title_cannot_tell(wp: WordPressEmulator, make: Make) -> None:
    with pytest.raises(PermanentChannelError, match="no title"):
        make().find_published(article(title=None), minutes_ago(1))
    assert wp.requests == []


def test_find_published_by_a_user_who_may_not_list_drafts(
    wp: WordPressEmulator, make: Make
) -> None:
    wp.add_user("reader", application_password="read only pass 1234", role="subscriber")
    with pytest.raises(CredentialsError) as caught:
        make(username="reader", password="read only pass 1234").find_published(
            article(), minutes_ago(1)
        )
    message = str(caught.value)
    assert "may not list unpublished posts (Status is forbidden.)" in message
    assert "Contributor or higher" in message


def test_a_wordpress_failure_while_looking_is_retryable(wp: WordPressEmulator, make: Make) -> None:
    adapter = make()
    adapter.check()
    wp.fail_next(1, status=503, body=b"<h1>Service Unavailable</h1>", path=r"/wp/v2/posts$")
    with pytest.raises(RetryableChannelError, match="while looking for the article") as caught:
        adapter.find_published(article(), minutes_ago(1))
    assert caught.value.reached is True


def test_a_rate_limit_while_looking_is_retryable_and_not_reached(
    wp: WordPressEmulator, make: Make
) -> None:
    wp.fail_next(1, status=429, body=b"Slow down", headers={"Retry-After": "60"}, path=r"/posts$")
    with pytest.raises(RetryableChannelError) as caught:
        make().find_published(article(), minutes_ago(1))
    assert caught.value.reached is False
    assert caught.value.retry_after is not None


def test_the_emulator_lists_posts_as_wordpress_does(wp: WordPressEmulator) -> None:
    draft = wp.add_post("Takim me të rinjtë", status="draft", age_seconds=60)
    public = wp.add_post("Takim me donatorët", content="Takimi u mbajt në Prishtinë.")
    wp.add_post("Raport vjetor", age_seconds=7200)
    url = f"{wp.base_url}/wp-json/wp/v2/posts"
    auth = ("editor", DEFAULT_APP_PASSWORD)
    with requests.Session() as http:

        def ids(**params: str) -> list[int]:
            answer = http.get(url, params=params, auth=auth, timeout=5)
            assert answer.status_code == 200, answer.text
            return [p["id"] for p in answer.json()]

        assert ids(search="takim") == [public]  # published only, by default
        assert ids(search="takim", status="publish,draft") == [public, draft]
        assert ids(search="TAKIM -donatoret", status="draft,publish") == [draft]
        assert ids(search="prishtine") == [public]  # accents and case do not count
        assert ids(search="prishtine", search_columns="post_title") == []
        an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert ids(after=an_hour_ago, status="any") == [public, draft]
        visitor = http.get(url, params={"status": "draft"}, timeout=5)
        bad_date = http.get(url, params={"after": "yesterday"}, auth=auth, timeout=5)
        bad_status = http.get(url, params={"status": "publish,gone"}, auth=auth, timeout=5)
        past_the_end = http.get(url, params={"page": "2"}, auth=auth, timeout=5)
        edit_as_visitor = http.get(url, params={"context": "edit"}, timeout=5)
    assert visitor.status_code == 400
    assert visitor.json()["data"]["details"]["status"] == {
        "code": "rest_forbidden_status",
        "message": "Status is forbidden.",
        "data": {"status": 401},
    }
    assert bad_date.json()["data"]["params"] == {"after": "Invalid date."}
    assert bad_status.json()["data"]["params"]["status"].startswith("status[0] is not one of")
    assert past_the_end.json()["code"] == "rest_post_invalid_page_number"
    assert edit_as_visitor.json()["code"] == "rest_forbidden_context"


# -- whether a failed request may have reached WordPress ------------------------------------


def test_a_429_did_not_reach_wordpress(wp: WordPressEmulator, make: Make) -> None:
    wp.fail_next(1, status=429, body=b"Too Many Requests", path=r"/wp/v2/posts$")
    with pytest.raises(RetryableChannelError) as caught:
        make().publish(article())
    assert caught.value.reached is False


def test_a_5xx_on_the_article_may_have_reached_wordpress(wp: WordPressEmulator, make: Make) -> None:
    wp.fail_next(1, status=500, body=b"Internal Server Error", path=r"/wp/v2/posts$")
    with pytest.raises(RetryableChannelError) as caught:
        make().publish(article())
    assert caught.value.reached is True


def test_a_read_timeout_on_the_article_may_have_reached_wordpress(
    wp: WordPressEmulator, make: Make
) -> None:
    wp.fail_next(1, delay=0.6, drop=True, path=r"/wp/v2/posts$")
    with pytest.raises(RetryableChannelError) as caught:
        make(timeout=0.2).publish(article())
    assert caught.value.reached is True


def test_trouble_before_the_article_is_sent_did_not_reach_wordpress(
    wp: WordPressEmulator, make: Make
) -> None:
    wp.fail_next(1, drop=True, path=r"/wp/v2/tags$")
    with pytest.raises(RetryableChannelError) as caught:
        make(tags=["grante"]).publish(article())
    assert caught.value.reached is False


def test_a_refused_connection_did_not_reach_wordpress(make: Make) -> None:
    with WordPressEmulator() as gone:
        address = gone.base_url
    with pytest.raises(RetryableChannelError) as caught:
        make(address).publish(article())
    assert caught.value.reached is False


# -- against a real WordPress ------------------------------------------------------------------


@pytest.mark.slow
def test_find_published_on_a_real_wordpress(real_wordpress: RealWordPress) -> None:
    stamp = datetime.now(UTC).strftime("%H%M%S%f")
    title = f"Thirrje për grante & trajnime {stamp}"
    since = minutes_ago(1)
    admin = WordPressAdapter(
        channel(
            real_wordpress.base_url,
            username=real_wordpress.admin_user,
            password=real_wordpress.admin_app_password,
        )
    )
    # A contributor's title is stored through kses: "&" becomes "&amp;".
    contributor = WordPressAdapter(
        channel(
            real_wordpress.base_url,
            username=real_wordpress.contributor_user,
            password=real_wordpress.contributor_app_password,
            status="pending",
        )
    )
    try:
        published = admin.publish(article(title=title))
        assert admin.find_published(article(title=title), since) == published
        assert admin.find_published(article(title=f"Nuk u botua {stamp}"), since) is None
        later = datetime.now(UTC) + timedelta(hours=1)
        assert admin.find_published(article(title=title), later) is None

        pending = contributor.publish(article(title=f"Raport & analizë {stamp}"))
        found = contributor.find_published(article(title=f"Raport & analizë {stamp}"), since)
        assert found == pending
    finally:
        admin.close()
        contributor.close()


def real_png(width: int = 16, height: int = 8) -> bytes:
    """A small valid PNG, built by hand: WordPress refuses bytes that are not an image."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + bytes([20 * y % 256, 90, 200]) * width for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@pytest.mark.slow
def test_an_article_with_an_image_and_tags_on_a_real_wordpress(
    real_wordpress: RealWordPress, tmp_path: Path
) -> None:
    image = tmp_path / "trajnime-oshc.png"
    image.write_bytes(real_png())
    content = image.read_bytes()
    picture = Media(
        str(image),
        "image/png",
        hashlib.sha256(content).hexdigest(),
        "Trajnerja para grupit",
        16,
        8,
        len(content),
    )
    adapter = WordPressAdapter(
        channel(
            real_wordpress.base_url,
            username=real_wordpress.admin_user,
            password=real_wordpress.admin_app_password,
            tags=["trajnime", "OShC"],
            categories=["Lajme"],
        )
    )
    stamp = datetime.now(UTC).strftime("%H%M%S%f")
    try:
        published = adapter.publish(
            article(title=f"Trajnime falas për OShC-të {stamp}", media=(picture,))
        )
    finally:
        adapter.close()
    auth = real_wordpress.admin_auth
    post = requests.get(
        real_wordpress.rest_url(f"/wp/v2/posts/{published.external_id}"),
        params={"context": "edit"},
        auth=auth,
        timeout=10,
    ).json()
    assert post["link"] == published.url and post["status"] == "publish"
    assert post["title"]["raw"] == f"Trajnime falas për OShC-të {stamp}"
    assert post["featured_media"] > 0
    media = requests.get(
        real_wordpress.rest_url(f"/wp/v2/media/{post['featured_media']}"), auth=auth, timeout=10
    ).json()
    assert media["mime_type"] == "image/png"
    assert media["alt_text"] == "Trajnerja para grupit"
    assert requests.get(media["source_url"], timeout=10).content == image.read_bytes()
    tags = requests.get(
        real_wordpress.rest_url("/wp/v2/tags"),
        params={"include": ",".join(map(str, post["tags"]))},
        timeout=10,
    ).json()
    assert sorted(t["name"] for t in tags) == ["OShC", "trajnime"]
    categories = requests.get(
        real_wordpress.rest_url("/wp/v2/categories"),
        params={"include": ",".join(map(str, post["categories"]))},
        timeout=10,
    ).json()
    assert [c["name"] for c in categories] == ["Lajme"]
