"""What the human formats (text, markdown, HTML) say, built once.

Display rounding (half up to whole units: 164.25 kWh shows as 164, as the
posts did), the rows of the tables, a site's basis, the cost lines, and the
method and sources (the machine formats carry the sources too). The
renderers only lay these out.
"""

import math
from typing import List, Optional, Sequence, Tuple

from . import i18n, lifecycle, model
from .carbon import ATTRIBUTION, SOURCE
from .evaluate import Proposal
from .i18n import t
from .sources import (
    FRAUNHOFER,
    MAGA,
    POST,
    POST_SAYS,
    grid_place,
    inputs_and_defaults,
    origin_source,
)

# One term for the grid's and the devices' greenhouse gases, everywhere.
CO2E = "CO2e"
KG = "kg " + CO2E
# Payback shows in months up to this many, then in years.
MONTHS_UP_TO = 36

# A table row as displayed: the line's label, then its figures.
SiteRow = Tuple[str, str, str, str, str]  # label, kWh per seat, kWh, money, kg CO2e
TotalRow = Tuple[str, str, str, str]      # label, kWh, money, kg CO2e


# --- numbers and words -------------------------------------------------------

def show(value: Optional[float], decimals: int = 0) -> str:
    """Display rounding: half up, thousands separators, no '-0'; in the
    active language's form (en 1,234.5; de and nl 1.234,5)."""
    return i18n.active().number(value, decimals)


def num(value: float) -> str:
    """An input figure as typed: 0.5, 24, 1.5 (de and nl: 0,5)."""
    return i18n.active().plain(value)


def money(value: Optional[float], currency: Optional[str], exact: bool = False) -> str:
    """An amount of money with its currency: '1,234 EUR' (the one place that
    places the currency, so a locale can move it, in the active language);
    ``exact``: an input price as typed ('249.5 EUR'), not rounded."""
    shown = num(value) if exact and value is not None else show(value)
    if not currency:
        return f"{shown} {money_word(currency)}"
    return i18n.active().money(shown, currency)


def money_word(currency: Optional[str]) -> str:
    """The money column's heading: the currency, or 'money' when mixed."""
    return currency or t("money")


def seats_text(n: int) -> str:
    """'1 seat', '1,200 seats'."""
    return t("1 seat") if n == 1 else t("{n} seats", n=show(n))


def total_heading(total: model.Total) -> str:
    """'3 sites, 157 seats'."""
    sites = t("1 site") if total.sites == 1 else t("{n} sites", n=show(total.sites))
    return f"{sites}, {seats_text(total.seats)}"


# --- the tables ----------------------------------------------------------------

def site_rows(result: model.SiteResult) -> List[SiteRow]:
    """A site's table, one row per line of the comparison."""
    return [(t(model.LINE_LABELS[k]), show(result.kwh_per_seat[k]), show(result.kwh[k]),
             show(result.money[k]), show(result.co2_kg[k])) for k in model.LINES]


def total_rows(total: model.Total) -> List[TotalRow]:
    """The total's table; money '-' when the sites' currencies differ."""
    money = total.money or {}
    return [(t(model.LINE_LABELS[k]), show(total.kwh[k]), show(money.get(k)),
             show(total.co2_kg[k])) for k in model.LINES]


# --- what a site rests on, and what it costs ------------------------------------

def grid_source(site: model.Site) -> str:
    """Where a site's grid carbon intensity came from."""
    if site.country:
        return f"{grid_place(site)}, Ember and Our World in Data via CodeCarbon"
    return t("as given")


