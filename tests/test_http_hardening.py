"""The HTTP seam under hostile servers, over real sockets: bombs, tricklers, redirects off-host, dead hosts."""

from __future__ import annotations

import gzip
import socket
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

from calltracker.errors import FetchError, RobotsDisallowedError
from calltracker.http import HostLimits, HttpClient, HttpPolicy
from calltracker.netguard import AddressGuard, redirect_allowed
from calltracker.replay import ReplayServer, Reply, Route
from calltracker.scraping import Request

TEXT = {"Content-Type": "text/plain"}


def local_policy(**options: Any) -> HttpPolicy:
    base: dict[str, Any] = {"allow_loopback": True, "min_delay": 0.0, "backoff_base": 0.01, "max_retries": 1,
                            "timeout": 5.0}
    return HttpPolicy(**{**base, **options})


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    with ReplayServer([Route("/robots.txt", [Reply(200, b"User-agent: *\nAllow: /\n", TEXT)])]) as srv:
        yield srv


@pytest.fixture
def other() -> Iterator[ReplayServer]:
    with ReplayServer([Route("/robots.txt", [Reply(200, b"User-agent: *\nAllow: /\n", TEXT)]),
                       Route("/inner", [Reply(200, b"internal secret", TEXT)])]) as srv:
        yield srv


# -- defect 5: unbounded resources ------------------------------------------------------------------------

def test_a_stacked_gzip_bomb_is_refused_while_decoding(server: ReplayServer) -> None:
    inflated = 64 * 1024 * 1024
    bomb = gzip.compress(gzip.compress(b"\0" * inflated, 9), 9)
    assert len(bomb) < 100_000
    server.add(Route("/bomb", [Reply(200, bomb, {"Content-Type": "text/html", "Content-Encoding": "gzip, gzip"})]))
    with HttpClient(local_policy(max_response_bytes=1_000_000)) as client:
        tracemalloc.start()
        try:
            with pytest.raises(FetchError, match="max_response_bytes") as info:
                client.fetch(Request(url=server.base_url + "/bomb"))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert info.value.permanent
    assert peak < 8 * 1024 * 1024, f"{peak / 1e6:.0f} MB held while refusing a 1 MB limit"


def test_layered_encodings_within_the_limit_are_decoded(server: ReplayServer) -> None:
    body = "perché".encode() * 1000
    headers = {"Content-Type": "text/plain; charset=utf-8", "Content-Encoding": "gzip, gzip"}
    server.add(Route("/twice", [Reply(200, gzip.compress(gzip.compress(body)), headers)]))
    with HttpClient(local_policy()) as client:
        assert client.fetch(Request(url=server.base_url + "/twice")).body == body


def test_a_trickling_server_cannot_hold_a_request_past_its_deadline(server: ReplayServer) -> None:
    server.add(Route("/slow", [Reply(200, b"x" * 400, TEXT, trickle=0.05)]))  # 20 s at full length
    with HttpClient(local_policy(request_deadline=1.0, timeout=5.0)) as client:
        started = time.monotonic()
        with pytest.raises(FetchError, match="deadline"):
            client.fetch(Request(url=server.base_url + "/slow"))
    assert time.monotonic() - started < 5.0


def test_a_source_deadline_bounds_its_requests_too(server: ReplayServer) -> None:
    server.add(Route("/slow", [Reply(200, b"x" * 400, TEXT, trickle=0.05)]))
    with HttpClient(local_policy(request_deadline=60.0)) as client:
        started = time.monotonic()
        with pytest.raises(FetchError, match="deadline"):
            client.fetch(Request(url=server.base_url + "/slow"), limits=HostLimits(deadline_at=started + 1.0))
    assert time.monotonic() - started < 5.0


# -- defect 6: say what happened ---------------------------------------------------------------------------

def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_a_refused_host_is_a_connection_failure_not_a_robots_verdict() -> None:
    url = f"http://127.0.0.1:{closed_port()}/calls"
    with HttpClient(local_policy()) as client, pytest.raises(FetchError) as info:
        client.fetch(Request(url=url))
    assert not isinstance(info.value, RobotsDisallowedError)
    assert "connection failed" in str(info.value) and "robots" not in str(info.value)


def test_an_unresolvable_host_is_a_connection_failure() -> None:
    with HttpClient(local_policy()) as client, pytest.raises(FetchError) as info:
        client.fetch(Request(url="http://calls.nonexistent.invalid/"))
    assert not isinstance(info.value, RobotsDisallowedError)
    assert "connection failed" in str(info.value)


