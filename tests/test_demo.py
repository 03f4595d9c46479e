"""`calltracker demo`: the whole pipeline offline on the shipped recordings."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

from click.testing import CliRunner

from calltracker.cli import cli
from calltracker.demo import DEMO_SOURCES, MEMBERS, REPLAY
from calltracker.storage import read_members_csv


def test_demo_runs_offline_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--output", str(out)])
    assert result.exit_code == 0, result.output
    for source in DEMO_SOURCES:
        assert f"{source}: " in result.stdout
    assert "as on 2026-09-01" in result.stdout
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
