from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from calltracker import migrate
from calltracker.cli import cli
from calltracker.cli.context import CliState
from calltracker.storage import Store, make_engine
from tests import opsjobs

ROOT = Path(__file__).resolve().parent.parent

GOOD = opsjobs.GOOD


def run_once(config: Path, monkeypatch: pytest.MonkeyPatch, trace: Path, jobs: dict[str, str],
             *args: str) -> tuple[int, str]:
    monkeypatch.setenv("OPS_TEST_TRACE", str(trace))
    result = CliRunner().invoke(cli, ["--config", str(config), "run-once", *args],
                                obj=CliState(jobs=opsjobs.table(**jobs)))
    return result.exit_code, result.output


def traced(trace: Path) -> list[str]:
    return trace.read_text(encoding="utf-8").split() if trace.exists() else []


def test_run_once_runs_every_job_in_order_and_exits_0(config_file: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    trace = tmp_path / "trace"
    code, out = run_once(config_file, monkeypatch, trace, GOOD)
    assert code == 0, out
    assert traced(trace) == ["scrape", "alerts", "digest"]
    assert "digest: ok: digest: 2 sent" in out


def test_run_once_only_runs_the_named_jobs(config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trace = tmp_path / "trace"
    code, _ = run_once(config_file, monkeypatch, trace, GOOD, "--only", "digest", "--only", "scrape")
    assert code == 0
    assert traced(trace) == ["scrape", "digest"]


def test_run_once_exits_1_when_a_job_fails_and_still_runs_the_others(config_file: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    trace = tmp_path / "trace"
    jobs = {**GOOD, "alerts": "failing_alerts"}
    code, out = run_once(config_file, monkeypatch, trace, jobs)
    assert code == 1
    assert traced(trace) == ["scrape", "alerts", "digest"]
    assert "alerts: FAILED: alerts: RuntimeError: the alert job fell over" in out


def test_run_once_exits_1_when_a_delivery_failed(config_file: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = run_once(config_file, monkeypatch, tmp_path / "trace",
                         {**GOOD, "digest": "partly_failed_digest"}, "--only", "digest")
    assert code == 1 and "1 failed" in out


def test_run_once_exits_2_on_bad_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trace = tmp_path / "trace"
    config = tmp_path / "bad.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[schedule]\nscrape = "every morning"\n', encoding="utf-8")
    code, out = run_once(config, monkeypatch, trace, GOOD)
    assert code == 2 and "schedule.scrape" in out
    assert traced(trace) == []


def test_run_once_json_lists_every_job_once(config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = run_once(config_file, monkeypatch, tmp_path / "trace", GOOD, "--json")
    assert code == 0
    assert json.loads(out) == [
        {"job": "scrape", "ok": True, "skipped": False, "summary": "scrape: 3 sources, 0 failed"},
        {"job": "alerts", "ok": True, "skipped": False, "summary": "alerts: done; introductions: 0 sent"},
        {"job": "digest", "ok": True, "skipped": False, "summary": "digest: 2 sent; introductions: 0 sent"}]


# --- real processes --------------------------------------------------------------------------------------


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLTRACKER_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def _finished_runs(store: Store) -> int:
    return sum(1 for r in store.runs("eu_ft", limit=500) if r.outcome == "ok")


@pytest.mark.slow
def test_sigterm_mid_job_finishes_the_item_and_exits_0(config_file: Path, db_url: str, tmp_path: Path) -> None:
    trace = tmp_path / "trace"
    env = _env(OPS_TEST_TRACE=str(trace))
    store = Store(make_engine(db_url))
    migrate.upgrade(store.engine, db_url)
    proc = subprocess.Popen([sys.executable, "-m", "tests.opsjobs", "scrape=slow_scrape", "--",
                             "--config", str(config_file), "run",
                             "--now", "scrape"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while _finished_runs(store) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()[1]
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        runs = store.runs("eu_ft", limit=500)
        assert runs and all(r.outcome == "ok" and r.finished_at is not None for r in runs), "no half-written run"
        assert len(runs) < 100, "it stopped early"
        assert traced(trace) == ["slow_scrape", str(len(runs))]
        assert store.job_locks() == [], "the lock was released"
        assert "SIGTERM received" in err and "scheduler stopped" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        store.close()


def test_secrets_never_reach_the_log_or_the_terminal(config_file: Path, tmp_path: Path) -> None:
    secrets = {"CALLTRACKER_DATABASE_PASSWORD": "db-p@ss w0rd!", "CALLTRACKER_SMTP_PASSWORD": "smtp-Secr3t-pw",
               "CALLTRACKER_SIGNING_KEY": "sign-K3y-0123456789abcdef0123456789"}
    env = _env(**secrets)
    proc = subprocess.run([sys.executable, "-m", "tests.opsjobs", "alerts=leaky_alerts", "--",
                           "--config", str(config_file), "--debug",
                           "--log-format", "json", "run-once", "--only", "alerts"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    records = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    assert any(r["logger"] == "tests.opsjobs" for r in records), "the leaky job did log"
    assert any("exc" in r and "RuntimeError" in r["exc"] for r in records), "the traceback is still there"
    from urllib.parse import quote

    output = proc.stdout + proc.stderr
    for value in secrets.values():
        assert value not in output and quote(value, safe="") not in output
    assert "***" in output
