"""`calltracker scrape` against the demo replay server (the lead registers the command in the CLI group)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from calltracker.cli import CalltrackerGroup, cli
from calltracker.cli.scrape_cmds import scrape
from calltracker.replay import ReplayServer, load_manifest

# The root group's options, error handling and clean-up, with the scrape command registered.
GROUP = CalltrackerGroup(name="calltracker", params=cli.params, callback=cli.callback, commands={"scrape": scrape})
DEMO = Path(__file__).resolve().parent.parent / "calltracker" / "data" / "replay" / "eu_ft"


@pytest.fixture
def demo() -> Iterator[ReplayServer]:
    with ReplayServer(load_manifest(DEMO)) as srv:
        yield srv


def invoke(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(GROUP, ["--config", str(config), "scrape", *args])
    return result.exit_code, result.stdout, result.stderr


def configure(config_file: Path, base_url: str) -> Path:
    text = config_file.read_text(encoding="utf-8")
    config_file.write_text(text + '[http]\nmin_delay = 0.0\nallow_loopback = true\n'
                           f'[sources.eu_ft]\nbase_url = "{base_url}"\n', encoding="utf-8")
    return config_file


def test_scrape_then_scrape_again(config_file: Path, demo: ReplayServer) -> None:
    config = configure(config_file, demo.base_url)
    code, out, _ = invoke(config, "eu_ft", "--dry-run")
    assert code == 0 and out.startswith("eu_ft: 6 seen, 0 new, 0 changed, 0 failed in ") and "(dry run)" in out
    code, out, _ = invoke(config, "eu_ft")
    assert code == 0 and out.startswith("eu_ft: 6 seen, 6 new, 0 changed, 0 failed in ")
    code, out, _ = invoke(config, "eu_ft")
    assert code == 0 and out.startswith("eu_ft: 6 seen, 0 new, 0 changed, 0 failed in ")


def test_an_unknown_source_is_refused(config_file: Path) -> None:
    code, _, err = invoke(config_file, "nowhere")
    assert code == 2 and "unknown source nowhere" in err  # a usage error


def test_a_failed_source_exits_1(config_file: Path, demo: ReplayServer) -> None:
    config = configure(config_file, demo.base_url + "/moved")
    code, out, _ = invoke(config, "eu_ft")
    assert code == 1 and "FAILED" in out and "HTTP 404" in out
