"""A small HTTP server on 127.0.0.1 that replays recorded payloads and injects faults.

Used by the tests (real sockets, real retries), the benchmarks and the offline demo. Routes match on
method, path, query parameters and, for POST, a predicate on the body -- typically the JSON content of
named multipart *file* parts, which is exactly what the EU search API cares about. Each route serves a
sequence of responses (the last one repeats), so "500, 500, then 200" is one route. A response may be
delayed, cut short (a truncated body), or replaced by a connection reset.

Manifest (`manifest.json` in a directory):

    {"routes": [
      {"method": "POST", "path": "/search-api/prod/rest/search", "query": {"pageNumber": "1"},
       "parts": {"query": {...json...}, "languages": ["en"]},
       "responses": [{"status": 200, "file": "page1.json", "headers": {"Content-Type": "application/json"}}]},
      {"method": "POST", "path": "/search.html", "form": {"state": "1"}, "responses": [...]},
      {"path": "/robots.txt", "responses": [{"status": 200, "body": "User-agent: *\\nAllow: /\\n"}]}
    ]}
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True, slots=True)
class Reply:
    """One response, or one fault in its place."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    reset: bool = False  # close the connection with a TCP RST instead of answering
    truncate_at: int | None = None  # send this many body bytes of a longer declared Content-Length, then close
    hold: threading.Event | None = None  # answer only once this is set (a test kills the client meanwhile)
    trickle: float = 0.0  # seconds between body bytes: a server that sends one byte at a time


