"""The ``visibility`` command line, driven in-process as staff would use it.

Every test runs real commands through ``visibility.cli.app.main()`` against a
fresh SQLite database in ``tmp_path`` (see the autouse fixture in conftest),
and checks the exit code, the one-line ``error:`` messages and the ``--json``
records.
"""

from __future__ import annotations

import io
import json
import logging
import re
import sys
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import pytest

import visibility
from visibility.cli.app import main
from visibility.text.tweet import weighted_length

SAMPLES = Path(visibility.__file__).parent / "samples"
SAMPLE_SQ = SAMPLES / "lajm-qendra-burimore-sq.txt"
SAMPLE_MD = SAMPLES / "vest-sr-latn.md"
SAMPLE_HTML = SAMPLES / "news-en.html"
BELGRADE = ZoneInfo("Europe/Belgrade")
STATUSES = ("draft", "approved", "scheduled", "publishing", "published", "failed", "cancelled")


class Result(NamedTuple):
    code: int
    out: str
    err: str


Run = Callable[..., Result]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """``run(*args, input=None) -> Result``: one ``visibility`` command, in this process.

    An exception escaping ``main()`` is what the interpreter would print as a
    traceback with exit code 1, so it is reported that way. ``run`` points the
    root logger at stderr; that is undone after each command, as a new process
    would start without it.
    """
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")

    def _run(*args: object, input: str | None = None) -> Result:
        capsys.readouterr()  # forget output from before
        monkeypatch.setattr(sys, "argv", ["visibility", *(str(a) for a in args)])
        if input is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(input))
        root, aps = logging.getLogger(), logging.getLogger("apscheduler")
        handlers, level, aps_level = root.handlers[:], root.level, aps.level
        crash = ""
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception:
            code, crash = 1, traceback.format_exc()
        finally:
            root.handlers[:] = handlers
            root.setLevel(level)
            aps.setLevel(aps_level)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err + crash)

    return _run


def ok(result: Result) -> Any:
    """The parsed ``--json`` output of a command that must succeed."""
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    return json.loads(result.out)


def refused(result: Result, *words: str) -> str:
    """The one-line error message of a command that must fail; it must contain ``words``."""
    assert result.code == 1, (result.out, result.err)
    assert "Traceback" not in result.err, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    message = lines[0]
    assert message.startswith("error: "), message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    return message


def add_sample(run: Run, path: Path = SAMPLE_SQ) -> dict[str, dict[str, Any]]:
    """Add a news item; its posts by kind."""
    data = ok(run("news", "add", path, "--json"))
    return {p["kind"]: p for p in data["posts"]}


def post(run: Run, post_id: int) -> dict[str, Any]:
    data: dict[str, Any] = ok(run("posts", "show", post_id, "--json"))
    return data


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text)


def measured(record: dict[str, Any]) -> int:
    """The length from a record's ``measured`` field."""
    return int(record["measured"]["length"])


def assert_database_empty(run: Run) -> None:
    assert ok(run("news", "list", "--json")) == []
    assert ok(run("posts", "list", "--json")) == []


def write_channels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str) -> Path:
    path = tmp_path / "channels.toml"
    path.write_text(toml, encoding="utf-8")
    monkeypatch.setenv("VISIBILITY_CHANNELS_FILE", str(path))
    return path


# -- 1. adding the Albanian sample ----------------------------------------


def test_news_add_derives_three_linked_drafts(run: Run) -> None:
    data = ok(run("news", "add", SAMPLE_SQ, "--json"))
    assert data["created"] is True
    posts = {p["kind"]: p for p in data["posts"]}
    assert sorted(posts) == ["facebook", "twitter", "website"]
    assert [p["channel"] for p in data["posts"]] == ["website", "facebook", "twitter"]
    assert {p["status"] for p in data["posts"]} == {"draft"}
    assert {p["news_item_id"] for p in data["posts"]} == {data["news_item"]["id"]}

    website = posts["website"]
    assert website["link_post_id"] is None
    assert website["title"] == data["news_item"]["social_title"]  # sentence case
    for kind in ("facebook", "twitter"):
        assert posts[kind]["link_post_id"] == website["id"]
        assert "{link}" in posts[kind]["body"]
    tweet = posts["twitter"]
    assert 0 < measured(tweet) <= 280
    assert tweet["measured"]["limit"] == 280
    assert tweet["measured"]["unit"] == "weighted characters"


def test_news_add_same_file_again_is_the_same_item(run: Run) -> None:
    first = ok(run("news", "add", SAMPLE_SQ, "--json"))
    again = ok(run("news", "add", SAMPLE_SQ, "--json"))
    assert again["created"] is False
    assert again["news_item"]["id"] == first["news_item"]["id"]
    assert [p["id"] for p in again["posts"]] == [p["id"] for p in first["posts"]]
    assert len(ok(run("posts", "list", "--json"))) == 3
    assert len(ok(run("news", "list", "--json"))) == 1

    human = run("news", "add", SAMPLE_SQ)
    assert human.code == 0
    assert f"news item {first['news_item']['id']} already known as" in human.out


