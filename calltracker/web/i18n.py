"""Words and dates of the web pages in Italian (the default) and English. Pure: stdlib only."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from calltracker import labels
from calltracker.labels import label as label  # re-exported for the pages and feeds

LANGUAGES = labels.LANGUAGES
DEFAULT_LANGUAGE = "it"
#: Deadlines are shown on the clock of the people reading them; the official zone is noted when it differs.
DISPLAY_ZONE = ZoneInfo("Europe/Rome")

THEME_LABELS = labels.THEMES
REGION_LABELS = labels.REGIONS
#: The statuses, and the browser's two status filters that are not one.
STATUS_LABELS: dict[str, tuple[str, str]] = {
    "active": ("Aperti o in arrivo", "Open or forthcoming"), **labels.STATUSES, "all": ("Tutti", "All"),
}
FREQUENCY_LABELS: dict[str, tuple[str, str]] = {
    "weekly": ("Ogni settimana", "Every week"),
    "fortnightly": ("Ogni due settimane", "Every two weeks"),
    "monthly": ("Ogni mese", "Every month"),
}
FIT_LABELS: dict[int, tuple[str, str]] = {
    0: ("Qualsiasi", "Any"),
    1: ("Almeno 1 (debole)", "At least 1 (weak)"),
    2: ("Almeno 2 (buona)", "At least 2 (good)"),
    3: ("3 (ottima, tri-regionale)", "3 (strong, tri-regional)"),
}
SCORE_LABELS = labels.SCORES
SCOPE_LABELS = labels.SCOPES
CONSORTIUM_LABELS = labels.CONSORTIA
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "identifier": ("Codice", "Identifier"), "title": ("Titolo", "Title"), "summary": ("Sintesi", "Summary"),
    "description": ("Descrizione", "Description"), "url": ("Indirizzo", "Address"),
    "programme": ("Programma", "Programme"), "scope": ("Ambito", "Scope"), "status": ("Stato", "Status"),
    "opening_date": ("Apertura", "Opening"), "deadlines": ("Scadenze", "Deadlines"),
    "deadline_text": ("Testo scadenza", "Deadline text"), "budget_eur": ("Budget (EUR)", "Budget (EUR)"),
    "budget_text": ("Budget", "Budget"), "language": ("Lingua", "Language"), "regions": ("Regioni", "Regions"),
}

TEXTS: dict[str, tuple[str, str]] = {
    "site_title": ("Bandi aerospazio Nord-Ovest", "North-west aerospace calls"),
    "skip": ("Vai al contenuto", "Skip to content"),
    "nav_calls": ("Bandi", "Calls"),
    "other_language": ("English", "Italiano"),
    "calls_heading": ("Bandi e finanziamenti", "Funding calls"),
    "filters": ("Filtri", "Filters"),
    "theme": ("Tema", "Theme"),
    "region": ("Regione ammissibile", "Eligible region"),
    "status": ("Stato", "Status"),
    "fit": ("Adatto a una proposta tri-regionale", "Fit for a tri-regional bid"),
    "min_fit": ("Adeguatezza minima", "Minimum fit"),
    "closing": ("Scadenza entro (giorni)", "Closing within (days)"),
    "search": ("Cerca nel testo", "Search text"),
    "any": ("Qualsiasi", "Any"),
    "apply": ("Applica i filtri", "Apply filters"),
    "reset": ("Azzera", "Reset"),
    "no_calls": ("Nessun bando corrisponde ai filtri.", "No calls match these filters."),
    "page": ("Pagina", "Page"),
    "previous": ("Precedente", "Previous"),
    "next": ("Successiva", "Next"),
    "pagination": ("Paginazione", "Pagination"),
    "deadline": ("Scadenza", "Deadline"),
    "deadlines": ("Scadenze", "Deadlines"),
    "no_deadline": ("Nessuna scadenza indicata", "No deadline given"),
    "themes": ("Temi", "Themes"),
    "fit_score": ("Adeguatezza", "Fit"),
    "feeds": ("Segui questa ricerca", "Follow this search"),
    "atom_feed": ("Feed Atom dei bandi", "Atom feed of the calls"),
    "ics_feed": ("Calendario delle scadenze (iCalendar)", "Deadline calendar (iCalendar)"),
    "official_page": ("Pagina ufficiale del bando", "Official call page"),
    "source": ("Fonte", "Source"),
    "programme": ("Programma", "Programme"),
    "scope": ("Ambito", "Scope"),
    "budget": ("Budget", "Budget"),
    "opening": ("Apertura", "Opening"),
    "eligible_regions": ("Regioni ammissibili", "Eligible regions"),
    "eligible": ("ammissibile", "eligible"),
    "not_eligible": ("non ammissibile", "not eligible"),
    "fit_reason": ("Perché è (o non è) adatto", "Why it fits (or not)"),
    "tri_regional": ("Adatto a una proposta congiunta Lombardia, Piemonte e Liguria",
                     "Fits a joint Lombardia, Piemonte and Liguria bid"),
    "not_classified": ("Non ancora classificato.", "Not classified yet."),
    "evidence": ("Indizi trovati nel testo", "Evidence found in the text"),
    "consortium": ("Consorzio", "Consortium"),
    "history": ("Storico delle modifiche", "Change history"),
    "no_history": ("Nessuna modifica registrata.", "No changes recorded."),
    "field": ("Campo", "Field"),
    "before": ("Prima", "Before"),
    "after": ("Dopo", "After"),
    "when": ("Quando", "When"),
    "first_seen": ("Visto la prima volta", "First seen"),
    "rome_time": ("ora di Roma", "Rome time"),
    "same_official": ("ora di Roma, anche nel fuso ufficiale {zone}", "Rome time, also in the official zone {zone}"),
    "official_time": ("ora ufficiale", "official time"),
    "date_only": ("solo data", "date only"),
    "back_to_list": ("Torna all'elenco", "Back to the list"),
    "summary": ("Sintesi", "Summary"),
    "description": ("Descrizione", "Description"),
    # unsubscribe
    "unsub_heading": ("Annulla l'iscrizione", "Unsubscribe"),
    "unsub_question": ("Vuoi smettere di ricevere il riepilogo dei bandi all'indirizzo {email}?",
                       "Stop receiving the funding-call digest at {email}?"),
    "unsub_button": ("Annulla l'iscrizione", "Unsubscribe"),
    "unsub_already": ("Questo indirizzo ({email}) è già disiscritto.",
                      "This address ({email}) is already unsubscribed."),
    "unsub_done_heading": ("Iscrizione annullata", "You are unsubscribed"),
    "unsub_done": ("Non invieremo più riepiloghi a {email}.", "We will send no more digests to {email}."),
    "unsub_changed_mind": ("Hai cambiato idea? Puoi iscriverti di nuovo dalle preferenze.",
                           "Changed your mind? You can subscribe again from your preferences."),
    "manage_prefs": ("Gestisci le preferenze", "Manage your preferences"),
    # preferences
    "prefs_heading": ("Le tue preferenze", "Your preferences"),
    "prefs_for": ("Preferenze per {email}", "Preferences for {email}"),
    "prefs_themes": ("Temi che ti interessano", "Themes you care about"),
    "prefs_themes_hint": ("Se non ne scegli nessuno, ricevi i bandi di tutti i temi.",
                          "Choose none to get calls on every theme."),
    "prefs_language": ("Lingua delle email e delle pagine", "Language of emails and pages"),
    "prefs_min_fit": ("Adeguatezza minima dei bandi (0-3)", "Minimum fit of the calls (0-3)"),
    "prefs_frequency": ("Frequenza del riepilogo", "Digest frequency"),
    "prefs_pause": ("Sospendi gli invii per ora", "Pause the emails for now"),
    "prefs_save": ("Salva le preferenze", "Save preferences"),
    "prefs_saved": ("Preferenze salvate.", "Preferences saved."),
    "prefs_unsubscribed": ("Sei disiscritto: non ricevi email.", "You are unsubscribed: you receive no emails."),
    "prefs_paused": ("Gli invii sono sospesi.", "Emails are paused."),
    "prefs_active": ("Ricevi il riepilogo.", "You receive the digest."),
    "resubscribe": ("Iscriviti di nuovo", "Subscribe again"),
    "resubscribed": ("Sei di nuovo iscritto.", "You are subscribed again."),
    "your_feeds": ("I tuoi feed personali", "Your personal feeds"),
    "your_feeds_hint": ("Indirizzi segreti con i bandi che corrispondono alle tue preferenze. Non condividerli.",
                        "Secret addresses listing the calls that match your preferences. Do not share them."),
    "revoke_feeds": ("Genera nuovi indirizzi (quelli vecchi smettono di funzionare)",
                     "Make new addresses (the old ones stop working)"),
    "feeds_revoked": ("Nuovi indirizzi dei feed generati; quelli vecchi non funzionano più.",
                      "New feed addresses made; the old ones no longer work."),
    "form_expired": ("Il modulo è scaduto o non è valido: ricarica la pagina e riprova.",
                     "The form has expired or is not valid: reload the page and try again."),
    "invalid_input": ("Alcuni valori non sono validi: {what}.", "Some values are not valid: {what}."),
    # errors
    "error_heading": ("Link non valido", "Invalid link"),
    "bad_link": ("Questo link non è valido o è scaduto. Usa il link dell'ultimo riepilogo ricevuto.",
                 "This link is not valid or has expired. Use the link in the latest digest you received."),
    "not_found_heading": ("Pagina non trovata", "Page not found"),
    "not_found": ("La pagina cercata non esiste.", "The page you asked for does not exist."),
    "server_error_heading": ("Errore del servizio", "Service error"),
    "server_error": ("Qualcosa non ha funzionato da parte nostra. Riprova tra qualche minuto.",
                     "Something went wrong on our side. Please try again in a few minutes."),
    "filter_ignored": ("Filtro ignorato: {what}.", "Filter ignored: {what}."),
    "footer": ("Servizio dei cluster LAC, DAP e dei partner liguri.",
               "A service of the LAC and DAP clusters and their Ligurian partners."),
}

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS_IT = ("gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic")


def pick_language(requested: str | None, member_language: str | None = None) -> str:
    """?lang= wins, then the member's language, then Italian."""
    for candidate in (requested, member_language):
        if candidate and candidate.lower() in LANGUAGES:
            return candidate.lower()
    return DEFAULT_LANGUAGE


