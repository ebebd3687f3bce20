"""What the human formats (text, markdown, HTML) say, built once.

Display rounding (half up to whole units: 164.25 kWh shows as 164, as the
posts did), the rows of the tables, a site's basis, the cost lines, and the
method and sources (the machine formats carry the sources too). The
renderers only lay these out.
"""

import math
from decimal import ROUND_HALF_UP, Decimal
from typing import List, Optional, Tuple

from . import lifecycle, model
from .carbon import ATTRIBUTION, SOURCE
from .proposal import Proposal
from .sources import FRAUNHOFER, POST_SAYS

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
    """Display rounding: half up, thousands separators, no '-0'."""
    if value is None:
        return "-"
    q = Decimal(1).scaleb(-decimals)
    d = Decimal(repr(float(value))).quantize(q, rounding=ROUND_HALF_UP)
    if d == 0:
        d = abs(d)
    return f"{d:,.{decimals}f}"


def num(value: float) -> str:
    """An input figure as typed: 0.5, 24, 1.5."""
    return f"{value:g}"


def money(value: Optional[float], currency: Optional[str], exact: bool = False) -> str:
    """An amount of money with its currency: '1,234 EUR' (the one place that
    places the currency, so a locale can move it); ``exact``: an input price
    as typed ('249.5 EUR'), not rounded."""
    shown = num(value) if exact and value is not None else show(value)
    return f"{shown} {money_word(currency)}"


def money_word(currency: Optional[str]) -> str:
    """The money column's heading: the currency, or 'money' when mixed."""
    return currency or "money"


def seats_text(n: int) -> str:
    """'1 seat', '1,200 seats'."""
    return f"{n:,} seat" + ("" if n == 1 else "s")


def total_heading(total: model.Total) -> str:
    """'3 sites, 157 seats'."""
    return f"{total.sites:,} site{'s' if total.sites != 1 else ''}, {seats_text(total.seats)}"


# --- the tables ----------------------------------------------------------------

def site_rows(result: model.SiteResult) -> List[SiteRow]:
    """A site's table, one row per line of the comparison."""
    return [(model.LINE_LABELS[k], show(result.kwh_per_seat[k]), show(result.kwh[k]),
             show(result.money[k]), show(result.co2_kg[k])) for k in model.LINES]


def total_rows(total: model.Total) -> List[TotalRow]:
    """The total's table; money '-' when the sites' currencies differ."""
    money = total.money or {}
    return [(model.LINE_LABELS[k], show(total.kwh[k]), show(money.get(k)),
             show(total.co2_kg[k])) for k in model.LINES]


# --- what a site rests on, and what it costs ------------------------------------

def grid_source(site: model.Site) -> str:
    """Where a site's grid carbon intensity came from."""
    if site.country:
        return (f"{site.country_name} ({site.country}) {site.country_year}, "
                "Ember and Our World in Data via CodeCarbon")
    return "as given"


def basis(site: model.Site) -> List[str]:
    """The inputs of a site in four plain lines."""
    share_w = site.server_count * site.server_watts * site.pue / site.seats
    return [
        f"Desktops: {num(site.desktop_watts)} W, {num(site.hours_before)} h/day before, "
        f"{num(site.hours_after)} h/day after, {num(site.days)} days/year",
        f"Thin clients: {num(site.thin_client_watts)} W, {num(site.thin_client_hours)} h/day",
        f"Server: {num(site.server_watts)} W, {num(site.server_hours)} h/day, "
        f"{num(site.server_days)} days/year, PUE {num(site.pue)}, "
        f"seats per server {num(site.seats_per_server)}: {num_servers(site.server_count)} "
        f"{'shared' if site.servers is not None else 'bought'} "
        f"(= {show(share_w, 1)} W per seat while on)",
        f"Electricity: {num(site.price)} {site.currency}/kWh; "
        f"{num(site.g_per_kwh)} g {CO2E}/kWh ({grid_source(site)})",
    ]


def _signed(value: float, more: str, less: str, unit: str = "") -> str:
    """'1,234 kWh saved' or '1,234 kWh extra': never '-1,234 ... saved'."""
    word = more if value >= 0 else less
    return f"{show(abs(value))}{unit} {word}"


def cost_lines(costs: Optional[model.Costs], currency: Optional[str],
               site: Optional[model.Site] = None, seats: Optional[int] = None) -> List[str]:
    """Investment, payback and horizon in plain lines; none without costs.
    With ``site``, the investment line names its hardware prices; with
    ``seats`` (or a site) a line per seat follows."""
    if costs is None:
        return []
    lines = []
    invest = f"Investment at the switch: {money(costs.investment, currency)}"
    if site is not None:
        parts = []
        if site.thin_client_price is not None:
            parts.append(f"thin clients at {money(site.thin_client_price, currency, exact=True)}")
        if site.server_price is not None:
            parts.append(f"{num_servers(site.server_count)} at "
                         f"{money(site.server_price, currency, exact=True)}")
        if parts:
            invest += f" ({', '.join(parts)})"
    lines.append(invest)
    if costs.avoided:
        if costs.net_investment <= 0:
            lines.append(f"Desktops not bought: {money(costs.avoided, currency)}: ahead from "
                         f"day one by {money(-costs.net_investment, currency)}")
        else:
            lines.append(f"Desktops not bought: {money(costs.avoided, currency)}; "
                         f"net investment {money(costs.net_investment, currency)}")
    if costs.net_investment > 0 or costs.payback_years != 0:
        text = payback_text(costs.payback_years)
        lines.append(text[0].upper() + text[1:])
    horizon = f"Over {costs.years} years" if costs.years else "Over each site's horizon"
    if costs.refresh:
        spent = _signed(costs.refresh, "spent", "saved", " " + money_word(currency))
        lines.append(f"{horizon}, replacements (thin clients and servers, less the desktops "
                     f"not bought): {spent}")
    word = "net benefit" if costs.horizon_benefit >= 0 else "net cost"
    lines.append(f"{horizon}: {word} {money(abs(costs.horizon_benefit), currency)}, "
                 f"{_signed(costs.horizon_kwh, 'saved', 'extra', ' kWh')} and "
                 f"{_signed(costs.horizon_co2_kg, 'saved', 'extra', ' ' + KG)}")
    if costs.embodied_co2_kg:
        lines.append(f"Manufacturing {CO2E} {horizon.lower()}: "
                     f"{_signed(costs.embodied_co2_kg, 'avoided', 'extra', ' ' + KG)}")
    seats = seats if seats is not None else (site.seats if site is not None else None)
    if seats:
        lines.append(f"Per seat {horizon.lower()}: {word} "
                     f"{money(abs(costs.horizon_benefit) / seats, currency)}, "
                     f"{_signed(costs.horizon_co2_kg / seats, 'saved', 'extra', ' ' + KG)}")
    return lines


