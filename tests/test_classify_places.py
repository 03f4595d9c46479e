"""Places, foreign calls, national bodies, multi-theme calls, examples and tools, documents: fixes from the
blind run on real calls (real1.jsonl). Texts are fragments of the real calls of that file."""

from __future__ import annotations

import json
import re

from calltracker.classify import CallText, Document, classify, explain
from calltracker.classify.text import RegexBank, literal_prefix, re2_view
from calltracker.domain import Region
from calltracker.evaluation import parse_record

NONE = {Region.LOMBARDIA: False, Region.PIEMONTE: False, Region.LIGURIA: False}


def test_a_local_call_of_another_region_names_a_town_of_the_gazetteer() -> None:
    c = classify(CallText(id="b", title="ESA BIC Brindisi - Open Call for Applications", language="en",
                          text="ESA BIC is aimed at entrepreneurs who develop applications and services with a "
                               "space connection. To apply to the Open Call, you must download and read the "
                               "following ESA BIC Brindisi Application Package."))
    assert dict(c.eligible) == NONE
    assert any(e.kind == "place elsewhere" and "Puglia" in (e.note or "") for e in c.evidence["regions"])


def test_a_town_of_our_regions_beats_a_foreign_country() -> None:
    c = classify(CallText(id="t", title="ESA BIC Turin: call for start-ups", language="en",
                          text="Start-ups incubated in Torino may also work with partners in Francia."))
    assert c.eligible[Region.PIEMONTE] and not c.eligible[Region.LOMBARDIA]


def test_foreign_country_names_close_a_call_of_no_known_programme() -> None:
    c = classify(CallText(id="s", title="Swiss Israel call for innovative projects", language="en",
                          text="The Swiss Innovation Agency, Innosuisse and the Israel Innovation Authority invite "
                               "consortia. Participating Countries: Israel, Switzerland."))
    assert dict(c.eligible) == NONE


def test_a_call_written_in_another_language_is_that_countrys_call() -> None:
    c = classify(CallText(id="l", title="LuFo Klima VI-3 - dritter Förderaufruf", language="de",
                          text="Das nationale zivile Luftfahrtforschungsprogramm LuFo des Bundesministeriums legt "
                               "einen Schwerpunkt auf die klimaneutrale Luftfahrt, abgestimmt mit Horizon Europe "
                               "und Clean Aviation."))
    assert dict(c.eligible) == NONE
    assert "green_aviation" in c.theme_ids
    assert any(e.kind == "foreign call" for e in c.evidence["regions"])


def test_a_lombard_foundations_call_for_a_piedmont_province_is_piemonte_only() -> None:
    c = classify(CallText(id="v", title="Fondazione Cariplo - Emblematici Provinciali 2022 per il Verbano Cusio "
                                        "Ossola",
                          text="Fondazione Cariplo destina al territorio provinciale del Verbano Cusio Ossola la "
                               "somma di 530.000 euro per progetti coerenti con i propri Obiettivi strategici."))
    assert c.eligible == {Region.LOMBARDIA: False, Region.PIEMONTE: True, Region.LIGURIA: False}


def test_a_region_in_the_title_issues_the_call_it_funds_for_an_eu_partnership() -> None:
    c = classify(CallText(id="c", title="Regione Campania - avviso Aerospazio 2025 con riserva Clean Aviation",
                          text="Il bando Aerospazio 2025 della Regione Campania dovra contribuire agli obiettivi "
                               "della Clean Aviation Joint Undertaking e rendere l'aviazione climaticamente neutra."))
    assert c.scope.value == "regional" and dict(c.eligible) == NONE
    assert c.theme_ids == ["green_aviation"]


def test_a_national_body_s_call_for_one_province_of_another_region() -> None:
    c = classify(CallText(id="vr", title="Bando voucher digitali Transizione 4.0 e 5.0", programme="MIMIT",
                          text="Beneficiari: micro, piccole o medie imprese attive, con sede legale e/o unita "
                               "locali in provincia di Verona."))
    assert c.scope.value == "national" and dict(c.eligible) == NONE


def test_a_share_for_the_south_and_the_rest_for_the_centre_north_leaves_the_call_open() -> None:
    c = classify(CallText(id="m", title="MIMIT - contributi alle PMI per servizi di cloud computing e cyber "
                                        "security", programme="MIMIT",
                          text="Di tale somma, oltre 71 milioni sono espressamente destinati alle regioni del "
                               "Mezzogiorno, con l'80% delle risorse al Sud e il 20% al Centro-Nord."))
    assert all(c.eligible.values())


def test_training_tax_credit_of_transizione_4_0_has_both_themes() -> None:
    c = classify(CallText(id="f", title="Credito d'imposta formazione 4.0",
                          text="Sono ammissibili le attivita di formazione per le tecnologie del processo di "
                               "trasformazione tecnologica e digitale delle imprese previsto dal Piano Transizione "
                               "4.0."))
    assert set(c.theme_ids) == {"skills_certification", "industry_5_0"}


def test_sme_digitalisation_vouchers_are_industry_5_0() -> None:
    c = classify(CallText(id="p", title="Regione Piemonte - Voucher digitalizzazione PMI",
                          text="Il bando risponde all'esigenza di molte PMI di effettuare investimenti di "
                               "digitalizzazione."))
    assert c.theme_ids == ["industry_5_0"]


def test_regional_aerospace_programme_covering_green_aviation_and_space() -> None:
    c = classify(CallText(id="a", title="Regione Piemonte - bando per il settore aerospaziale",
                          text="Tematiche: sistemi di sorveglianza del territorio, compatibilita ambientale del "
                               "trasporto aereo e sviluppo di motoristica aeronautica ecocompatibile, tecnologie "
                               "per l'esplorazione spaziale."))
    assert set(c.theme_ids) == {"green_aviation", "space_economy"}


