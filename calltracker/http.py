"""The one HTTP seam every source goes through: politeness, retries, robots.txt, conditional requests.

One shared `httpx.Client` (a new client per request costs ~22 ms; see STYLE.md). Callers use threads:
`HttpClient.fetch` is thread-safe. Politeness is per host (scheme + host + port): at most
`concurrency` requests in flight and at least `min_delay` seconds between two request starts, so
different hosts proceed in parallel while each host sees a gentle, steady crawler.
"""

from __future__ import annotations

import codecs
import email.utils
import hashlib
import logging
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from protego import Protego

from calltracker import __version__
from calltracker.errors import FetchError, RobotsDisallowedError
from calltracker.netguard import ACCEPT_ENCODING, AddressGuard, DecodingError, decoded
from calltracker.scraping import Request

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 520, 521, 522, 523, 524})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ROBOTS_MAX_AGE = 24 * 3600  # RFC 9309 2.4: a cached robots.txt SHOULD NOT be used for more than 24 hours
ROBOTS_ERROR_AGE = 300  # an unreachable robots.txt disallows everything, but only for a short while
ROBOTS_MAX_BYTES = 500 * 1024  # RFC 9309 2.5: parse at least 500 KiB


@dataclass(frozen=True, slots=True)
class HttpPolicy:
    """Everything the seam may be told. Built from `[http]` (and `[sources.NAME]`) by bootstrap."""

    user_agent: str = f"calltracker/{__version__}"
    timeout: float = 30.0
    max_retries: int = 4
    retry_max_wait: float = 120.0
    backoff_base: float = 0.5
    min_delay: float = 1.0
    per_host_concurrency: int = 1
    max_response_bytes: int = 20_000_000
    max_redirects: int = 5
    respect_robots: bool = True
    robots_cache_seconds: float = ROBOTS_MAX_AGE
    #: the most one fetch may take: retries, waits, redirects and a slow body included
    request_deadline: float = 300.0
    #: loopback addresses may be fetched (tests, the replay demo); private, link-local and reserved never
    allow_loopback: bool = False


@dataclass(frozen=True, slots=True)
class HostLimits:
    """A source's own politeness for the hosts it fetches (`[sources.NAME] min_delay, concurrency`)."""

    min_delay: float | None = None
    concurrency: int | None = None
    #: time.monotonic() after which no request of the source may run on (its source deadline)
    deadline_at: float | None = None
    #: hosts ("host" or "host:port") a redirect may lead to besides the request's own host
    allowed_hosts: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Fetched:
    """A response after retries and redirects. `not_modified` means 304 to our conditional request."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    text: str
    not_modified: bool = False
    attempts: int = 1
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


@dataclass(frozen=True, slots=True)
class Validators:
    """What a previous response told us, for If-None-Match / If-Modified-Since."""

    etag: str | None = None
    last_modified: str | None = None


class HttpStats:
    """Thread-safe counters for one source's run; stored on its scrape-run row."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._statuses: Counter[str] = Counter()
        self.bytes = 0
        self.wait_seconds = 0.0

    def add(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._counts[key] += n

    def status(self, code: int) -> None:
        with self._lock:
            self._statuses[str(code)] += 1

    def received(self, n: int) -> None:
        with self._lock:
            self.bytes += n

    def waited(self, seconds: float) -> None:
        with self._lock:
            self.wait_seconds += seconds

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {**dict(self._counts), "statuses": dict(self._statuses), "bytes": self.bytes,
                    "wait_seconds": round(self.wait_seconds, 3)}


class _HostGate:
    """At most `concurrency` requests in flight; request starts at least `min_delay` apart."""

    def __init__(self, min_delay: float, concurrency: int) -> None:
        self.min_delay = min_delay
        self._slots = threading.BoundedSemaphore(max(1, concurrency))
        self._lock = threading.Lock()
        self._next_start = 0.0

    @contextmanager
    def slot(self, stats: HttpStats | None) -> Iterator[None]:
        with self._slots:
            with self._lock:
                now = time.monotonic()
                start = max(now, self._next_start)
                self._next_start = start + self.min_delay
            if start > now:
                if stats is not None:
                    stats.waited(start - now)
                time.sleep(start - now)
            yield


@dataclass(slots=True)
class _Robots:
    parser: Protego | None  # None: everything allowed (4xx) ...
    disallow_all: bool  # ... unless the file was unreachable (5xx, network)
    expires: float
    reason: str | None = None  # why everything is disallowed (5xx) or the host could not be reached
    connect_error: bool = False  # the host could not be reached at all: that is what gets reported


def host_key(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.-]+)["']""")


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None