def num_servers(count: float) -> str:
    """'1 server', '4 servers', '1.3 servers' (a share of a shared pool)."""
    shown = show(count) if float(count).is_integer() else show(count, 1)
    return f"{shown} server" + ("" if shown == "1" else "s")


def payback_text(years: Optional[float]) -> str:
    """The payback in words: 'payback in 14 months', '... in 4.3 years' (over
    36 months), 'ahead from day one', or no payback within the limit."""
    if years is None:
        return f"no payback within {lifecycle.PAYBACK_LIMIT} years"
    if years == 0:
        return "ahead from day one"
    months = int(math.ceil(round(years * 12, 6)))
    if months <= MONTHS_UP_TO:
        return f"payback in {months} month{'s' if months != 1 else ''}"
    return f"payback in {show(years, 1)} years"


# --- scenarios and sensitivity --------------------------------------------------

def scenario_table(proposal: Proposal) -> Tuple[List[str], List[List[str]]]:
    """Header and rows: 'expected' (the proposal as given) and each scenario,
    side by side; no rows without scenarios."""
    if not proposal.scenarios:
        return [], []
    columns = [("expected", proposal.total)] + [(sc.name, sc.total) for sc in proposal.scenarios]
    cur = money_word(proposal.total.currency)
    rows = [
        ["changes"] + ["as given"] + [", ".join(f"{model.FIELD[k].label.lower()} {num(v)}"
                                                for k, v in sc.changes.items())
                                      for sc in proposal.scenarios],
        ["net kWh per year"] + [show(t.kwh["net_saving"]) for _, t in columns],
        [f"net {cur} per year"] + [show(t.money["net_saving"]) if t.money else "-"
                                   for _, t in columns],
        [f"{KG} per year"] + [show(t.co2_kg["net_saving"]) for _, t in columns],
    ]
    if proposal.total.costs is not None:
        rows.append(["benefit over the horizon"] +
                    [show(t.costs.horizon_benefit) if t.costs else "-" for _, t in columns])
        rows.append(["payback"] + [payback_text(t.costs.payback_years) if t.costs else "-"
                                   for _, t in columns])
    return ["", *(name for name, _ in columns)], rows


def sensitivity_line(proposal: Proposal) -> str:
    """'+-20 % of one input on every site moves the yearly net saving: ...'."""
    from .scenarios import SENSITIVITY_SITES, SWING_PCT

    found = proposal.sensitivity
    if found is None:
        return (f"Sensitivity: not computed for more than {SENSITIVITY_SITES:,} sites.")
    parts = [f"{s.label} {show(s.low)} to {show(s.high)} {s.unit}"
             for s in found if s.swing > 0]
    if not parts:
        return ""
    return (f"Sensitivity (each input {SWING_PCT} % lower / higher on every site, yearly net "
            f"saving, largest effect first): " + "; ".join(parts))


# --- method and sources ----------------------------------------------------------

def sources(proposal: Proposal) -> List[str]:
    """Where the presets and the grid figures come from, with the attribution."""
    lines = [f"Presets: {POST_SAYS}."]
    if any(not r.site.country for r in proposal.results):
        lines.append(f"Grid carbon intensity given as a number where no country is named "
                     f"(the post's 450 grams per kWh is a CO2 figure; this report calls "
                     f"every grid and device figure {CO2E}).")
    for iso3, name, year, g in proposal.countries:
        lines.append(f"{name} ({iso3}): {num(g)} g {CO2E}/kWh in {year}; {SOURCE}.")
    lines.append(f"{ATTRIBUTION}.")
    return lines


def methodology() -> List[str]:
    """How the figures are computed, in plain lines."""
    return [
        "Per seat and year: desktops before = desktop W x h/day before x days, plus the "
        f"desktop's off or standby power for the rest of the year's {model.HOURS_PER_YEAR:,} h.",
        "After = residual desktop use (and its off power, when a desktop stays) "
        "+ thin client W x h/day x days + server share.",
        "Server share = servers x server W x server h/day x server days x PUE / seats; "
        "a site buys whole servers (ceil(seats / seats per server)) unless servers are "
        "shared across sites. Servers run in a cooled room, usually around the clock.",
        "Gross saving = desktops before - residual desktop use (the usual, naive figure); "
        "net saving = before - after (what the customer saves).",
        f"Money = kWh x price; {KG} = kWh x g {CO2E} per kWh / 1000.",
        "Over the horizon: devices are bought again when their lifetime ends (desktops "
        "not bought recur too); the price escalates and money is discounted by the "
        "rates listed; payback is when the running total turns positive.",
        f"For comparison: {FRAUNHOFER}.",
    ]
