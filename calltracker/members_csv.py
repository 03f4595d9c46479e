"""Members CSV (pure): validate rows and read a whole file, naming every bad value."""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email

from calltracker.domain import Theme
from calltracker.errors import InputError

log = logging.getLogger(__name__)

# --- pure helpers ------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class MemberInput:
    email: str
    name: str
    organisation: str
    region: str | None
    language: str
    themes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    message: str


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _one_line(text: str) -> str:
    """A name as one line: control characters (CR/LF would forge mail headers) become spaces."""
    return " ".join(_CONTROL.sub(" ", text).split())


def _valid_address(text: str) -> str:
    """An address a mail server takes, checked by `email-validator` (syntax only, no DNS): an international
    domain is kept in its ASCII (IDNA) form; a non-ASCII local part would need SMTPUTF8 and is refused."""
    if not text:
        raise InputError("email is empty")
    try:
        checked = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        shown = text.encode("unicode_escape").decode("ascii") if _CONTROL.search(text) else text
        raise InputError(f'email: not a usable email address "{shown}": {exc}') from None
    return (checked.ascii_email or checked.normalized).lower()
REGION_ALIASES: dict[str, str] = {
    "lombardia": "lombardia", "lombardy": "lombardia",
    "piemonte": "piemonte", "piedmont": "piemonte",
    "liguria": "liguria",
}
LANGUAGES = ("it", "en")


def parse_member_row(row: Mapping[str, str | None]) -> MemberInput:
    """Validate one members CSV row. Raises InputError naming the bad value."""
    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    email = _valid_address(cell("email"))
    region_text = cell("region")
    region: str | None = None
    if region_text:
        region = REGION_ALIASES.get(region_text.lower())
        if region is None:
            raise InputError(f'region: unknown region "{region_text}" (expected lombardia, piemonte or liguria)')
    language = cell("language").lower() or "it"
    if language not in LANGUAGES:
        raise InputError(f'language: unsupported language "{cell("language")}" (expected it or en)')
    themes: list[str] = []
    known = {t.value for t in Theme}
    for part in cell("themes").split(";"):
        theme = part.strip().lower()
        if not theme:
            continue
        if theme not in known:
            raise InputError(f'themes: unknown theme "{part.strip()}" (known: {", ".join(sorted(known))})')
        if theme not in themes:
            themes.append(theme)
    return MemberInput(email=email, name=_one_line(cell("name")), organisation=_one_line(cell("organisation")),
                       region=region,
                       language=language, themes=tuple(themes))


MEMBER_COLUMNS = ("email", "name", "organisation", "region", "language", "themes")


def read_members_csv(text: str) -> tuple[list[tuple[int, MemberInput]], list[RowProblem]]:
    """Parse a members CSV. Returns the valid rows with their line numbers and every rejected row."""
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample.strip() else csv.excel
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "email" not in header:
        got = ", ".join(header) or "nothing"
        raise InputError(f"the CSV header must name the columns {', '.join(MEMBER_COLUMNS)}; got: {got}")
    unknown = [h for h in header if h not in MEMBER_COLUMNS]
    if unknown:
        raise InputError(f"unknown CSV column(s): {', '.join(unknown)} (expected {', '.join(MEMBER_COLUMNS)})")
    reader.fieldnames = header
    good: list[tuple[int, MemberInput]] = []
    bad: list[RowProblem] = []
    seen: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        if None in record:
            bad.append(RowProblem(line, "too many fields"))
            continue
        if not any((v or "").strip() for v in record.values()):
            continue
        try:
            member = parse_member_row(record)
        except InputError as exc:
            bad.append(RowProblem(line, str(exc)))
            continue
        if member.email in seen:
            bad.append(RowProblem(line, f'email: "{member.email}" already given on line {seen[member.email]}'))
            continue
        seen[member.email] = line
        good.append((line, member))
    return good, bad

