"""Members CSV (pure): validate rows and read a whole file, naming every bad value."""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterator, Mapping
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
    #: Agreed to be suggested to partners (the `share_profile` column); None when the file does not say.
    share_profile: bool | None = None


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
YES = ("yes", "y", "true", "1", "si", "sì", "s", "x")
NO = ("no", "n", "false", "0", "")


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
    share = row.get("share_profile", row.get("condividi_profilo"))
    share_profile = None if share is None else parse_yes_no("share_profile", share)
    return MemberInput(email=email, name=_one_line(cell("name")), organisation=_one_line(cell("organisation")),
                       region=region, language=language, themes=tuple(themes), share_profile=share_profile)


MEMBER_COLUMNS = ("email", "name", "organisation", "region", "language", "themes", "share_profile")
#: Headers in Italian (and a few common spellings) name the same columns.
COLUMN_ALIASES = {"nome": "name", "organizzazione": "organisation", "organization": "organisation",
                  "azienda": "organisation", "regione": "region", "lingua": "language", "temi": "themes",
                  "e-mail": "email", "condividi_profilo": "share_profile"}
#: A field longer than this is refused (a row with one is reported, the rest imported); it is also the csv
#: module's default limit.
MAX_FIELD = 128 * 1024
ENCODINGS = ("utf-8", "cp1252")


@dataclass(frozen=True, slots=True)
class MembersFile:
    """A members CSV read: valid rows with their line numbers, every rejected row, and what was assumed."""

    good: list[tuple[int, MemberInput]]
    bad: list[RowProblem]
    encoding: str = "utf-8"
    ignored_columns: tuple[str, ...] = ()


def decode_members(data: bytes) -> tuple[str, str]:
    """The text of a members file and the encoding it was read with: UTF-8 (with or without a BOM), else
    Windows-1252 (what Excel saves as "CSV" on Windows)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8 (with BOM)"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252 (Windows)"
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot read the file as UTF-8 or Windows-1252: byte {data[exc.start]:#04x} at offset "
                         f"{exc.start}") from None


def read_members_file(data: bytes) -> MembersFile:
    """Decode (see `decode_members`) and parse a members CSV file."""
    text, encoding = decode_members(data)
    found = read_members(text)
    return MembersFile(found.good, found.bad, encoding, found.ignored_columns)


def read_members_csv(text: str) -> tuple[list[tuple[int, MemberInput]], list[RowProblem]]:
    """Parse a members CSV. Returns the valid rows with their line numbers and every rejected row."""
    found = read_members(text)
    return found.good, found.bad


def _header(line: str, dialect: Any) -> tuple[list[str], tuple[str, ...]]:
    try:
        names = next(csv.reader([line], dialect), [])
    except csv.Error:
        names = []
    header = [COLUMN_ALIASES.get(h.strip().lower(), h.strip().lower()) for h in names]
    if "email" not in header:
        got = ", ".join(h for h in header if h) or "nothing"
        raise InputError(f"the CSV header must name the columns {', '.join(MEMBER_COLUMNS)} "
                         f"(or in Italian email, nome, organizzazione, regione, lingua, temi); got: {got}")
    ignored = tuple(h or "(unnamed)" for h in header if h not in MEMBER_COLUMNS)
    return header, ignored


def _records(lines: list[str], dialect: Any) -> Iterator[tuple[int, list[str] | None, str | None]]:
    """(line number, fields, problem) for each record after the header. A record may not span lines: an
    unterminated quote would swallow every following row, so it is reported and reading resumes on the next
    line; likewise a field over MAX_FIELD."""
    start = 1
    while start < len(lines):
        reader = csv.reader(iter(lines[start:]), dialect)
        while True:
            before = reader.line_num
            line = start + before + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                problem = (f"a field is longer than {MAX_FIELD // 1024} KiB" if "field larger" in str(exc)
                           else f"cannot read the row: {exc}")
                yield line, None, problem
                start += before + 1
                break
            if reader.line_num - before > 1:
                yield line, None, "unterminated quote (a \" opens a field that never closes on this line)"
                start += before + 1
                break
            if any(len(f) > MAX_FIELD for f in fields):
                yield line, None, f"a field is longer than {MAX_FIELD // 1024} KiB"
                continue
            yield line, fields, None


def read_members(text: str) -> MembersFile:
    """Parse a members CSV text (columns in English or Italian, extra columns ignored)."""
    lines = text.splitlines(keepends=True)
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample.strip() else csv.excel
    except csv.Error:
        dialect = csv.excel
    header, ignored = _header(lines[0] if lines else "", dialect)
    good: list[tuple[int, MemberInput]] = []
    bad: list[RowProblem] = []
    seen: dict[str, int] = {}
    for line, fields, problem in _records(lines, dialect):
        if problem is not None or fields is None:
            bad.append(RowProblem(line, problem or "cannot read the row"))
            continue
        if not any(f.strip() for f in fields):
            continue
        if len(fields) > len(header):
            bad.append(RowProblem(line, f"too many fields ({len(fields)}, the header names {len(header)})"))
            continue
        record = {name: value for name, value in zip(header, fields, strict=False) if name in MEMBER_COLUMNS}
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
    return MembersFile(good, bad, ignored_columns=ignored)
