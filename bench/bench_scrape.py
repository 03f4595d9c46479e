"""Scrape sweep benchmark: several sources of many pages, each on its own replay server (its own host).

Prints:
- polite sweep: wall time against the ideal (the slowest host's pages x its min_delay); aim >= 0.9;
- CPU time per page parsed (parse alone, and the whole process per page);
- re-scrape: a listing with detail pages scraped, then scraped again unchanged, with a 0.2 s politeness
  delay; the listing answers 304 and fresh detail pages are not fetched again; aim >= 5x
  (`measure_rescrape` is what bench/run.py reports as `rescrape_speedup`);
- engine cost of a first sweep against a second over unchanged content (no politeness delay, no latency,
  so only fetching, parsing and storing count); aim >= 5x.

Run: python bench/bench_scrape.py [--sources 4] [--pages 30] [--items 20] [--delay 0.25] [--latency 0.02]

The polite sweep reaches its ideal only while storing a page's calls takes less than the host's delay:
Store.save_calls writes row by row (~1 ms a call here), so 40 calls a page at a 0.1 s delay is store-bound.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from selectolax.lexbor import LexborHTMLParser  # noqa: E402

from calltracker import migrate  # noqa: E402
from calltracker.domain import Deadline, Scope, ScrapedCall, Status  # noqa: E402
from calltracker.http import HostLimits, HttpClient, HttpPolicy  # noqa: E402
from calltracker.pipeline import Pipeline, SourceJob, SourceReport  # noqa: E402
from calltracker.replay import ReplayServer, Reply, Route  # noqa: E402
from calltracker.scraping import Page, Request, Yield, require  # noqa: E402
from calltracker.storage import Store, make_engine  # noqa: E402

WORDS = ("aerospace", "composite", "avionics", "satellite", "hydrogen", "propulsion", "cyber", "resilience", "drone",
         "airspace", "manufacturing", "digital", "twin", "skills", "certification", "bando", "contributo", "imprese",
         "ricerca", "innovazione")


def listing_page(source: str, number: int, pages: int, items: int, rng: random.Random) -> bytes:
    rows = []
    for i in range(items):
        cid = f"{source}-{number:03d}-{i:03d}"
        text = " ".join(rng.choice(WORDS) for _ in range(180))
        rows.append(f'<article class="call" data-id="{cid}"><h2><a href="/calls/{cid}">Call {cid} '
                    f'{rng.choice(WORDS)}</a></h2><p class="deadline">2027-0{1 + i % 9}-1{i % 10}</p>'
                    f'<div class="body"><p>{text}</p><ul><li>{text[:200]}</li></ul></div></article>')
    nav = f'<a class="next" href="/list/{number + 1}">next</a>' if number < pages else ""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{source}</title></head><body>"
            f"<main>{''.join(rows)}</main><nav>{nav}</nav></body></html>").encode()


class BenchScraper:
    """An HTML listing paginated by "next" links, like most regional portals."""

    name: ClassVar[str] = "bench"

    def __init__(self, name: str, base_url: str) -> None:
        self.name = name  # type: ignore[misc]
        self.base_url = base_url

    def start_requests(self) -> Iterable[Request]:
        return [Request(url=self.base_url + "/list/1")]

    def parse(self, page: Page) -> Iterable[Yield]:
        tree = LexborHTMLParser(page.text)
        articles = require(tree.css("article.call"), "call cards", page)
        for node in articles:
            link = node.css_first("h2 a")
            day = datetime.strptime(node.css_first("p.deadline").text(), "%Y-%m-%d")
            yield ScrapedCall(
                source=self.name, external_id=node.attributes["data-id"] or "", title=link.text(strip=True),
                url=self.base_url + (link.attributes["href"] or ""), scope=Scope.REGIONAL, status=Status.OPEN,
                description=node.css_first("div.body").text(separator="\n", strip=True),
                deadlines=(Deadline(at=day.replace(hour=12, tzinfo=UTC), date_only=False),),
            )
        nxt = tree.css_first("a.next")
        if nxt is not None:
            yield Request(url=self.base_url + (nxt.attributes["href"] or ""))


class DetailBenchScraper(BenchScraper):
    """A listing whose calls each have a detail page (the listing's call is the detail's fallback), like the
    Lombardia register and most regional portals: what a re-scrape can skip while the listing is unchanged."""

    def parse(self, page: Page) -> Iterable[Yield]:
        for item in super().parse(page):
            if isinstance(item, ScrapedCall):
                yield Request(url=item.url, callback="parse_detail", fallback=(item,), meta={"id": item.external_id})
            else:
                yield item

    def parse_detail(self, page: Page) -> Iterable[Yield]:
        tree = LexborHTMLParser(page.text)
        title = require(tree.css_first("h1"), "title", page).text(strip=True)
        yield ScrapedCall(source=self.name, external_id=page.request.meta["id"], title=title, url=page.url,
                          scope=Scope.REGIONAL, status=Status.OPEN,
                          description=require(tree.css_first("div.body"), "body", page).text(strip=True))


def detail_server(name: str, items: int, latency: float) -> ReplayServer:
    rng = random.Random(11)
    html = {"Content-Type": "text/html; charset=utf-8"}
    routes = [Route("/robots.txt", [Reply(200, b"User-agent: *\nAllow: /\n")]),
              Route("/list/1", [Reply(200, listing_page(name, 1, 1, items, rng), html)])]
    for i in range(items):
        cid = f"{name}-001-{i:03d}"
        text = " ".join(rng.choice(WORDS) for _ in range(300))
        body = f"<html><body><h1>Call {cid}</h1><div class='body'><p>{text}</p></div></body></html>".encode()
        routes.append(Route(f"/calls/{cid}", [Reply(200, body, html)]))
    return ReplayServer(routes, latency=latency, etags=True).start()


def measure_rescrape(delay: float = 0.2, items: int = 20, latency: float = 0.0) -> dict[str, float]:
    """First scrape against an unchanged re-scrape of one listing with `items` detail pages, on the replay
    server with a `delay` politeness delay: the re-scrape asks the listing (304) and skips fresh details."""
    server = detail_server("rescrape", items, latency)
    try:
        with tempfile.TemporaryDirectory() as folder:
            store = new_store(folder, "rescrape")
            try:
                jobs = [SourceJob("rescrape", DetailBenchScraper("rescrape", server.base_url),
                                  limits=HostLimits(min_delay=delay))]
                policy = HttpPolicy(user_agent="calltracker-bench/1", min_delay=delay, timeout=10,
                                    allow_loopback=True)
                times = []
                for _ in range(2):
                    with HttpClient(policy) as client:
                        started = time.perf_counter()
                        (report,) = Pipeline(store, client).run(jobs)
                        times.append(time.perf_counter() - started)
                    if report.outcome != "ok" or report.seen != items:
                        raise SystemExit(f"bench re-scrape failed: {report.line()}")
            finally:
                store.close()
    finally:
        server.stop()
    first, again = times
    return {"rescrape_first_s": round(first, 2), "rescrape_again_s": round(again, 2),
            "rescrape_speedup": round(first / again, 2)}


def build_servers(n_sources: int, pages: int, items: int, latency: float) -> list[tuple[str, ReplayServer, int]]:
    rng = random.Random(7)
    servers = []
    for s in range(n_sources):
        name = f"src{s}"
        count = pages - 5 * s  # sources of different lengths; the first is the slowest host
        routes = [Route("/robots.txt", [Reply(200, b"User-agent: *\nAllow: /\n")])]
        routes += [Route(f"/list/{n}", [Reply(200, listing_page(name, n, count, items, rng),
                                              {"Content-Type": "text/html; charset=utf-8"})])
                   for n in range(1, count + 1)]
        servers.append((name, ReplayServer(routes, latency=latency, etags=True).start(), count))
    return servers


def new_store(folder: str, tag: str) -> Store:
    url = f"sqlite:///{folder}/{tag}.sqlite3"
    engine = make_engine(url)
    migrate.upgrade(engine, url)
    return Store(engine)


def sweep(store: Store, servers: list[tuple[str, ReplayServer, int]], delay: float) -> tuple[float, float,
                                                                                          list[SourceReport]]:
    jobs = [SourceJob(name, BenchScraper(name, srv.base_url), limits=HostLimits(min_delay=delay))
            for name, srv, _ in servers]
    policy = HttpPolicy(user_agent="calltracker-bench/1", min_delay=delay, timeout=10, allow_loopback=True)
    with HttpClient(policy) as client:
        wall0, cpu0 = time.perf_counter(), time.process_time()
        reports = Pipeline(store, client).run(jobs)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    bad = [r.line() for r in reports if r.outcome != "ok"]
    if bad:
        raise SystemExit("bench sweep failed: " + "; ".join(bad))
    return wall, cpu, reports


def parse_cpu_per_page(pages: list[bytes]) -> float:
    scraper = BenchScraper("parse", "http://bench.invalid")
    start = time.process_time()
    for body in pages:
        list(scraper.parse(Page.recorded(body, url="http://bench.invalid/list/1")))
    return (time.process_time() - start) / len(pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=int, default=4)
    parser.add_argument("--pages", type=int, default=30)
    parser.add_argument("--items", type=int, default=20, help="calls per listing page")
    parser.add_argument("--delay", type=float, default=0.25, help="min_delay per host (s)")
    parser.add_argument("--latency", type=float, default=0.02, help="injected server latency (s)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        polite = build_servers(args.sources, args.pages, args.items, args.latency)
        try:
            total_pages = sum(count for _, _, count in polite)
            page_bytes = sum(len(r.body) for _, srv, _ in polite for route in srv.routes for r in route.replies)
            print(f"{args.sources} sources, {total_pages} pages ({page_bytes / total_pages / 1024:.0f} KB each), "
                  f"{args.items} calls per page, min_delay {args.delay}s, latency {args.latency}s")
            ideal = max(count for _, _, count in polite) * args.delay
            wall, cpu, reports = sweep(new_store(folder, "polite"), polite, args.delay)
            print(f"polite sweep:    wall {wall:.2f}s, ideal {ideal:.2f}s -> {ideal / wall:.2f} of ideal (aim >= 0.9)")
            print(f"                 {sum(r.seen for r in reports)} calls, {sum(r.new for r in reports)} new")
            bodies = [r.body for _, srv, _ in polite for route in srv.routes[1:] for r in route.replies]
            print(f"CPU per page:    {cpu / total_pages * 1000:.1f} ms whole process (server, HTTP, parse, store); "
                  f"parse alone {parse_cpu_per_page(bodies) * 1000:.1f} ms")
        finally:
            for _, srv, _ in polite:
                srv.stop()

        rescrape = measure_rescrape(delay=0.2, items=args.items, latency=args.latency)
        print(f"re-scrape:       one listing of {args.items} calls with detail pages, min_delay 0.2s: first "
              f"{rescrape['rescrape_first_s']:.2f}s, unchanged {rescrape['rescrape_again_s']:.2f}s -> "
              f"{rescrape['rescrape_speedup']:.1f}x faster (aim >= 5x)")

        fast = build_servers(args.sources, args.pages, args.items, 0.0)
        try:
            store = new_store(folder, "engine")
            first, _, fresh = sweep(store, fast, 0.0)
            second, _, again = sweep(store, fast, 0.0)
            unchanged = sum(r.unchanged for r in again)
            print(f"engine cost:     first sweep {first:.2f}s, unchanged sweep {second:.2f}s -> "
                  f"{first / second:.1f}x faster (aim >= 5x); {unchanged} calls unchanged, "
                  f"{sum(r.new + r.changed for r in again)} written, "
                  f"{sum(r.http_stats.get('not_modified', 0) for r in again)} answered 304")
            print(f"store:           {sum(r.new for r in fresh) / first:.0f} new calls/s through Store.save_calls "
                  "(the first sweep's bound)")
            polite_again, _, _ = sweep(store, fast, args.delay)
            print(f"unchanged sweep with politeness: {polite_again:.2f}s (bound by min_delay, as it should be)")
        finally:
            for _, srv, _ in fast:
                srv.stop()


if __name__ == "__main__":
    main()
