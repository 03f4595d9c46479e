"""Liguria: the Regione Liguria search on its real recordings (2026-06-12); FILSE on a SYNTHESISED payload
built from SOURCES.md §4 (no recording of it exists: its code path is a guess that must fail loudly)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from calltracker.domain import Region, Scope, ScrapedCall, Status
from calltracker.errors import ParseError
from calltracker.normalize import ROME
from calltracker.scraping import Page, Request
from scrapers.liguria import LiguriaScraper

REGIONE = "https://www.regione.liguria.it"
CONFIG = {"enabled": True, "base_url": REGIONE}
FETCHED = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
RECORDED_ON = datetime(2026, 6, 12, 10, 0, tzinfo=UTC)


def filse_page(fixtures: Path, request: Request | None = None, fetched_at: datetime | None = FETCHED) -> Page:
    body = (fixtures / "liguria" / "filse_ajaxLoadBandi_SYNTHESISED.json").read_bytes()
    request = request or LiguriaScraper(CONFIG).filse_request(0)
    recorded = Page.recorded(body, url=request.url, request=request)
    return Page(request=request, url=request.url, status=200, body=recorded.body, text=recorded.text,
                fetched_at=fetched_at)


def filse_calls(fixtures: Path) -> dict[str, ScrapedCall]:
    out = list(LiguriaScraper(CONFIG).parse_filse(filse_page(fixtures)))
    return {c.external_id: c for c in out if isinstance(c, ScrapedCall)}


def test_the_filse_request_is_the_documented_multipart_xhr_post() -> None:
    form_page, filse = list(LiguriaScraper(CONFIG).start_requests())
    assert form_page.url == f"{REGIONE}/bandi-e-avvisi.html" and form_page.callback == "parse_form"
    assert filse.method == "POST" and filse.url == "https://www.filse.it/index.php"
    assert filse.headers == {"X-Requested-With": "XMLHttpRequest"} and filse.callback == "parse_filse"
    parts = {p.name: p.content.decode() for p in filse.parts}
    assert parts["option"] == "com_publiccompetitions" and parts["task"] == "display.ajaxLoadBandi"
    assert parts["format"] == "json" and parts["limitstart"] == "0" and parts["limit"] == "50"
    assert all(p.filename is None for p in filse.parts)  # plain form fields, not file parts


def test_filse_can_be_switched_off() -> None:
    (only,) = LiguriaScraper({**CONFIG, "filse": False}).start_requests()
    assert only.callback == "parse_form"


def test_every_filse_item_becomes_a_liguria_call(fixtures: Path) -> None:
    calls = filse_calls(fixtures)
    assert sorted(calls) == ["filse-447", "filse-812", "filse-905"]
    assert all(c.regions == (Region.LIGURIA,) and c.scope is Scope.REGIONAL for c in calls.values())


def test_a_full_filse_record(fixtures: Path) -> None:
    call = filse_calls(fixtures)["filse-812"]
    assert call.title == "Bando Innovazione PMI liguri - Aerospazio e mobilità aerea"
    assert call.url == ("https://www.filse.it/it/bandi-avvisi-gare/bandi-attivi/publiccompetition/"
                        "812:bando-innovazione-pmi-liguri-aerospazio.html")
    assert call.opening_date == datetime(2026, 10, 1, 9, 0, tzinfo=ROME)
    assert [d.at for d in call.deadlines] == [datetime(2027, 1, 29, 12, 0, tzinfo=ROME)]
    assert call.status is Status.OPEN
    assert call.programme == "PR FESR 2021-2027"
    assert call.description == "Contributi a fondo perduto per progetti di innovazione delle PMI liguri.\n" \
                               "Dotazione: € 5.000.000"
    assert call.raw["Beneficiari"] == "Imprese"


def test_day_first_dates_lists_and_a_missing_url(fixtures: Path) -> None:
    call = filse_calls(fixtures)["filse-447"]
    assert call.deadlines[0].date_only and call.deadlines[0].day.isoformat() == "2026-12-14"
    assert call.deadline_text == "proroghe: Termine prorogato al 14/12/2026"
    assert call.programme == "PR FESR 2021-2027"
    assert call.url.startswith("https://www.filse.it/it/bandi-avvisi-gare/bandi-attivi/publiccompetition/447:")


def test_an_unreadable_deadline_is_kept_as_text(fixtures: Path) -> None:
    call = filse_calls(fixtures)["filse-905"]
    assert call.deadlines == ()
    assert call.deadline_text == "publish_down: fino ad esaurimento risorse"
    assert call.status is Status.OPEN


def test_filse_pages_on_while_count_says_so(fixtures: Path) -> None:
    scraper = LiguriaScraper({**CONFIG, "filse_page_size": 3})
    page = filse_page(fixtures, scraper.filse_request(0))
    assert not any(isinstance(r, Request) for r in scraper.parse_filse(page))  # 3 items, count 3: done
    body = page.text.replace('"count": 3', '"count": 7')
    more = Page(request=page.request, url=page.url, status=200, body=body.encode(), text=body)
    (nxt,) = [r for r in scraper.parse_filse(more) if isinstance(r, Request)]
    assert {p.name: p.content for p in nxt.parts}["limitstart"] == b"3"


@pytest.mark.parametrize("body", ['{"html": "<p>Errore</p>"}', '{"items": [], "count": 259}', "<html></html>",
                                  '{"items": [{"title": "no id"}], "count": 1}', '{"items": [], "count": 0}',
                                  '{"html": "", "items": [{"id": 1, "title": "x"}]}'])
def test_a_filse_answer_not_of_the_guessed_shape_fails_loudly(body: str) -> None:
    """FILSE was never recorded: an empty answer is an error too, so the first live run says so."""
    with pytest.raises(ParseError):
        list(LiguriaScraper(CONFIG).parse_filse(Page.recorded(body)))


def regione_listing(fixtures: Path, when: datetime = RECORDED_ON) -> tuple[LiguriaScraper, list[object]]:
    """The real flow: the recorded form page gives the POST; the recorded answer gives the calls."""
    scraper = LiguriaScraper(CONFIG)
    form = (fixtures / "liguria" / "search_form_TRIMMED.html").read_bytes()
    (post,) = scraper.parse_form(Page.recorded(form, url=f"{REGIONE}/bandi-e-avvisi.html"))
    assert isinstance(post, Request)
    body = (fixtures / "liguria" / "listing_contributi_attivi_POST_result_FULL.html").read_bytes()
    page = Page(request=post, url=post.url, status=200, body=body, text=body.decode(), fetched_at=when)
    return scraper, list(scraper.parse_listing(page))


def test_the_search_posts_the_forms_token_and_the_quick_filters(fixtures: Path) -> None:
    form = (fixtures / "liguria" / "search_form_TRIMMED.html").read_bytes()
    (post,) = LiguriaScraper(CONFIG).parse_form(Page.recorded(form, url=f"{REGIONE}/bandi-e-avvisi.html"))
    assert isinstance(post, Request)
    assert post.method == "POST" and post.url == f"{REGIONE}/homepage-bandi-e-avvisi.html"
    assert post.form is not None and post.callback == "parse_listing"
    assert post.form["quickTipologia[]"] == "6" and post.form["quicksearch_stato"] == "1"
    assert post.form["003a503e0fa4cbfb31ef5ecdbae5abb8"] == "1"  # the Joomla CSRF token of the recorded form
    assert post.form["page"] == "1" and post.form["limitstart"] == "0"


def test_a_form_without_its_token_raises() -> None:
    html = ('<form id="pcCompetitionFormPagination" method="post" action="/x.html">'
            '<input type="hidden" name="page" value="1"></form>')
    with pytest.raises(ParseError, match="CSRF token"):
        list(LiguriaScraper(CONFIG).parse_form(Page.recorded(html)))


def test_the_recorded_answer_gives_its_ten_calls_with_dates_from_title_attributes(fixtures: Path) -> None:
    _, out = regione_listing(fixtures)
    calls = {c.external_id: c for c in out if isinstance(c, ScrapedCall)}
    assert len(calls) == 10 and all(c.regions == (Region.LIGURIA,) and c.scope is Scope.REGIONAL
                                    for c in calls.values())
    dental = calls["regione-4645"]
    assert dental.url == (f"{REGIONE}/homepage-bandi-e-avvisi/publiccompetition/"
                          "4645:contributo-cure-odontoiatriche-2026.html")
    assert dental.title.startswith("concessione contributi a enti e associazioni per azioni di prevenzione")
    assert dental.opening_date == datetime(2026, 6, 12, tzinfo=ROME)
    assert dental.deadlines[0].date_only and dental.deadlines[0].day.isoformat() == "2026-07-01"  # "01 Luglio 2026"
    assert dental.status is Status.OPEN and dental.summary == "Contributi"
    assert "Beneficiari: enti e associazioni" in (dental.description or "")
    # the note gives the hour of the closing day
    assert calls["regione-4593"].deadlines[0].at == datetime(2026, 6, 30, 12, 0, tzinfo=ROME)
    # an early closure for exhausted funds moves the closing, and the call is closed on the day of the recording
    bonus = calls["regione-4606"]
    assert bonus.deadlines[0].at == datetime(2026, 6, 1, 17, 30, tzinfo=ROME) and bonus.status is Status.CLOSED
    assert "esaurimento fondi" in (bonus.deadline_text or "")
    # opens on 16 June: forthcoming when recorded
    assert calls["regione-4626"].status is Status.FORTHCOMING
    # no closing date (until funds run out): open, with the note as the deadline text
    assert calls["regione-4580"].deadlines == () and calls["regione-4580"].status is Status.OPEN
    assert "esaurimento" in (calls["regione-4580"].deadline_text or "")


def test_the_announced_second_page_is_asked_for_and_checked(fixtures: Path) -> None:
    scraper, out = regione_listing(fixtures)
    (page2,) = [r for r in out if isinstance(r, Request)]
    assert page2.form is not None and page2.form["page"] == "2" and page2.form["limitstart"] == "10"
    # a "page 2" that repeats page 1 means the unrecorded paging request is not understood: fail loudly
    body = (fixtures / "liguria" / "listing_contributi_attivi_POST_result_FULL.html").read_bytes()
    with pytest.raises(ParseError, match="repeats"):
        list(scraper.parse_listing(Page.recorded(body, url=page2.url, request=page2)))
    assert not [r for r in regione_listing_with(fixtures, {"max_pages": 1}) if isinstance(r, Request)]


def regione_listing_with(fixtures: Path, options: dict[str, object]) -> list[object]:
    scraper = LiguriaScraper({**CONFIG, **options})
    body = (fixtures / "liguria" / "listing_contributi_attivi_POST_result_FULL.html").read_bytes()
    request = Request(url=f"{REGIONE}/homepage-bandi-e-avvisi.html", method="POST", callback="parse_listing",
                      meta={"page": 1})
    return list(scraper.parse_listing(Page.recorded(body, url=request.url, request=request)))


def test_a_result_page_without_calls_raises() -> None:
    with pytest.raises(ParseError, match="no calls"):
        list(LiguriaScraper(CONFIG).parse_listing(Page.recorded("<html><body><p>Errore</p></body></html>")))
