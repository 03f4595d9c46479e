"""Pure normalisation: Italian and English dates and deadlines, amounts in euros, text cleaning.

Dates follow the official zone of the source (Europe/Rome unless the text names another, e.g.
"Brussels time"). What cannot be read with certainty is returned as text, never guessed: "metà
Giugno 2026" is not a date, and a day without a time of day stays a date-only deadline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from zoneinfo import ZoneInfo

from calltracker.domain import Deadline, Region, Status
from calltracker.text import clean_text, html_to_text

__all__ = ["clean_text", "html_to_text"]  # re-exported: scrapers read text through normalize

ROME = ZoneInfo("Europe/Rome")
BRUSSELS = ZoneInfo("Europe/Brussels")

MONTHS: dict[str, int] = {
    # Italian, full and the abbreviations used on regional sites
    "gennaio": 1, "febbraio": 2, "marzo": 3, "aprile": 4, "maggio": 5, "giugno": 6, "luglio": 7,
    "agosto": 8, "settembre": 9, "ottobre": 10, "novembre": 11, "dicembre": 12,
    "gen": 1, "feb": 2, "mar": 3, "apr": 4, "mag": 5, "giu": 6, "lug": 7, "ago": 8, "set": 9, "sett": 9,
    "ott": 10, "nov": 11, "dic": 12,
    # English
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "dec": 12,
}
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))

_TIME = r"(?P<{p}h>[01]?\d|2[0-3])(?:[:.,](?P<{p}m>[0-5]\d))?"
_TIME_BEFORE = (r"(?:(?:dalle|alle|entro\s+le|a\s+partire\s+dalle|fino\s+alle)\s+)?ore\s+" + _TIME.format(p="b")
                + r"\s*(?:del|dell'|di|,)?\s*(?:(?:luned|marted|mercoled|gioved|venerd)ì|sabato|domenica)?\s*")
_DAY_FIRST = rf"(?P<d>\d{{1,2}})(?:°|º|st|nd|rd|th)?\s+(?P<mon>{_MONTH})\.?\s+(?P<y>\d{{4}})"
_MONTH_FIRST = rf"(?P<mon2>{_MONTH})\.?\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y2>\d{{4}})"
_NUMERIC = r"(?P<nd>\d{1,2})[/.\-](?P<nm>\d{1,2})[/.\-](?P<ny>\d{4})"
_ISO = (r"(?P<iy>\d{4})-(?P<im>\d{2})-(?P<id>\d{2})(?:[T ](?P<ih>\d{2}):(?P<imin>\d{2})(?::(?P<is>\d{2})"
        r"(?:\.\d+)?)?(?P<iz>Z|[+-]\d{2}:?\d{2})?)?")
# after a date the minutes are required: "07/09/2026 , ore 12:00", "Ven, 04/09/2026 - 23:59", "17:00"
_TIME_AFTER = (r"(?:\s*,?\s*(?:-|alle\s+ore|ore|at|h\.?|,)?\s*"
               r"(?P<ah>[01]?\d|2[0-3])[:.](?P<am>[0-5]\d)(?::[0-5]\d)?(?!\d)"
               r"(?!\s*(?:del|dell'|di)\b))?")
_DATE_RE = re.compile(
    rf"(?:{_TIME_BEFORE})?(?:{_ISO}|{_NUMERIC}|{_DAY_FIRST}|{_MONTH_FIRST})(?![\d/])(?:{_TIME_AFTER})?",
    re.IGNORECASE,
)
_OPENING_WORDS = re.compile(r"\b(?:dal|dalle|dall'|from|a\s+partire|apertur\w*|aper\w+|open\w*|start\w*|"
                            r"inizi\w*|pubblicat\w*|published)\b", re.IGNORECASE)
_DEADLINE_WORDS = re.compile(r"\b(?:al|alle|entro|fino|scad\w*|chius\w*|termin\w*|deadline|until|to|by|"
                             r"clos\w*|cut-?off)\b", re.IGNORECASE)
_CLOSING_WORDS = re.compile(r"\b(?:chius\w*|scad\w*|termin\w*|clos\w*)\b", re.IGNORECASE)
_ROLLING = re.compile(r"esauriment\w*|a\s+sportello|procedura\s+a\s+sportello|until\s+(?:the\s+)?funds|"
                      r"while\s+funds\s+last|open[- ]ended|sempre\s+apert\w*|senza\s+scadenza|rolling",
                      re.IGNORECASE)
_BRUSSELS_CUE = re.compile(r"brussels|bruxelles|\bCES?T\b", re.IGNORECASE)
_UTC_CUE = re.compile(r"\b(?:UTC|GMT)\b")
_EXTENDED = re.compile(r"prorogat\w*|extended|posticipat\w*|differit\w*", re.IGNORECASE)
_FILLER = re.compile(
    r"\b(?:entro|il|lo|la|le|del|dell'|dal|dalle|alle|ore|fino|al|ad|a|da|di|e|ed|the|on|by|until|from|at|"
    r"and|time|brussels|bruxelles|ora|italiana|local|cet|cest|utc|gmt|h|luned[iì]|marted[iì]|mercoled[iì]|"
    r"gioved[iì]|venerd[iì]|sabato|domenica|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"lun|mar|mer|gio|ven|sab|dom|mon|tue|wed|thu|fri|sat|sun|scadenza|deadline|apertura|opening|closing|"
    r"chiusura|domande|termine|data|scade|to|cut-?off|partire|esaurimento|risorse|fondi|sportello|procedura|disponibili|"
    r"dotazione|finanziaria|funds|rolling|inizialmente|fissata|fissato|prorogata|prorogato|è|e'|stata|stato)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class ParsedDates:
    """What a piece of date text says: deadlines, an opening, whether it runs until funds run out,
    and the part that could not be read (None when everything was understood)."""

    deadlines: tuple[Deadline, ...] = ()
    opening: datetime | None = None
    rolling: bool = False
    leftover: str | None = None

    @property
    def deadline(self) -> Deadline | None:
        """The last deadline, if any (the final cut-off)."""
        return max(self.deadlines, key=lambda d: d.at) if self.deadlines else None


def _zone_for(text: str, default: tzinfo) -> tzinfo:
    if _BRUSSELS_CUE.search(text):
        return BRUSSELS
    if _UTC_CUE.search(text):
        return UTC
    return default


def _at_offset(day: date, clock: time, offset: str) -> datetime:
    """The instant of a day and time written with an ISO offset ("Z", "+0100" or "+01:00")."""
    offset = offset.replace("Z", "+00:00")
    if ":" not in offset:
        offset = offset[:3] + ":" + offset[3:]
    return datetime.fromisoformat(f"{day.isoformat()}T{clock.isoformat()}{offset}")


def _mention(m: re.Match[str], zone: tzinfo) -> Deadline | None:
    g = m.groupdict()
    try:
        if g["iy"]:
            day = date(int(g["iy"]), int(g["im"]), int(g["id"]))
            if g["ih"] is not None:
                clock = time(int(g["ih"]), int(g["imin"]), int(g["is"] or 0))
                if g["iz"] and _utc_midnight(g["iz"], clock):
                    return Deadline(datetime.combine(day, time(0, 0), zone), date_only=True)
                if g["iz"]:
                    return Deadline(_at_offset(day, clock, g["iz"]).astimezone(zone))
                return Deadline(datetime.combine(day, clock, zone))
        elif g["ny"]:
            day = date(int(g["ny"]), int(g["nm"]), int(g["nd"]))
        elif g["y"]:
            day = date(int(g["y"]), MONTHS[g["mon"].lower()], int(g["d"]))
        else:
            day = date(int(g["y2"]), MONTHS[g["mon2"].lower()], int(g["d2"]))
    except ValueError:
        return None  # 31/02/2026 and the like: not a date
    hour, minute = g.get("bh"), g.get("bm")
    if hour is None:
        hour, minute = g.get("ah"), g.get("am")
    if hour is None:
        return Deadline(datetime.combine(day, time(0, 0), zone), date_only=True)
    return Deadline(datetime.combine(day, time(int(hour), int(minute or 0)), zone))


def _utc_midnight(offset: str, clock: time) -> bool:
    """UTC midnight stands for a bare day ("2026-09-30T00:00:00Z"), never for 01:00 or 02:00 in Rome."""
    return offset in ("Z", "+00:00", "+0000") and clock == time(0, 0)


def parse_dates(text: str | None, *, tz: tzinfo = ROME) -> ParsedDates:
    """Read every date in a deadline/opening text ("entro il 15 marzo 2026", "31/01/2026 ore 12:00",
    "dalle ore 10:00 del 3 febbraio 2026", "12 January 2026 17:00 Brussels time", ISO dates).

    Dates introduced by "dal"/"from"/"apertura" are openings; the rest are deadlines. When the text
    says a deadline was extended ("prorogata"), only the last deadline is kept.
    """
    if not text:
        return ParsedDates()
    source = clean_text(text)
    zone = _zone_for(source, tz)
    mentions: list[tuple[int, int, Deadline, bool]] = []  # start, end, when, is an opening
    for m in _DATE_RE.finditer(source):
        deadline = _mention(m, zone)
        if deadline is None:
            continue
        kind = _kind(source[max(0, m.start() - 40):m.start()], m.group(0))
        if kind is not None:
            mentions.append((m.start(), m.end(), deadline, kind == "opening"))
    deadlines = [d for _, _, d, is_open in mentions if not is_open]
    openings = [d for _, _, d, is_open in mentions if is_open]
    if len(deadlines) > 1 and _EXTENDED.search(source):
        deadlines = deadlines[-1:]
    rolling = bool(_ROLLING.search(source))
    rest = source
    for start, end, _, _ in reversed(mentions):
        rest = rest[:start] + " " + rest[end:]
    rest = _ROLLING.sub(" ", rest)
    rest = _FILLER.sub(" ", rest)
    rest = re.sub(r"[\s,.;:()\-–—/°]+", " ", rest).strip()
    leftover = source if rest and re.search(r"\w{2,}", rest) else None
    opening_at = min((o.at for o in openings), default=None)
    return ParsedDates(tuple(sorted(set(deadlines), key=lambda d: d.at)), opening_at, rolling, leftover)


def _kind(head: str, mention: str) -> str | None:
    """Whether a date mention is an "opening", a "deadline", or (None) a mere reference date."""
    prefix = re.match(r"\s*(dalle|a partire dalle|alle|entro le|fino alle)\b", mention, re.IGNORECASE)
    if prefix:
        if prefix.group(1).lower() in ("dalle", "a partire dalle"):
            # "chiusura dello sportello dalle ore 12:00 del ..." is a closing
            return "deadline" if _CLOSING_WORDS.search(head[-30:]) else "opening"
        return "deadline"
    if re.search(r"\bdel(?:l')?\s*$", head, re.IGNORECASE) and not re.match(r"\s*ore\b", mention, re.IGNORECASE):
        return None  # "decreto n. 6727 del 21 maggio 2026", "BURL n. 22 del 25/05/2026": a reference
    opening = max((m.end() for m in _OPENING_WORDS.finditer(head)), default=-1)
    deadline = max((m.end() for m in _DEADLINE_WORDS.finditer(head)), default=-1)
    return "opening" if opening > deadline else "deadline"


def parse_deadline(text: str | None, *, tz: tzinfo = ROME) -> Deadline | None:
    """The final deadline in `text`, or None when it has none that can be read with certainty."""
    return parse_dates(text, tz=tz).deadline


def parse_iso_datetime(value: str | None, *, tz: tzinfo = ROME, naive_is_utc: bool = False) -> Deadline | None:
    """An ISO timestamp as a Deadline in `tz`.

    A zone-less value is local time in `tz`, unless `naive_is_utc` (exports that write UTC without
    saying so). A local midnight with no time given, or an exact local midnight, is a date-only
    deadline: sources write a bare day that way.
    """
    if not value:
        return None
    text = value.strip()
    m = re.fullmatch(_ISO, text)
    if m is None:
        return None
    g = m.groupdict()
    try:
        day = date(int(g["iy"]), int(g["im"]), int(g["id"]))
        if g["ih"] is None:
            return Deadline(datetime.combine(day, time(0, 0), tz), date_only=True)
        clock = time(int(g["ih"]), int(g["imin"]), int(g["is"] or 0))
    except ValueError:
        return None
    if g["iz"] and _utc_midnight(g["iz"], clock):
        return Deadline(datetime.combine(day, time(0, 0), tz), date_only=True)
    if g["iz"]:
        at = _at_offset(day, clock, g["iz"]).astimezone(tz)
    elif naive_is_utc:
        if clock == time(0, 0):
            return Deadline(datetime.combine(day, time(0, 0), tz), date_only=True)
        at = datetime.combine(day, clock, UTC).astimezone(tz)
    else:
        at = datetime.combine(day, clock, tz)
    if at.timetz().replace(tzinfo=None) == time(0, 0):
        return Deadline(at, date_only=True)
    return Deadline(at)


# --- amounts -----------------------------------------------------------------------------------------

_MULTIPLIERS: dict[str, float] = {
    "mila": 1e3, "mille": 1e3, "thousand": 1e3, "k": 1e3,
    "milione": 1e6, "milioni": 1e6, "mln": 1e6, "mil": 1e6, "mio": 1e6, "million": 1e6, "millions": 1e6,
    "m": 1e6,
    "miliardo": 1e9, "miliardi": 1e9, "mld": 1e9, "mrd": 1e9, "billion": 1e9, "billions": 1e9, "bn": 1e9,
}
_MULT = "|".join(sorted(_MULTIPLIERS, key=len, reverse=True))
_CURRENCY = r"(?:€|eur\b|euro\b|euros\b)"
_NUMBER = r"\d{1,3}(?:[ \u00a0\u202f\u2009.,]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
_AMOUNT_RE = re.compile(
    rf"(?P<pre>{_CURRENCY}\.?\s*)?(?P<num>{_NUMBER})\s*(?P<mult>(?:{_MULT})\b\.?)?\s*(?:di\s+|of\s+)?"
    rf"(?P<post>{_CURRENCY})?",
    re.IGNORECASE,
)


def _number(raw: str, has_multiplier: bool) -> float | None:
    text = re.sub(r"[ \u00a0\u202f\u2009]", "", raw)
    dots, commas = text.count("."), text.count(",")
    if dots and commas:
        decimal = "." if text.rfind(".") > text.rfind(",") else ","
        thousands = "," if decimal == "." else "."
        text = text.replace(thousands, "").replace(decimal, ".")
    elif dots > 1 or (dots == 1 and len(text.split(".")[1]) == 3 and not has_multiplier):
        text = text.replace(".", "")
    elif commas > 1:
        text = text.replace(",", "")
    elif commas == 1:
        text = text.replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return None


def parse_amount(text: str | None) -> float | None:
    """An amount in euros ("€ 1.500.000", "1,5 milioni di euro", "EUR 2 500 000", "38.817.000,00").

    Only figures marked as euros (or a text that is nothing but a figure) count; when the text holds
    several different amounts it is ambiguous and the result is None.
    """
    if not text:
        return None
    source = clean_text(text)
    bare = re.fullmatch(rf"\s*(?:{_NUMBER})\s*", source) is not None
    values: list[float] = []
    for m in _AMOUNT_RE.finditer(source):
        after = source[m.end():m.end() + 1]
        if after == "%" or (not (m["pre"] or m["post"] or m["mult"]) and not bare):
            continue
        if m["mult"] and not (m["pre"] or m["post"]):
            continue  # "10 milioni" of what? not necessarily euros
        value = _number(m["num"], bool(m["mult"]))
        if value is None:
            continue
        if m["mult"]:
            value *= _MULTIPLIERS[m["mult"].rstrip(".").lower()]
        values.append(round(value, 2))
    distinct = set(values)
    return values[0] if len(distinct) == 1 else None


# --- text: see calltracker.text (re-exported here for the scrapers) ------------------------------------


# --- regions -------------------------------------------------------------------------------------------

_REGION_NAMES: dict[str, Region] = {"lombardia": Region.LOMBARDIA, "lombardy": Region.LOMBARDIA,
                                    "piemonte": Region.PIEMONTE, "piedmont": Region.PIEMONTE,
                                    "liguria": Region.LIGURIA}


def region_named(name: str | None) -> Region | None:
    """The tracked region a name ("Lombardia", "Piedmont", " liguria ") stands for, if any."""
    return _REGION_NAMES.get(clean_text(name).lower()) if name else None


def status_from_dates(opening: Deadline | None, closing: Deadline | None, when: datetime | None) -> Status | None:
    """Open, forthcoming or closed on `when`, from a call's opening and closing; None without a time to judge by.

    A date-only bound is compared by day in its own zone (a call closing "on the 31st" is open all that day),
    a bound with a time of day by instant.
    """
    if when is None:
        return None

    def ahead(bound: Deadline) -> bool:
        return bound.day > when.astimezone(bound.at.tzinfo).date() if bound.date_only else bound.at > when

    if closing is not None and closing.passed(when):
        return Status.CLOSED
    if opening is not None and ahead(opening):
        return Status.FORTHCOMING
    return Status.OPEN