def text(lang: str, key: str, **values: object) -> str:
    pair = TEXTS[key]
    template = pair[1] if lang == "en" else pair[0]
    return template.format(**values) if values else template


def format_date(at: datetime, lang: str) -> str:
    months = _MONTHS_EN if lang == "en" else _MONTHS_IT
    return f"{at.day} {months[at.month - 1]} {at.year}"


def format_datetime(at: datetime, lang: str) -> str:
    return f"{format_date(at, lang)}, {at:%H:%M}"


def format_deadline(at: datetime, date_only: bool, lang: str) -> str:
    """A deadline on Rome's clock, with the official time added when the source's zone reads differently."""
    if date_only:
        return format_date(at, lang)
    local = at.astimezone(DISPLAY_ZONE)
    official_zone = getattr(at.tzinfo, "key", None) or at.tzname() or "UTC"
    if at.utcoffset() != local.utcoffset():
        return (f"{format_datetime(local, lang)} ({text(lang, 'rome_time')}); "
                f"{text(lang, 'official_time')} {format_datetime(at, lang)} {official_zone}")
    if official_zone != "Europe/Rome":
        return f"{format_datetime(local, lang)} ({text(lang, 'same_official', zone=official_zone)})"
    return f"{format_datetime(local, lang)} ({text(lang, 'rome_time')})"


_DEADLINE_KEY = re.compile(r"^(?P<at>\S+)\[(?P<zone>[^\]]+)\](?P<date_only> date-only)?(?: \((?P<label>.*)\))?$")


def format_deadline_key(key: str, lang: str) -> str:
    """A deadline as change history stores it (domain.deadline_key) in words; unknown text is kept as is."""
    found = _DEADLINE_KEY.match(key)
    if not found:
        return key
    try:
        at = datetime.fromisoformat(found["at"]).astimezone(ZoneInfo(found["zone"]))
    except (ValueError, KeyError, ZoneInfoNotFoundError):
        return key
    shown = format_deadline(at, bool(found["date_only"]), lang)
    return f"{found['label']}: {shown}" if found["label"] else shown
