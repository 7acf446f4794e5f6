"""Grants in the web interface and the JSON API (issue 14), through the app's test client:
the grant list and page, the admin's edit (403 for others; 422 naming the field and the
fix), news items under grants with suggestions, compliance in each post's JSON and on its
card, approval refused without a reason and recorded with one, and the dossier as PDF
and HTML."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from visibility.accounts.roles import Role
from visibility.config.settings import load_settings
from visibility.web.app import create_app
from visibility.workflow import Visibility

PASSWORD = "correct horse battery"
SAMPLES = Path(__file__).resolve().parents[1] / "visibility" / "samples"
PRESS_RELEASE = (SAMPLES / "lajm-qendra-burimore-sq.txt").read_text(encoding="utf-8")
CHANNELS = """
[[channels]]
name = "website"
kind = "dry-run"
imitates = "website"

[[channels]]
name = "facebook"
kind = "dry-run"
imitates = "facebook"

[[channels]]
name = "twitter"
kind = "dry-run"
imitates = "twitter"

[[grants]]
name = "eu-2025"
donor = "eu"
title = "Civil society for good governance"
contract = "2025/451-778"
starts_on = 2025-01-01
ends_on = 2027-12-31
mentions = { twitter = ["@EUinKosovo"], facebook = ["@EUinKosovo"] }
hashtags = { twitter = ["#EU4Kosovo"] }
"""
USERS = {"ed": Role.EDITOR, "ap": Role.APPROVER, "ad": Role.ADMIN}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Visibility]:
    channels = tmp_path / "channels.toml"
    channels.write_text(CHANNELS, encoding="utf-8")
    visibility = Visibility.open(load_settings(channels_file=channels))
    for name, role in USERS.items():
        visibility.accounts.add_user(name, password=PASSWORD, role=role, display_name=name.upper())
    yield visibility
    visibility.close()


@pytest.fixture
def web(app: Visibility) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as client:
        yield client


def bearer(app: Visibility, user: str) -> dict[str, str]:
    token = app.accounts.create_token(user, name=f"t-{user}", role=USERS[user])
    return {"Authorization": f"Bearer {token}"}


def token_in(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found[1]


def sign_in(web: TestClient, user: str) -> str:
    form = web.get("/sign-in")
    answer = web.post(
        "/sign-in",
        data={"username": user, "password": PASSWORD, "csrf_token": token_in(form.text)},
    )
    assert answer.status_code == 200, answer.text
    return token_in(answer.text)


def flashes(html: str) -> list[str]:
    return re.findall(r'<p class="flash flash-\w+"[^>]*>([^<]*)</p>', html)


def posts_by_channel(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["channel"]: p for p in answer["posts"]}


# -- the API ------------------------------------------------------------------------------


def test_grants_are_listed_and_shown_to_anyone_signed_in(web: TestClient, app: Visibility) -> None:
    assert web.get("/api/v1/grants").status_code == 401
    editor = bearer(app, "ed")
    grants = web.get("/api/v1/grants", headers=editor).json()
    assert [g["name"] for g in grants] == ["eu-2025"]
    grant = web.get("/api/v1/grants/eu-2025", headers=editor).json()
    assert grant["donor_name"] == "European Union" and grant["contract"] == "2025/451-778"
    assert grant["require"]["twitter"] == [["mention", "hashtag"]]
    assert grant["texts"]["sq"]["statement"] == "Financuar nga Bashkimi Evropian"
    assert grant["has_emblem"] and grant["running"] and grant["news_items"] == 0
    emblem = web.get("/api/v1/grants/eu-2025/emblem", headers=editor)
    assert emblem.headers["content-type"] == "image/png" and emblem.content[:4] == b"\x89PNG"
    missing = web.get("/api/v1/grants/no-such", headers=editor)
    assert missing.status_code == 404 and "GET /api/v1/grants" in missing.json()["detail"]


def test_only_an_admin_edits_a_grant_and_bad_values_are_explained(
    web: TestClient, app: Visibility
) -> None:
    change = {"title": "Civil society for accountable governance"}
    for user in ("ed", "ap"):
        refused = web.put("/api/v1/grants/eu-2025", headers=bearer(app, user), json=change)
        assert refused.status_code == 403, user
    admin = bearer(app, "ad")
    wrong_order = web.put("/api/v1/grants/eu-2025", headers=admin, json={"ends_on": "2024-06-30"})
    assert wrong_order.status_code == 422
    body = wrong_order.json()
    assert body["errors"][0]["field"] == "ends_on"
    assert "ends before it starts" in body["detail"] and "2025-01-01" in body["detail"]
    unknown = web.put(
        "/api/v1/grants/eu-2025",
        headers=admin,
        json={"require": {"twitter": [["mention", "logo"]]}},
    )
    assert unknown.status_code == 422
    problem = unknown.json()["errors"][0]
    assert problem["field"] == "require.twitter.0.1"
    assert "statement, disclaimer, emblem, mention, hashtag" in problem["message"]
    spaced = web.put(
        "/api/v1/grants/eu-2025", headers=admin, json={"mentions": {"twitter": ["EU in Kosovo"]}}
    )
    assert spaced.status_code == 422 and spaced.json()["errors"][0]["field"] == "mentions.twitter.0"
    # Albanian for an Albanian reader.
    in_albanian = web.put(
        "/api/v1/grants/eu-2025",
        headers={**admin, "Accept-Language": "sq"},
        json={"ends_on": "2024-06-30"},
    )
    assert "përfundon para se të fillojë" in in_albanian.json()["detail"]
    assert app.store.grant("eu-2025").ends_on.isoformat() == "2027-12-31"  # nothing saved

    saved = web.put(
        "/api/v1/grants/eu-2025",
        headers=admin,
        json={**change, "hashtags": {"twitter": ["EU4Kosovo", "#EUinKS"]}, "contract": ""},
    )
    assert saved.status_code == 200, saved.text
    grant = app.store.grant("eu-2025")
    assert grant.title == change["title"] and grant.contract is None
    assert grant.hashtags["twitter"] == ("#EU4Kosovo", "#EUinKS")
    assert grant.mentions["twitter"] == ("@EUinKosovo",)  # left out: kept
    audit = web.get("/api/v1/audit", headers=admin).json()
    assert any(a["action"] == "grant.edit" and a["target"] == "grant eu-2025" for a in audit)


def test_an_admin_adds_a_grant_on_the_eu_rules(web: TestClient, app: Visibility) -> None:
    new = {
        "name": "eu-2026",
        "donor": "eu",
        "title": "Youth for the environment",
        "starts_on": "2026-03-01",
        "ends_on": "2027-02-28",
        "mentions": {"twitter": ["@EUinKosovo"]},
    }
    assert web.post("/api/v1/grants", headers=bearer(app, "ed"), json=new).status_code == 403
    admin = bearer(app, "ad")
    made = web.post("/api/v1/grants", headers=admin, json=new)
    assert made.status_code == 201, made.text
    assert made.json()["require"]["website"] == [["statement"], ["disclaimer"], ["emblem"]]
    assert made.json()["has_emblem"] and made.json()["source"] == "web"
    again = web.post("/api/v1/grants", headers=admin, json=new)
    assert again.status_code == 409 and "exists already" in again.json()["detail"]


def test_news_items_under_grants_and_compliance_of_their_posts(
    web: TestClient, app: Visibility
) -> None:
    editor = bearer(app, "ed")
    added = web.post("/api/v1/news", headers=editor, json={"text": PRESS_RELEASE})
    assert added.status_code == 201, added.text
    item = added.json()
    news_id = item["news_item"]["id"]
    # The funding paragraph names the EU: the grant is suggested, not applied.
    assert item["suggested"] == [{"grant": "eu-2025", "phrase": "financohet nga bashkimi evropian"}]
    assert {p["compliance"]["status"] for p in item["posts"]} == {"no_rules"}
    listed = web.get(f"/api/v1/news/{news_id}/grants", headers=editor).json()
    assert listed["grants"] == [] and listed["suggested"][0]["grant"] == "eu-2025"

    unknown = web.post(
        f"/api/v1/news/{news_id}/grants", headers=editor, json={"names": ["eu-1999"]}
    )
    assert unknown.status_code == 422 and "eu-2025" in unknown.json()["detail"]
    under = web.post(f"/api/v1/news/{news_id}/grants", headers=editor, json={"names": ["eu-2025"]})
    assert under.status_code == 200, under.text
    assert [g["name"] for g in under.json()["grants"]] == ["eu-2025"]
    assert under.json()["suggested"] == []
    posts = web.get("/api/v1/posts", headers=editor, params={"news_item_id": news_id}).json()
    by_channel = {p["channel"]: p for p in posts}
    assert {p["compliance"]["status"] for p in posts} == {"compliant"}
    assert "@EUinKosovo" in by_channel["twitter"]["body"]
    assert "Financuar nga Bashkimi Evropian" in by_channel["website"]["body"]
    checks = by_channel["twitter"]["compliance"]["checks"]
    assert checks == [
        {
            "grant": "eu-2025",
            "rule": "mention or hashtag",
            "status": "met",
            "needed": "the mention @EUinKosovo or the hashtag #EU4Kosovo",
            "found": "mention",
        }
    ]

    removed = web.delete(f"/api/v1/news/{news_id}/grants/eu-2025", headers=editor)
    assert removed.status_code == 200 and removed.json()["grants"] == []
    again = web.delete(f"/api/v1/news/{news_id}/grants/eu-2025", headers=editor)
    assert again.status_code == 404

    # Under the grant from the start.
    second = web.post(
        "/api/v1/news",
        headers=editor,
        json={"text": PRESS_RELEASE.replace("TRAJNIME", "TRAJNIME TË REJA"), "grants": ["eu-2025"]},
    )
    assert second.status_code == 201, second.text
    assert second.json()["suggested"] == []
    assert {p["compliance"]["status"] for p in second.json()["posts"]} == {"compliant"}


def test_approval_needs_a_reason_when_a_required_element_is_missing(
    web: TestClient, app: Visibility
) -> None:
    editor, approver = bearer(app, "ed"), bearer(app, "ap")
    item = web.post(
        "/api/v1/news", headers=editor, json={"text": PRESS_RELEASE, "grants": ["eu-2025"]}
    ).json()
    tweet = posts_by_channel(item)["twitter"]
    edited = web.patch(
        f"/api/v1/posts/{tweet['id']}",
        headers=editor,
        json={"body": tweet["body"].replace("@EUinKosovo", "").strip()},
    )
    assert edited.status_code == 200
    compliance = edited.json()["compliance"]
    assert compliance["status"] == "missing"
    assert compliance["missing"] == ["the mention @EUinKosovo or the hashtag #EU4Kosovo"]

    refused = web.post(f"/api/v1/posts/{tweet['id']}/approve", headers=approver)
    assert refused.status_code == 422
    assert "@EUinKosovo" in refused.json()["detail"]
    assert "override_reason" in refused.json()["detail"]
    assert app.store.get_post(tweet["id"]).status.value == "draft"
    empty = web.post(
        f"/api/v1/posts/{tweet['id']}/approve", headers=approver, json={"override_reason": "  "}
    )
    assert empty.status_code == 422

    reason = "The EU Office asked us not to tag them during the silence period"
    approved = web.post(
        f"/api/v1/posts/{tweet['id']}/approve", headers=approver, json={"override_reason": reason}
    )
    assert approved.status_code == 200, approved.text
    post = approved.json()
    assert post["status"] == "approved" and post["override_reason"] == reason
    assert post["compliance"]["status"] == "overridden"
    assert post["compliance"]["override"]["reason"] == reason
    assert post["compliance"]["override"]["by"] == "ap"
    audit = web.get("/api/v1/audit", headers=bearer(app, "ad")).json()
    overrides = [a for a in audit if a["action"] == "post.override"]
    assert (
        overrides and reason in overrides[0]["detail"] and "@EUinKosovo" in overrides[0]["detail"]
    )

    # A post that carries everything needs no reason, and gets none recorded.
    facebook = posts_by_channel(item)["facebook"]
    needless = web.post(
        f"/api/v1/posts/{facebook['id']}/approve", headers=approver, json={"override_reason": "x"}
    )
    assert needless.status_code == 400 and "without a reason" in needless.json()["detail"]
    plain = web.post(f"/api/v1/posts/{facebook['id']}/approve", headers=approver)
    assert plain.status_code == 200 and plain.json()["compliance"]["status"] == "compliant"


def test_dossier_downloads_as_pdf_html_and_json(web: TestClient, app: Visibility) -> None:
    editor = bearer(app, "ed")
    web.post("/api/v1/news", headers=editor, json={"text": PRESS_RELEASE, "grants": ["eu-2025"]})
    pdf = web.get(
        "/api/v1/grants/eu-2025/dossier",
        headers=editor,
        params={"format": "pdf", "from": "2025-01-01", "to": "2025-12-31"},
    )
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-disposition"] == (
        'attachment; filename="dossier-eu-2025-2025-01-01-2025-12-31.pdf"'
    )
    html = web.get("/api/v1/grants/eu-2025/dossier", headers=editor)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert html.headers["content-disposition"].startswith('inline; filename="dossier-eu-2025-')
    assert "Civil society for good governance" in html.text and "2025/451-778" in html.text
    data = web.get("/api/v1/grants/eu-2025/dossier", headers=editor, params={"format": "json"})
    assert data.json()["grant"]["name"] == "eu-2025"
    swapped = web.get(
        "/api/v1/grants/eu-2025/dossier",
        headers=editor,
        params={"from": "2025-12-31", "to": "2025-01-01"},
    )
    assert swapped.status_code == 422 and "swap" in swapped.json()["detail"]
    assert web.get("/api/v1/grants/eu-2025/dossier", params={"format": "pdf"}).status_code == 401


# -- the pages ----------------------------------------------------------------------------


def test_grant_pages_list_show_and_edit(web: TestClient, app: Visibility) -> None:
    token = sign_in(web, "ed")
    assert 'href="/grants"' in web.get("/news").text
    listing = web.get("/grants")
    assert listing.status_code == 200
    assert "eu-2025" in listing.text and "European Union" in listing.text
    assert "2025-01-01 – 2027-12-31" in listing.text and "no published post yet" in listing.text
    page = web.get("/grants/eu-2025")
    assert page.status_code == 200
    assert "the mention @EUinKosovo or the hashtag #EU4Kosovo" in page.text
    assert "Financuar nga Bashkimi Evropian" in page.text
    assert 'src="/api/v1/grants/eu-2025/emblem"' in page.text
    assert 'href="/grants/eu-2025/dossier' in page.text or 'action="/grants/eu-2025/dossier"' in (
        page.text
    )
    assert "Edit this grant" not in page.text  # editors do not edit grants
    refused = web.post("/grants/eu-2025", data={"csrf_token": token, "title": "Other"})
    assert refused.status_code == 403
    web.post("/sign-out", data={"csrf_token": token})

    token = sign_in(web, "ad")
    page = web.get("/grants/eu-2025")
    assert "Edit this grant" in page.text
    form = dict(re.findall(r'<input name="([\w-]+)" value="([^"]*)"', page.text))
    form.update(re.findall(r'<input type="date" name="([\w-]+)" value="([^"]*)"', page.text))
    form["csrf_token"] = token
    bad = web.post("/grants/eu-2025", data={**form, "ends_on": "2024-12-31"})
    assert bad.status_code == 422
    assert "The grant ends before it starts" in bad.text
    assert 'value="2024-12-31"' in bad.text  # the form as sent
    unknown = web.post("/grants/eu-2025", data={**form, "require-twitter": "mention or logo"})
    assert unknown.status_code == 422 and "require.twitter.0.1" in unknown.text
    saved = web.post(
        "/grants/eu-2025",
        data={**form, "contract": "2025/451-779", "require-twitter": "mention; hashtag"},
    )
    assert saved.status_code == 200 and "Grant eu-2025 saved." in flashes(saved.text)
    grant = app.store.grant("eu-2025")
    assert grant.contract == "2025/451-779"
    assert grant.require["twitter"] == (("mention",), ("hashtag",))
    assert grant.texts["sq"].statement == "Financuar nga Bashkimi Evropian"  # kept
    assert grant.texts["sq"].disclaimer and grant.recognise  # not on the form sent: kept
    assert any(a.action == "grant.edit" for a in app.accounts.audit_log(limit=20))
    dossier = web.get("/grants/eu-2025/dossier", params={"format": "pdf"})
    assert dossier.status_code == 200 and dossier.content.startswith(b"%PDF")


def test_news_pages_suggest_add_and_remove_grants(web: TestClient, app: Visibility) -> None:
    token = sign_in(web, "ed")
    form = web.get("/news/new")
    assert 'name="grants" value="eu-2025"' in form.text
    added = web.post("/news", data={"text": PRESS_RELEASE, "csrf_token": token})
    assert added.status_code == 200
    news_id = int(str(added.url).rsplit("/", 1)[1])
    assert "names European Union as its funder" in added.text
    assert "add grant eu-2025?" in added.text
    assert "data-compliance" not in added.text  # not under a grant: no badges

    under = web.post(
        f"/news/{news_id}/grants",
        data={"grant": "eu-2025", "csrf_token": token, "back": f"/news/{news_id}"},
    )
    assert under.status_code == 200
    assert "add grant eu-2025?" not in under.text
    assert re.findall(r'data-compliance="(\w+)"', under.text) == ["compliant"] * 3
    assert 'class="grant-chip" data-grant="eu-2025"' in under.text

    removed = web.post(
        f"/news/{news_id}/grants/eu-2025/remove",
        data={"csrf_token": token, "back": f"/news/{news_id}"},
    )
    assert "The news item is no longer under grant eu-2025." in flashes(removed.text)
    assert app.grants_of(news_id) == []

    # Chosen on the form from the start.
    second = web.post(
        "/news",
        data={
            "text": PRESS_RELEASE.replace("TRAJNIME", "TRAJNIME TË REJA"),
            "grants": ["eu-2025"],
            "csrf_token": token,
        },
    )
    second_id = int(str(second.url).rsplit("/", 1)[1])
    assert [g.name for g in app.grants_of(second_id)] == ["eu-2025"]


def test_cards_ask_an_approver_for_the_reason_of_an_exception(
    web: TestClient, app: Visibility
) -> None:
    added = app.add_news_text(PRESS_RELEASE, source="test", author="ed", grants=["eu-2025"])
    tweet = next(p for p in added.posts if p.channel == "twitter")
    app.edit(tweet.id, body=tweet.body.replace("@EUinKosovo", "").strip(), by="ed")
    news_id = added.news.id

    token = sign_in(web, "ap")
    page = web.get(f"/news/{news_id}").text
    card = page[page.index(f'id="post-{tweet.id}"') :]
    card = card[: card.index("</section>")]
    assert 'data-compliance="missing"' in card
    assert "the mention @EUinKosovo or the hashtag #EU4Kosovo" in card
    assert 'name="override_reason"' in card and "required" in card
    # The plain approve button is not offered for this post.
    assert f'action="/posts/{tweet.id}/approve" class="inline"' not in card

    refused = web.post(
        f"/posts/{tweet.id}/approve", data={"csrf_token": token, "back": f"/news/{news_id}"}
    )
    assert any("lacks what its grants require" in f for f in flashes(refused.text))
    assert app.store.get_post(tweet.id).status.value == "draft"

    reason = "Partner account suspended this week"
    done = web.post(
        f"/posts/{tweet.id}/approve",
        data={"csrf_token": token, "back": f"/news/{news_id}", "override_reason": reason},
    )
    assert f"Post {tweet.id} approved as an exception." in flashes(done.text)
    card = done.text[done.text.index(f'id="post-{tweet.id}"') :]
    assert 'data-compliance="overridden"' in card[: card.index("</section>")]
    assert reason in card[: card.index("</section>")]
    assert app.store.get_post(tweet.id).override_reason == reason

    # In Albanian too.
    web.post("/language", data={"lang": "sq", "csrf_token": token, "back": "/grants"})
    assert "Postimet e publikuara në rregull" in web.get("/grants").text
    assert "Miratuar si përjashtim" in web.get(f"/news/{news_id}").text


def test_the_engagement_page_filters_by_grant_and_names_it(
    app: Visibility, web: TestClient
) -> None:
    under = app.add_news_text(PRESS_RELEASE, grants=["eu-2025"]).posts
    other = app.add_news_text("Lajm tjetër\n\nNjë njoftim pa grant për OShC-të.\n").posts
    for post in [*under, *other]:
        app.approve(post.id, by="ap")
        app.schedule(post.id, mode="now")
    from visibility.queue.states import PostStatus
    from visibility.service.runner import Service

    ids = [p.id for p in [*under, *other]]

    def published() -> bool:
        return all(app.store.get_post(i).status is PostStatus.PUBLISHED for i in ids)

    import time

    deadline = time.monotonic() + 60
    Service(app).run_forever(until=lambda: published() or time.monotonic() > deadline, poll=0.05)
    assert published()
    sign_in(web, "ed")
    everything = web.get("/engagement").text
    granted = web.get("/engagement", params={"grant": "eu-2025"}).text
    assert everything.count('class="bar-label"') == len(under) + len(other)
    assert granted.count('class="bar-label"') == len(under)
    assert granted.count('class="grant-chip" href="/grants/eu-2025"') == len(under)
    assert '<option value="eu-2025" selected>' in granted
