"""Why: the fit reason in English and Italian, and every rule that fired, one per line."""

from __future__ import annotations

from collections.abc import Mapping

from calltracker.classify.model import REGION_LABELS, REGIONS, THEME_LABELS, Classification, ThemeResult
from calltracker.domain import Consortium, Region


def _names(regions: list[Region]) -> str:
    labels = [REGION_LABELS[g] for g in regions]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def reason(fit: bool, eligible: Mapping[Region, bool], consortium: Consortium, tagged: list[ThemeResult],
            mode_en: str, mode_it: str) -> tuple[str, str]:
    open_to = [g for g in REGIONS if eligible[g]]
    themes_en = ", ".join(THEME_LABELS[t.theme][0] for t in tagged)
    themes_it = ", ".join(THEME_LABELS[t.theme][1] for t in tagged)
    if not open_to:
        return ("None of Lombardia, Piemonte, Liguria can apply as beneficiary",
                "Nessuna tra Lombardia, Piemonte e Liguria può partecipare come beneficiario")
    if len(open_to) < len(REGIONS):
        names = _names(open_to)
        return (f"Only {names} can apply: no tri-regional bid",
                f"Solo {names.replace(' and ', ' e ')}: nessuna proposta tri-regionale")
    if consortium is Consortium.SINGLE:
        return ("Single applicants only: no joint bid, each member applies alone",
                "Solo domande singole: nessuna proposta congiunta, ogni socio partecipa da solo")
    if not tagged:
        return (f"{mode_en}; but no cluster theme is in focus",
                f"{mode_it}; ma nessun tema del cluster è centrale")
    assert fit
    return f"{mode_en} ({themes_en})", f"{mode_it} ({themes_it})"


def explain(classification: Classification) -> str:
    """Every rule that fired and why, one per line, for `calltracker classify --explain`."""
    c = classification
    lines = [f"call {c.id} (rules {c.rules_version})"]
    lines.append(f"scope: {c.scope.value}" + (f" (programme {c.programme})" if c.programme else ""))
    lines.extend(f"  - {e.describe()}" for e in c.evidence["scope"])
    lines.append("eligible: " + ", ".join(f"{g.value}={'yes' if c.eligible[g] else 'no'}" for g in REGIONS))
    lines.extend(f"  - {e.describe()}" for e in c.evidence["regions"])
    lines.append(f"consortium: {c.consortium.value}")
    lines.extend(f"  - {e.describe()}" for e in c.evidence["consortium"])
    if c.themes:
        lines.append("themes:")
        for t in c.themes:
            lines.append(f"  {t.theme.value}: score {t.score:g}")
            lines.extend(f"    - {e.describe()}" for e in t.evidence)
    else:
        lines.append("themes: none")
    if c.below_threshold:
        lines.append("below the threshold (passing mentions, not tagged):")
        for t in c.below_threshold:
            lines.append(f"  {t.theme.value}: score {t.score:g}")
            lines.extend(f"    - {e.describe()}" for e in t.evidence)
    verdict = "yes" if c.tri_regional_fit else "no"
    lines.append(f"tri-regional fit: {verdict}, score {c.fit_score}/3 -- {c.fit_reason}")
    lines.append(f"  (it) {c.fit_reason_it}")
    return "\n".join(lines)
