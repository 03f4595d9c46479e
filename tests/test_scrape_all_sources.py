"""End to end: `calltracker scrape` over every source against the replay server, into the real Store.

The replay server answers for all sources on one host: every coded source's recordings named by its spec
(`scrapers.specs()`: adding a source adds it here), plus payloads under tests/fixtures (recorded ones, and
the SYNTHESISED FILSE/Interreg ones, see their READMEs). Register rows that match the recorded Lombardia
pages are built here. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from calltracker.cli import CalltrackerGroup, cli
from calltracker.cli.scrape_cmds import scrape
from calltracker.config import load_settings
from calltracker.replay import ReplayServer, Reply, Route, load_manifest
from calltracker.storage import CallFilter, CallView, Store, make_engine
from scrapers import specs

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"
GROUP = CalltrackerGroup(name="calltracker", params=cli.params, callback=cli.callback, commands={"scrape": scrape})
HTML = {"Content-Type": "text/html; charset=utf-8"}
JSON = {"Content-Type": "application/json"}
ALL = ["liguria", "lombardia", "piemonte"]
DETAIL = "/servizi/servizio/bandi/dettaglio/"
PIEMONTE_PAGES = {
    "/contributi-finanziamenti/energie-rinnovabili-nelle-imprese-2026":
        "detail_aperto_energie-rinnovabili-imprese-2026_LIGHTLY_TRIMMED.html",
    "/pre-informazione-fondi-ue/servizio-controllo-progetti-rafforzamento-welfare-territoriale-sostegno-persone-"
    "piu-vulnerabili": "detail_preinformazione_welfare_TRIMMED.html",
}


def read(*parts: str) -> bytes:
    return FIX.joinpath(*parts).read_bytes()


def lombardia_rows() -> list[dict[str, Any]]:
    """The real register row, plus rows for the codes of the recorded pages and two codes whose page fails."""
    real = json.loads(read("lombardia", "socrata_row_and_detail_fragments_PARTIAL.json"))
    row = real["socrata_row"]
    return [row,
            {**row, "codice_bando": "RLD12026053844", "titolo_bando": "Inclusione scolastica disabilità sensoriale",
             "apertura_adesione": "2026-06-04T00:00:00.000", "chiusura_adesione": None},
            {**row, "codice_bando": "RLO12021022783", "titolo_bando": "Fondo Confidiamo nella ripresa - Energia",
             "apertura_adesione": "2025-04-28T00:00:00.000", "chiusura_adesione": "2025-07-25T00:00:00.000"},
            {**row, "codice_bando": "RLE12026000001", "titolo_bando": "Codice che il portale non conosce"},
            {**row, "codice_bando": "RLF12026000002", "titolo_bando": "Pagina che non risponde"}]


def tertium_page() -> bytes:
    f = json.loads(read("lombardia", "socrata_row_and_detail_fragments_PARTIAL.json"))["detail_fragments"]
    return ("<!DOCTYPE HTML><html><head><title>Bandi | Bandi e Servizi</title></head><body><h1>Bando Tertium</h1>"
            f"{f['status_chip']}<div>{f['dates']}</div>{f['eligibility_body']}</body></html>").encode()


def routes() -> list[Route]:
    listing = "".join(f'<article about="{path}"><dl class="field--name-field-display-title"><dd class="field__item">'
                      f'<h2>call</h2></dd></dl></article>' for path in PIEMONTE_PAGES).encode()
    found = [
        # a listing in the real teaser markup, of the two recorded call pages (the real listing's own call
        # pages were not recorded)
        Route("/test-listing", [Reply(body=listing, headers=HTML)]),
        Route("/resource/bukx-h2uy.json", [Reply(body=json.dumps(lombardia_rows()).encode(), headers=JSON)]),
        Route(DETAIL + "RLP12026052483", [Reply(body=tertium_page(), headers=HTML)]),
        Route(DETAIL + "RLD12026053844",
              [Reply(body=read("lombardia", "detail_aperto_sportello_senza_scadenza_RLD12026053844_TRIMMED.html"),
                     headers=HTML)]),
        Route(DETAIL + "RLO12021022783",
              [Reply(body=read("lombardia", "detail_chiuso_RLO12021022783_TRIMMED.html"), headers=HTML)]),
        Route(DETAIL + "RLE12026000001",  # the portal's error page, served with 200
              [Reply(body=b"<html><head><title>Errore | Bandi e Servizi</title></head><body></body></html>",
                     headers=HTML)]),
        *[Route(path, [Reply(body=read("piemonte", name), headers=HTML)]) for path, name in PIEMONTE_PAGES.items()],
        Route("/index.php", [Reply(body=read("liguria", "filse_ajaxLoadBandi_SYNTHESISED.json"), headers=JSON)],
              method="POST"),
        Route("/solr/coredrupal/select",
              [Reply(body=read("incentivi", "solr_response_aliased_fieldnames_FULL.json"), headers=JSON)]),
        Route("/calls-for-proposals/",
              [Reply(body=read("interreg", "central_europe_calls_SYNTHESISED.html"), headers=HTML)]),
    ]
    for spec in specs().values():  # every source's own recordings, as the demo replays them
        if spec.recordings:
            found += load_manifest(ROOT / "calltracker" / "data" / "replay" / spec.recordings)
    return found


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    with ReplayServer(routes()) as srv:
        yield srv


def configure(config_file: Path, base: str) -> Path:
    interreg = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))["sources"]
    table = interreg["interreg_central_europe"]
    lines = ["[http]", "min_delay = 0.0", "allow_loopback = true", "max_retries = 1", "retry_max_wait = 0.1",
             "timeout = 5.0"]
    for name in ("eu_ft", "incentivi", "esa"):
        lines += [f"[sources.{name}]", f'base_url = "{base}"']
    lines += ["[sources.lombardia]", f'base_url = "{base}"', f'portal_url = "{base}"',
              "[sources.piemonte]", f'base_url = "{base}"', "feeds = []",
              'listing_path = "/test-listing"', "max_documents = 0",
              "[sources.liguria]", f'base_url = "{base}"', f'filse_url = "{base}"', "max_pages = 1",
              "[sources.interreg_central_europe]", f'base_url = "{base}"']
    lines += [f"{k} = {json.dumps(v)}" for k, v in table.items() if k != "base_url"]
    config_file.write_text(config_file.read_text(encoding="utf-8") + "\n".join(lines) + "\n", encoding="utf-8")
    return config_file


def invoke(config: Path) -> tuple[int, str]:
    result = CliRunner().invoke(GROUP, ["--config", str(config), "scrape"])
    return result.exit_code, result.stdout


def stored(config: Path) -> dict[tuple[str, str], CallView]:
    settings = load_settings(config)
    store = Store(make_engine(settings.database_url()))
    try:
        calls = store.find_calls(CallFilter())
    finally:
        store.close()
    keys = [(c.source, c.external_id) for c in calls]
    assert len(keys) == len(set(keys)), "a call is stored twice"
    return dict(zip(keys, calls, strict=True))


def test_every_source_is_scraped_once_with_its_regions_and_scope(config_file: Path, server: ReplayServer) -> None:
    config = configure(config_file, server.base_url)
    code, out = invoke(config)
    assert code == 0, out
    lines = {line.split(":")[0]: line for line in out.splitlines() if ": " in line}
    assert "FAILED" not in out
    for source in ("eu_ft", "piemonte", "liguria", "incentivi", "esa", "interreg_central_europe"):
        assert " 0 failed" in lines[source], out
    assert "lombardia: 5 seen, 5 new, 0 changed, 1 failed" in lines["lombardia"]  # the 404 detail page
    calls = stored(config)
    by_source: dict[str, dict[str, CallView]] = {}
    for (source, external_id), call in calls.items():
        by_source.setdefault(source, {})[external_id] = call

    assert len(by_source["eu_ft"]) == 6
    lombardia = by_source["lombardia"]
    assert sorted(lombardia) == sorted(r["codice_bando"] for r in lombardia_rows())
    assert all(c.regions == ("lombardia",) and c.scope == "regional" for c in lombardia.values())
    assert lombardia["RLO12021022783"].budget_eur == 38_817_000.0  # read from its detail page
    assert lombardia["RLE12026000001"].title == "Codice che il portale non conosce"  # error page: register kept
    assert lombardia["RLF12026000002"].title == "Pagina che non risponde"  # 404: kept through the fallback

    piemonte = by_source["piemonte"]
    assert sorted(piemonte) == ["node-2484", "node-2509"]
    assert all(c.regions == ("piemonte",) and c.scope == "regional" for c in piemonte.values())

    liguria = by_source["liguria"]
    regione = ["4270", "4580", "4591", "4593", "4602", "4606", "4617", "4626", "4641", "4645"]  # the real answer
    assert sorted(liguria) == ["filse-447", "filse-812", "filse-905", *[f"regione-{n}" for n in regione]]
    assert all(c.regions == ("liguria",) and c.scope == "regional" for c in liguria.values())

    incentivi = by_source["incentivi"]
    assert {"143", "156", "1468", "1523"} <= set(incentivi)  # open or rolling measures of ours
    assert incentivi["143"].scope == "national" and sorted(incentivi["143"].regions) == ALL
    assert incentivi["1468"].scope == "regional" and incentivi["1468"].regions == ("lombardia",)

    esa = by_source["esa"]
    assert sorted(esa) == ["193775"]  # today, of the three recorded items only the intended one is not closed
    assert sorted(esa["193775"].regions) == ALL and esa["193775"].scope == "other"

    interreg = by_source["interreg_central_europe"]
    assert len(interreg) == 2
    assert all(c.scope == "interreg" and sorted(c.regions) == ALL for c in interreg.values())
    assert set(by_source) == {"eu_ft", "lombardia", "piemonte", "liguria", "incentivi", "esa",
                              "interreg_central_europe"}


def test_a_failing_source_leaves_the_others_and_the_stored_calls_intact(config_file: Path,
                                                                         server: ReplayServer) -> None:
    config = configure(config_file, server.base_url)
    code, out = invoke(config)
    assert code == 0, out
    before = stored(config)

    # incentivi.gov.it now answers a maintenance page instead of Solr JSON: its layout "changed"
    server.add(Route("/solr/coredrupal/select", [Reply(body=b"<html><body>Manutenzione</body></html>",
                                                       headers=HTML)]))
    code, out = invoke(config)
    assert code == 1
    lines = {line.split(":")[0]: line for line in out.splitlines() if ": " in line}
    assert "FAILED" in lines["incentivi"] and "not valid JSON" in lines["incentivi"], out
    for source in ("eu_ft", "lombardia", "piemonte", "liguria", "esa", "interreg_central_europe"):
        assert "FAILED" not in lines[source] and " 0 new" in lines[source], out

    after = stored(config)
    assert set(after) == set(before)
    assert {k: (c.status, c.title) for k, c in after.items()} == {k: (c.status, c.title) for k, c in before.items()}