def basis(site: model.Site) -> List[str]:
    """The inputs of a site in four plain lines."""
    share_w = site.server_count * site.server_watts * site.pue / site.seats
    return [
        t("Desktops: {w} W, {before} h/day before, {after} h/day after, {days} days/year",
          w=num(site.desktop_watts), before=num(site.hours_before),
          after=num(site.hours_after), days=num(site.days)),
        t("Thin clients: {w} W, {hours} h/day", w=num(site.thin_client_watts),
          hours=num(site.thin_client_hours)),
        t("Server: {w} W, {hours} h/day, {days} days/year, PUE {pue}, seats per server "
          "{seats}: {servers} (= {share} W per seat while on)", w=num(site.server_watts),
          hours=num(site.server_hours), days=num(site.server_days), pue=num(site.pue),
          seats=num(site.seats_per_server),
          servers=t("{servers} shared" if site.servers is not None else "{servers} bought",
                    servers=num_servers(site.server_count)),
          share=show(share_w, 1)),
        t("Electricity: {price} {currency}/kWh; {g} g CO2e/kWh ({source})",
          price=num(site.price), currency=site.currency, g=num(site.g_per_kwh),
          source=grid_source(site)),
    ]


def _signed(value: float, more: str, less: str, unit: str = "") -> str:
    """'1,234 kWh saved' or '1,234 kWh extra': never '-1,234 ... saved'.
    ``more`` and ``less`` are templates with {amount} (the figure and unit)."""
    return t(more if value >= 0 else less, amount=f"{show(abs(value))}{unit}")


def _signed_money(value: float, more: str, less: str, currency: Optional[str]) -> str:
    """Like _signed, for money (the currency placed as the language places it)."""
    return t(more if value >= 0 else less, amount=money(abs(value), currency))


def cost_lines(costs: Optional[model.Costs], currency: Optional[str],
               site: Optional[model.Site] = None, seats: Optional[int] = None) -> List[str]:
    """Investment, payback and horizon in plain lines; none without costs.
    With ``site``, the investment line names its hardware prices; with
    ``seats`` (or a site) a line per seat follows."""
    if costs is None:
        return []
    lines = []
    invest = t("Investment at the switch: {amount}", amount=money(costs.investment, currency))
    if site is not None:
        parts = []
        if site.thin_client_price is not None:
            parts.append(t("thin clients at {price}",
                           price=money(site.thin_client_price, currency, exact=True)))
        if site.server_price is not None:
            parts.append(t("{servers} at {price}", servers=num_servers(site.server_count),
                           price=money(site.server_price, currency, exact=True)))
        if parts:
            invest += f" ({', '.join(parts)})"
    lines.append(invest)
    if costs.avoided:
        lines.append(_at_the_switch(costs, currency))
    if costs.net_investment > 0 or costs.payback_years != 0:
        lines.append(_path_line(costs))
    horizon = (t("Over {years} years", years=costs.years) if costs.years
               else t("Over each site's horizon"))
    horizon_in = (t("over {years} years", years=costs.years) if costs.years
                  else t("over each site's horizon"))
    if costs.refresh:
        lines.append(t("{horizon}, replacements (thin clients and servers, less the desktops "
                       "not bought): {amount}", horizon=horizon,
                       amount=_signed_money(costs.refresh, "{amount} spent", "{amount} saved",
                                            currency)))
    benefit = abs(costs.horizon_benefit)
    word = "net benefit {amount}" if costs.horizon_benefit >= 0 else "net cost {amount}"
    lines.append(t("{horizon}: {money}, {kwh} and {co2}", horizon=horizon,
                   money=t(word, amount=money(benefit, currency)),
                   kwh=_signed(costs.horizon_kwh, "{amount} saved", "{amount} extra", " kWh"),
                   co2=_signed(costs.horizon_co2_kg, "{amount} saved", "{amount} extra",
                               " " + KG)))
    if costs.embodied_co2_kg:
        lines.append(t("Manufacturing CO2e {horizon}: {co2}", horizon=horizon_in,
                       co2=_signed(costs.embodied_co2_kg, "{amount} avoided", "{amount} extra",
                                   " " + KG)))
    seats = seats if seats is not None else (site.seats if site is not None else None)
    if seats:
        lines.append(t("Per seat {horizon}: {money}, {co2}", horizon=horizon_in,
                       money=t(word, amount=money(benefit / seats, currency)),
                       co2=_signed(costs.horizon_co2_kg / seats, "{amount} saved",
                                   "{amount} extra", " " + KG)))
    return lines