@dataclass(frozen=True, slots=True)
class Received:
    """A request the server saw (tests assert on these)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def parts(self) -> dict[str, tuple[str | None, str | None, bytes]]:
        """Multipart parts by name: (filename, content type, content)."""
        return multipart_parts(self.headers.get("content-type", ""), self.body)


BodyPredicate = Callable[[Received], bool]


@dataclass
class Route:
    path: str
    replies: Sequence[Reply]
    method: str = "GET"
    query: Mapping[str, str] | None = None  # these parameters must be present with these values
    body: BodyPredicate | None = None
    served: int = 0

    def matches(self, req: Received) -> bool:
        if req.method != self.method.upper() or req.path != self.path:
            return False
        if self.query and any(req.query.get(k) != v for k, v in self.query.items()):
            return False
        return self.body is None or self.body(req)

    def next_reply(self) -> Reply:
        reply = self.replies[min(self.served, len(self.replies) - 1)]
        self.served += 1
        return reply


def multipart_parts(content_type: str, body: bytes) -> dict[str, tuple[str | None, str | None, bytes]]:
    if not content_type.lower().startswith("multipart/"):
        return {}
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    out: dict[str, tuple[str | None, str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        declared = part.get("content-type")
        payload = part.get_payload(decode=True)
        out[name] = (part.get_filename(), str(declared) if declared else None,
                     payload if isinstance(payload, bytes) else b"")
    return out


def json_parts(expected: Mapping[str, Any]) -> BodyPredicate:
    """A body predicate: each named part is a JSON *file* part whose content equals the expected value."""

    def check(req: Received) -> bool:
        parts = req.parts()
        for name, value in expected.items():
            got = parts.get(name)
            if got is None or got[0] is None or not (got[1] or "").startswith("application/json"):
                return False
            try:
                if json.loads(got[2]) != value:
                    return False
            except ValueError:
                return False
        return True

    return check


def form_fields(expected: Mapping[str, str]) -> BodyPredicate:
    """A body predicate: an urlencoded form body holding these fields with these values (others may follow)."""

    def check(req: Received) -> bool:
        got = dict(parse_qsl(req.body.decode("utf-8", errors="replace"), keep_blank_values=True))
        return all(got.get(k) == v for k, v in expected.items())

    return check


def body_digest(digest: str) -> BodyPredicate:
    """A body predicate: the sha256 of the raw body."""
    return lambda req: hashlib.sha256(req.body).hexdigest() == digest


def load_manifest(directory: str | Path) -> list[Route]:
    """Routes from `directory/manifest.json`; reply files are read relative to the directory."""
    base = Path(directory)
    data = json.loads((base / "manifest.json").read_text(encoding="utf-8"))
    routes: list[Route] = []
    for entry in data["routes"]:
        replies = []
        for r in entry.get("responses") or [{}]:
            body = (base / r["file"]).read_bytes() if "file" in r else str(r.get("body", "")).encode()
            replies.append(Reply(status=int(r.get("status", 200)), body=body, headers=dict(r.get("headers", {})),
                                 delay=float(r.get("delay", 0)), reset=bool(r.get("reset", False)),
                                 truncate_at=r.get("truncate_at")))
        predicate: BodyPredicate | None = None
        if "parts" in entry:
            predicate = json_parts(entry["parts"])
        elif "form" in entry:
            predicate = form_fields(entry["form"])
        elif "body_sha256" in entry:
            predicate = body_digest(entry["body_sha256"])
        routes.append(Route(path=entry["path"], replies=replies, method=entry.get("method", "GET"),
                            query=entry.get("query"), body=predicate))
    return routes


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like real servers; the shared client reuses connections
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silence the default stderr access log."""

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        req = Received(method=self.command, path=parts.path, query=dict(parse_qsl(parts.query)),
                       headers={k.lower(): v for k, v in self.headers.items()}, body=body)
        reply = self.server.replay.answer(req)
        delay = reply.delay + self.server.replay.latency
        if delay:
            time.sleep(delay)
        if reply.hold is not None:
            reply.hold.wait(self.server.replay.hold_timeout)
        if reply.reset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        etag = None
        if self.server.replay.etags and reply.status == 200 and self.command == "GET":
            etag = '"' + hashlib.sha256(reply.body).hexdigest()[:16] + '"'
            if req.headers.get("if-none-match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        self.send_response(reply.status)
        headers = {k.lower(): v for k, v in reply.headers.items()}
        for name, value in reply.headers.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        if "content-type" not in headers:
            self.send_header("Content-Type", "application/octet-stream")
        if etag:
            self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if reply.trickle:
            self._trickle(reply)
            return
        if reply.truncate_at is not None:
            self.wfile.write(reply.body[:reply.truncate_at])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(reply.body)

    def _trickle(self, reply: Reply) -> None:
        stop = self.server.replay.stopping
        try:
            for i in range(len(reply.body)):
                self.wfile.write(reply.body[i:i + 1])
                self.wfile.flush()
                if stop.wait(reply.trickle):
                    break
        except OSError:
            pass  # the client gave up: what the fault is for
        self.close_connection = True

    do_GET = _handle
    do_POST = _handle
    do_HEAD = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    replay: ReplayServer


NOT_FOUND = Reply(status=404, body=b"not recorded", headers={"Content-Type": "text/plain"})


class ReplayServer:
    """Serve `routes` on 127.0.0.1 (port 0 = any free port) in a background thread.

    Use as a context manager; `base_url` is where it listens. `latency` delays every reply (benchmarks);
    `etags` adds an ETag to GET replies and answers a matching If-None-Match with 304.
    """

    def __init__(self, routes: Sequence[Route] = (), *, latency: float = 0.0, etags: bool = False,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes: list[Route] = list(routes)
        self.latency = latency
        self.etags = etags
        self.received: list[Received] = []
        #: the longest a held reply waits for its event; set when the server stops, so nothing hangs
        self.hold_timeout = 60.0
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._server = _Server((host, port), _Handler)
        self._server.replay = self
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def add(self, route: Route) -> Route:
        """Add a route in front of the others (a later, more specific route wins)."""
        with self._lock:
            self.routes.insert(0, route)
        return route

    def answer(self, req: Received) -> Reply:
        with self._lock:
            self.received.append(req)
            self._arrived.notify_all()
            for route in self.routes:
                if route.matches(req):
                    return route.next_reply()
        return NOT_FOUND

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float = 30.0) -> bool:
        """Block until `predicate(received requests)` holds (True) or `timeout` passes (False)."""
        with self._arrived:
            return self._arrived.wait_for(lambda: predicate(self.received), timeout)

    def requests_to(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def start(self) -> ReplayServer:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="replay-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
