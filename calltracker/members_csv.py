"""Members CSV (pure): validate rows and read a whole file, naming every bad value."""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
    #: Agreed to be suggested to partners (the `share_profile` column); None when the file does not say.
    share_profile: bool | None = None


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    message: str


EMAIL_RE = re.compile(r"^[^@\s,;<>\"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
REGION_ALIASES: dict[str, str] = {
    "lombardia": "lombardia", "lombardy": "lombardia",
    "piemonte": "piemonte", "piedmont": "piemonte",
    "liguria": "liguria",
}
LANGUAGES = ("it", "en")
YES = ("yes", "y", "true", "1", "si", "sì", "s", "x")
NO = ("no", "n", "false", "0", "")
#: Italian names of the optional columns.
COLUMN_ALIASES = {"condividi_profilo": "share_profile"}


def parse_yes_no(name: str, value: str) -> bool:
    """A yes/no cell (yes, sì, true, 1, x / no, false, 0, empty). Raises InputError naming the value."""
    word = value.strip().lower()
    if word in YES:
        return True
    if word in NO:
        return False
    raise InputError(f'{name}: expected yes or no, got "{value.strip()}"')


def parse_member_row(row: Mapping[str, str | None]) -> MemberInput:
    """Validate one members CSV row. Raises InputError naming the bad value."""
    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    email = cell("email").lower()
    if not email:
        raise InputError("email is empty")
    if not EMAIL_RE.match(email):
        raise InputError(f'email: not an email address: "{cell("email")}"')
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
    share = row.get("share_profile", row.get("condividi_profilo"))
    share_profile = None if share is None else parse_yes_no("share_profile", share)
    return MemberInput(email=email, name=cell("name"), organisation=cell("organisation"), region=region,
                       language=language, themes=tuple(themes), share_profile=share_profile)


MEMBER_COLUMNS = ("email", "name", "organisation", "region", "language", "themes", "share_profile")


def read_members_csv(text: str) -> tuple[list[tuple[int, MemberInput]], list[RowProblem]]:
    """Parse a members CSV. Returns the valid rows with their line numbers and every rejected row."""
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample.strip() else csv.excel
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    header = [COLUMN_ALIASES.get(h, h) for h in header]
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