def decode_body(body: bytes, content_type: str | None) -> str:
    """Text of a body: BOM, then the declared charset, then an HTML/XML declaration, then UTF-8 or cp1252.

    Undeclared pages of Italian portals are either UTF-8 or Windows-1252; strict UTF-8 rarely succeeds on
    cp1252 text with accents, so trying it first and falling back is safe.
    """
    for bom, name in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                      (codecs.BOM_UTF16_BE, "utf-16-be")):
        if body.startswith(bom):
            return body[len(bom):].decode(name, errors="replace")
    declared = None
    if content_type:
        match = re.search(r"charset\s*=\s*([^;\s]+)", content_type, re.IGNORECASE)
        declared = _codec(match.group(1)) if match else None
    if declared is None:
        head = body[:4096]
        sniffed = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
        declared = _codec(sniffed.group(1).decode("ascii", "ignore")) if sniffed else None
    if declared is not None:
        # Pages that declare latin-1 are cp1252 in practice (the WHATWG rule browsers follow).
        if declared in ("iso8859-1", "ascii"):
            declared = "cp1252"
        return body.decode(declared, errors="replace")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("cp1252", errors="replace")


def _build(client: httpx.Client, request: Request, url: str, method: str, headers: dict[str, str], *,
           timeout: float | None = None) -> httpx.Request:
    kwargs: dict[str, Any] = {"headers": headers}
    if timeout is not None:
        kwargs["timeout"] = timeout
    if method == "GET":
        kwargs["params"] = dict(request.params) if request.params and url == request.url else None
        return client.build_request(method, url, **kwargs)
    if request.params and url == request.url:
        kwargs["params"] = dict(request.params)
    if request.parts:
        kwargs["files"] = [
            (p.name, (p.filename, p.content, p.content_type)) if p.filename is not None
            else (p.name, (None, p.content, p.content_type)) for p in request.parts
        ]
        if request.form:
            kwargs["data"] = dict(request.form)
    elif request.form is not None:
        kwargs["data"] = dict(request.form)
    elif request.json_body is not None:
        kwargs["json"] = request.json_body
    return client.build_request(method, url, **kwargs)


