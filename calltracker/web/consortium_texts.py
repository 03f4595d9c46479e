"""Words of the consortium pages (interest, partners, staff board) in Italian and English. Pure."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "interest_heading": ("Ti interessa questo bando?", "Are you interested in this call?"),
    "interest_question": ("Segnala il tuo interesse a candidarti a «{title}» insieme ai partner delle altre "
                          "regioni. Le segreterie dei cluster e gli altri interessati lo vedranno.",
                          "Tell us you would like to bid for «{title}» together with partners from the other "
                          "regions. The clusters' staff and the others interested will see it."),
    "interest_button": ("Mi interessa", "I'm interested"),
    "interest_recorded": ("Abbiamo registrato il tuo interesse.", "Your interest is recorded."),
    "interest_already": ("Hai già segnalato interesse per questo bando.",
                         "You have told us you are interested in this call."),
    "interest_withdrawn": ("Hai ritirato il tuo interesse.", "You withdrew your interest."),
    "withdraw_button": ("Non mi interessa più", "I'm no longer interested"),
    "partners_heading": ("Possibili partner delle altre regioni", "Possible partners from the other regions"),
    "partners_none": ("Per ora nessun membro delle altre regioni con i tuoi temi ha accettato di essere "
                      "suggerito.", "No member of the other regions with your themes has agreed to be suggested "
                      "yet."),
    "partners_interested": ("già interessato", "already interested"),
    "contact_via_staff": ("contatto tramite la segreteria del cluster", "contact through the cluster's staff"),
    "sharing_hint": ("Vuoi essere suggerito anche tu? Attivalo nelle preferenze.",
                     "Would you like to be suggested too? Turn it on in your preferences."),
    "call_link": ("Scheda del bando", "The call's page"),
    "interest_counts_heading": ("Membri interessati a una candidatura congiunta",
                                "Members interested in a joint bid"),
    "interest_counts_none": ("Nessun membro ha ancora segnalato interesse.", "No member has declared interest yet."),
    "sharing_heading": ("Candidature congiunte", "Joint bids"),
    "share_profile": ("Suggeriscimi come partner ai membri delle altre regioni (organizzazione e temi)",
                      "Suggest me as a partner to members of the other regions (organisation and themes)"),
    "share_contact": ("Mostra anche il mio indirizzo email a chi mi viene suggerito o presentato",
                      "Also show my email address to those I am suggested or introduced to"),
    "sharing_save": ("Salva la condivisione", "Save sharing"),
    "sharing_saved": ("Preferenze di condivisione salvate.", "Sharing preferences saved."),
    "staff_heading": ("Interesse per i bandi", "Interest in calls"),
    "staff_login_heading": ("Accesso staff", "Staff sign-in"),
    "staff_email": ("Email", "Email"),
    "staff_password": ("Password", "Password"),
    "staff_login_button": ("Accedi", "Sign in"),
    "staff_logout_button": ("Esci", "Sign out"),
    "staff_bad_login": ("Email o password non validi.", "Wrong email or password."),
    "staff_rate_limited": ("Troppi tentativi: riprova tra qualche minuto.", "Too many attempts: try again in a few "
                           "minutes."),
    "staff_form_expired": ("Il modulo è scaduto: riprova.", "The form expired: please try again."),
    "staff_call": ("Bando", "Call"),
    "staff_deadline": ("Scadenza", "Deadline"),
    "staff_total": ("Totale", "Total"),
    "staff_sort": ("Ordina per", "Sort by"),
    "staff_sort_deadline": ("scadenza più vicina", "soonest deadline"),
    "staff_sort_-deadline": ("scadenza più lontana", "latest deadline"),
    "staff_sort_interest": ("interesse", "interest"),
    "staff_empty": ("Nessun interesse segnalato finora.", "No interest declared so far."),
    "staff_signed_in": ("Accesso come {email}", "Signed in as {email}"),
}


def ctext(lang: str, key: str, **values: object) -> str:
    pair = TEXTS[key]
    template = pair[1] if lang == "en" else pair[0]
    return template.format(**values) if values else template