# -- defect 8: redirects and addresses ---------------------------------------------------------------------

def test_a_redirect_to_another_host_is_refused_unless_the_source_allows_it(
        server: ReplayServer, other: ReplayServer) -> None:
    server.add(Route("/go", [Reply(302, b"", {"Location": other.base_url + "/inner"})]))
    with HttpClient(local_policy()) as client:
        with pytest.raises(FetchError, match="redirect to .* refused") as info:
            client.fetch(Request(url=server.base_url + "/go"))
        assert info.value.permanent
        assert other.requests_to("/inner") == [] and other.requests_to("/robots.txt") == []
        allowed = HostLimits(allowed_hosts=frozenset({other.base_url.removeprefix("http://")}))
        assert client.fetch(Request(url=server.base_url + "/go"), limits=allowed).body == b"internal secret"


def test_a_redirect_to_a_file_url_is_never_followed(server: ReplayServer) -> None:
    server.add(Route("/go", [Reply(302, b"", {"Location": "file:///etc/passwd"})]))
    with HttpClient(local_policy()) as client, pytest.raises(FetchError, match="only http and https"):
        client.fetch(Request(url=server.base_url + "/go"))


def test_a_redirect_to_a_private_address_is_refused_even_when_listed(server: ReplayServer) -> None:
    server.add(Route("/go", [Reply(302, b"", {"Location": "http://169.254.169.254/latest/meta-data/"})]))
    limits = HostLimits(allowed_hosts=frozenset({"169.254.169.254"}))
    with HttpClient(local_policy()) as client, pytest.raises(FetchError, match="private, link-local or reserved"):
        client.fetch(Request(url=server.base_url + "/go"), limits=limits)


def test_loopback_is_refused_unless_the_policy_allows_it(server: ReplayServer) -> None:
    server.add(Route("/calls", [Reply(200, b"ok", TEXT)]))
    with HttpClient(HttpPolicy(min_delay=0.0)) as client, pytest.raises(FetchError, match="loopback"):
        client.fetch(Request(url=server.base_url + "/calls"))
    assert server.received == []  # not even robots.txt was asked


def test_the_address_policy() -> None:
    strict, local = AddressGuard(allow_loopback=False), AddressGuard(allow_loopback=True)
    for ip in ("10.1.2.3", "192.168.0.1", "172.16.5.4", "169.254.169.254", "0.0.0.0", "fd00::1", "fe80::1",
               "::ffff:10.0.0.1"):
        assert strict.refusal(ip) and local.refusal(ip), ip
    assert strict.refusal("127.0.0.1") and strict.refusal("::1") and strict.refusal("::ffff:127.0.0.1")
    assert local.refusal("127.0.0.1") is None and local.refusal("::1") is None
    assert strict.refusal("93.184.216.34") is None and strict.refusal("2a00:1450:4002:80e::200e") is None


def test_which_redirects_stay_on_the_source() -> None:
    assert redirect_allowed("http://bandi.example.it/a", "https://bandi.example.it/b", ())  # upgrade
    assert redirect_allowed("https://example.it/a", "https://www.example.it/b", ())
    assert not redirect_allowed("https://example.it/a", "https://evil.example.com/b", ())
    assert not redirect_allowed("https://example.it/a", "https://example.it:8443/b", ())
    assert redirect_allowed("https://example.it/a", "https://cdn.example.org/b", ("cdn.example.org",))
    assert redirect_allowed("https://example.it/a", "http://127.0.0.1:8081/b", ("127.0.0.1:8081",))
    assert not redirect_allowed("https://example.it/a", "http://127.0.0.1:8082/b", ("127.0.0.1:8081",))


@pytest.mark.parametrize(("raw", "message"), [
    ({"http": {"request_deadline": 0}}, "http.request_deadline: input should be greater than 0"),
    ({"scrape": {"source_deadline": -5}}, "scrape.source_deadline: input should be greater than 0"),
    ({"http": {"allow_loopback": "yes"}}, 'http.allow_loopback: expected true or false, got "yes"'),
    ({"sources": {"eu_ft": {"allowed_hosts": ["ec.europa.eu/x"]}}},
     'sources.eu_ft.allowed_hosts: expected a host name or host:port, got "ec.europa.eu/x"'),
])
def test_the_new_limits_are_validated(raw: dict[str, Any], message: str) -> None:
    from calltracker.config import parse_settings
    from calltracker.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        parse_settings(raw, environ={})
    assert str(info.value).startswith(message), str(info.value)
