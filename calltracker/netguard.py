"""What the HTTP seam refuses: non-HTTP URLs, private addresses, redirects off a source's hosts, decoding bombs.

- Only http and https are fetched (never file://, ftp://, data:...).
- A host resolving to a private, link-local, reserved, multicast or unspecified address is never fetched,
  and neither is loopback unless the policy allows it (tests and the offline replay demo do; production
  does not). The address is checked before connecting and again on the connection actually made.
- A redirect stays on the request's host (an http -> https upgrade or a www. variant included) unless the
  source allows the target host (the hosts of its configured URLs and `allowed_hosts`).
- A body is decoded (gzip, deflate, any stack of them) in bounded steps, so its size limit holds while
  inflating: a 1.8 KB `gzip, gzip` bomb stops at the limit, never at 2 GB.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

import httpx

from calltracker.errors import FetchError

ACCEPT_ENCODING = "gzip, deflate"
DECODE_STEP = 64 * 1024  # the most one decoding step may produce
MAX_ENCODING_LAYERS = 3
RESOLVE_TTL = 60.0


class DecodingError(Exception):
    """A body that cannot be decoded (bad data, unsupported or too many encodings)."""


class _Inflater:
    def __init__(self, encoding: str) -> None:
        self.gzip = encoding in ("gzip", "x-gzip")
        self._raw = False  # deflate: zlib-wrapped per the RFC, but some servers send raw deflate
        self._started = False
        self._d = self._new()

    def _new(self) -> zlib._Decompress:
        if self.gzip:
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        return zlib.decompressobj(-zlib.MAX_WBITS if self._raw else zlib.MAX_WBITS)

    def stream(self, chunks: Iterable[bytes], limit: int) -> Iterator[bytes]:
        produced = 0
        for data in chunks:
            for out in self._feed(data):
                produced += len(out)
                yield out
                if produced > limit:
                    return  # the consumer refuses it; inflating more would only burn memory and time

    def _feed(self, data: bytes) -> Iterator[bytes]:
        while True:
            if self._d.eof:
                rest = self._d.unused_data
                if not (self.gzip and rest):
                    return  # trailing bytes after the stream: ignored, as browsers do
                self._d = self._new()  # a further gzip member
                data = rest
            try:
                out = self._d.decompress(data, DECODE_STEP)
            except zlib.error as exc:
                if not self.gzip and not self._started and not self._raw:
                    self._raw = True
                    self._d = self._new()
                    continue
                raise DecodingError(f"cannot decode the body ({exc})") from None
            self._started = True
            if out:
                yield out
            data = self._d.unconsumed_tail
            # A full step with no input left may leave output pending inside the decompressor: ask again.
            if not data and len(out) < DECODE_STEP and not self._d.eof:
                return


def decoded(raw: Iterable[bytes], content_encoding: str | None, limit: int) -> Iterator[bytes]:
    """The decoded body of `raw` chunks, in pieces of at most DECODE_STEP bytes; each layer stops past `limit`."""
    layers = [e.strip().lower() for e in (content_encoding or "").split(",") if e.strip()]
    layers = [e for e in layers if e != "identity"]
    unknown = [e for e in layers if e not in ("gzip", "x-gzip", "deflate")]
    if unknown:
        raise DecodingError(f"unsupported Content-Encoding {', '.join(unknown)!r}")
    if len(layers) > MAX_ENCODING_LAYERS:
        raise DecodingError(f"Content-Encoding stacks {len(layers)} layers (at most {MAX_ENCODING_LAYERS})")
    chunks: Iterable[bytes] = raw
    for encoding in reversed(layers):  # the last encoding applied is undone first
        chunks = _Inflater(encoding).stream(chunks, limit)
    return iter(chunks)


def _port(scheme: str, port: int | None) -> int:
    return port or (443 if scheme == "https" else 80)


def _same_site(a: str, b: str) -> bool:
    return a == b or a == f"www.{b}" or b == f"www.{a}"


def redirect_allowed(origin_url: str, target_url: str, allowed_hosts: Iterable[str]) -> bool:
    """Whether a redirect from a request to `origin_url` may go to `target_url`."""
    origin, target = urlsplit(origin_url), urlsplit(target_url)
    o_host, t_host = (origin.hostname or "").lower(), (target.hostname or "").lower()
    o_port, t_port = _port(origin.scheme, origin.port), _port(target.scheme, target.port)
    default = (80, 443)
    if _same_site(o_host, t_host) and (t_port == o_port or (t_port in default and o_port in default)):
        return True
    for entry in allowed_hosts:
        host, port = _split_host(entry)
        if host == t_host and (t_port == port if port is not None else t_port in default):
            return True
    return False


def _split_host(entry: str) -> tuple[str, int | None]:
    """"host", "host:port", "[v6]" or "[v6]:port" -> (host, port or None)."""
    entry = entry.strip().lower()
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif entry.count(":") == 1:
        host, _, port = entry.partition(":")
    else:
        host, port = entry, ""
    return host, int(port) if port.isdigit() else None


class AddressGuard:
    """Refuses URLs and connections the fetcher must never make (see the module docstring)."""

    def __init__(self, *, allow_loopback: bool, check_addresses: bool = True) -> None:
        self.allow_loopback = allow_loopback
        self.check_addresses = check_addresses
        self._resolved: dict[str, tuple[float, list[str]]] = {}
        self._lock = threading.Lock()

    def check_scheme(self, url: str, asked: str) -> None:
        scheme = urlsplit(url).scheme.lower()
        if scheme not in ("http", "https"):
            where = "" if url == asked else f" (redirected from {asked})"
            raise FetchError(f"{url}: refusing to fetch a {scheme or 'scheme-less'} URL{where}: only http and https",
                             url=asked, permanent=True)

    def check_redirect(self, asked: str, target: str, allowed_hosts: Iterable[str]) -> None:
        if not redirect_allowed(asked, target, allowed_hosts):
            raise FetchError(f"{asked}: redirect to {target} refused: {urlsplit(target).netloc} is not a host "
                             "this source allows (sources.NAME.allowed_hosts)", url=asked, permanent=True)

    def refusal(self, ip: str) -> str | None:
        """Why an address may not be fetched, or None."""
        try:
            address = ipaddress.ip_address(ip.split("%")[0])
        except ValueError:
            return None
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address.is_loopback:
            return None if self.allow_loopback else "a loopback address (http.allow_loopback is off)"
        if address.is_private or address.is_link_local or address.is_reserved or address.is_multicast \
                or address.is_unspecified:
            return "a private, link-local or reserved address"
        return None

    def check_address(self, url: str) -> None:
        """Refuse `url` when its host resolves to an address we never fetch; a host that does not
        resolve is a connection failure."""
        if not self.check_addresses:
            return
        host = urlsplit(url).hostname or ""
        for ip in self._resolve(host, url):
            reason = self.refusal(ip)
            if reason is not None:
                raise FetchError(f"{url}: refusing to fetch: {host} is {reason} ({ip})", url=url, permanent=True)

    def check_peer(self, response: httpx.Response, url: str) -> None:
        """The address actually connected to (DNS may have changed since `check_address`)."""
        if not self.check_addresses:
            return
        stream = response.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        if isinstance(peer, tuple) and peer:
            reason = self.refusal(str(peer[0]))
            if reason is not None:
                raise FetchError(f"{url}: refusing the connection: it reached {reason} ({peer[0]})", url=url,
                                 permanent=True)

    def _resolve(self, host: str, url: str) -> list[str]:
        now = time.monotonic()
        with self._lock:
            known = self._resolved.get(host)
        if known is not None and known[0] > now:
            return known[1]
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchError(f"{url}: connection failed: cannot resolve {host} ({exc})", url=url) from None
        ips = sorted({str(info[4][0]) for info in infos})
        with self._lock:
            self._resolved[host] = (now + RESOLVE_TTL, ips)
        return ips