def _at_the_switch(costs: model.Costs, currency: Optional[str]) -> str:
    """Where the money stands once the desktops are not bought. 'Ahead from
    day one' only when the running total never goes below zero after."""
    avoided = money(costs.avoided, currency)
    amount = money(abs(costs.net_investment), currency)
    if costs.net_investment > 0:
        return t("Desktops not bought: {avoided}; net investment {amount}",
                 avoided=avoided, amount=amount)
    if not costs.below_zero:
        if costs.net_investment < 0:
            return t("Desktops not bought: {avoided}: ahead from day one by {amount}",
                     avoided=avoided, amount=amount)
        return t("Desktops not bought: {avoided}: no net investment, ahead from day one",
                 avoided=avoided)
    if costs.net_investment < 0:
        return t("Desktops not bought: {avoided}: ahead by {amount} at the switch",
                 avoided=avoided, amount=amount)
    return t("Desktops not bought: {avoided}: no net investment at the switch",
             avoided=avoided)


def _path_line(costs: model.Costs) -> str:
    """The payback, after the years below zero when they are not simply the
    first ones of an investment (so a refresh or a losing year is seen)."""
    text = payback_text(costs.payback_years)
    spans = costs.below_zero
    paying_off = (costs.net_investment > 0 and len(spans) == 1 and spans[0][0] == 0
                  and spans[0][1] is not None)
    if spans and not paying_off:
        text = t("{below}; {payback}", below=below_zero_text(spans, costs.years),
                 payback=text)
    return text[0].upper() + text[1:]


def below_zero_text(spans: Sequence[Tuple[float, Optional[float]]],
                    years: Optional[int] = None) -> str:
    """'below zero in years 2-4 and 7', 'below zero from year 2 on': the
    running total's spans under zero as the years (1-based) they touch,
    spans in the same or the next year joined (a span that starts at the
    end of a horizon of ``years``, by the residual value, is in its last year)."""
    ranges: List[List[Optional[int]]] = []  # [first, last]; last None: to the end
    for start, end in spans:
        first = int(math.floor(start)) + 1
        if years is not None:
            first = min(first, years)
        last = None if end is None else max(first, int(math.ceil(round(end, 6))))
        previous = ranges[-1][1] if ranges else None
        if previous is not None and first <= previous + 1:
            ranges[-1][1] = last
        else:
            ranges.append([first, last])
    parts = []
    for low, high in ranges:
        if high is None:
            parts.append(t("from year {first} on", first=low))
        else:
            parts.append(str(low) if low == high else f"{low}\u2013{high}")
    if len(ranges) == 1 and ranges[0][1] is None:
        return t("below zero {years}", years=parts[0])
    listed = parts[0] if len(parts) == 1 else t("{some} and {last}", some=", ".join(parts[:-1]),
                                                  last=parts[-1])
    closed = [r for r in ranges if r[1] is not None]  # "from year N on" names its own year
    single = len(closed) == 1 and closed[0][0] == closed[0][1]
    return t("below zero in year {years}" if single else "below zero in years {years}",
             years=listed)


def num_servers(count: float) -> str:
    """'1 server', '4 servers', '1.3 servers' (a share of a shared pool)."""
    shown = show(count) if float(count).is_integer() else show(count, 1)
    return t("1 server") if shown == "1" else t("{n} servers", n=shown)


def payback_months(years: float) -> Optional[int]:
    """A payback time in whole months (rounded up) when it is shown in
    months, up to MONTHS_UP_TO; None when it is shown in years."""
    months = int(math.ceil(round(years * 12, 6)))
    return months if months <= MONTHS_UP_TO else None


# The payback's words in a sentence, and short (a table cell or a card):
# none within the limit, at once, one month, months, years.
_PAYBACK_WORDS = {
    False: ("no payback within {years} years", "ahead from day one", "payback in 1 month",
            "payback in {n} months", "payback in {years} years"),
    True: ("none within {years} years", "from day one", "1 month", "{months} months",
           "{years} years"),
}


