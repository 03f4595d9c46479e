"""Text of a PDF, page by page (pure: bytes in, strings out; the fetching is the engine's job).

Uses pypdf (maintained, pure Python). A file that is not a PDF, or is damaged beyond reading, raises
ParseError naming the document; a page whose text cannot be extracted (a scan) gives "".
"""

from __future__ import annotations

import io
import logging
import re

from calltracker.errors import ParseError

log = logging.getLogger(__name__)

_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def _tidy(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.replace("\r", "\n").splitlines())
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def is_pdf(body: bytes) -> bool:
    """Whether `body` starts like a PDF (the magic number may follow a few bytes of junk)."""
    return b"%PDF-" in body[:1024]


def pdf_pages(body: bytes, *, name: str = "document", max_pages: int = 200) -> tuple[str, ...]:
    """The text of each page of the PDF in `body` (at most `max_pages` pages)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not is_pdf(body):
        raise ParseError(f"{name}: not a PDF file (starts with {body[:8]!r})")
    try:
        reader = PdfReader(io.BytesIO(body))
        if reader.is_encrypted:
            reader.decrypt("")
        pages: list[str] = []
        for number, page in enumerate(reader.pages, start=1):
            if number > max_pages:
                log.info("%s: only the first %d pages are read", name, max_pages)
                break
            try:
                pages.append(_tidy(page.extract_text() or ""))
            except Exception as exc:  # noqa: BLE001 - one unreadable page must not lose the others
                log.warning("%s: page %d has no extractable text (%s)", name, number, exc)
                pages.append("")
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise ParseError(f"{name}: damaged PDF ({type(exc).__name__}: {exc})") from exc
    return tuple(pages)