def test_news_add_windows_1250_copy_is_the_same_item(run: Run, tmp_path: Path) -> None:
    first = ok(run("news", "add", SAMPLE_SQ, "--json"))
    legacy = tmp_path / "lajm-windows-1250.txt"
    legacy.write_bytes(SAMPLE_SQ.read_text(encoding="utf-8").encode("cp1250"))
    with pytest.raises(UnicodeDecodeError):
        legacy.read_bytes().decode("utf-8")  # really a legacy code page, not UTF-8

    again = ok(run("news", "add", legacy, "--json"))
    assert again["created"] is False
    assert again["news_item"]["id"] == first["news_item"]["id"]
    assert again["news_item"]["title"] == first["news_item"]["title"]
    assert len(ok(run("posts", "list", "--json"))) == 3


def test_news_add_human_output(run: Run) -> None:
    result = run("news", "add", SAMPLE_SQ)
    assert result.code == 0, result.err
    assert "news item 1 added: TRAJNIME FALAS PËR OSHC-TË" in result.out
    for channel in ("website", "facebook", "twitter"):
        assert channel in result.out
    assert "/280" in result.out


# -- 2. the other samples, stdin, news list and show ------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            SAMPLE_MD,
            {
                "title": "Otvoren poziv za male grantove organizacijama civilnog društva",
                "social_title": "Otvoren poziv za male grantove organizacijama civilnog društva",
                "dateline_date": "2026-12-03",
                "dateline_place": "Priština",
                "contact_email": "grantovi@example.org",
                "language": "sr",
                "source_format": "markdown",
            },
        ),
        (
            SAMPLE_HTML,
            {
                "title": "Open day for civil society organisations",
                "social_title": "Open day for civil society organisations",
                "dateline_date": "2027-01-20",
                "dateline_place": "Pristina",
                "contact_email": "events@example.org",
                "language": "en",
                "source_format": "html",
            },
        ),
        (
            SAMPLE_SQ,
            {
                "title": (
                    "TRAJNIME FALAS PËR OSHC-TË NË KOSOVË PËR MENAXHIMIN E PROJEKTEVE TË BE-SË"
                ),
                "social_title": (
                    "Trajnime falas për OShC-të në Kosovë për menaxhimin e projekteve të BE-së"
                ),
                "dateline_date": "2026-11-12",
                "dateline_place": "Prishtinë",
                "contact_email": "trajnime@example.org",
                "language": "sq",
                "source_format": "text",
            },
        ),
    ],
    ids=["markdown", "html", "text"],
)
def test_news_add_each_sample_and_show_it(run: Run, path: Path, expected: dict[str, str]) -> None:
    added = ok(run("news", "add", path, "--json"))
    assert added["created"] is True
    item = added["news_item"]
    assert {key: item[key] for key in expected} == expected
    assert [p["kind"] for p in added["posts"]] == ["website", "facebook", "twitter"]

    shown = ok(run("news", "show", item["id"], "--json"))
    assert {key: shown[key] for key in expected} == expected
    assert shown["id"] == item["id"]
    assert [p["id"] for p in shown["posts"]] == [p["id"] for p in added["posts"]]
    assert {p["status"] for p in shown["posts"]} == {"draft"}

    listed = ok(run("news", "list", "--json"))
    assert [n["id"] for n in listed] == [item["id"]]
    assert listed[0]["title"] == expected["title"]

    human = run("news", "show", item["id"])
    assert human.code == 0, human.err
    assert expected["title"] in human.out
    assert expected["contact_email"] in human.out


def test_news_list_is_newest_first(run: Run) -> None:
    for path in (SAMPLE_SQ, SAMPLE_MD, SAMPLE_HTML):
        ok(run("news", "add", path, "--json"))
    listed = ok(run("news", "list", "--json"))
    assert [n["id"] for n in listed] == [3, 2, 1]
    assert [n["source_format"] for n in listed] == ["html", "markdown", "text"]
    assert len(ok(run("posts", "list", "--json"))) == 9

    human = run("news", "list")
    assert human.code == 0
    assert "Otvoren poziv za male grantove" in human.out


def test_news_add_from_stdin(run: Run) -> None:
    text = SAMPLE_MD.read_text(encoding="utf-8")
    data = ok(run("news", "add", "-", "--json", input=text))
    assert data["created"] is True
    item = data["news_item"]
    assert item["source"] == "<stdin>"
    assert item["source_format"] == "markdown"  # told by the "# " heading
    assert item["title"] == "Otvoren poziv za male grantove organizacijama civilnog društva"
    assert item["language"] == "sr"
    assert len(data["posts"]) == 3

    # The same text from the file is the same item.
    again = ok(run("news", "add", SAMPLE_MD, "--json"))
    assert again["created"] is False
    assert again["news_item"]["id"] == item["id"]


