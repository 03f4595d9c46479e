"""What the page memo remembers of a page, serialised: requests, the calls they fall back on, fingerprints.

A page memo lets an unchanged page (304, or the same bytes) skip parsing. It stands for the calls the page
yielded (saved before the memo is written) and the follow-up requests it asked for, *with* the calls each
follow-up falls back on, so a follow-up that fails on a later run still stores its listing's call.
The parser fingerprint covers the scraper's code, its options and the shared parsing code it uses, so a
memo written by an older parser is never reused (and its validators are not sent).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import inspect
import json
import re
import sys
import threading
from collections.abc import Mapping
from datetime import datetime
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from calltracker.domain import Deadline, Region, Scope, ScrapedCall, Status
from calltracker.scraping import Part, Request, Scraper

#: Bumped when the memo's layout changes: older memos are then ignored (parsed again), never misread.
MEMO_VERSION = 2
#: Modules whose code a fingerprint follows when a scraper module uses them (the shared parsers).
SHARED_PREFIXES = ("calltracker.", "scrapers.")


def request_key(source: str, request: Request) -> str:
    """A stable key for what a request asks (method, URL, parameters, body), scoped to its source."""
    digest = hashlib.sha256()
    for piece in (request.method.upper(), request.url, json.dumps(sorted((request.params or {}).items())),
                  json.dumps(sorted((request.form or {}).items())), json.dumps(request.json_body, sort_keys=True,
                                                                               default=str)):
        digest.update(piece.encode())
        digest.update(b"\0")
    for part in request.parts:
        digest.update(f"{part.name}\0{part.filename}\0{part.content_type}\0".encode() + part.content + b"\0")
    return f"{source}:{digest.hexdigest()[:48]}"


def _moment(at: datetime | None) -> list[str] | None:
    if at is None:
        return None
    zone = getattr(at.tzinfo, "key", None)
    return [at.isoformat(), zone] if zone else [at.isoformat()]


def _from_moment(value: list[str] | None) -> datetime | None:
    if not value:
        return None
    at = datetime.fromisoformat(value[0])
    if len(value) > 1 and value[1]:
        with contextlib.suppress(ZoneInfoNotFoundError):
            at = at.astimezone(ZoneInfo(value[1]))
    return at


def call_to_json(call: ScrapedCall) -> dict[str, Any]:
    """A call as JSON-able data, restored exactly (zones included) by `call_from_json`."""
    return {
        "source": call.source, "external_id": call.external_id, "title": call.title, "url": call.url,
        "identifier": call.identifier, "summary": call.summary, "description": call.description,
        "programme": call.programme, "scope": call.scope.value if call.scope else None,
        "status": call.status.value if call.status else None, "opening_date": _moment(call.opening_date),
        "deadlines": [[_moment(d.at), d.date_only, d.label] for d in call.deadlines],
        "deadline_text": call.deadline_text, "budget_eur": call.budget_eur, "budget_text": call.budget_text,
        "language": call.language, "regions": [r.value for r in call.regions],
        "raw": json.loads(json.dumps(dict(call.raw), default=str)),
    }


def call_from_json(data: Mapping[str, Any]) -> ScrapedCall:
    deadlines = []
    for moment, date_only, label in data.get("deadlines") or ():
        at = _from_moment(moment)
        if at is not None:
            deadlines.append(Deadline(at=at, date_only=bool(date_only), label=label))
    return ScrapedCall(
        source=data["source"], external_id=data["external_id"], title=data["title"], url=data["url"],
        identifier=data.get("identifier"), summary=data.get("summary"), description=data.get("description"),
        programme=data.get("programme"), scope=Scope(data["scope"]) if data.get("scope") else None,
        status=Status(data["status"]) if data.get("status") else None,
        opening_date=_from_moment(data.get("opening_date")), deadlines=tuple(deadlines),
        deadline_text=data.get("deadline_text"), budget_eur=data.get("budget_eur"),
        budget_text=data.get("budget_text"), language=data.get("language"),
        regions=tuple(Region(r) for r in data.get("regions") or ()), raw=data.get("raw") or {},
    )


def request_to_json(request: Request) -> dict[str, Any]:
    return {
        "url": request.url, "method": request.method, "params": dict(request.params or {}) or None,
        "form": dict(request.form) if request.form is not None else None,
        "parts": [[p.name, base64.b64encode(p.content).decode(), p.content_type, p.filename] for p in request.parts],
        "json_body": request.json_body, "headers": dict(request.headers), "callback": request.callback,
        "meta": dict(request.meta), "conditional": request.conditional, "max_bytes": request.max_bytes,
        "fallback": [call_to_json(c) for c in request.fallback],
    }


def request_from_json(data: Mapping[str, Any]) -> Request:
    """The request as it was asked for, with the calls it falls back on."""
    return Request(
        url=data["url"], method=data["method"], params=data.get("params"), form=data.get("form"),
        parts=tuple(Part(name, base64.b64decode(content), ctype, filename)
                    for name, content, ctype, filename in data.get("parts") or []),
        json_body=data.get("json_body"), headers=data.get("headers") or {}, callback=data.get("callback", "parse"),
        meta=data.get("meta") or {}, conditional=bool(data.get("conditional", True)),
        max_bytes=data.get("max_bytes"),
        fallback=tuple(call_from_json(c) for c in data.get("fallback") or ()),
    )


_SOURCES: dict[str, str] = {}
_SOURCES_LOCK = threading.Lock()


def _module_source(module: ModuleType) -> str:
    name = module.__name__
    with _SOURCES_LOCK:
        known = _SOURCES.get(name)
    if known is None:
        try:
            known = inspect.getsource(module)
        except (OSError, TypeError):
            known = name
        with _SOURCES_LOCK:
            _SOURCES[name] = known
    return known


def _shared_modules(module: ModuleType) -> list[ModuleType]:
    """The calltracker/scrapers modules `module` uses directly (by module or by imported name)."""
    names = set()
    for value in vars(module).values():
        owner = value.__name__ if isinstance(value, ModuleType) else getattr(value, "__module__", None)
        if isinstance(owner, str) and owner.startswith(SHARED_PREFIXES) and owner != module.__name__:
            names.add(owner)
    return [sys.modules[n] for n in sorted(names) if n in sys.modules]


def options_text(options: Mapping[str, Any]) -> str:
    """A source's config table (selectors included) as stable text for `parser_fingerprint`'s `extra`."""
    return json.dumps(dict(options), sort_keys=True, default=_stable_repr)


def _stable_repr(value: object) -> str:
    """repr without memory addresses, so the same options give the same text in every process."""
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


def parser_fingerprint(scraper: Scraper, extra: str = "") -> str:
    """Changes when the scraper's code, a shared parser it uses, or `extra` (its options) changes.

    `extra` is the source's config table (`options_text`): selectors of config-defined sources included.
    A memo (and the validators stored with it) from another fingerprint is not used: a fixed parser
    re-reads unchanged pages instead of being answered 304 for content it never parsed.
    """
    cls = type(scraper)
    digest = hashlib.sha256(f"v{MEMO_VERSION}\0{cls.__module__}.{cls.__qualname__}\0".encode())
    module = inspect.getmodule(cls)
    if module is None:
        digest.update(cls.__qualname__.encode())
    else:
        for mod in (module, *_shared_modules(module)):
            digest.update(mod.__name__.encode() + b"\0" + _module_source(mod).encode() + b"\0")
    digest.update(extra.encode())
    return digest.hexdigest()[:16]