def payback_text(years: Optional[float], short: bool = False) -> str:
    """The payback in words: 'payback in 14 months', '... in 4.3 years' (over
    36 months), 'ahead from day one', or no payback within the limit; with
    ``short``, the same without the verb ('14 months', 'from day one')."""
    never, at_once, one_month, in_months, in_years = _PAYBACK_WORDS[short]
    if years is None:
        return t(never, years=lifecycle.PAYBACK_LIMIT)
    if years == 0:
        return t(at_once)
    months = payback_months(years)
    if months is not None:
        return t(one_month) if months == 1 else t(in_months, n=months, months=months)
    return t(in_years, years=show(years, 1))


# --- scenarios and sensitivity --------------------------------------------------

def scenario_table(proposal: Proposal) -> Tuple[List[str], List[List[str]]]:
    """Header and rows: 'expected' (the proposal as given) and each scenario,
    side by side; no rows without scenarios."""
    if not proposal.scenarios:
        return [], []
    columns = [(t("expected"), proposal.total)] + [(t(sc.name) if sc.suggested else sc.name,
                                                    sc.total) for sc in proposal.scenarios]
    cur = money_word(proposal.total.currency)
    rows = [
        # Labels as they are: German nouns keep their capital.
        [t("changes")] + [t("as given")] + [", ".join(f"{t(model.FIELD[k].label)} {num(v)}"
                                                      for k, v in sc.changes.items())
                                            for sc in proposal.scenarios],
        [t("net kWh per year")] + [show(total.kwh["net_saving"]) for _, total in columns],
        [t("net {currency} per year", currency=cur)]
        + [show(total.money["net_saving"]) if total.money else "-" for _, total in columns],
        [t("{unit} per year", unit=KG)] + [show(total.co2_kg["net_saving"])
                                           for _, total in columns],
    ]
    if proposal.total.costs is not None:
        rows.append([t("benefit over the horizon")] +
                    [show(total.costs.horizon_benefit) if total.costs else "-"
                     for _, total in columns])
        rows.append([t("payback")] + [payback_text(total.costs.payback_years, short=True)
                                      if total.costs
                                      else "-" for _, total in columns])
    return ["", *(name for name, _ in columns)], rows


def sensitivity_line(proposal: Proposal) -> str:
    """'+-20 % of one input on every site moves the yearly net saving: ...'."""
    from .scenarios import SENSITIVITY_SITES, SWING_PCT

    found = proposal.sensitivity
    if found is None:
        return t("Sensitivity: not computed for more than {n} sites.",
                 n=show(SENSITIVITY_SITES))
    loc = i18n.active()
    parts = [t("{input} {low} to {high} {unit}", input=t(s.label), low=show(s.low),
               high=show(s.high), unit=s.unit if s.unit == "kWh" else loc.currency_heading(s.unit))
             for s in found if s.swing > 0]
    if not parts:
        return ""
    return t("Sensitivity (each input {pct} % lower / higher on every site, yearly net "
             "saving, largest effect first): {parts}", pct=SWING_PCT, parts="; ".join(parts))


# --- inputs and defaults ----------------------------------------------------------

# The source model.DEFAULTS gives an input left out at 0: such inputs share one row.
NOT_COUNTED = "not counted unless given"


def input_rows(results: List[model.SiteResult]) -> List[Tuple[str, str, str]]:
    """Every input and default as (label, value with unit, source), worded;
    without the seats (each site shows its own) and with the inputs left out
    at 0 in one row."""
    loc = i18n.active()
    rows = []
    uncounted = []
    currencies = {r.site.currency for r in results}
    for label, value, unit, source in inputs_and_defaults(results):
        if label == model.FIELD["seats"].label:
            continue  # each site's seats are in the sites table
        if not value and source.startswith(NOT_COUNTED):
            uncounted.append(t(label))  # one row for what is left out, not one each
            continue
        if isinstance(value, bool):
            shown = t("yes") if value else t("no")
        else:
            shown = num(value) if isinstance(value, (int, float)) else str(value)
        currency = next((c for c in currencies if unit.startswith(c + " ")), None)
        if currency:
            text = f"{loc.money(shown, currency)} {t(unit[len(currency) + 1:])}"
        elif unit.endswith("/kWh") and unit[:-4] in currencies:
            text = f"{shown} {unit}"  # a price: the currency as given
        else:
            text = f"{shown} {t(unit) if unit else ''}".strip()
        rows.append((t(label), text, source_text(source)))
    if uncounted:
        # Their labels without the bracketed explanations: one short line.
        listed = (t("administration and help desk, licences, deployment, other yearly "
                    "costs, standby power, manufacturing CO2e per device")
                  if len(uncounted) >= 6 else ", ".join(label.split(" (")[0]
                                                         for label in uncounted))
        rows.append((t("Not included (none given)"), "", listed))
    return rows


