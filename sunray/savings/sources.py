"""Where every figure of a report comes from: the citations, and the list of
inputs and defaults (label, value, unit, source) that every report shows.

A value's source follows from where the proposal layers took it (the Site's
``origin``): given (a flag, the proposal file, the settings), a preset (the
blog post's figure, or ours, per field), or a default (``model.DEFAULTS``,
each with its own source; ours are marked as ours).
"""

import operator
from typing import Any, Dict, List, Tuple

from . import i18n, model
from .carbon import SOURCE

POST = "blog post 'Get Thin and make the World a better place' (26 January 2009)"
POST_SAYS = (f"The {POST}: a desktop of about 150 W on at least 3 hours a day, 30 minutes "
             "a day with Sun Rays: about 165 and 28 kWh a year, 137 kWh, 34 euros and 62 kg "
             "CO2 (450 grams per kWh) saved; office desktops at 100 W year round: as much "
             "as 200 euros or about 390 kg CO2 per desktop, of which no more than half "
             "goes to servers. It gives no price per kWh: 0.25 EUR/kWh is our reading of "
             "its 34 euros for 137 kWh")
FRAUNHOFER = ("Fraunhofer UMSICHT, for IGEL Technology (December 2006): a thin-client "
              "workplace uses about 41 W including its share of the server and cooling, "
              "against about 85 W for a PC")

MAGA = ("Maga, Hiebel, Knermann (Fraunhofer UMSICHT), Int J Life Cycle Assess 18 (2013) "
        "861-871: over 80 kg CO2e less in the material and extraction stage for a thin "
        "client with its server share than for a desktop PC, over 5 years")

_POST_HOME = f"preset home: the {POST}"
_POST_OFFICE = f"preset office: the {POST}"
_OURS_HOME = "preset home: " + model.OURS
_OURS_OFFICE = "preset office: " + model.OURS
# Per preset and field: the post's figure, or ours (and why, where it matters).
PRESET_SOURCES: Dict[str, Dict[str, str]] = {
    "home": {
        "desktop_watts": _POST_HOME, "hours_before": _POST_HOME, "hours_after": _POST_HOME,
        "days": _POST_HOME + " (year round)", "g_per_kwh": _POST_HOME,
        "currency": _POST_HOME,
        "thin_client_watts": _POST_HOME + " (a Sun Ray uses between 3 and 4 W)",
        "price": "preset home: our reading of the post's 34 euros for 137 kWh",
        "server_watts": _OURS_HOME + " (the post: the server 'only uses a bit more power')",
        "desktop_off_watts": _OURS_HOME + " (the post counts hours of use only)",
    },
    "office": {
        "desktop_watts": _POST_OFFICE, "hours_before": _POST_OFFICE + " (year round)",
        "days": _POST_OFFICE + " (year round)", "g_per_kwh": _POST_OFFICE,
        "currency": _POST_OFFICE, "thin_client_watts": _POST_OFFICE,
        "price": "preset office: our reading of the post's 34 euros for 137 kWh",
        "server_watts": _OURS_OFFICE + " (within the post's 'no more than half')",
    },
}

# One input as listed on the report: label, value, unit, source.
InputRow = Tuple[str, Any, str, str]


def origin_source(site: model.Site, name: str) -> str:
    """Where the value of input ``name`` of ``site`` comes from, in words."""
    where = site.origin.get(name, "")
    if where == "default":
        return model.DEFAULTS[name][1]
    if where == "assumed":
        return "assumed: the seats of one full server, as no seats were given"
    if where.startswith("preset "):
        preset = where[len("preset "):]
        return PRESET_SOURCES.get(preset, {}).get(name, f"preset {preset}: {model.OURS}")
    return f"given: {where}" if where else "given"


def grid_place(site: model.Site) -> str:
    """A site's grid figure's place and year, in the report's language:
    'Deutschland (DEU) 2023' (for a site whose figure is a country's)."""
    iso3 = site.country or ""
    return f"{i18n.country(iso3, site.country_name)} ({iso3}) {site.country_year}"


def _unit(site: model.Site, f: model.Field) -> str:
    if f.name == "price":
        return f"{site.currency}/kWh"
    if f.name in model.COST_FIELDS or f.name == "running_cost":
        return f"{site.currency} {f.unit}"
    return f.unit


def inputs_and_defaults(results: List[model.SiteResult]) -> List[InputRow]:
    """Every input value the sites used, once per distinct value and source,
    in the order of the model's fields, each field's values from low to high
    (a country's grid figure names it)."""
    fields = [f for f in model.FIELDS if f.name not in ("country", "currency")]
    getter = operator.attrgetter(*(f.name for f in fields))
    # Sites whose values come from the same places (the same origins,
    # currency and country) are read column by column: 10,000 sites of one
    # proposal are a few such groups, and zip(*rows) does the work in C.
    # The plan gives sites with the same origins one dict, so its identity
    # groups them (two equal dicts only make two groups of the same rows).
    groups: Dict[Tuple[Any, ...], List[Tuple[Any, ...]]] = {}
    firsts: Dict[Tuple[Any, ...], model.Site] = {}
    for r in results:
        s = r.site
        # The study's manufacturing figure is an input only where it is used.
        key = (id(s.origin), s.currency, s.country, model.uses_study_embodied(r))
        groups.setdefault(key, []).append(getter(s))
        firsts.setdefault(key, s)
    seen: Dict[Tuple[str, Any, str, str], InputRow] = {}
    for key, rows in groups.items():
        s = firsts[key]
        for f, column in zip(fields, zip(*rows)):
            if f.name == "embodied_saving_kg" and not key[-1]:
                continue
            # A site's country stands for its grid figure's source.
            where = s.country or "" if f.name == "g_per_kwh" else s.origin.get(f.name, "")
            for value in dict.fromkeys(column):
                if value is None or (f.name, value, where, s.currency) in seen:
                    continue
                if f.name == "g_per_kwh" and s.country:
                    source = f"{grid_place(s)}: {SOURCE}"
                else:
                    source = origin_source(s, f.name)
                seen[(f.name, value, where, s.currency)] = (f.label, value, _unit(s, f), source)
    # In the model's field order; a field's values from low to high.
    order = {f.label: i for i, f in enumerate(fields)}
    return sorted(dict.fromkeys(seen.values()), key=lambda row: (order[row[0]], row[1]))
