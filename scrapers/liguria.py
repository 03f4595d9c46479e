"""Regione Liguria and FILSE: both publish calls through the Joomla component `com_publiccompetitions`.

- FILSE (`base_url`, www.filse.it): the calls page is rendered by JavaScript, but its XHR answers a
  plain multipart POST to `/index.php` (`task=display.ajaxLoadBandi`, `format=json`, header
  `X-Requested-With: XMLHttpRequest`) with `{"html": ..., "items": [...], "count": N}`.
- Regione Liguria (`regione_url`): the list `/homepage-bandi-e-avvisi/publiccompetitions.html` filters
  only through POST (`quicksearch_beneficiari_list=2` businesses, `quicksearch_stato=1` active); its
  markup is not recorded anywhere, so only its links to call pages
  (`/publiccompetition/<id>:<slug>.html`) are read, as open calls (the list is filtered to active ones).

robots.txt: SOURCES.md (§4) records that another project left Liguria disabled pending a robots.txt
decision but not what www.regione.liguria.it/robots.txt forbids. This module never looks at it and
never works around it: the engine checks robots.txt before every request, and a disallowed URL fails
the run with RobotsDisallowedError. The date format of FILSE's `publish_up`/`publish_down` is not
recorded either: ISO-like and Italian day-first forms are read, anything else is kept as text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser

from calltracker.domain import Deadline, Region, Scope, ScrapedCall, Status
from calltracker.errors import ParseError
from calltracker.normalize import ROME, clean_text, html_to_text, parse_dates, parse_iso_datetime, status_from_dates
from calltracker.scraping import Page, Part, Request, Yield, require

log = logging.getLogger(__name__)

CALL_LINK = re.compile(r"/publiccompetition/(?P<id>\d+):(?P<slug>[^/?#]+?)\.html?\b")
XHR = {"X-Requested-With": "XMLHttpRequest"}


class LiguriaScraper:
    name: ClassVar[str] = "liguria"
    config_keys: ClassVar[dict[str, type]] = {"regione_url": str, "regione_list": bool, "page_size": int}

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.base_url = str(config["base_url"]).rstrip("/")
        self.regione_url = str(config.get("regione_url", "https://www.regione.liguria.it")).rstrip("/")
        self.regione_list = bool(config.get("regione_list", True))
        self.page_size = int(config.get("page_size", 50))

    def start_requests(self) -> Iterable[Request]:
        yield self.filse_request(0)
        if self.regione_list:
            yield self.regione_request()

    def filse_request(self, start: int) -> Request:
        fields = {
            "option": "com_publiccompetitions", "task": "display.ajaxLoadBandi", "format": "json", "id": "2",
            "showBandi": "0", "pcQuickSearch": "1", "pcPagination": "1", "pcPaginationResults": str(self.page_size),
            "limit": str(self.page_size), "limitstart": str(start), "page": str(start // self.page_size + 1),
            "startPage": str(start // self.page_size), "quicksearch": "", "quicksearch_action": "1",
            "quicksearch_OrderField[]": "6", "quicksearch_OrderDir[]": "1", "pcOrderField": "6",
            "pcOrderDir": "1", "ActionSearch": "1",
        }
        parts = tuple(Part(name=k, content=v.encode()) for k, v in fields.items())
        return Request(url=f"{self.base_url}/index.php", method="POST", parts=parts, headers=XHR,
                       meta={"start": start}, conditional=False)

    def regione_request(self) -> Request:
        form = {"quicksearch_beneficiari_list": "2", "quicksearch_stato": "1", "quicksearch_OrderField[]": "2",
                "quicksearch_OrderDir[]": "1"}
        return Request(url=f"{self.regione_url}/homepage-bandi-e-avvisi/publiccompetitions.html", method="POST",
                       form=form, callback="parse_regione", conditional=False)

    def parse(self, page: Page) -> Iterable[Yield]:
        """A FILSE JSON page: one call per item, then the next page while `count` says there are more."""
        data = page.json()
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ParseError(f"{page.url}: FILSE answer has no 'items' list")
        start = int(page.request.meta.get("start", 0))
        count = _int(data.get("count"))
        if not items and start == 0 and count:
            raise ParseError(f"{page.url}: count is {count} but no items came back")
        for item in items:
            if not isinstance(item, dict):
                raise ParseError(f"{page.url}: a FILSE item is not an object")
            yield self.filse_call(item, page)
        if items and count is not None and start + len(items) < count:
            yield self.filse_request(start + len(items))

    def filse_call(self, item: Mapping[str, Any], page: Page) -> ScrapedCall:
        item_id = str(require(item.get("id"), "FILSE item id", page))
        title = clean_text(require(item.get("title"), "FILSE item title", page))
        url = str(item.get("url") or "")
        if not url:
            alias = clean_text(item.get("alias")) or item_id
            url = f"/it/bandi-avvisi-gare/bandi-attivi/publiccompetition/{item_id}:{alias}.html"
        url = urljoin(self.base_url + "/", url)
        opening = _date(item.get("publish_up"))
        deadline = _date(item.get("publish_down"))
        texts = [f"{k}: {clean_text(str(item[k]))}" for k in ("publish_down", "proroghe") if item.get(k) and (
            k == "proroghe" or deadline is None)]
        funds = _joined(item.get("Fondo"))
        status = _status(opening, deadline, page)
        return ScrapedCall(
            source=self.name, external_id=f"filse-{item_id}", title=title, url=url,
            description=html_to_text(str(item.get("txt_descr") or "")) or None, programme=funds,
            scope=Scope.REGIONAL, status=status, opening_date=opening.at if opening else None,
            deadlines=(deadline,) if deadline else (), deadline_text="; ".join(texts) or None,
            language="it", regions=(Region.LIGURIA,),
            raw={k: item.get(k) for k in ("id", "alias", "publish_up", "publish_down", "data_apertura", "proroghe",
                                          "in_corso", "state", "Beneficiari", "Fondo", "created", "modified")},
        )

    def parse_regione(self, page: Page) -> Iterable[Yield]:
        """The Regione Liguria list (POST-filtered to active calls for businesses): one call per link."""
        tree = LexborHTMLParser(page.text)
        seen: set[str] = set()
        for a in tree.css("a[href]"):
            href = a.attributes.get("href") or ""
            m = CALL_LINK.search(href)
            if m is None or m["id"] in seen:
                continue
            title = clean_text(a.text())
            if not title:
                continue
            seen.add(m["id"])
            yield ScrapedCall(
                source=self.name, external_id=f"regione-{m['id']}", title=title, url=urljoin(page.url, href),
                scope=Scope.REGIONAL, status=Status.OPEN, language="it", regions=(Region.LIGURIA,),
                raw={"publiccompetition": m["id"], "slug": m["slug"]},
            )
        if not seen:
            raise ParseError(f"{page.url}: no links to call pages in the Regione Liguria list; "
                             "the layout or the POST filters may have changed")


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


def _status(opening: Deadline | None, deadline: Deadline | None, page: Page) -> Status | None:
    return status_from_dates(opening, deadline, page.fetched_at)