def test_themes_named_as_examples_or_list_items_are_not_tagged() -> None:
    c = classify(CallText(id="e", title="Regione Lombardia - bando per progetti nelle tecnologie strategiche",
                          text="A titolo di esempio il bando finanzia applicazioni dell'Intelligenza Artificiale; "
                               "robotica e tecnologie di controllo e automazione di macchine; manifattura "
                               "additiva e stampa 3D; sistemi di cybersecurity."))
    assert c.theme_ids == []
    v = classify(CallText(id="l", title="Bando voucher alle imprese",
                          text="Le spese dovranno riguardare almeno una delle seguenti tecnologie: a) cloud; b) "
                               "cyber security e business continuity; c) vulnerability assessment; d) big data."))
    assert "cybersecurity" not in v.theme_ids


def test_ai_in_a_cybersecurity_call_is_a_tool() -> None:
    c = classify(CallText(id="y", title="Cybersecurity of SMEs: threat intelligence services", language="en",
                          text="Projects deliver threat intelligence to SMEs. Machine learning and artificial "
                               "intelligence detect cyber threats."))
    assert c.theme_ids == ["cybersecurity"]


def test_protection_of_public_spaces_and_critical_infrastructure_is_not_cybersecurity() -> None:
    c = classify(CallText(id="z", title="Protection of public spaces and critical infrastructure protection",
                          language="en",
                          text="Physical security of crowded places and critical infrastructure protection: "
                               "barriers, CCTV and training of first responders."))
    assert "cybersecurity" not in c.theme_ids


def test_local_bodies_alone_or_together_is_optional() -> None:
    c = classify(CallText(id="o", title="Regione Toscana - bando videosorveglianza di vie e piazze",
                          text="Le risorse potranno essere utilizzate a beneficio di enti locali singoli o "
                               "associati."))
    assert c.consortium.value == "optional"


def test_documents_give_themes_and_consortium_with_document_and_page() -> None:
    doc = Document("bando.pdf", "https://example.org/bando.pdf",
                   ("Premessa.", "Art. 3. Il progetto riguarda servizi satellitari di osservazione della Terra e "
                                 "telerilevamento. Le imprese partecipano in forma singola o associata."))
    c = classify(CallText(id="d", title="Bando per le imprese", text="Contributi alle imprese.", documents=(doc,)))
    assert c.theme_ids == ["space_economy"] and c.consortium.value == "optional"
    assert all(e.field == "document 'bando.pdf' page 2" for e in c.themes[0].evidence)
    assert "document 'bando.pdf' page 2" in explain(c)


def test_eval_reads_the_scraper_not_the_page_address() -> None:
    record = {"id": "r", "title": "t", "text": "x", "source": "https://www.bandi.regione.lombardia.it/x",
              "labels": {"themes": [], "eligible": {"lombardia": True, "piemonte": False, "liguria": False},
                         "scope": "regional", "consortium": "single", "tri_regional_fit": False}}
    assert parse_record(record).call.source == "lombardia"
    record["source"] = "https://www.genova24.it/2025/08/bando"
    assert parse_record(record).call.source is None
    record.update(summary="Sintesi.", description="Testo.", scraper="liguria")
    call = parse_record(record).call
    assert (call.text, call.source) == ("Sintesi.\nTesto.", "liguria")


def test_regex_bank_says_which_patterns_may_match_and_never_misses_one() -> None:
    patterns = [re.compile(p) for p in (r"in forma singola", r"\bvoucher\b", r"ab(?<=b)c", r"x{2}$")]
    bank = RegexBank(patterns)
    for text in ("domanda in forma singola o associata", "voucher digitali\x0b", "abc", "xx", "nulla",
                 "ωμέγα in forma singola", "prezzo 5 € voucher"):
        possible = bank.possible(text)
        assert {p for p in patterns if p.search(text)} <= possible
    assert re.compile(r"\bvoucher\b") not in bank.possible("nulla di nulla")
    assert re2_view("città") is None and re2_view("5 €\u2003x") == "5 \x01\x0cx"
    assert literal_prefix("education and training(?:(?<=in x))") == "education and training"
    assert literal_prefix("ab[(]c|d") == ""


def test_regex_bank_finds_accented_literals_only_where_the_text_has_them() -> None:
    air, city = re.compile("qualit[aà] dell'aria"), re.compile("(?:città|comune) di [a-z]+")
    bank = RegexBank([air, city])
    assert id(air) in bank._literal_ids and id(city) in bank._literal_ids  # found by their literals alone
    for text in ("la qualità dell'aria", "la qualita dell'aria", "qualitá dell'aria", "la città di como",
                 "citta di como", "ωμέγα: comune di x", "nulla", "5 € qualità dell'aria\x0b"):
        assert {p for p in (air, city) if p.search(text)} == bank.possible(text), text


def test_the_gazetteer_is_shipped_data_with_its_sources() -> None:
    from pathlib import Path

    data = json.loads((Path(__file__).resolve().parent.parent / "calltracker" / "data" / "rules" /
                       "places.json").read_text(encoding="utf-8"))
    regions = {p["name"]: p["region"] for p in data["places"]}
    assert regions["Verona"] == "Veneto" and regions["Brindisi"] == "Puglia" and regions["Cuneo"] == "piemonte"
    assert regions["Germany"].startswith("abroad:")
    assert "Bruxelles" not in regions and "Roma" not in regions
