"""Grants from the command line, to the dossier a donor gets as a PDF."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from test_cli import SAMPLE_MD, SAMPLE_SQ, Run, ok, refused, run, write_channels
from test_grants import CHANNELS, EU_GRANT

__all__ = ["run"]  # the fixture, shared with test_cli

REQUIRE_POPPLER = os.environ.get("VISIBILITY_REQUIRE_POPPLER") == "1"


@pytest.fixture(autouse=True)
def _grant_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_channels(tmp_path, monkeypatch, CHANNELS + EU_GRANT)


def _publish_all(run: Run) -> None:
    ids = [p["id"] for p in ok(run("posts", "list", "--json"))]
    ok(run("posts", "schedule", *ids, "--now", "--json"))
    assert run("run", "--exit-when-idle").code == 0


def test_news_add_suggests_then_grants_complete_the_drafts(run: Run) -> None:
    data = ok(run("news", "add", SAMPLE_SQ, "--json"))
    assert data["grants"] == []
    assert data["suggested_grants"][0]["grant"] == "eu-2025"
    human = run("news", "grants", data["news_item"]["id"])
    assert "suggested: eu-2025" in human.out
    ok(run("news", "grants", data["news_item"]["id"], "--add", "eu-2025", "--json"))
    posts = ok(run("posts", "list", "--json"))
    for post in posts:
        shown = ok(run("posts", "show", post["id"], "--json"))
        assert shown["compliance"]["status"] == "compliant", post["kind"]
    refused(run("news", "grants", data["news_item"]["id"], "--add", "eu-2019"), "eu-2019")


def test_approval_without_the_mention_needs_a_reason(run: Run) -> None:
    data = ok(run("news", "add", SAMPLE_SQ, "--grant", "eu-2025", "--json"))
    tweet = next(p for p in data["posts"] if p["kind"] == "twitter")
    edited = run("posts", "edit", tweet["id"], "--text", "Trajnime falas {link}")
    assert "LACKS what its grants require" in edited.out
    shown = run("posts", "show", tweet["id"])
    assert "LACKS what its grants require" in shown.out
    assert "@EUinKosovo" in shown.out
    refused(run("posts", "approve", tweet["id"], "--by", "ana"), "@EUinKosovo", "--override")
    approved = ok(
        run(
            "posts",
            "approve",
            tweet["id"],
            "--by",
            "ana",
            "--override",
            "Short form agreed",
            "--json",
        )
    )
    assert approved[0]["override_reason"] == "Short form agreed"
    assert approved[0]["compliance"]["status"] == "overridden"


def test_grants_list_show_and_template(run: Run) -> None:
    listed = ok(run("grants", "list", "--json"))
    assert [g["name"] for g in listed] == ["eu-2025"]
    assert listed[0]["texts"]["sq"]["statement"] == "Financuar nga Bashkimi Evropian"
    shown = run("grants", "show", "eu-2025")
    assert "twitter posts carry: mention or hashtag" in shown.out
    template = run("grants", "template", "eu")
    assert "[texts.sr-Cyrl]" in template.out and "Финансира Европска унија" in template.out
    refused(run("grants", "template", "usaid"), "unknown donor 'usaid'")
    refused(run("grants", "show", "nope"), "no grant named 'nope'", "eu-2025")


def test_report_filters_by_grant_and_names_it_in_csv(run: Run) -> None:
    ok(run("news", "add", SAMPLE_SQ, "--grant", "eu-2025", "--json"))
    ok(run("news", "add", SAMPLE_MD, "--json"))  # not under the grant
    ids = [p["id"] for p in ok(run("posts", "list", "--json"))]
    ok(run("posts", "approve", *ids, "--by", "ana", "--json"))
    _publish_all(run)
    everything = run("report", "--format", "csv", "--from", "2026-01-01", "--to", "2037-12-31")
    granted = run("report", "--format", "csv", "--grant", "eu-2025")
    assert everything.out.count("\r\npost,") == 6, everything.err
    assert granted.out.count("\r\npost,") == 3
    rows = [r for r in granted.out.splitlines() if r.startswith("post,")]
    assert all(r.endswith(",eu-2025") for r in rows)
    page = run("report", "--format", "html", "--from", "2026-01-01", "--to", "2037-12-31")
    assert page.out.count("under grant eu-2025") == 1  # the one item under it
    refused(run("report", "--grant", "eu-2025", "--format", "pdf"), "--output")
    refused(run("report", "--format", "pdf", "--output", "x.pdf"), "--grant")


def test_the_dossier_pdf_holds_every_post_and_the_rate(run: Run, tmp_path: Path) -> None:
    tools = [t for t in ("pdftotext", "pdftoppm") if shutil.which(t) is None]
    if tools:
        if REQUIRE_POPPLER:
            pytest.fail(f"VISIBILITY_REQUIRE_POPPLER=1 but {', '.join(tools)} missing")
        pytest.skip("poppler-utils (pdftotext, pdftoppm) not installed")
    data = ok(run("news", "add", SAMPLE_SQ, "--grant", "eu-2025", "--json"))
    tweet = next(p for p in data["posts"] if p["kind"] == "twitter")
    ok(run("posts", "edit", tweet["id"], "--text", "Trajnime falas për OShC-të {link}", "--json"))
    others = [p["id"] for p in data["posts"] if p["id"] != tweet["id"]]
    ok(run("posts", "approve", *others, "--by", "ana", "--json"))
    ok(
        run(
            "posts",
            "approve",
            tweet["id"],
            "--by",
            "ana",
            "--override",
            "Agreed with the EU Office",
            "--json",
        )
    )
    _publish_all(run)
    target = tmp_path / "dossier.pdf"
    result = run("report", "--grant", "eu-2025", "--format", "pdf", "--output", target)
    assert result.code == 0, result.err
    # Rounded down: a dossier never overstates compliance.
    assert "66% compliant" in result.out
    assert target.read_bytes().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-layout", str(target), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = " ".join(text.split())
    assert "66% compliant (2 of 3 posts)" in flat
    assert "Agreed with the EU Office" in flat
    for post in ok(run("posts", "list", "--json")):
        assert post["status"] == "published"
        assert post["external_url"] in flat.replace(" ", "") or post["external_url"] in flat
    # Every page turns into a picture.
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(target), str(tmp_path / "p")], check=True)
    assert sorted(tmp_path.glob("p-*.png"))
