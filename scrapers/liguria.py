"""Regione Liguria "Bandi e avvisi" (recorded) and FILSE (format GUESSED: no recording exists anywhere).

Regione Liguria (www.regione.liguria.it, Joomla component `com_publiccompetitions`) filters only through
a POST of its search form, which carries a session cookie and a CSRF token: so we GET the form page
(`/bandi-e-avvisi.html`; the engine's client keeps the cookie), read the form's action, hidden fields and
its 32-hex token, then POST the quick search `quickTipologia[]=6` (contributions) with `quicksearch_stato=1`
(active). The answer lists 10 calls a page (`div.pc_latest_item` with an `a.bando_link` to
`/homepage-bandi-e-avvisi/publiccompetition/<id>:<slug>.html`); dates sit in `title` attributes
("Data chiusura: 01 Luglio 2026"), a note may move the closing ("chiusura anticipata alle 17.30 dell'1
giugno 2026 per esaurimento fondi") or give its hour. "Trovati 17 risultati in 2 pagine" announces more
pages; the page-2 request (the same form with `page` and `limitstart`) was never recorded, so it is
checked: a page that repeats calls already seen raises ParseError instead of passing silently.

FILSE (`filse_url`): its calls page is rendered by JavaScript; SOURCES.md §4 describes an XHR that answers
a multipart POST to `/index.php` (`task=display.ajaxLoadBandi`, `format=json`) with
`{"html": ..., "items": [...], "count": N}`. Nothing of it was ever recorded, so every answer that does not
have exactly that shape, or that has no calls at all, raises ParseError: the first live run fails loudly
rather than storing nothing silently. Set `filse = false` to leave it out.

robots.txt is the engine's business: a disallowed URL fails the run with RobotsDisallowedError.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

from pydantic import Field
from selectolax.lexbor import LexborHTMLParser, LexborNode

from calltracker.scraping import (
    ROME,
    Deadline,
    Options,
    Page,
    ParseError,
    Part,
    Region,
    Request,
    Scope,
    ScrapedCall,
    SourceSpec,
    Status,
    Yield,
    clean_text,
    parse_dates,
    parse_iso_datetime,
    require,
    status_from_dates,
)
from calltracker.scraping import text_of_html as html_to_text

log = logging.getLogger(__name__)

BASE_URL = "https://www.regione.liguria.it"
CALL_LINK = re.compile(r"/publiccompetition/(?P<id>\d+):(?P<slug>[^/?#]+?)\.html?\b")
TOKEN_NAME = re.compile(r"^[0-9a-f]{32}$")
XHR = {"X-Requested-With": "XMLHttpRequest"}
_EARLY_CLOSE = re.compile(r"chiusura\s+anticipat\w*|chius\w*\s+in\s+via\s+anticipata", re.IGNORECASE)
_DAY = re.compile(r"(\d{1,2})\s*(?:°|º)?\s+([a-zàèéìòù]+)\s+(\d{4})", re.IGNORECASE)
_CLOCK = re.compile(r"\b([01]?\d|2[0-3])[.:]([0-5]\d)\b")


class LiguriaOptions(Options):
    base_url: str = BASE_URL
    form_path: str = Field("/bandi-e-avvisi.html", description="page whose search form gives the session and token")
    tipologia: str = Field("6", description="the quickTipologia[] searched (6 = contributi; one value)")
    max_pages: int = Field(10, ge=1, le=100, description="at most this many result pages (10 calls each)")
    filse: bool = Field(True, description="also read FILSE (its answer format is guessed: see the README)")
    filse_url: str = Field("https://www.filse.it", description="FILSE site")
    filse_page_size: int = Field(50, ge=1, le=500, description="FILSE calls per request")


class LiguriaScraper:
    name: ClassVar[str] = "liguria"

    def __init__(self, config: LiguriaOptions | Mapping[str, Any]) -> None:
        options: LiguriaOptions = LiguriaOptions.from_table(config)
        self.options = options
        self.base_url = options.base_url.rstrip("/")
        self.filse_url = options.filse_url.rstrip("/")

    def start_requests(self) -> Iterable[Request]:
        yield Request(url=urljoin(self.base_url + "/", self.options.form_path.lstrip("/")), callback="parse_form",
                      conditional=False)
        if self.options.filse:
            yield self.filse_request(0)

    # -- Regione Liguria ---------------------------------------------------------------------------------

    def search_request(self, tree: LexborHTMLParser, page: Page, number: int, seen: list[str]) -> Request:
        """The POST of the quick search, built from the form on `page` (its action, hidden fields, token)."""
        form = tree.css_first("form#pcCompetitionFormPagination") or tree.css_first("form[method=post]")
        form = require(form, "search form (form#pcCompetitionFormPagination)", page)
        fields: dict[str, str] = {}
        token = None
        for node in form.css("input[type=hidden]"):
            name = node.attributes.get("name")
            if not name:
                continue
            fields[name] = node.attributes.get("value") or ""
            if TOKEN_NAME.match(name):
                token = name
        require(token, "CSRF token (a hidden input named by 32 hex digits)", page)
        fields["quickTipologia[]"] = self.options.tipologia
        fields["quicksearch_stato"] = "1"
        if number > 1:
            fields["page"] = str(number)
            fields["limitstart"] = str((number - 1) * 10)
        action = form.attributes.get("action") or page.url
        # the action is absolute (www.regione.liguria.it); keep the host we were configured with
        url = urljoin(self.base_url + "/", urlsplit(urljoin(page.url, action)).path.lstrip("/"))
        return Request(url=url, method="POST", form=fields, callback="parse_listing", conditional=False,
                       meta={"page": number, "seen": seen})

    def parse_form(self, page: Page) -> Iterable[Yield]:
        """The search page: the POST of the quick search for active calls."""
        yield self.search_request(LexborHTMLParser(page.text), page, 1, [])

    def parse_listing(self, page: Page) -> Iterable[Yield]:
        """One result page: a call per `a.bando_link`, then the next page while the pager announces one."""
        tree = LexborHTMLParser(page.text)
        number = int(page.request.meta.get("page", 1))
        seen = list(page.request.meta.get("seen") or [])
        rows = tree.css("div.pc_latest_item")
        total = _int_text(tree.css_first(".spanTotResults"))
        if not rows:
            if total == 0:
                log.warning("liguria: the search found no active calls on %s", page.url)
                return
            raise ParseError(f"{page.url}: no calls (div.pc_latest_item) on result page {number}; "
                             "the layout or the search form may have changed")
        ids: list[str] = []
        for row in rows:
            call = self.regione_call(row, page)
            if call.external_id in seen:
                raise ParseError(f"{page.url}: result page {number} repeats {call.external_id} of an earlier "
                                 "page; the (unrecorded) paging request is not understood by the site")
            ids.append(call.external_id)
            yield call
        pages = _int_text(tree.css_first(".spanTotPages")) or 1
        if number < pages and number < self.options.max_pages:
            yield self.search_request(tree, page, number + 1, seen + ids)

    def regione_call(self, row: LexborNode, page: Page) -> ScrapedCall:
        link = require(row.css_first("a.bando_link"), "call link (a.bando_link)", page)
        href = link.attributes.get("href") or ""
        m = CALL_LINK.search(href)
        if m is None:
            raise ParseError(f"{page.url}: call link {href!r} is not a /publiccompetition/<id>:<slug>.html link")
        title = require(clean_text(link.text()), f"title of call {m['id']}", page)
        dates = {key: _titled_date(row, label) for key, label in
                 (("published", "Data pubblicazione"), ("opening", "Data apertura"), ("closing", "Data chiusura"))}
        note = _text(row.css_first(".pc_note"))
        closing = _refine(dates["closing"], note)
        beneficiaries = _text(row.css_first(".pc_latest_item_beneficiari"))
        kind = _text(row.css_first(".pc_latest_item_fondo_link"))
        lines = [f"Beneficiari: {beneficiaries}" if beneficiaries else "", f"Note: {note}" if note else ""]
        status = status_from_dates(dates["opening"], closing, page.fetched_at) or Status.OPEN
        return ScrapedCall(
            source=self.name, external_id=f"regione-{m['id']}", title=title, url=urljoin(page.url, href),
            summary=kind.capitalize() or None, description="\n".join(x for x in lines if x) or None,
            scope=Scope.REGIONAL, status=status, opening_date=dates["opening"].at if dates["opening"] else None,
            deadlines=(closing,) if closing else (),
            deadline_text=note if note and (closing is None or _EARLY_CLOSE.search(note)) else None,
            language="it", regions=(Region.LIGURIA,),
            raw={"publiccompetition": m["id"], "slug": m["slug"], "type": kind or None,
                 "published": dates["published"].day.isoformat() if dates["published"] else None,
                 "beneficiaries": beneficiaries or None},
        )

    parse = parse_listing  # the default callback of the contract

    # -- FILSE (guessed) ---------------------------------------------------------------------------------

    def filse_request(self, start: int) -> Request:
        size = self.options.filse_page_size
        fields = {
            "option": "com_publiccompetitions", "task": "display.ajaxLoadBandi", "format": "json", "id": "2",
            "showBandi": "0", "pcQuickSearch": "1", "pcPagination": "1", "pcPaginationResults": str(size),
            "limit": str(size), "limitstart": str(start), "page": str(start // size + 1),
            "startPage": str(start // size), "quicksearch": "", "quicksearch_action": "1",
            "quicksearch_OrderField[]": "6", "quicksearch_OrderDir[]": "1", "pcOrderField": "6",
            "pcOrderDir": "1", "ActionSearch": "1",
        }
        parts = tuple(Part(name=k, content=v.encode()) for k, v in fields.items())
        return Request(url=f"{self.filse_url}/index.php", method="POST", parts=parts, headers=XHR,
                       callback="parse_filse", meta={"start": start}, conditional=False)

    def parse_filse(self, page: Page) -> Iterable[Yield]:
        """A FILSE JSON page (format guessed from a description): anything unexpected raises ParseError."""
        guessed = "FILSE's answer format was never recorded and is guessed"
        data = page.json()
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ParseError(f"{page.url}: FILSE answer has no 'items' list ({guessed})")
        start = int(page.request.meta.get("start", 0))
        count = _int(data.get("count"))
        if count is None:
            raise ParseError(f"{page.url}: FILSE answer has no integer 'count' ({guessed})")
        if not items and start == 0:
            raise ParseError(f"{page.url}: FILSE answered no calls (count {count}); {guessed}: check it by hand")
        for item in items:
            if not isinstance(item, dict):
                raise ParseError(f"{page.url}: a FILSE item is not an object ({guessed})")
            yield self.filse_call(item, page)
        if items and start + len(items) < count:
            yield self.filse_request(start + len(items))

    def filse_call(self, item: Mapping[str, Any], page: Page) -> ScrapedCall:
        item_id = str(require(item.get("id"), "FILSE item id", page))
        title = clean_text(require(item.get("title"), "FILSE item title", page))
        url = str(item.get("url") or "")
        if not url:
            alias = clean_text(item.get("alias")) or item_id
            url = f"/it/bandi-avvisi-gare/bandi-attivi/publiccompetition/{item_id}:{alias}.html"
        url = urljoin(self.filse_url + "/", url)
        opening = _date(item.get("publish_up"))
        deadline = _date(item.get("publish_down"))
        texts = [f"{k}: {clean_text(str(item[k]))}" for k in ("publish_down", "proroghe") if item.get(k) and (
            k == "proroghe" or deadline is None)]
        funds = _joined(item.get("Fondo"))
        return ScrapedCall(
            source=self.name, external_id=f"filse-{item_id}", title=title, url=url,
            description=html_to_text(str(item.get("txt_descr") or "")) or None, programme=funds,
            scope=Scope.REGIONAL, status=status_from_dates(opening, deadline, page.fetched_at),
            opening_date=opening.at if opening else None,
            deadlines=(deadline,) if deadline else (), deadline_text="; ".join(texts) or None,
            language="it", regions=(Region.LIGURIA,),
            raw={k: item.get(k) for k in ("id", "alias", "publish_up", "publish_down", "data_apertura", "proroghe",
                                          "in_corso", "state", "Beneficiari", "Fondo", "created", "modified")},
        )


def _text(node: LexborNode | None) -> str:
    return clean_text(node.text()) if node is not None else ""


def _int_text(node: LexborNode | None) -> int | None:
    return _int(_text(node)) if node is not None else None


def _titled_date(row: LexborNode, label: str) -> Deadline | None:
    """The date in a `title="<label>: 01 Luglio 2026"` attribute of the row, if any (a bare day in Rome)."""
    for node in row.css("[title]"):
        title = clean_text(node.attributes.get("title"))
        if title.lower().startswith(label.lower() + ":"):
            return parse_dates(title.split(":", 1)[1], tz=ROME).deadline
    return None


def _refine(closing: Deadline | None, note: str) -> Deadline | None:
    """The closing, moved by an early closure in the note, or given its hour when the note names that day."""
    if not note:
        return closing
    early = _EARLY_CLOSE.search(note)
    if early is not None:
        day = _DAY.search(note[early.start():])
        found = parse_dates(day.group(0), tz=ROME).deadline if day else None
        if found is not None:
            clock = _CLOCK.search(note)
            if clock:
                at = found.at.replace(hour=int(clock.group(1)), minute=int(clock.group(2)))
                return Deadline(at, label="chiusura anticipata")
            return Deadline(found.at, date_only=True, label="chiusura anticipata")
        return closing
    stated = parse_dates(note, tz=ROME).deadline
    if closing is not None and stated is not None and not stated.date_only and stated.day == closing.day:
        return stated
    return closing


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _joined(value: Any) -> str | None:
    if isinstance(value, list):
        return ", ".join(clean_text(str(v)) for v in value if v) or None
    if not value:
        return None
    return clean_text(str(value)) or None


def _date(value: Any) -> Deadline | None:
    if not value or not isinstance(value, str):
        return None
    return parse_iso_datetime(value.strip(), tz=ROME) or parse_dates(value).deadline


SPEC = SourceSpec(
    name="liguria", scraper=LiguriaScraper, base_url=BASE_URL, options=LiguriaOptions,
    about="Regione Liguria \"Bandi e avvisi\" quick search (GET the form for its session and CSRF token, then "
          "POST; active contributions), and FILSE's calls endpoint",
    tested_on="Regione Liguria: real recorded search form and result page (2026-06-12). FILSE: **guessed** from "
              "a description (no recording exists): its first live run fails loudly if the guess is wrong",
    recordings="liguria", demo_options={"base_url": "{replay}", "filse": False, "max_pages": 1},
    demo_note="liguria: only the first result page (10 of 17 calls) was recorded, and FILSE never was: "
              "neither is replayed",
)
