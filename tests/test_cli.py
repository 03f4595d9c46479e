from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from calltracker.cli import cli
from calltracker.config import load_settings
from calltracker.domain import Scope, ScrapedCall, Status
from calltracker.storage import Store

ROOT = Path(__file__).resolve().parent.parent

CSV = """email,name,organisation,region,language,themes
anna@aero.it,Anna Rossi,AeroLab,lombardia,it,green_aviation;space_economy
bruno@@bad,Bruno,X,piemonte,it,
carla@sat.it,Carla,Sat,Piemonte,EN,cybersecurity
"""


def run(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


def test_db_upgrade_then_status(config_file: Path) -> None:
    code, out, _ = run(config_file, "db", "upgrade")
    assert code == 0 and "upgraded from empty to revision" in out
    code, out, _ = run(config_file, "db", "upgrade")
    assert code == 0 and "is up to date" in out
    code, out, _ = run(config_file, "status", "--json")
    data = json.loads(out)
    assert {s["source"] for s in data["sources"]} >= {"eu_ft", "piemonte"}
    assert data["calls"] == 0


def test_members_import_reports_bad_rows_and_keeps_good_ones(config_file: Path, tmp_path: Path) -> None:
    csv_file = tmp_path / "members.csv"
    csv_file.write_text(CSV, encoding="utf-8")
    code, out, err = run(config_file, "members", "import", str(csv_file), "--cluster", "dap")
    assert code == 1
    assert f"{csv_file}:3: rejected: email" in err
    assert "DAP: 2 created, 0 updated, 0 unchanged, 1 rejected" in out
    code, out, _ = run(config_file, "members", "list", "--json", "--cluster", "DAP")
    members = json.loads(out)
    assert [(m["email"], m["language"], m["themes"]) for m in members] == [
        ("anna@aero.it", "it", ["green_aviation", "space_economy"]), ("carla@sat.it", "en", ["cybersecurity"])]
    code, out, _ = run(config_file, "members", "list")
    assert "anna@aero.it" in out and "CLUSTER" in out


def test_members_import_into_unknown_cluster_lists_known_ones(config_file: Path, tmp_path: Path) -> None:
    csv_file = tmp_path / "members.csv"
    csv_file.write_text(CSV, encoding="utf-8")
    code, _, err = run(config_file, "members", "import", str(csv_file), "--cluster", "Toscana")
    assert code == 2  # a usage error
    assert err.strip() == ("usage error: Invalid value for '--cluster': unknown cluster \"Toscana\" "
                           "(known clusters: DAP, LAC, LIG) (see 'calltracker members import --help')")


def test_malformed_csv_header_is_one_line_and_saves_nothing(config_file: Path, tmp_path: Path) -> None:
    csv_file = tmp_path / "members.csv"
    csv_file.write_text("mail;nome\nx@y.it;X\n", encoding="utf-8")
    code, _, err = run(config_file, "members", "import", str(csv_file), "--cluster", "LAC")
    assert code == 1 and err.startswith("error: the CSV header must name the columns email")
    _, out, _ = run(config_file, "members", "list", "--json")
    assert json.loads(out) == []


def test_calls_list_and_show(config_file: Path) -> None:
    settings = load_settings(config_file)
    store = Store.from_url(settings.database_url())
    run(config_file, "db", "upgrade")
    now = datetime.now(UTC)
    store.save_calls("eu_ft", [ScrapedCall(source="eu_ft", external_id="X-1", identifier="DIGITAL-ECCC-2027-1",
                                           title="Cybersecurity for SMEs", url="https://ec.europa.eu/x",
                                           scope=Scope.EU, status=Status.OPEN)], run_id=None, now=now)
    store.close()
    code, out, _ = run(config_file, "calls", "list", "--json", "--open")
    assert code == 0
    (call,) = json.loads(out)
    assert call["identifier"] == "DIGITAL-ECCC-2027-1" and call["status"] == "open"
    code, out, _ = run(config_file, "calls", "show", "digital-eccc-2027-1")
    assert code == 0 and "Cybersecurity for SMEs" in out and "status:     open" in out
    code, _, err = run(config_file, "calls", "show", "NOPE-1")
    assert code == 1 and err.strip() == 'error: no call with id or identifier "NOPE-1"'


def test_bad_database_url_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[database]\nurl = "postgresql+psycopg://nobody@127.0.0.1:1/none"\n', encoding="utf-8")
    code, _, err = run(config, "calls", "list")
    assert code == 1
    assert err.startswith("error: cannot open the database") and err.count("\n") == 1


def test_sources_list_shows_configured_sources(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[sources.esa]\nenabled = false\nbase_url = \"https://esa.example.org\"\n", encoding="utf-8")
    code, out, _ = run(config, "sources", "list", "--json")
    by_name = {s["name"]: s for s in json.loads(out)}
    assert by_name["esa"] == {"name": "esa", "type": "coded", "enabled": False, "base_url": "https://esa.example.org"}


def test_python_dash_m_and_help_everywhere() -> None:
    out = subprocess.run([sys.executable, "-m", "calltracker", "-h"], capture_output=True, text=True, cwd=ROOT,
                         check=True).stdout
    assert "Usage:" in out and "members" in out


def test_every_command_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    import click

    def walk(group: click.Group, prefix: str) -> list[str]:
        names = []
        ctx = click.Context(group)
        for name in group.list_commands(ctx):  # commands load lazily: ask the group, not its dict
            cmd = group.get_command(ctx, name)
            assert cmd is not None
            full = f"{prefix} {name}"
            names.extend(walk(cmd, full) if isinstance(cmd, click.Group) else [full])
        return names

    missing = [name for name in walk(cli, "calltracker") if name not in readme]
    assert missing == []
