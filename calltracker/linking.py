"""Pure linking: the same call seen by two sources (a Liguria measure on the regional portal and on
incentivi.gov.it) shares at least one key; storage links such records to one call, keeping both.

Keys: official identifiers (a call's own `identifier`, Lombardia codes like `RLO12024036663`, EU topic
ids, Joomla `publiccompetition/<id>` numbers per site) wherever they appear in the record's URLs;
the official URL itself; and the normalised title with each deadline day, of a record with regions: two
records sharing that key are one call only when they also share a region (`links_by`). The region is not in
the key, so a call of three regions writes one title key per day, not three.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

from calltracker.domain import ScrapedCall

_LOMBARDIA_CODE = re.compile(r"(?<![A-Z0-9])(R[A-Z]{2}\d{11})(?![0-9])")
_EU_TOPIC = re.compile(r"/topic-details/([A-Za-z0-9][A-Za-z0-9._-]+)")
_PUBLICCOMPETITION = re.compile(r"/publiccompetition/(\d+):")
_NON_WORDS = re.compile(r"[\W_]+")
_SPACES = re.compile(r"\s+")
_URL_SPECIAL = re.compile(r"[\t\r\n\[\]]")  # what urlsplit removes (tabs, newlines) or checks (IPv6 hosts)
_HOST_END = re.compile(r"[/?#]")
TITLE_KEY = "title:"


def normalise_title(title: str) -> str:
    """Lower-case ASCII words: accents, quotes, punctuation and spacing do not matter."""
    spaced = _NON_WORDS.sub(" ", title.lower())  # ’ and ' both separate words
    if spaced.isascii():  # (NFKD leaves ASCII as it is)
        return " ".join(spaced.split())
    ascii_text = unicodedata.normalize("NFKD", spaced).encode("ascii", "ignore").decode()
    return " ".join(ascii_text.split())


def normalise_identifier(identifier: str) -> str:
    return _SPACES.sub("", identifier).upper()


def normalise_url(url: str) -> str | None:
    """Scheme, `www.`, case of the host, fragment and a trailing slash do not matter; the query does."""
    text = unquote(url.strip())
    if text.startswith(("https://", "http://")) and text.isascii() and not _URL_SPECIAL.search(text):
        # What urlsplit gives for a plain ASCII http(s) URL, without its general machinery (a page of new calls
        # has hundreds): the host up to the first / ? or #, the fragment dropped, the query after the first ?.
        rest = text[text.index("//") + 2:]
        end = _HOST_END.search(rest)
        netloc, tail = (rest[:end.start()], rest[end.start():]) if end else (rest, "")
        path, _, query = tail.partition("#")[0].partition("?")
    else:
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https"):
            return None
        netloc, path, query = parts.netloc, parts.path, parts.query
    if not netloc:
        return None
    host = netloc.lower().removeprefix("www.")
    path = path.rstrip("/")
    return f"{host}{path}" + (f"?{query}" if query else "")


def _urls(call: ScrapedCall) -> list[str]:
    urls = [call.url]
    link = call.raw.get("link")  # the official page a catalogue record points to (incentivi.gov.it)
    if isinstance(link, str):
        urls.append(link)
    return urls


def _identifiers(call: ScrapedCall, urls: Iterable[str]) -> set[str]:
    found: set[str] = set()
    if call.identifier:
        found.add(f"id:{normalise_identifier(call.identifier)}")
    for text in [*urls, call.identifier or ""]:
        # (each pattern is tried only where its literal part appears: most texts have none of them)
        if "R" in text:
            found.update([f"id:{code}" for code in _LOMBARDIA_CODE.findall(text)])
        if "/topic-details/" in text:
            found.update([f"id:{normalise_identifier(t)}" for t in _EU_TOPIC.findall(text)])
        if "/publiccompetition/" not in text:
            continue
        for number in _PUBLICCOMPETITION.findall(text):
            host = (urlsplit(text).netloc or "").lower().removeprefix("www.")
            found.add(f"publiccompetition:{host}:{number}")
    return found


def link_keys(call: ScrapedCall) -> set[str]:
    """Every key under which another source's record of the same call could be found."""
    urls = _urls(call)
    keys = _identifiers(call, urls)
    for url in urls:
        if normal := normalise_url(url):
            keys.add(f"url:{normal}")
    if call.deadlines and call.regions and (title := normalise_title(call.title)):
        keys.update([f"{TITLE_KEY}{title}|{deadline.day.isoformat()}" for deadline in call.deadlines])
    return keys


def links_by(key: str, regions: Iterable[str], other_regions: Iterable[str]) -> bool:
    """Whether a key that two records share makes them one call: a title and deadline day only when the
    records also share a region (two regions' calls of one name and date are two calls)."""
    return not key.startswith(TITLE_KEY) or not set(regions).isdisjoint(other_regions)


def key_hash(key: str) -> int:
    """A stable signed 64-bit digest of a link key: what storage indexes keys by (their text is compared too)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


def same_call(a: ScrapedCall, b: ScrapedCall) -> bool:
    """Whether two records from different sources describe the same call.

    Records of one source are distinct calls by definition (their own ids differ), even when they
    share a generic link: incentivi.gov.it lists two Bolzano measures under one landing page.
    """
    if a.source == b.source:
        return a.external_id == b.external_id
    return any(links_by(key, a.regions, b.regions) for key in link_keys(a) & link_keys(b))
