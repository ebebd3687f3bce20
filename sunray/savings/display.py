"""What the human formats (text, markdown, HTML) say, built once.

Display rounding (half up to whole units: 164.25 kWh shows as 164, as the
posts did), the rows of the tables, a site's basis, the cost lines, and the
method and sources (the machine formats carry the sources too). The
renderers only lay these out.
"""

from typing import List, Optional, Tuple

from . import i18n, model
from .carbon import ATTRIBUTION, SOURCE
from .proposal import Proposal

POSTS = ("Blog post 'Get Thin and make the World a better place' (26 January 2009): "
         "150 W desktop, 3 h/day before and 0.5 h/day after, 450 g CO2/kWh, "
         "0.25 EUR/kWh; office desktops at 100 W all year")
REFERENCES = ("A 2008 study measured a 16 W thin client plus 41 W of server per seat "
              "(20 seats per server) against an 85 W PC; Forrester (2008) found about "
              "25 % saving once servers and cooling are counted, where '75 %' claims "
              "leave the server out")

# A table row as displayed: the line's label, then its figures.
SiteRow = Tuple[str, str, str, str, str]  # label, kWh per seat, kWh, money, kg CO2
TotalRow = Tuple[str, str, str, str]      # label, kWh, money, kg CO2


# --- numbers and words -------------------------------------------------------

def show(value: Optional[float], decimals: int = 0) -> str:
    """Display rounding: half up, thousands separators, no '-0'; in the
    active language's form (en 1,234.5; de and nl 1.234,5)."""
    return i18n.active().number(value, decimals)


def num(value: float) -> str:
    """An input figure as typed: 0.5, 24, 1.5 (de and nl: 0,5)."""
    return i18n.active().plain(value)


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
    return [(i18n.t(model.LINE_LABELS[k]), show(result.kwh_per_seat[k]), show(result.kwh[k]),
             show(result.money[k]), show(result.co2_kg[k])) for k in model.LINES]


def total_rows(total: model.Total) -> List[TotalRow]:
    """The total's table; money '-' when the sites' currencies differ."""
    money = total.money or {}
    return [(i18n.t(model.LINE_LABELS[k]), show(total.kwh[k]), show(money.get(k)),
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
    share_w = site.server_watts * site.pue / site.seats_per_server
    return [
        f"Desktops: {num(site.desktop_watts)} W, {num(site.hours_before)} h/day before, "
        f"{num(site.hours_after)} h/day after, {num(site.days)} days/year",
        f"Thin clients: {num(site.thin_client_watts)} W, {num(site.thin_client_hours)} h/day",
        f"Server: {num(site.server_watts)} W, {num(site.server_hours)} h/day, "
        f"{num(site.server_days)} days/year, PUE {num(site.pue)}, "
        f"seats per server {num(site.seats_per_server)} "
        f"(= {show(share_w, 1)} W per seat while on)",
        f"Electricity: {num(site.price)} {site.currency}/kWh; "
        f"{num(site.g_per_kwh)} g CO2/kWh ({grid_source(site)})",
    ]


def cost_lines(costs: Optional[model.Costs], currency: Optional[str],
               site: Optional[model.Site] = None) -> List[str]:
    """Investment, payback and horizon in plain lines; none without costs.
    With ``site``, the investment line names its hardware prices."""
    if costs is None:
        return []
    cur = money_word(currency)
    lines = []
    invest = f"Investment: {show(costs.investment)} {cur}"
    if site is not None:
        parts = []
        if site.thin_client_price is not None:
            parts.append(f"thin clients at {num(site.thin_client_price)} {cur}")
        if site.server_price is not None:
            parts.append(f"servers at {num(site.server_price)} {cur} per "
                         f"{num(site.seats_per_server)} seats")
        if parts:
            invest += f" ({', '.join(parts)})"
    lines.append(invest)
    lines.append(f"Avoided desktop replacements: {show(costs.avoided)} {cur}; "
                 f"net investment {show(costs.net_investment)} {cur}")
    lines.append(f"Payback: {payback_text(costs.payback_years)}")
    horizon = f"Over {costs.years} years" if costs.years else "Over each site's horizon"
    lines.append(f"{horizon}: net benefit {show(costs.horizon_benefit)} {cur}, "
                 f"{show(costs.horizon_kwh)} kWh and {show(costs.horizon_co2_kg)} kg CO2 saved")
    return lines


def payback_text(years: Optional[float]) -> str:
    """The payback time in words: never, at once, or '7.2 years'."""
    if years is None:
        return "never, on electricity alone"
    if years == 0:
        return "at once (the avoided desktops pay for it)"
    return f"{show(years, 1)} years"


# --- method and sources ----------------------------------------------------------

def sources(proposal: Proposal) -> List[str]:
    """Where the presets and the grid figures come from, with the attribution."""
    lines = [f"Presets: {POSTS}."]
    if any(not r.site.country for r in proposal.results):
        lines.append("Grid carbon intensity given as a number where no country is named "
                     "(the posts used 450 g CO2/kWh, the Netherlands in 2009).")
    for iso3, name, year, g in proposal.countries:
        lines.append(f"{name} ({iso3}): {num(g)} g CO2e/kWh in {year}; {SOURCE}.")
    lines.append(f"{i18n.t(ATTRIBUTION)}.")
    return lines


def methodology() -> List[str]:
    """How the figures are computed, in plain lines."""
    return [
        "Per seat and year: desktops before = desktop W x h/day before x days.",
        "After = residual desktop use + thin client W x h/day x days + server share.",
        "Server share = server W x server h/day x server days x PUE / seats per server: "
        "servers run in a cooled room, usually around the clock.",
        "Gross saving = desktops before - residual desktop use (the usual, naive figure); "
        "net saving = before - after (what the customer saves).",
        "Money = kWh x price; CO2 kg = kWh x g CO2 per kWh / 1000.",
        f"For comparison: {REFERENCES}.",
    ]
