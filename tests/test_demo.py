"""`calltracker demo`: the whole pipeline offline on the shipped recordings."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

from click.testing import CliRunner

from calltracker.cli import cli
from calltracker.demo import DEMO_SOURCES, MEMBERS, REPLAY, run_demo
from calltracker.storage import read_members_csv
from scrapers import specs


def test_the_demo_replays_every_source_with_recordings() -> None:
    assert sorted(DEMO_SOURCES) == sorted(specs()) == ["esa", "eu_ft", "incentivi", "liguria", "lombardia",
                                                       "piemonte"]


def test_the_showcase_six_sources_no_failure_themed_calls_and_different_digests(tmp_path: Path) -> None:
    summary = run_demo(tmp_path / "demo")
    assert sorted(r.source for r in summary.sources) == sorted(DEMO_SOURCES)
    assert all(r.outcome == "ok" and r.failed == 0 and r.seen > 0 for r in summary.sources), \
        [r.line() for r in summary.sources]
    assert len(summary.by_theme) >= 3, summary.by_theme  # the open calls carry at least three themes
    got = {d.email: d for d in summary.member_digests}
    titles = {email: {title for _, title, _ in d.calls} for email, d in got.items()}
    # different themes, same region: a space member and an AI member of LAC get different calls
    assert titles["marco.rossi@spacetech-demo.it"] != titles["giulia.bianchi@aerolab-demo.it"]
    # different regions and themes: the Piemonte training member gets Piemonte's calls, the space member does not
    assert titles["luca.gallo@formazione-demo.it"] and titles["marco.rossi@spacetech-demo.it"]
    assert not titles["luca.gallo@formazione-demo.it"] & titles["marco.rossi@spacetech-demo.it"]
    # every call listed says why: the member's theme it matched and the member's region
    for digest in summary.member_digests:
        for _, _, why in digest.calls:
            assert any(t in why for t in digest.themes or ("_",)) or not digest.themes
            assert f"open to {digest.region}" in why
    # what is not replayed is said, one line per source
    assert any(n.startswith("lombardia:") for n in summary.notes)
    assert len(summary.notes) == len(set(n.split(":")[0] for n in summary.notes))


def test_demo_runs_offline_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--output", str(out)])
    assert result.exit_code == 0, result.output
    for source in DEMO_SOURCES:
        assert f"{source}: " in result.stdout
    assert "as on 2026-09-01" in result.stdout
    assert "FAILED" not in result.stdout and "what each member got, and why:" in result.stdout
    assert "[esa] WORLD AGENTIC ENGINE - WAE -- " in result.stdout
    assert (out / "demo.sqlite3").exists()
    emls = sorted((out / "outbox").glob("*.eml"))
    htmls = sorted((out / "html").glob("*.html"))
    assert emls and len(emls) == len(htmls)
    msg = email.message_from_bytes(emls[0].read_bytes(), policy=email.policy.default)
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg.get_body(("html",)) is not None and msg.get_body(("plain",)) is not None
    assert "<html" in htmls[0].read_text(encoding="utf-8").lower()


def test_demo_refuses_a_folder_with_files(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(cli, ["demo", "--output", str(tmp_path)])
    assert result.exit_code == 1
    assert "is not empty" in result.stderr
    assert (tmp_path / "keep.txt").read_text(encoding="utf-8") == "mine"


def test_shipped_demo_data_is_valid() -> None:
    lines = MEMBERS.read_text(encoding="utf-8").splitlines()
    good, bad = read_members_csv("\n".join(line.split(",", 1)[1] for line in lines) + "\n")
    assert bad == [] and len(good) == len(lines) - 1
    for source in DEMO_SOURCES:
        assert (REPLAY / source / "manifest.json").exists()
