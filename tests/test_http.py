"""The HTTP seam over real sockets against the replay server: retries, faults, robots.txt, politeness."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from calltracker.errors import FetchError, RobotsDisallowedError
from calltracker.http import (
    HostLimits,
    HttpClient,
    HttpPolicy,
    HttpStats,
    Validators,
    decode_body,
    parse_retry_after,
)
from calltracker.replay import ReplayServer, Reply, Route, json_parts
from calltracker.scraping import Part, Request


def local_policy(**options: Any) -> HttpPolicy:
    """A policy that may fetch from the loopback test servers (production refuses loopback)."""
    return HttpPolicy(allow_loopback=True, **options)


FAST = local_policy(user_agent="calltracker-test/1 (+test)", timeout=2.0, max_retries=3, retry_max_wait=5.0,
                  backoff_base=0.01, min_delay=0.0)


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    with ReplayServer() as srv:
        yield srv


@pytest.fixture
def client() -> Iterator[HttpClient]:
    with HttpClient(FAST) as c:
        yield c


def ok(body: str = "hello", **headers: str) -> Reply:
    return Reply(status=200, body=body.encode(), headers={"Content-Type": "text/plain; charset=utf-8", **headers})


def test_it_sends_its_user_agent(server: ReplayServer, client: HttpClient) -> None:
    server.add(Route("/a", [ok()]))
    got = client.fetch(Request(url=server.base_url + "/a"))
    assert got.text == "hello"
    assert server.requests_to("/a")[0].headers["user-agent"] == "calltracker-test/1 (+test)"


def test_it_retries_a_500_burst_then_succeeds(server: ReplayServer, client: HttpClient) -> None:
    server.add(Route("/p", [Reply(500), Reply(502), ok("fine")]))
    stats = HttpStats()
    got = client.fetch(Request(url=server.base_url + "/p"), stats=stats)
    assert (got.status, got.text, got.attempts) == (200, "fine", 3)
    assert stats.as_dict()["retries"] == 2
    assert stats.as_dict()["statuses"] == {"404": 1, "500": 1, "502": 1, "200": 1}  # 404: no robots.txt


def test_it_gives_up_after_max_retries(server: ReplayServer, client: HttpClient) -> None:
    server.add(Route("/p", [Reply(503)]))
    with pytest.raises(FetchError, match="HTTP 503 after 4 attempts") as info:
        client.fetch(Request(url=server.base_url + "/p"))
    assert info.value.status == 503 and not info.value.permanent
    assert len(server.requests_to("/p")) == 4


def test_a_404_is_permanent_and_not_retried(server: ReplayServer, client: HttpClient) -> None:
    with pytest.raises(FetchError) as info:
        client.fetch(Request(url=server.base_url + "/missing"))
    assert info.value.permanent and info.value.status == 404
    assert len(server.requests_to("/missing")) == 1


def test_it_retries_after_a_timeout(server: ReplayServer) -> None:
    server.add(Route("/slow", [Reply(200, b"late", delay=0.6), ok("quick")]))
    with HttpClient(local_policy(timeout=0.2, backoff_base=0.01, min_delay=0, retry_max_wait=5)) as c:
        stats = HttpStats()
        got = c.fetch(Request(url=server.base_url + "/slow"), stats=stats)
    assert got.text == "quick"
    assert stats.as_dict()["timeouts"] == 1


def test_it_retries_a_connection_reset(server: ReplayServer, client: HttpClient) -> None:
    server.add(Route("/r", [Reply(reset=True), ok("after reset")]))
    stats = HttpStats()
    assert client.fetch(Request(url=server.base_url + "/r"), stats=stats).text == "after reset"
    assert stats.as_dict()["transport_errors"] == 1


def test_it_retries_a_truncated_body(server: ReplayServer, client: HttpClient) -> None:
    full = json.dumps({"items": list(range(500))})
    server.add(Route("/t", [Reply(200, full.encode(), truncate_at=100), ok(full)]))
    got = client.fetch(Request(url=server.base_url + "/t"))
    assert json.loads(got.text)["items"][-1] == 499


def test_a_429_waits_for_retry_after(server: ReplayServer) -> None:
    server.add(Route("/busy", [Reply(429, headers={"Retry-After": "1"}), ok("served")]))
    with HttpClient(local_policy(backoff_base=0.01, min_delay=0, retry_max_wait=5)) as c:
        started = time.monotonic()
        assert c.fetch(Request(url=server.base_url + "/busy")).text == "served"
    assert time.monotonic() - started >= 0.95


def test_a_retry_after_beyond_the_wait_budget_fails_at_once(server: ReplayServer, client: HttpClient) -> None:
    server.add(Route("/busy", [Reply(429, headers={"Retry-After": "3600"})]))
    started = time.monotonic()
    with pytest.raises(FetchError, match="retry_max_wait"):
        client.fetch(Request(url=server.base_url + "/busy"))
    assert time.monotonic() - started < 1


def test_robots_disallow_blocks_without_fetching(server: ReplayServer, client: HttpClient) -> None:
    server.add(Route("/robots.txt", [ok("User-agent: *\nDisallow: /private/\n")]))
    server.add(Route("/private/x", [ok()]))
    server.add(Route("/public", [ok("public")]))
    with pytest.raises(RobotsDisallowedError, match="disallows"):
        client.fetch(Request(url=server.base_url + "/private/x"))
    assert server.requests_to("/private/x") == []
    assert client.fetch(Request(url=server.base_url + "/public")).text == "public"
    assert len(server.requests_to("/robots.txt")) == 1  # cached


def test_robots_4xx_allows_and_5xx_disallows(server: ReplayServer) -> None:
    server.add(Route("/x", [ok()]))
    with HttpClient(FAST) as c:
        assert c.fetch(Request(url=server.base_url + "/x")).status == 200  # robots.txt is a 404 here
    server.add(Route("/robots.txt", [Reply(503)]))
    with HttpClient(FAST) as c, pytest.raises(RobotsDisallowedError):
        c.fetch(Request(url=server.base_url + "/x"))


def test_robots_can_be_turned_off(server: ReplayServer) -> None:
    server.add(Route("/robots.txt", [ok("User-agent: *\nDisallow: /\n")]))
    server.add(Route("/x", [ok()]))
    policy = local_policy(min_delay=0, respect_robots=False)
    with HttpClient(policy) as c:
        assert c.fetch(Request(url=server.base_url + "/x")).status == 200
    assert server.requests_to("/robots.txt") == []


def test_it_refuses_a_response_over_the_size_limit(server: ReplayServer) -> None:
    server.add(Route("/big", [ok("x" * 5000)]))
    with HttpClient(local_policy(min_delay=0, max_response_bytes=1000)) as c, pytest.raises(FetchError) as info:
        c.fetch(Request(url=server.base_url + "/big"))
    assert info.value.permanent and "max_response_bytes" in str(info.value)


def test_it_follows_a_bounded_number_of_redirects(server: ReplayServer, client: HttpClient) -> None:
    server.add(Route("/old", [Reply(301, headers={"Location": "/new"})]))
    server.add(Route("/new", [ok("moved")]))
    server.add(Route("/loop", [Reply(302, headers={"Location": "/loop"})]))
    got = client.fetch(Request(url=server.base_url + "/old"))
    assert (got.text, got.url) == ("moved", server.base_url + "/new")
    with pytest.raises(FetchError, match="more than 5 redirects"):
        client.fetch(Request(url=server.base_url + "/loop"))


def test_conditional_get_gets_a_304(server: ReplayServer, client: HttpClient) -> None:
    server.etags = True
    server.add(Route("/c", [ok("content")]))
    first = client.fetch(Request(url=server.base_url + "/c"))
    assert first.etag
    second = client.fetch(Request(url=server.base_url + "/c"), validators=Validators(etag=first.etag))
    assert second.not_modified and second.body == b""
    assert server.requests_to("/c")[1].headers["if-none-match"] == first.etag


def test_multipart_json_file_parts_reach_the_server(server: ReplayServer, client: HttpClient) -> None:
    server.add(Route("/search", [Reply(500, b'{"type":"throwable"}')], method="POST"))
    server.add(Route("/search", [ok("matched")], method="POST", body=json_parts({"query": {"a": 1}})))
    good = Request(url=server.base_url + "/search", method="POST",
                   parts=(Part("query", b'{"a": 1}', "application/json", "query.json"),))
    assert client.fetch(good).text == "matched"
    plain_field = Request(url=server.base_url + "/search", method="POST", form={"query": '{"a": 1}'})
    with HttpClient(local_policy(min_delay=0, max_retries=0)) as c, pytest.raises(FetchError, match="HTTP 500"):
        c.fetch(plain_field)


def test_requests_to_one_host_are_spaced_and_hosts_run_in_parallel() -> None:
    with ReplayServer([Route("/p", [ok()])]) as a, ReplayServer([Route("/p", [ok()])]) as b, \
            HttpClient(local_policy(min_delay=0.1, respect_robots=False)) as c:
        def sweep(base: str) -> None:
            for _ in range(4):
                c.fetch(Request(url=base + "/p"))
        started = time.monotonic()
        threads = [threading.Thread(target=sweep, args=(s.base_url,)) for s in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 0.55  # 4 requests per host, 0.1 s apart; both hosts at once


def test_a_source_may_set_its_own_delay(server: ReplayServer) -> None:
    server.add(Route("/p", [ok()]))
    with HttpClient(local_policy(min_delay=0, respect_robots=False)) as c:
        started = time.monotonic()
        for _ in range(3):
            c.fetch(Request(url=server.base_url + "/p"), limits=HostLimits(min_delay=0.15))
    assert time.monotonic() - started >= 0.3


def test_a_plain_function_can_stand_in_for_the_network() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"caf\xe9", headers={"Content-Type": "text/html"})

    with HttpClient(local_policy(min_delay=0, respect_robots=False), transport=httpx.MockTransport(handler)) as c:
        assert c.fetch(Request(url="http://example.test/")).text == "café"


@pytest.mark.parametrize(("body", "content_type", "text"), [
    ("città".encode("latin-1"), "text/html; charset=ISO-8859-1", "città"),
    ("città".encode(), "text/html; charset=utf-8", "città"),
    ('<meta charset="windows-1252"><p>perché'.encode("cp1252"), "text/html", '<meta charset="windows-1252"><p>perché'),
    ("perché".encode(), None, "perché"),
    ("perché €".encode("cp1252"), "text/plain", "perché €"),
    ("\ufeffciao".encode(), "text/plain; charset=latin-1", "ciao"),
    (b"x", "text/plain; charset=bogus", "x"),
])
def test_it_decodes_declared_and_undeclared_charsets(body: bytes, content_type: str | None, text: str) -> None:
    assert decode_body(body, content_type) == text


def test_retry_after_accepts_seconds_and_dates() -> None:
    assert parse_retry_after("7") == 7
    assert parse_retry_after("Wed, 25 Nov 2026 10:00:10 GMT", now=1795600800.0) == 10
    assert parse_retry_after("soon") is None
