from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from calltracker.cli import cli
from calltracker.config import load_settings
from calltracker.storage import DeliveryRow, MemberInput, Store


def test_status_shows_broken_sources_unsent_deliveries_and_next_runs(config_file: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["--config", str(config_file), "db", "upgrade"]).exit_code == 0
    store = Store.from_url(load_settings(config_file).database_url())
    now = datetime.now(UTC)
    try:
        for i in range(3):
            run_id = store.start_run("esa", now - timedelta(hours=3 - i))
            store.finish_run(run_id, outcome="failed", finished_at=now, error="HTTP 503")
        store.acquire_job_lock("scrape", "host-a:42:x", now, 600)
        store.import_members("LAC", [MemberInput("anna@aero.it", "Anna", "AeroLab", "lombardia", "it", ())], now)
        member_id = store.members("LAC")[0].id
        with store.engine.begin() as conn:
            conn.execute(DeliveryRow.__table__.insert(), [
                {"member_id": member_id, "kind": "digest", "period_key": "2026-W48", "status": "failed",
                 "attempts": 5, "last_error": "550 mailbox unavailable", "payload": {}, "created_at": now},
                {"member_id": member_id, "kind": "digest", "period_key": "2026-W47", "status": "sent",
                 "attempts": 1, "last_error": None, "payload": {}, "created_at": now - timedelta(days=7)},
            ])
    finally:
        store.close()

    result = runner.invoke(cli, ["--config", str(config_file), "status", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    esa = next(s for s in data["sources"] if s["source"] == "esa")
    assert esa["broken"] and esa["consecutive_failures"] == 3
    assert data["deliveries"] == {"failed": 1, "sent": 1}
    assert [(d["email"], d["status"], d["last_error"]) for d in data["unsent_deliveries"]] == [
        ("anna@aero.it", "failed", "550 mailbox unavailable")]
    jobs = {j["job"]: j for j in data["jobs"]}
    assert set(jobs) == {"scrape", "alerts", "digest"}
    assert jobs["scrape"]["running"] and jobs["scrape"]["running_on"] == "host-a:42:x"
    assert not jobs["digest"]["running"]
    digest_next = datetime.fromisoformat(jobs["digest"]["next_run"])
    assert digest_next.strftime("%a %H:%M") == "Mon 07:00" and digest_next > datetime.now(UTC)

    table = runner.invoke(cli, ["--config", str(config_file), "status"])
    assert table.exit_code == 0
    assert "(BROKEN)" in table.stdout and "550 mailbox unavailable" in table.stdout
    assert "on host-a:42:x" in table.stdout and "0 7 * * mon" in table.stdout