class HttpClient:
    """The shared, polite HTTP client. Thread-safe; create one per process and `close()` it."""

    def __init__(self, policy: HttpPolicy, *, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.policy = policy
        self._sleep = sleep
        # Only encodings we decode ourselves, with the size limit enforced while decoding (see `decoded`).
        self._clock = clock  # wall-clock time: `fetched_at`, Retry-After dates (delays use time.monotonic)
        self._client = httpx.Client(
            headers={"User-Agent": policy.user_agent, "Accept-Encoding": ACCEPT_ENCODING}, timeout=policy.timeout,
            follow_redirects=False, transport=transport,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=40),
        )
        # A stand-in transport is not the network: addresses are only checked on real connections.
        self._guard = AddressGuard(allow_loopback=policy.allow_loopback, check_addresses=transport is None)
        self._gates: dict[str, _HostGate] = {}
        self._robots: dict[str, _Robots] = {}
        self._robots_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- politeness --------------------------------------------------------------------------------------

    def _gate(self, url: str, limits: HostLimits | None) -> _HostGate:
        key = host_key(url)
        with self._lock:
            gate = self._gates.get(key)
            if gate is None:
                delay = limits.min_delay if limits and limits.min_delay is not None else self.policy.min_delay
                conc = limits.concurrency if limits and limits.concurrency else self.policy.per_host_concurrency
                gate = self._gates[key] = _HostGate(delay, conc)
            elif limits is not None and limits.min_delay is not None:
                gate.min_delay = limits.min_delay
            return gate

    # -- robots.txt --------------------------------------------------------------------------------------

    def allowed(self, url: str, *, limits: HostLimits | None = None, stats: HttpStats | None = None) -> bool:
        """Whether robots.txt lets our user agent fetch `url` (always true with respect_robots off)."""
        return self._robots_check(url, limits, stats) is None

    def _robots_check(self, url: str, limits: HostLimits | None, stats: HttpStats | None) -> _Robots | None:
        """None when `url` may be fetched; else the robots state that forbids it (or says the host is down)."""
        if not self.policy.respect_robots:
            return None
        key = host_key(url)
        with self._lock:
            lock = self._robots_locks.setdefault(key, threading.Lock())
        with lock:  # one robots.txt fetch per host even when several threads ask at once
            robots = self._robots.get(key)
            if robots is None or robots.expires < time.monotonic():
                robots = self._robots[key] = self._fetch_robots(key, limits, stats)
        if robots.disallow_all:
            return robots
        if robots.parser is None or robots.parser.can_fetch(url, self.policy.user_agent):
            return None
        return robots

    def _fetch_robots(self, origin: str, limits: HostLimits | None, stats: HttpStats | None) -> _Robots:
        ttl = min(self.policy.robots_cache_seconds, ROBOTS_MAX_AGE)
        url = origin + "/robots.txt"
        try:
            got = self._follow(Request(url=url, conditional=False), None, limits, stats, check_robots=False,
                               max_bytes=ROBOTS_MAX_BYTES, truncate=True)
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                return _Robots(None, False, time.monotonic() + ttl)
            log.warning("robots.txt of %s unreachable (%s): not fetching from it for now", origin, exc)
            if exc.status is None:  # no answer at all: the host is down or refused, not a robots verdict
                return _Robots(None, True, time.monotonic() + min(ttl, ROBOTS_ERROR_AGE),
                               reason=_connection_failure(str(exc).removeprefix(f"{url}: ")), connect_error=True)
            return _Robots(None, True, time.monotonic() + min(ttl, ROBOTS_ERROR_AGE),
                           reason=f"robots.txt of {origin} unreachable (HTTP {exc.status}): not fetching from "
                                  "it for now")
        if stats is not None:
            stats.add("robots_fetches")
        return _Robots(Protego.parse(got.text), False, time.monotonic() + ttl)

    # -- fetching ----------------------------------------------------------------------------------------

    def fetch(self, request: Request, *, validators: Validators | None = None, limits: HostLimits | None = None,
              stats: HttpStats | None = None) -> Fetched:
        """Fetch `request` politely, following redirects and retrying transient failures.

        Raises RobotsDisallowedError (nothing fetched) or FetchError (after retries; `permanent` for 4xx,
        too-large bodies, redirect loops, refused redirects and refused addresses). A fetch never runs past
        `request_deadline` nor past the source's deadline (`limits.deadline_at`).
        """
        return self._follow(request, validators, limits, stats, check_robots=True, max_bytes=request.max_bytes)

    def _deadline(self, limits: HostLimits | None) -> float:
        deadline = time.monotonic() + self.policy.request_deadline
        if limits is not None and limits.deadline_at is not None:
            deadline = min(deadline, limits.deadline_at)
        return deadline

    def _follow(self, request: Request, validators: Validators | None, limits: HostLimits | None,
                stats: HttpStats | None, *, check_robots: bool, max_bytes: int | None = None,
                truncate: bool = False) -> Fetched:
        url = request.url
        method = request.method.upper()
        deadline = self._deadline(limits)
        self._guard.check_scheme(url, request.url)
        for _hop in range(self.policy.max_redirects + 1):
            self._guard.check_address(url)
            if check_robots:
                robots = self._robots_check(url, limits, stats)
                if robots is not None and robots.connect_error:
                    raise FetchError(f"{url}: {robots.reason}", url=url)
                if robots is not None:
                    if stats is not None:
                        stats.add("robots_blocked")
                    raise RobotsDisallowedError(robots.reason or f"robots.txt of {host_key(url)} disallows {url}",
                                                url=url)
            got = self._send(request, url, validators if url == request.url else None, limits, stats,
                             method=method, max_bytes=max_bytes, truncate=truncate, deadline=deadline)
            if got.status not in REDIRECT_STATUSES:
                return got
            location = got.headers.get("location")
            if not location:
                raise FetchError(f"{url}: redirect {got.status} without Location", url=url, status=got.status,
                                 permanent=True)
            if stats is not None:
                stats.add("redirects")
            target = urljoin(url, location)
            try:
                self._guard.check_scheme(target, request.url)
                self._guard.check_redirect(request.url, target, limits.allowed_hosts if limits else frozenset())
            except FetchError:
                if stats is not None:
                    stats.add("redirects_refused")
                raise
            url = target
            if got.status == 303 or (got.status in (301, 302) and method == "POST"):
                method = "GET"
        raise FetchError(f"{request.url}: more than {self.policy.max_redirects} redirects", url=request.url,
                         permanent=True)

    def _send(self, request: Request, url: str, validators: Validators | None, limits: HostLimits | None,
              stats: HttpStats | None, *, method: str = "GET", max_bytes: int | None = None,
              truncate: bool = False, deadline: float | None = None) -> Fetched:
        policy = self.policy
        headers = dict(request.headers)
        # Conditional headers only for GET: on a POST, If-None-Match is a precondition (412), not a cache hint.
        if validators is not None and request.conditional and method == "GET":
            if validators.etag:
                headers["If-None-Match"] = validators.etag
            if validators.last_modified:
                headers["If-Modified-Since"] = validators.last_modified
        gate = self._gate(url, limits)
        hard = deadline if deadline is not None else self._deadline(limits)
        wait_budget = time.monotonic() + policy.retry_max_wait
        attempt = 0
        while True:
            attempt += 1
            error: str
            retry_after: float | None = None
            status: int | None = None
            try:
                with gate.slot(stats):
                    left = hard - time.monotonic()
                    if left <= 0:
                        raise FetchError(f"{url}: deadline passed before the request could start "
                                         f"(request_deadline {policy.request_deadline:g}s or the source's)", url=url)
                    if stats is not None:
                        stats.add("requests")
                    built = _build(self._client, request, url, method, headers, timeout=min(policy.timeout, left))
                    got = self._receive(built, url, attempt, max_bytes or policy.max_response_bytes, truncate,
                                        hard)
                if stats is not None:
                    stats.status(got.status)
                    stats.received(len(got.body))
                    if got.not_modified:
                        stats.add("not_modified")
                if got.status < 400 or got.status in REDIRECT_STATUSES:
                    return got
                status = got.status
                if status not in RETRY_STATUSES:
                    raise FetchError(f"{url}: HTTP {status}", url=url, status=status, permanent=True)
                error = f"HTTP {status}"
                retry_after = parse_retry_after(got.headers.get("retry-after"), self._clock().timestamp())
            except httpx.TimeoutException as exc:
                error = f"timeout ({type(exc).__name__})"
                if stats is not None:
                    stats.add("timeouts")
            except httpx.TransportError as exc:
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                if isinstance(exc, httpx.ConnectError):
                    error = _connection_failure(error)
                if stats is not None:
                    stats.add("transport_errors")
            if attempt > policy.max_retries:
                raise FetchError(f"{url}: {error} after {attempt} attempts", url=url, status=status)
            wait = policy.backoff_base * (2 ** (attempt - 1)) * random.uniform(0.5, 1.5)
            if retry_after is not None:
                wait = max(wait, retry_after)
            if time.monotonic() + wait > wait_budget:
                raise FetchError(f"{url}: {error}; next retry in {wait:.1f}s would pass retry_max_wait "
                                 f"({policy.retry_max_wait:g}s)", url=url, status=status)
            if time.monotonic() + wait > hard:
                raise FetchError(f"{url}: {error}; next retry in {wait:.1f}s would pass the deadline "
                                 f"(request_deadline {policy.request_deadline:g}s or the source's)", url=url,
                                 status=status)
            if stats is not None:
                stats.add("retries")
                stats.waited(wait)
            log.debug("%s: %s, retry %d in %.2fs", url, error, attempt, wait)
            self._sleep(wait)

    def _receive(self, built: httpx.Request, url: str, attempt: int, max_bytes: int, truncate: bool,
                 deadline: float) -> Fetched:
        """Read the response, decoding while counting: the size limit holds for the *decoded* body, so a
        small compressed bomb (even layered, `Content-Encoding: gzip, gzip`) never inflates past it; and the
        body must arrive before `deadline`, so a server trickling bytes cannot hold a request for ever."""
        response = self._client.send(built, stream=True)
        try:
            self._guard.check_peer(response, url)
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes and not truncate:
                raise FetchError(f"{url}: response of {declared} bytes exceeds max_response_bytes ({max_bytes})",
                                 url=url, status=response.status_code, permanent=True)
            chunks: list[bytes] = []
            size = 0
            try:
                # (a stand-in transport may hand back a response whose content is already read)
                raw = [response.content] if response.is_stream_consumed else response.iter_raw()
                for chunk in decoded(raw, response.headers.get("content-encoding"), max_bytes):
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > max_bytes:
                        if truncate:
                            break
                        raise FetchError(f"{url}: response exceeds max_response_bytes ({max_bytes}) once decoded",
                                         url=url, status=response.status_code, permanent=True)
                    if time.monotonic() > deadline:
                        raise FetchError(f"{url}: deadline passed while reading the body ({size} bytes so far; "
                                         f"request_deadline {self.policy.request_deadline:g}s or the source's)",
                                         url=url, status=response.status_code)
            except DecodingError as exc:
                raise FetchError(f"{url}: {exc}", url=url, status=response.status_code, permanent=True) from None
        finally:
            response.close()
        body = b"".join(chunks)[:max_bytes] if truncate else b"".join(chunks)
        headers = {k.lower(): v for k, v in response.headers.items()}
        return Fetched(url=str(response.url), status=response.status_code, headers=headers, body=body,
                       text=decode_body(body, headers.get("content-type")), not_modified=response.status_code == 304,
                       attempts=attempt, fetched_at=self._clock())


def _connection_failure(error: str) -> str:
    return error if error.startswith("connection failed") else f"connection failed: {error}"