def source_text(source: str) -> str:
    """A source of an input in the active language: 'given: --price' and
    'preset office: ...' worded around what stays as it is (a flag, a file)."""
    for prefix in ("given: ", "preset home: ", "preset office: "):
        if source.startswith(prefix):
            rest = source[len(prefix):]
            rest = t(rest) if rest in i18n.catalogue() or not _literal(rest) else rest
            return t(prefix + "{what}", what=rest)
    if SOURCE in source:  # a country's grid figure: the data set's own citation
        return source
    return t(source)


def _literal(text: str) -> bool:
    """A flag, a settings key or a file place: shown as it is in every language."""
    return text.startswith(("--", "sunray.")) or "/" in text or ".sites" in text


# --- method and sources ----------------------------------------------------------

def sources(proposal: Proposal) -> List[str]:
    """Where the presets and the grid figures come from, with the attribution."""
    # The posts as a source only where a figure of theirs is used.
    # Sites share their origin dicts: one site per dict (10,000 sites are a few).
    distinct = list({id(r.site.origin): r.site for r in proposal.results}.values())
    used = {src for site in distinct for name, where in site.origin.items()
            if where.startswith("preset ")
            for src in (origin_source(site, name),) if POST in src}
    # The posts' own figures in full only where their desktop figures are used.
    desktops = any(site.origin.get(name, "").startswith("preset ")
                   for site in distinct for name in ("desktop_watts", "hours_before"))
    lines = ([t("Presets: {source}.", source=t(POST_SAYS if desktops else POST))]
             if used else [])
    if any(not r.site.country for r in proposal.results):
        lines.append(t("Grid carbon intensity given as a number where no country is named "
                       "(the post's 450 grams per kWh is a CO2 figure; this report calls "
                       "every grid and device figure CO2e)."))
    for iso3, name, year, g in proposal.countries:
        lines.append(t("{country} ({iso3}): {g} g CO2e/kWh in {year}; {source}.",
                       country=i18n.country(iso3, name), iso3=iso3, g=num(g), year=year,
                       source=SOURCE))
    if any(model.uses_study_embodied(r) and r.site.origin.get("embodied_saving_kg") == "default"
           for r in proposal.results):
        lines.append(t("Manufacturing CO2e: {source}.", source=t(MAGA)))
    lines.append(f"{t(ATTRIBUTION)}.")
    return lines


def methodology() -> List[str]:
    """How the figures are computed, in plain lines."""
    return [t("Per seat and year: desktops before = desktop W x h/day before x days, plus the "
              "desktop's off or standby power for the rest of the year's {hours} h.",
              hours=show(model.HOURS_PER_YEAR))] + [t(line) for line in (
        "After = residual desktop use (and its off power, when a desktop stays) "
        "+ thin client W x h/day x days + server share.",
        "Server share = servers x server W x server h/day x server days x PUE / seats; "
        "a site buys whole servers (ceil(seats / seats per server)) unless servers are "
        "shared across sites. Servers run in a cooled room, usually around the clock.",
        "Gross saving = desktops before - residual desktop use (what the desktops no longer "
        "use); net saving = before - after (what the customer saves).",
        "Money = kWh x price; kg CO2e = kWh x g CO2e per kWh / 1000.",
        "Over the horizon: devices are bought again when their lifetime ends (desktops "
        "not bought recur too); the price escalates and money is discounted by the "
        "rates listed; payback is when the running total stays at or above zero for the "
        "rest of the horizon.",
        "For comparison: " + FRAUNHOFER + ".",
    )]