def test_news_add_language_option(run: Run) -> None:
    data = ok(run("news", "add", SAMPLE_HTML, "--language", "EN", "--json"))
    assert data["news_item"]["language"] == "en"


def test_news_show_unknown_id(run: Run) -> None:
    refused(run("news", "show", "42"), "no news item 42", "news list")


# -- 3. bad input -----------------------------------------------------------


def test_news_add_missing_file(run: Run, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-news.txt"
    refused(run("news", "add", missing), str(missing), "does not exist", "check the path")
    assert_database_empty(run)


def test_news_add_empty_file(run: Run, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    refused(run("news", "add", empty), "empty.txt", "is empty", "title on the first line")
    assert_database_empty(run)


def test_news_add_whitespace_only_file(run: Run, tmp_path: Path) -> None:
    blank = tmp_path / "blank.md"
    blank.write_text(" \n\n\t\n", encoding="utf-8")
    refused(run("news", "add", blank), "blank.md", "is empty")
    assert_database_empty(run)


def test_news_add_binary_file(run: Run, tmp_path: Path) -> None:
    pdf = tmp_path / "lajm.txt"
    pdf.write_bytes(b"%PDF-1.4\n" + b"\x00" * 64 + b"\x01\x02stream\x00\x00endstream")
    refused(run("news", "add", pdf), "lajm.txt", "binary", "PDF", "save it as .txt, .md or .html")
    assert_database_empty(run)


def test_news_add_binary_without_magic_number(run: Run, tmp_path: Path) -> None:
    blob = tmp_path / "blob.txt"
    blob.write_bytes(b"TITLE\n\n" + bytes(range(256)) * 4)
    refused(run("news", "add", blob), "blob.txt", "binary")
    assert_database_empty(run)


def test_news_add_file_over_the_limit(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VISIBILITY_MAX_NEWS_BYTES", "100")
    assert SAMPLE_SQ.stat().st_size > 100
    refused(
        run("news", "add", SAMPLE_SQ),
        "lajm-qendra-burimore-sq.txt",
        "limited",
        "VISIBILITY_MAX_NEWS_BYTES",
    )
    assert_database_empty(run)


def test_news_add_over_the_limit_message_shows_different_sizes(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VISIBILITY_MAX_NEWS_BYTES", "100")
    big = tmp_path / "big.txt"
    big.write_text("Title\n\n" + "word " * 29, encoding="utf-8")  # 152 bytes
    message = refused(run("news", "add", big), "VISIBILITY_MAX_NEWS_BYTES")
    sizes = re.findall(r"\d[\d.,]*\s*(?:bytes|B|kB|KB|MB)\b", message)
    assert len(set(sizes)) >= 2, message


def test_news_add_stdin_over_the_limit(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISIBILITY_MAX_NEWS_BYTES", "100")
    text = SAMPLE_SQ.read_text(encoding="utf-8")
    refused(
        run("news", "add", "-", input=text), "<stdin>", "100 bytes", "VISIBILITY_MAX_NEWS_BYTES"
    )
    assert_database_empty(run)


def test_news_add_empty_stdin(run: Run) -> None:
    refused(run("news", "add", "-", input=""), "<stdin>", "is empty")
    assert_database_empty(run)


def test_news_add_directory(run: Run, tmp_path: Path) -> None:
    folder = tmp_path / "news-folder"
    folder.mkdir()
    refused(run("news", "add", folder), "news-folder", "is a directory", "news item file")
    assert_database_empty(run)


def test_news_add_title_without_paragraphs(run: Run, tmp_path: Path) -> None:
    only_title = tmp_path / "title.txt"
    only_title.write_text("JUST A TITLE\n", encoding="utf-8")
    refused(run("news", "add", only_title), "title.txt", "no paragraphs", "below the title")
    assert_database_empty(run)


def test_bad_setting_is_one_line(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISIBILITY_MAX_NEWS_BYTES", "lots")
    refused(run("news", "list"), "VISIBILITY_MAX_NEWS_BYTES")


# -- 4. posts show ----------------------------------------------------------


def test_posts_show_json_has_every_field(run: Run) -> None:
    posts = add_sample(run)
    tweet = post(run, posts["twitter"]["id"])
    for key in (
        "id",
        "news_item_id",
        "channel",
        "channel_kind",
        "kind",
        "status",
        "body",
        "scheduled_at",
        "external_id",
        "external_url",
        "last_error",
        "attempts",
        "approved_by",
        "link_post_id",
        "measured",
        "waiting",
    ):
        assert key in tweet, key
    assert tweet["id"] == posts["twitter"]["id"]
    assert tweet["channel"] == "twitter"
    assert tweet["channel_kind"] == "dry-run"
    assert tweet["kind"] == "twitter"
    assert tweet["status"] == "draft"
    assert tweet["body"] == posts["twitter"]["body"]
    assert tweet["scheduled_at"] is None
    assert tweet["external_id"] is None
    assert tweet["external_url"] is None
    assert tweet["last_error"] is None
    assert tweet["attempts"] == 0
    assert tweet["attempt_log"] == []


def test_posts_show_human(run: Run) -> None:
    posts = add_sample(run)
    result = run("posts", "show", posts["facebook"]["id"])
    assert result.code == 0, result.err
    assert "facebook (dry-run, posts as facebook)" in result.out
    assert "draft" in result.out
    assert "{link}" in result.out


# -- 5. approve and schedule ------------------------------------------------


def approved(run: Run, kind: str = "website", path: Path = SAMPLE_SQ) -> int:
    post_id = add_sample(run, path)[kind]["id"]
    done = ok(run("posts", "approve", post_id, "--by", "Ardita", "--json"))
    assert [p["status"] for p in done] == ["approved"]
    assert done[0]["approved_by"] == "Ardita"
    assert done[0]["approved_at"] is not None
    return int(post_id)


def test_schedule_at_winter_wall_time(run: Run) -> None:
    post_id = approved(run)
    done = ok(run("posts", "schedule", post_id, "--at", "2037-12-01 09:30", "--json"))
    assert done[0]["status"] == "scheduled"
    assert done[0]["scheduled_at"] == "2037-12-01T08:30:00+00:00"
    assert post(run, post_id)["scheduled_at"] == "2037-12-01T08:30:00+00:00"


def test_schedule_at_summer_wall_time(run: Run) -> None:
    post_id = approved(run)
    done = ok(run("posts", "schedule", post_id, "--at", "2037-07-01 09:30", "--json"))
    assert done[0]["scheduled_at"] == "2037-07-01T07:30:00+00:00"


def test_schedule_at_with_explicit_offset(run: Run) -> None:
    post_id = approved(run)
    done = ok(run("posts", "schedule", post_id, "--at", "2037-12-01T09:30+00:00", "--json"))
    assert done[0]["scheduled_at"] == "2037-12-01T09:30:00+00:00"


def test_schedule_human_output_shows_local_time(run: Run) -> None:
    post_id = approved(run)
    result = run("posts", "schedule", post_id, "--at", "2037-12-01 09:30")
    assert result.code == 0, result.err
    assert f"post {post_id} scheduled for 2037-12-01 09:30 CET (Europe/Belgrade)" in result.out


def test_reschedule_a_scheduled_post(run: Run) -> None:
    post_id = approved(run)
    ok(run("posts", "schedule", post_id, "--at", "2037-12-01 09:30", "--json"))
    done = ok(run("posts", "schedule", post_id, "--at", "2037-12-02 14:00", "--json"))
    assert done[0]["status"] == "scheduled"
    assert done[0]["scheduled_at"] == "2037-12-02T13:00:00+00:00"


def _is_slot(instant: datetime) -> bool:
    local = instant.astimezone(BELGRADE)
    return local.weekday() < 5 and local.time() in (time(9, 30), time(14, 0))


def test_schedule_next_slot(run: Run) -> None:
    first = approved(run, path=SAMPLE_SQ)
    second = approved(run, path=SAMPLE_MD)
    before = datetime.now(UTC)
    slot1 = utc(ok(run("posts", "schedule", first, "--next-slot", "--json"))[0]["scheduled_at"])
    slot2 = utc(ok(run("posts", "schedule", second, "--next-slot", "--json"))[0]["scheduled_at"])
    for slot in (slot1, slot2):
        assert _is_slot(slot), slot.astimezone(BELGRADE)
        assert before < slot < before + timedelta(days=4)
    # The first slot is taken, so the second website post gets a later one.
    assert slot2 > slot1


def test_schedule_next_slot_of_social_post_follows_its_article(run: Run) -> None:
    posts = add_sample(run)
    article, fb = posts["website"]["id"], posts["facebook"]["id"]
    ok(run("posts", "approve", article, fb, "--by", "Ardita", "--json"))
    day = datetime.now(BELGRADE).date() + timedelta(days=30)
    day += timedelta(days=(2 - day.weekday()) % 7)  # a Wednesday a month or so away
    ok(run("posts", "schedule", article, "--at", f"{day} 10:00", "--json"))
    done = ok(run("posts", "schedule", fb, "--next-slot", "--json"))
    # Not the next free slot from now, but the first one after the article: 14:00 that day.
    expected = datetime.combine(day, time(14, 0), tzinfo=BELGRADE).astimezone(UTC)
    assert utc(done[0]["scheduled_at"]) == expected
    assert (
        done[0]["waiting"] == f"waits for its article (post {article}, scheduled) to be published"
    )


def test_schedule_now(run: Run) -> None:
    post_id = approved(run)
    before = datetime.now(UTC)
    done = ok(run("posts", "schedule", post_id, "--now", "--json"))
    after = datetime.now(UTC)
    assert before - timedelta(seconds=1) <= utc(done[0]["scheduled_at"]) <= after
    assert done[0]["status"] == "scheduled"


@pytest.mark.parametrize(
    "options",
    [
        (),
        ("--now", "--next-slot"),
        ("--at", "2037-12-01 09:30", "--now"),
        ("--at", "2037-12-01 09:30", "--next-slot"),
        ("--at", "2037-12-01 09:30", "--next-slot", "--now"),
    ],
    ids=["none", "now+next-slot", "at+now", "at+next-slot", "all-three"],
)
def test_schedule_needs_exactly_one_when(run: Run, options: tuple[str, ...]) -> None:
    post_id = approved(run)
    refused(run("posts", "schedule", post_id, *options), "exactly one", "--at", "--next-slot")
    assert post(run, post_id)["status"] == "approved"


def test_schedule_malformed_time(run: Run) -> None:
    post_id = approved(run)
    before = post(run, post_id)
    refused(
        run("posts", "schedule", post_id, "--at", "tomorrow morning"),
        "cannot read the time: write it as",
        "2026-12-01 09:30",
        "Europe/Belgrade",
    )
    after = post(run, post_id)
    assert after["status"] == "approved"
    assert after["scheduled_at"] is None
    assert after["updated_at"] == before["updated_at"]


# -- 6. state rules ---------------------------------------------------------


def test_scheduling_a_draft_is_refused(run: Run) -> None:
    post_id = add_sample(run)["website"]["id"]
    message = refused(run("posts", "schedule", post_id, "--at", "2037-12-01 09:30"))
    assert message == (
        f"error: post {post_id} is draft; only approved, scheduled posts can be scheduled"
    )
    assert post(run, post_id)["status"] == "draft"


def test_approving_twice_is_refused(run: Run) -> None:
    post_id = approved(run)
    refused(
        run("posts", "approve", post_id, "--by", "Besnik"),
        f"post {post_id} is approved",
        "only draft posts can be approved",
    )
    assert post(run, post_id)["approved_by"] == "Ardita"


def test_approve_needs_a_name(run: Run) -> None:
    post_id = add_sample(run)["website"]["id"]
    refused(run("posts", "approve", post_id, "--by", "  "), "--by NAME")
    assert post(run, post_id)["status"] == "draft"


def test_editing_a_scheduled_post_sends_it_back_to_draft(run: Run) -> None:
    post_id = approved(run, kind="facebook")
    ok(run("posts", "schedule", post_id, "--at", "2037-12-01 09:30", "--json"))
    edited = ok(run("posts", "edit", post_id, "--text", "Lajm i ri.\n\n{link}", "--json"))
    assert edited["status"] == "draft"
    assert edited["approved_by"] is None
    assert edited["approved_at"] is None
    assert edited["scheduled_at"] is None
    assert edited["body"] == "Lajm i ri.\n\n{link}"
    assert post(run, post_id)["status"] == "draft"

    human = run("posts", "edit", post_id, "--text", "Lajm i ri, përsëri.\n\n{link}")
    assert human.code == 0, human.err
    assert f"post {post_id} edited, now draft" in human.out


def test_edit_with_empty_text_is_refused(run: Run) -> None:
    posts = add_sample(run)
    post_id = posts["facebook"]["id"]
    refused(run("posts", "edit", post_id, "--text", "   "), "empty", "nothing was changed")
    assert post(run, post_id)["body"] == posts["facebook"]["body"]


def test_cancelled_post_cannot_be_approved(run: Run) -> None:
    post_id = add_sample(run)["twitter"]["id"]
    done = ok(run("posts", "cancel", post_id, "--json"))
    assert done[0]["status"] == "cancelled"
    refused(run("posts", "approve", post_id, "--by", "Ardita"), f"post {post_id} is cancelled")
    refused(run("posts", "edit", post_id, "--text", "x {link}"), "is cancelled")
    refused(run("posts", "cancel", post_id), "is cancelled")
    assert post(run, post_id)["status"] == "cancelled"


def test_retrying_a_draft_is_refused(run: Run) -> None:
    post_id = add_sample(run)["website"]["id"]
    refused(run("posts", "retry", post_id), f"post {post_id} is draft", "only failed posts")
    assert post(run, post_id)["status"] == "draft"


@pytest.mark.parametrize(
    "command",
    [
        ("posts", "show", "999"),
        ("posts", "approve", "999", "--by", "Ardita"),
        ("posts", "schedule", "999", "--now"),
        ("posts", "schedule", "999", "--at", "2037-12-01 09:30"),
        ("posts", "schedule", "999", "--next-slot"),
        ("posts", "edit", "999", "--text", "x"),
        ("posts", "cancel", "999"),
        ("posts", "retry", "999"),
    ],
    ids=lambda c: " ".join(c[:2]) + (" " + c[3] if len(c) > 3 else ""),
)
def test_unknown_post_id(run: Run, command: tuple[str, ...]) -> None:
    add_sample(run)
    refused(run(*command), "no post 999", "posts list")


# -- 7. channel limits on approval ------------------------------------------


def test_approval_refuses_a_tweet_over_280(run: Run) -> None:
    tweet_id = add_sample(run)["twitter"]["id"]
    text = "x" * 300 + " {link}"
    edited = ok(run("posts", "edit", tweet_id, "--text", text, "--json"))
    expected = 300 + 1 + 23  # the link counts as 23, whatever its length
    assert measured(edited) == expected
    message = refused(
        run("posts", "approve", tweet_id, "--by", "Ardita"),
        f"post {tweet_id} cannot be approved",
        f"{expected} weighted characters",
        "X allows 280",
        f"shorten it by {expected - 280}",
    )
    assert "every link counts as 23" in message
    tweet = post(run, tweet_id)
    assert tweet["status"] == "draft"
    assert tweet["approved_by"] is None


def test_approval_refuses_a_tweet_that_lost_its_link(run: Run) -> None:
    tweet_id = add_sample(run)["twitter"]["id"]
    ok(run("posts", "edit", tweet_id, "--text", "Trajnime falas për OShC-të!", "--json"))
    refused(
        run("posts", "approve", tweet_id, "--by", "Ardita"),
        f"post {tweet_id} cannot be approved",
        "lost the {link} placeholder",
        "put it back",
    )
    assert post(run, tweet_id)["status"] == "draft"

    # Putting {link} back makes it approvable.
    ok(run("posts", "edit", tweet_id, "--text", "Trajnime falas për OShC-të! {link}", "--json"))
    done = ok(run("posts", "approve", tweet_id, "--by", "Ardita", "--json"))
    assert done[0]["status"] == "approved"


def test_approval_refuses_a_facebook_post_that_lost_its_link(run: Run) -> None:
    fb_id = add_sample(run)["facebook"]["id"]
    ok(run("posts", "edit", fb_id, "--text", "Pa lidhje.", "--json"))
    refused(run("posts", "approve", fb_id, "--by", "Ardita"), "lost the {link} placeholder")
    assert post(run, fb_id)["status"] == "draft"


def test_approve_several_at_once(run: Run) -> None:
    posts = add_sample(run)
    ids = [posts[k]["id"] for k in ("website", "facebook", "twitter")]
    result = run("posts", "approve", *ids, "--by", "Ardita")
    assert result.code == 0, result.err
    for post_id in ids:
        assert f"post {post_id} approved by Ardita" in result.out
    assert {p["status"] for p in ok(run("posts", "list", "--json"))} == {"approved"}


# -- 8. posts list filters --------------------------------------------------


def test_posts_list_filters(run: Run) -> None:
    sq = add_sample(run, SAMPLE_SQ)
    md = add_sample(run, SAMPLE_MD)
    ok(run("posts", "approve", sq["twitter"]["id"], "--by", "Ardita", "--json"))

    drafts = ok(run("posts", "list", "--status", "draft", "--channel", "twitter", "--json"))
    assert [p["id"] for p in drafts] == [md["twitter"]["id"]]
    assert all(p["channel"] == "twitter" and p["status"] == "draft" for p in drafts)

    twitter = ok(run("posts", "list", "--channel", "twitter", "--json"))
    assert [p["id"] for p in twitter] == [sq["twitter"]["id"], md["twitter"]["id"]]

    both = ok(run("posts", "list", "--status", "draft", "--status", "approved", "--json"))
    assert len(both) == 6

    approved_only = ok(run("posts", "list", "--status", "approved", "--json"))
    assert [p["id"] for p in approved_only] == [sq["twitter"]["id"]]

    of_news = ok(run("posts", "list", "--news", md["website"]["news_item_id"], "--json"))
    assert sorted(p["id"] for p in of_news) == sorted(p["id"] for p in md.values())

    assert ok(run("posts", "list", "--status", "published", "--json")) == []


def test_posts_list_unknown_status(run: Run) -> None:
    refused(run("posts", "list", "--status", "bogus"), "unknown status 'bogus'", *STATUSES)


def test_posts_list_unknown_channel(run: Run) -> None:
    refused(
        run("posts", "list", "--channel", "nope"),
        "no channel named 'nope'",
        "website, facebook, twitter",
    )


def test_posts_list_human(run: Run) -> None:
    add_sample(run)
    result = run("posts", "list")
    assert result.code == 0, result.err
    for word in ("website", "facebook", "twitter", "draft", "/280"):
        assert word in result.out


# -- 9. channels --------------------------------------------------------------


def test_channels_list_defaults(run: Run) -> None:
    rows = ok(run("channels", "list", "--json"))
    assert [r["name"] for r in rows] == ["website", "facebook", "twitter"]
    for row in rows:
        assert row["kind"] == "dry-run"
        assert row["posts_as"] == row["name"]
        assert row["timezone"] == "Europe/Belgrade"
        assert row["enabled"] is True
        assert row["secrets"] == []
        assert row["slots"] == ["mon,tue,wed,thu,fri 09:30", "mon,tue,wed,thu,fri 14:00"]

    human = run("channels", "list")
    assert human.code == 0, human.err
    assert "built-in defaults" in human.out
    assert "dry-run" in human.out


BAD_KIND = """
[[channels]]
name = "site"
kind = "wordpress"
"""


@pytest.mark.parametrize(
    "command",
    [
        ("news", "list"),
        ("news", "list", "--json"),
        ("news", "add", str(SAMPLE_SQ)),
        ("news", "show", "1"),
        ("posts", "list"),
        ("posts", "show", "1"),
        ("posts", "approve", "1", "--by", "Ardita"),
        ("posts", "schedule", "1", "--now"),
        ("channels", "list", "--json"),
        ("db", "upgrade"),
        ("run", "--demo"),
    ],
    ids=lambda c: " ".join(c),
)
def test_unknown_channel_kind_stops_every_command(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]
) -> None:
    path = write_channels(tmp_path, monkeypatch, BAD_KIND)
    refused(
        run(*command),
        str(path),
        "channels[0].kind",
        "(channel 'site')",
        "unknown kind 'wordpress'",
        "website, facebook, twitter, dry-run",
    )


def test_missing_channels_file(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISIBILITY_CHANNELS_FILE", str(tmp_path / "nope.toml"))
    refused(run("channels", "list"), "nope.toml", "does not exist", "VISIBILITY_CHANNELS_FILE")


def test_channels_file_that_is_not_toml(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_channels(tmp_path, monkeypatch, "[[channels]\nname = ")
    refused(run("channels", "list"), "channels.toml", "not valid TOML")


SECRET = "EAAB-secret-token-xyz"
FACEBOOK = """
[[channels]]
name = "fb-national"
kind = "facebook"
secrets = { page_access_token = "FB_TOKEN" }
options = { page_id = "1234567890" }

[[channels]]
name = "site"
kind = "dry-run"
imitates = "website"
timezone = "Europe/Tirane"
slots = ["daily 10:00"]
"""


def test_channels_list_never_shows_secret_values(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FB_TOKEN", SECRET)
    path = write_channels(tmp_path, monkeypatch, FACEBOOK)
    result = run("channels", "list", "--json")
    rows = ok(result)
    assert SECRET not in result.out + result.err
    assert "secret-token" not in result.out
    fb, site = rows
    assert fb["name"] == "fb-national"
    assert fb["kind"] == "facebook"
    assert fb["posts_as"] == "facebook"
    assert fb["secrets"] == ["page_access_token"]
    assert site["kind"] == "dry-run"
    assert site["posts_as"] == "website"
    assert site["timezone"] == "Europe/Tirane"
    assert site["slots"] == ["mon,tue,wed,thu,fri,sat,sun 10:00"]

    human = run("channels", "list")
    assert human.code == 0, human.err
    assert SECRET not in human.out + human.err
    assert str(path) in human.out
    assert "fb-national" in human.out


def test_config_error_never_shows_secret_values(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FB_TOKEN", SECRET)
    write_channels(tmp_path, monkeypatch, FACEBOOK + BAD_KIND)
    result = run("channels", "list", "--json")
    refused(result, "channels[2].kind")
    assert SECRET not in result.out + result.err


def test_missing_secret_names_the_variable(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FB_TOKEN", raising=False)
    write_channels(tmp_path, monkeypatch, FACEBOOK)
    refused(
        run("channels", "list"),
        "channels[0] (channel 'fb-national').secrets.page_access_token",
        "FB_TOKEN is not set",
        "export FB_TOKEN=",
    )


def test_demo_refuses_real_channels(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FB_TOKEN", SECRET)
    write_channels(tmp_path, monkeypatch, FACEBOOK)
    refused(run("run", "--demo"), "--demo", "not dry-run", "fb-national")
    assert_database_empty(run)
    assert not (tmp_path / "data" / "outbox").exists()


# -- 10. db and version -----------------------------------------------------


def test_db_upgrade_is_idempotent(run: Run, tmp_path: Path) -> None:
    for _ in range(2):
        result = run("db", "upgrade")
        assert result.code == 0, result.err
        assert "database is up to date: sqlite:///" in result.out
        assert str(tmp_path / "data" / "visibility.sqlite3") in result.out
    assert (tmp_path / "data" / "visibility.sqlite3").is_file()
    assert_database_empty(run)


def test_db_upgrade_keeps_data(run: Run) -> None:
    add_sample(run)
    assert run("db", "upgrade").code == 0
    assert len(ok(run("posts", "list", "--json"))) == 3


def test_version(run: Run) -> None:
    result = run("--version")
    assert result.code == 0
    assert result.out.strip() == f"visibility {visibility.__version__}"


def test_usage_error_is_not_a_traceback(run: Run) -> None:
    result = run("posts", "approve", "1")  # no --by
    assert result.code == 2
    assert "--by" in result.err
    assert "Traceback" not in result.err


# -- 11. run --demo -----------------------------------------------------------


def outbox(tmp_path: Path, channel: str) -> list[dict[str, Any]]:
    path = tmp_path / "data" / "outbox" / f"{channel}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_run_demo_publishes_the_sample_once(run: Run, tmp_path: Path) -> None:
    result = run("run", "--demo")
    assert result.code == 0, result.err
    assert "sample news item 1" in result.out
    assert "outbox:" in result.out

    posts = ok(run("posts", "list", "--json"))
    assert [p["channel"] for p in posts] == ["website", "facebook", "twitter"]
    for record in posts:
        assert record["status"] == "published", record
        assert record["external_url"]
        assert record["external_id"] == f"{record['channel']}-{record['id']}"
        assert record["approved_by"] == "demo"
        assert record["last_error"] is None
    shown = post(run, posts[2]["id"])
    assert [a["outcome"] for a in shown["attempt_log"]] == ["published"]

    records = {c: outbox(tmp_path, c) for c in ("website", "facebook", "twitter")}
    assert {c: len(r) for c, r in records.items()} == {"website": 1, "facebook": 1, "twitter": 1}
    article_url = records["website"][0]["url"]
    assert article_url == posts[0]["external_url"]
    tweet = records["twitter"][0]["body"]
    assert article_url in tweet
    assert "{link}" not in tweet
    assert weighted_length(tweet) <= 280
    assert article_url in records["facebook"][0]["body"]

    again = run("run", "--demo")
    assert again.code == 0, again.err
    assert {c: len(outbox(tmp_path, c)) for c in records} == {c: 1 for c in records}
    assert len(ok(run("news", "list", "--json"))) == 1
    assert [p["status"] for p in ok(run("posts", "list", "--json"))] == ["published"] * 3


def test_published_post_cannot_be_changed(run: Run) -> None:
    assert run("run", "--demo").code == 0
    refused(run("posts", "edit", "1", "--text", "late fix"), "post 1 is published")
    refused(run("posts", "cancel", "1"), "post 1 is published")
    refused(run("posts", "schedule", "1", "--now"), "post 1 is published")


# -- bugs found while writing these tests -------------------------------------


def test_square_brackets_in_a_title_are_shown(run: Run, tmp_path: Path) -> None:
    news = tmp_path / "brackets.txt"
    news.write_text(
        "Workshop [online] for NGOs\n\n"
        "Prishtina – The centre runs an online workshop for NGOs next week.\n",
        encoding="utf-8",
    )
    added = run("news", "add", news)
    assert added.code == 0, added.err
    listed = run("news", "list")
    assert listed.code == 0, listed.err
    assert "Workshop [online] for NGOs" in added.out
    assert "Workshop [online] for NGOs" in listed.out


def test_closing_tag_in_a_title_does_not_crash(run: Run, tmp_path: Path) -> None:
    news = tmp_path / "closing.txt"
    news.write_text(
        "Grants [/closed] for 2027\n\n"
        "Prishtina – The call for small grants is closed; results follow in January.\n",
        encoding="utf-8",
    )
    added = run("news", "add", news)
    assert "Traceback" not in added.err, added.err
    assert added.code == 0
    for command in (("news", "list"), ("posts", "list")):
        result = run(*command)
        assert "Traceback" not in result.err, result.err
        assert result.code == 0


def test_language_option_must_be_a_code(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_channels(
        tmp_path,
        monkeypatch,
        '[[channels]]\nname = "site-en"\nkind = "dry-run"\nimitates = "website"\nlanguage = "en"\n',
    )
    result = run("news", "add", SAMPLE_HTML, "--language", "English", "--json")
    if result.code == 1:
        refused(result, "English")
        assert_database_empty(run)
    else:
        data = ok(result)
        assert data["news_item"]["language"] == "en"
        assert [p["channel"] for p in data["posts"]] == ["site-en"]
