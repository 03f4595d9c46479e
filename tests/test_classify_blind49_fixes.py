"""General causes of the misses of the seventh blind measure (real_blind49 to real_blind52: the incentivi.gov.it
catalogue and the EU Funding & Tenders topics, scored once before these rules). Each test failed on the rules before
its change; the texts are fragments of the real calls of those sets."""

from __future__ import annotations

import pytest

from calltracker.classify import CallText, classify
from calltracker.domain import Consortium, Region, Scope, Theme

ALL = {Region.LOMBARDIA: True, Region.PIEMONTE: True, Region.LIGURIA: True}


def test_fondi_speciali_names_no_town_and_the_state_sports_lender_is_a_national_body() -> None:
    result = classify(CallText(
        id="ics", title="Istituto per il Credito Sportivo - Piano Operativo Fondo Contributi Interessi", language="it",
        text="E' un fondo statale che abbatte gli interessi su finanziamenti per impiantistica sportiva. Le istanze "
             "possono essere acquisite sul sito www.creditosportivo.it nell'area Fondi Speciali",
        programme="Istituto per il Credito Sportivo"))
    assert result.eligible == ALL and result.scope is Scope.NATIONAL and result.consortium is Consortium.SINGLE


def test_a_contratto_di_sviluppo_is_for_one_firm_or_several() -> None:
    result = classify(CallText(
        id="cds", title="Invitalia - Contratti di sviluppo agroalimentari - Progetti di investimento", language="it",
        text="Nell'ambito dello strumento agevolativo dei contratti di sviluppo e possibile sostenere la "
             "realizzazione di progetti di investimento nel settore della trasformazione dei prodotti agricoli.",
        programme="Invitalia"))
    assert result.consortium is Consortium.OPTIONAL and result.scope is Scope.NATIONAL


@pytest.mark.parametrize(("identifier", "title", "expected"), [
    ("CEF-T-2026-COREGEN-IWWP-WORKS", "Inland waterways – works", Consortium.OPTIONAL),
    ("CEF-DIG-2026-CABLE-REPAIR-CAPACITIES", "Submarine Cable Repair Capacities - Works", Consortium.OPTIONAL),
    ("LIFE-2026-STRAT-ENV-SIP-two-stage", "Strategic Integrated Projects - Environment", Consortium.OPTIONAL),
    ("LIFE-2026-PLP-ENER-GOV", "Multilevel climate and energy dialogue", Consortium.OPTIONAL),
    ("LIFE-2026-TA-PP-CLIMA-SIP", "technical Assistance preparation of CLIMA SIPs", Consortium.SINGLE),
])
def test_eu_works_studies_and_life_projects_by_their_identifier(identifier: str, title: str,
                                                                 expected: Consortium) -> None:
    result = classify(CallText(id="eu", title=title, identifier=identifier, language="en",
                               text="The objective of this call is to support projects of common interest."))
    assert result.consortium is expected and result.scope is Scope.EU


@pytest.mark.parametrize("text", [
    "Il Bando favorisce la realizzazione, da parte di imprese industriali, singole o in collaborazione fra loro e/o "
    "con centri di ricerca, di progetti di ricerca industriale.",
    "Soggetti Beneficiari: a) gli imprenditori agricoli; b) le imprese agroindustriali; d) i soggetti di cui alle "
    "lettere a), b) e c) costituiti in forma aggregata quale associazioni temporanee di imprese.",
    "Possono accedere le imprese individuali, le societa di persone o di capitali nonche i consorzi, le cooperazioni "
    "e le associazioni giuridicamente costituite tra due o piu imprese.",
    "Il fondo sostiene le micro, piccole e medie imprese bresciane, i loro Consorzi e Cooperative, e le reti "
    "costituite prevalentemente da imprese bresciane, con un minimo di tre imprese.",
    "Possono presentare domanda le imprese di produzione audiovisiva, anche in coproduzione.",
])
def test_firms_alone_or_together_are_optional(text: str) -> None:
    call = CallText(id="p", title="Regione Puglia - Bando contributi alle imprese", text=text, language="it")
    assert classify(call).consortium is Consortium.OPTIONAL


def test_aircraft_noise_is_green_aviation_and_robotics_for_industry_is_industry_5_0() -> None:
    noise = classify(CallText(
        id="n", title="Noise reduction breakthroughs for new ultraefficient aircraft", language="en",
        text="Expected outcomes: airframe / cabin noise for new aircraft design; engine noise sources and installation "
             "effects; aero-acoustic methodologies for the noise prediction of new aircraft designs."))
    robots = classify(CallText(
        id="r", title="Apply AI: AI-Driven Robotics for Industry: Enabling System Integration and Adoption",
        language="en", text="Wider and faster deployment of robotics, bridging the gap between technology providers "
                            "and end-users; improved competitiveness of European industries."))
    assert Theme.GREEN_AVIATION in noise.theme_ids and noise.tri_regional_fit
    assert Theme.INDUSTRY_5_0 in robots.theme_ids
