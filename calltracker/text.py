"""Pure text handling, once: whitespace cleaning, HTML to text, untrusted text made inert, safe links.

Scrapers use `clean_text` and `html_to_text` to read pages; digests, feeds and the web use `plain_text`
(scraped markup or text -> one inert line, optionally shortened at a word boundary) and `safe_url`.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser

_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_BLOCK_TAG = re.compile(r"<\s*(?:br|/?(?:p|div|li|ul|ol|tr|table|h[1-6]|section|article|blockquote|dd|dt))\b[^>]*>",
                        re.IGNORECASE)
_DROP_BLOCKS = re.compile(r"<(script|style|iframe|object|embed|template)\b.*?(</\1\s*>|$)", re.I | re.S)
_TAGS = re.compile(r"<[^>]*>|<[a-zA-Z/!][^>]*$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
ELLIPSIS = "…"


def clean_text(text: str | None) -> str:
    """Collapse whitespace (including non-breaking and zero-width characters) to single spaces."""
    if not text:
        return ""
    return re.sub(r"\s+", " ", _INVISIBLE.sub("", text).replace("\u00a0", " ")).strip()


def html_to_text(fragment: str | None) -> str:
    """Readable text of an HTML fragment: one line per block, entities decoded, scripts dropped.

    Tolerates fragments cut mid-tag (search APIs clip long fields). "" for empty input.
    """
    if not fragment or not fragment.strip():
        return ""
    tree = LexborHTMLParser(_BLOCK_TAG.sub(lambda m: "\n" + m.group(0), fragment))
    for node in tree.css("script, style, noscript"):
        node.decompose()
    root = tree.body or tree.root
    raw = root.text(separator="") if root is not None else ""
    lines = (clean_text(line) for line in raw.splitlines())
    return "\n".join(line for line in lines if line)


def shorten(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, cut at a word boundary with an ellipsis (never mid-word)."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    if not text[limit - 1].isspace():
        cut = head.rfind(" ")
        # A single word longer than half the room is cut anyway rather than leaving almost nothing.
        if cut >= limit // 2:
            head = head[:cut]
    return head.rstrip(" ,;:.-–—") + ELLIPSIS


def plain_text(value: str | None, limit: int | None = None) -> str:
    """Untrusted scraped markup or text -> one line of plain text: no tags, no scripts, no control
    characters; shortened at a word boundary when over `limit`."""
    if not value:
        return ""
    text = _DROP_BLOCKS.sub(" ", value)
    text = _TAGS.sub(" ", text)
    text = html.unescape(text)
    text = _TAGS.sub(" ", _DROP_BLOCKS.sub(" ", text))  # entities may have hidden markup
    text = " ".join(_CONTROL.sub("", text).split())
    return shorten(text, limit) if limit is not None else text


def safe_url(value: str | None) -> str | None:
    """The URL if it is an absolute http(s) link, else None: javascript:, data: and the like never link."""
    if not value:
        return None
    url = _CONTROL.sub("", value).strip()
    if any(ch.isspace() for ch in url) or '"' in url or "<" in url or ">" in url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None
