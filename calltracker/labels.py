"""What members read for the core's codes, once, in Italian and English: themes, regions, consortium rule,
status, scope, fit. Emails, the web, feeds, the CLI and the classifier's reasons all read these tables.

Each table maps a code to (Italian, English). `label` falls back to the code itself for an unknown one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LANGUAGES = ("it", "en")

THEMES: dict[str, tuple[str, str]] = {
    "green_aviation": ("Aviazione sostenibile", "Green aviation"),
    "cybersecurity": ("Cybersicurezza", "Cybersecurity"),
    "space_economy": ("Economia dello spazio", "Space economy"),
    "air_mobility": ("Mobilità aerea avanzata", "Advanced air mobility"),
    "industry_5_0": ("Industria 5.0", "Industry 5.0"),
    "artificial_intelligence": ("Intelligenza artificiale", "Artificial intelligence"),
    "skills_certification": ("Competenze e certificazioni", "Skills and certification"),
}
REGIONS: dict[str, tuple[str, str]] = {
    "lombardia": ("Lombardia", "Lombardy"),
    "piemonte": ("Piemonte", "Piedmont"),
    "liguria": ("Liguria", "Liguria"),
}
STATUSES: dict[str, tuple[str, str]] = {
    "open": ("Aperto", "Open"),
    "forthcoming": ("Di prossima apertura", "Forthcoming"),
    "closed": ("Chiuso", "Closed"),
}
CONSORTIA: dict[str, tuple[str, str]] = {
    "required": ("Consorzio richiesto", "Consortium required"),
    "optional": ("Consorzio facoltativo", "Consortium optional"),
    "single": ("Candidatura singola", "Single applicant"),
}
SCOPES: dict[str, tuple[str, str]] = {
    "eu": ("Europeo", "European"), "national": ("Nazionale", "National"), "regional": ("Regionale", "Regional"),
    "interreg": ("Interreg", "Interreg"), "other": ("Altro", "Other"),
}
SCORES: dict[int, tuple[str, str]] = {
    0: ("non adatto", "no fit"), 1: ("debole", "weak"), 2: ("buona", "good"), 3: ("ottima", "strong"),
}


def lang_of(language: str | None) -> str:
    """A supported language: Italian unless English is asked for."""
    return "en" if language == "en" else "it"


def label(table: Mapping[Any, tuple[str, str]], key: object, language: str) -> str:
    """The label of `key` in `language`; the key itself when the table does not know it."""
    pair = table.get(key)
    if pair is None:
        return str(key)
    return pair[1] if language == "en" else pair[0]


def theme(key: str, language: str) -> str:
    return label(THEMES, key, language)


def region(key: str, language: str) -> str:
    return label(REGIONS, key, language)


def status(key: str, language: str) -> str:
    return label(STATUSES, key, language)


def consortium(key: str, language: str) -> str:
    return label(CONSORTIA, key, language)
