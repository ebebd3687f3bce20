"""The savings model: desktops replaced by Sun Rays, per seat and per year.

Pure arithmetic, no I/O. For one site (a group of seats sharing inputs):

* before        = desktop W x desktop h/day x days
                + desktop off W x the year's other hours (standby, plugged in)
* after         = residual desktop use (the same for the residual h/day; no
                  off power when no desktop stays, residual h/day 0)
                + thin client W x its h/day x days
                + server share = servers x server W x server h/day x server days
                                 x PUE / seats
* gross saving  = before - residual desktop use   (what the posts computed)
* net saving    = before - after                   (what the customer gets)

A site buys whole servers: ceil(seats / seats per server), unless the
proposal shares servers across sites (the caller passes the site's share of
the pool). Energy in kWh, money = kWh x price, CO2e in kg = kWh x g/kWh /
1000. The server share is where naive comparisons cheat: servers run 24x7
in a cooled room (PUE), whatever the desktops did. Money over the years
(refreshes, escalation, discounting, payback) is ``lifecycle``'s. Values are
plain floats; rounding is the renderers' business.
"""

import math
import operator
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

from ..core.errors import UsageError
from . import lifecycle
from .lifecycle import Costs

__all__ = ["Costs"]  # re-exported: a SiteResult's money is a lifecycle.Costs


@dataclass(frozen=True)
class Field:
    """One model input: its kind, allowed range and how to describe it."""

    name: str
    kind: str  # "int", "number", "text" or "country"
    low: float
    high: float
    unit: str
    label: str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def allowed(self) -> str:
        if self.kind == "text":
            return f"allowed: text of {self.low:g} to {self.high:g} characters"
        if self.kind == "country":
            return "allowed: an ISO 3166 alpha-3 code such as NLD"
        whole = "a whole number " if self.kind == "int" else ""
        unit = f" {self.unit}" if self.unit else ""
        return f"allowed: {whole}{_plain(self.low)}..{_plain(self.high)}{unit}"


def _plain(x: float) -> str:
    """1000000 -> '1,000,000', 0.5 -> '0.5' (never '1e+06' in a message)."""
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


FIELDS = (
    Field("seats", "int", 1, 1_000_000, "seats", "Seats (desktops replaced)"),
    Field("desktop_watts", "number", 0, 5000, "W", "Desktop power"),
    Field("hours_before", "number", 0, 24, "h/day", "Desktop use before"),
    Field("hours_after", "number", 0, 24, "h/day", "Residual desktop use after"),
    Field("thin_client_watts", "number", 0, 1000, "W", "Thin client power"),
    Field("thin_client_hours", "number", 0, 24, "h/day", "Thin client use"),
    Field("server_watts", "number", 0, 100_000, "W", "Server power (or extra load)"),
    Field("server_hours", "number", 0, 24, "h/day", "Server hours"),
    Field("server_days", "number", 1, 366, "days/year", "Server days"),
    Field("seats_per_server", "number", 1, 10_000, "seats", "Seats per server"),
    Field("pue", "number", 1, 3, "", "PUE (server room cooling overhead)"),
    Field("days", "number", 1, 366, "days/year", "Days of use"),
    Field("price", "number", 0, 1_000_000, "per kWh", "Electricity price"),
    Field("currency", "text", 1, 8, "", "Currency"),
    Field("g_per_kwh", "number", 0, 2000, "g CO2e/kWh", "Grid carbon intensity"),
    Field("country", "country", 0, 0, "", "Country (grid carbon intensity)"),
    Field("thin_client_price", "number", 0, 10_000_000, "per thin client", "Thin client price"),
    Field("server_price", "number", 0, 10_000_000, "per server", "Server price"),
    Field("desktop_price", "number", 0, 10_000_000, "per seat",
          "Avoided desktop replacement"),
    Field("years", "int", 1, 30, "years", "Horizon"),
    Field("desktop_off_watts", "number", 0, 500, "W", "Desktop power when off or asleep"),
    Field("desktop_life", "number", 1, 30, "years", "Desktop lifetime (refresh cycle)"),
    Field("thin_client_life", "number", 1, 30, "years", "Thin client lifetime"),
    Field("server_life", "number", 1, 30, "years", "Server lifetime"),
    Field("running_cost", "number", -1_000_000, 1_000_000, "per seat and year",
          "Extra admin/licence cost of thin clients (negative: a saving)"),
    Field("price_escalation", "number", -20, 50, "% per year", "Electricity price escalation"),
    Field("discount_rate", "number", 0, 50, "% per year", "Discount rate"),
    Field("desktop_embodied_kg", "number", 0, 10_000, "kg CO2e per desktop",
          "Desktop manufacturing CO2e"),
    Field("thin_client_embodied_kg", "number", 0, 10_000, "kg CO2e per thin client",
          "Thin client manufacturing CO2e"),
    Field("server_embodied_kg", "number", 0, 100_000, "kg CO2e per server",
          "Server manufacturing CO2e"),
    Field("embodied_saving_kg", "number", 0, 10_000, "kg CO2e per seat in 5 years",
          "Manufacturing CO2e avoided per workplace (without per-device figures)"),
)
FIELD = {f.name: f for f in FIELDS}
_NUMBERS = ("int", "number")
COST_FIELDS = ("thin_client_price", "server_price", "desktop_price")
HOURS_PER_YEAR = 24 * 365

# Inputs no preset sets: (value, where it comes from). The report lists each
# one it used with this source; ours are marked as ours.
OURS = "our assumption"
DEFAULTS: Dict[str, Tuple[float, str]] = {
    "desktop_off_watts": (2, f"{OURS}: a PC switched off or asleep but plugged in; "
                          "measure yours"),
    "desktop_life": (4, f"{OURS}: a common office PC refresh cycle"),
    "thin_client_life": (8, f"{OURS}: thin-client vendors claim about twice a PC's life"),
    "server_life": (5, f"{OURS}: a common server refresh cycle"),
    "running_cost": (0, "not counted unless given"),
    "price_escalation": (0, f"{OURS}: today's price throughout"),
    "discount_rate": (0, f"{OURS}: money not discounted"),
    "desktop_embodied_kg": (0, "not counted unless given (your vendor's product "
                            "carbon footprint sheet)"),
    "thin_client_embodied_kg": (0, "not counted unless given"),
    "server_embodied_kg": (0, "not counted unless given"),
    "embodied_saving_kg": (80, "Maga, Hiebel, Knermann 2013, Int J Life Cycle Assess 18: a "
                           "lower bound, scaled to the horizon; per-device figures replace it"),
}

# Presets reproduce the posts (FACTS.md section 1). Figures the posts do not
# give are ours and say so in the README:
# - home: the posts' server is on 24x7 anyway and "only uses a bit more power
#   when using the SunRay": 10 W extra while the Sun Ray is in use (2.5 h,
#   the time moved off the desktop), at home, so no cooling (PUE 1).
# - office: a 400 W server for 15 seats in a PUE 1.5 room is 40 W per seat,
#   24x7: 350 kWh, 40 % of the 876 kWh desktop, inside the posts' "at most
#   half of those savings need to be invested in servers" (15 seats fill
#   the one whole server a site buys).
# - price: the post gives 34 euros for 137 kWh, about 0.25 EUR/kWh; it does
#   not state a price. The desktops of both are used, not left on standby
#   (home: off power 0, as the post counts only hours of use).
PRESETS = {
    "home": dict(
        seats=1, desktop_watts=150, hours_before=3, hours_after=0.5,
        thin_client_watts=4, thin_client_hours=2.5,
        server_watts=10, server_hours=2.5, server_days=365, seats_per_server=1, pue=1.0,
        days=365, price=0.25, currency="EUR", g_per_kwh=450, years=5,
        desktop_off_watts=0,
    ),
    "office": dict(
        seats=1, desktop_watts=100, hours_before=24, hours_after=0,
        thin_client_watts=4, thin_client_hours=24,
        server_watts=400, server_hours=24, server_days=365, seats_per_server=15, pue=1.5,
        days=365, price=0.25, currency="EUR", g_per_kwh=450, years=5,
    ),
}

LINES = ("before", "desktop_after", "thin_client", "server", "after",
         "gross_saving", "net_saving")
LINE_LABELS = {
    "before": "Desktops before",
    "desktop_after": "Desktops after (residual use)",
    "thin_client": "Thin clients",
    "server": "Server share",
    "after": "After, in total",
    "gross_saving": "Gross saving (desktops only)",
    "net_saving": "Net saving (after thin clients and servers)",
}


def check(name: str, value: Any, where: str, shown: Optional[str] = None) -> Union[float, str]:
    """``value`` for field ``name`` if allowed, else a UsageError that names
    where it came from, the value (``shown``: as typed) and the allowed range."""
    f = FIELD[name]
    # The usual value first, at once: a number of the field's kind in range
    # (NaN compares false, so it goes the long way below).
    kind = type(value)
    if ((kind is int and f.kind in _NUMBERS) or (kind is float and f.kind == "number")) \
            and f.low <= value <= f.high:
        return value

    def refused(problem: str) -> UsageError:
        # Worded only when refused: 10,000 sites are 350,000 checks.
        said = f"{where} {shown}" if shown is not None else f"{where} = {value!r}"
        return UsageError(f"{said}: {problem}")

    if f.kind in _NUMBERS:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise refused(f"not a number; {f.allowed()}")
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            raise refused(f"not a finite number; {f.allowed()}")
        if f.kind == "int":
            if value != int(value):
                raise refused(f"not a whole number; {f.allowed()}")
            value = int(value)
        if not f.low <= value <= f.high:
            raise refused(f"out of range; {f.allowed()}")
        return value
    if not isinstance(value, str):
        raise refused(f"expected text; {f.allowed()}")
    if f.kind == "text":
        value = value.strip()
        if not f.low <= len(value) <= f.high or not value.isprintable():
            raise refused(f"{f.allowed()}, printable")
    return value


def parse_flag(name: str, text: str) -> Union[float, str]:
    """A command-line value (always a string) converted and checked."""
    f = FIELD[name]
    where = f.flag
    if f.kind in ("int", "number"):
        try:
            value = float(str(text).strip())
        except ValueError:
            raise UsageError(f"{where} {text!r}: not a number; {f.allowed()}") from None
        return check(name, value, where, shown=text)
    return check(name, str(text), where, shown=text)


def check_name(value: Any, where: str) -> str:
    """A site's name: printable text, 1..200 characters."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise UsageError(f"{where} = {value!r}: expected text (the site's name)")
    text = str(value).strip()
    if not 1 <= len(text) <= 200 or not text.isprintable():
        raise UsageError(f"{where} = {value!r}: allowed: printable text of 1 to 200 "
                         "characters")
    return text


# Site, SiteResult and lifecycle's Devices and Costs are values: never
# assigned to once built (dataclasses.replace makes a variant). They are not
# frozen because a frozen dataclass sets each field through
# object.__setattr__: 10,000 sites build 40,000 of them, 0.08 s of the 1 s
# that proposal is given.
@dataclass
class Site:
    """The validated inputs of one site or scenario."""

    name: str
    seats: int
    desktop_watts: float
    hours_before: float
    hours_after: float
    thin_client_watts: float
    thin_client_hours: float
    server_watts: float
    server_hours: float
    server_days: float
    seats_per_server: float
    pue: float
    days: float
    price: float
    currency: str
    g_per_kwh: float
    years: int
    preset: str = ""
    # Where g_per_kwh came from: None = given as a number, else the table row.
    country: Optional[str] = None
    country_name: str = ""
    country_year: Optional[int] = None
    thin_client_price: Optional[float] = None
    server_price: Optional[float] = None
    desktop_price: Optional[float] = None
    desktop_off_watts: float = DEFAULTS["desktop_off_watts"][0]
    desktop_life: float = DEFAULTS["desktop_life"][0]
    thin_client_life: float = DEFAULTS["thin_client_life"][0]
    server_life: float = DEFAULTS["server_life"][0]
    running_cost: float = DEFAULTS["running_cost"][0]
    price_escalation: float = DEFAULTS["price_escalation"][0]
    discount_rate: float = DEFAULTS["discount_rate"][0]
    desktop_embodied_kg: float = DEFAULTS["desktop_embodied_kg"][0]
    thin_client_embodied_kg: float = DEFAULTS["thin_client_embodied_kg"][0]
    server_embodied_kg: float = DEFAULTS["server_embodied_kg"][0]
    embodied_saving_kg: float = DEFAULTS["embodied_saving_kg"][0]
    # Servers this site pays for: None = whole servers of its own,
    # ceil(seats / seats per server); a number = its share of a shared pool.
    servers: Optional[float] = None
    # Where each input came from: {field: "preset office", "--price", ...}.
    # Shared by the sites of a proposal whose values come from the same
    # places: read it, never change it.
    origin: Dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def has_costs(self) -> bool:
        return self.running_cost != 0 or _cost_inputs(self) != _NO_COST_INPUTS

    @property
    def server_count(self) -> float:
        """Servers the site pays for (whole, or its share of a shared pool)."""
        if self.servers is not None:
            return self.servers
        return float(math.ceil(self.seats / self.seats_per_server - 1e-9))


# A Site's input values in the order of FIELD, as a tuple.
input_values = operator.attrgetter(*FIELD)
_cost_inputs = operator.attrgetter(*COST_FIELDS)
_NO_COST_INPUTS = (None,) * len(COST_FIELDS)


def device_embodied(site: Site) -> bool:
    """Whether per-device manufacturing figures replace the study's per seat."""
    return bool(site.desktop_embodied_kg or site.thin_client_embodied_kg
                or site.server_embodied_kg)


def uses_study_embodied(result: "SiteResult") -> bool:
    """Whether a site's manufacturing CO2e is the study's per-seat figure
    (it has costs, and no per-device figure replaces it)."""
    return result.costs is not None and not device_embodied(result.site)


@dataclass
class SiteResult:
    """Energy per seat, and energy, money and CO2 for all of a site's seats."""

    site: Site
    kwh_per_seat: Dict[str, float]
    kwh: Dict[str, float]
    money: Dict[str, float]
    co2_kg: Dict[str, float]
    costs: Optional[Costs]

    @property
    def server_fraction(self) -> Optional[float]:
        """Server share as a fraction of the gross desktop saving."""
        gross = self.kwh_per_seat["gross_saving"]
        return self.kwh_per_seat["server"] / gross if gross > 0 else None


def energy_per_seat(s: Site) -> Dict[str, float]:
    """kWh per seat per year for every line of the comparison."""
    used_before = s.hours_before * s.days
    used_after = s.hours_after * s.days
    off = s.desktop_off_watts / 1000
    before = s.desktop_watts * used_before / 1000 + off * max(HOURS_PER_YEAR - used_before, 0)
    desktop_after = s.desktop_watts * used_after / 1000
    if s.hours_after > 0:  # the desktop stays, and idles plugged in the rest of the year
        desktop_after += off * max(HOURS_PER_YEAR - used_after, 0)
    thin_client = s.thin_client_watts * s.thin_client_hours * s.days / 1000
    server = (s.server_count * s.server_watts * s.server_hours * s.server_days * s.pue
              / s.seats / 1000)
    after = desktop_after + thin_client + server
    return {
        "before": before,
        "desktop_after": desktop_after,
        "thin_client": thin_client,
        "server": server,
        "after": after,
        "gross_saving": before - desktop_after,
        "net_saving": before - after,
    }


def compute(site: Site) -> SiteResult:
    """The SiteResult of one validated Site."""
    per_seat = energy_per_seat(site)
    seats = site.seats
    kwh = {k: v * seats for k, v in per_seat.items()}
    price = site.price
    co2_factor = site.g_per_kwh / 1000
    money = {k: v * price for k, v in kwh.items()}
    co2 = {k: v * co2_factor for k, v in kwh.items()}
    costs = None
    if site.has_costs:
        costs = horizon_costs(site, money["net_saving"], kwh["net_saving"], co2["net_saving"])
    return SiteResult(site, per_seat, kwh, money, co2, costs)


def horizon_costs(site: Site, yearly_money: float, yearly_kwh: float,
                  yearly_co2_kg: float) -> Costs:
    """A site's money over the horizon from its net yearly saving (``compute``
    counts it when the site has prices or a running cost; the workbook for
    every site, prices it lacks at 0)."""
    seats = site.seats
    devices = lifecycle.Devices(
        seats, site.server_count, site.thin_client_price or 0, site.server_price or 0,
        site.desktop_price or 0, site.thin_client_life, site.server_life,
        site.desktop_life, site.thin_client_embodied_kg, site.server_embodied_kg,
        site.desktop_embodied_kg,
        0.0 if device_embodied(site) else site.embodied_saving_kg)
    return lifecycle.costs(devices, yearly_money, site.running_cost * seats, site.years,
                           site.price_escalation, site.discount_rate, yearly_kwh, yearly_co2_kg)


@dataclass(frozen=True)
class Total:
    """All sites together. Money only when every site uses one currency."""

    sites: int
    seats: int
    kwh: Dict[str, float]
    co2_kg: Dict[str, float]
    currency: Optional[str]
    money: Optional[Dict[str, float]]
    costs: Optional[Costs]
    servers: float = 0.0


def total(results: List[SiteResult]) -> Total:
    """Sum a list of SiteResults."""
    def summed(tables: Iterable[Dict[str, float]]) -> Dict[str, float]:
        # Every table has the keys of LINES in that order.
        sums = lifecycle.column_sums(t.values() for t in tables)
        return dict(zip(LINES, sums or [0.0] * len(LINES)))

    kwh = summed(r.kwh for r in results)
    co2 = summed(r.co2_kg for r in results)
    money = summed(r.money for r in results)
    seats = sum(r.site.seats for r in results)
    currencies = {r.site.currency for r in results}
    currency = currencies.pop() if len(currencies) == 1 else None
    site_costs = [r.costs for r in results if r.costs is not None]
    costs = lifecycle.add(site_costs) if currency and site_costs else None
    servers = sum(r.site.server_count for r in results)
    return Total(len(results), seats, kwh, co2, currency,
                 money if currency else None, costs, servers)


def observations(results: List[SiteResult]) -> List[str]:
    """Plain-language remarks a customer should read next to the figures,
    each said once, naming the sites it applies to."""
    from .i18n import t

    def named(rs: List[SiteResult]) -> str:
        names = [r.site.name for r in rs]
        if len(results) == 1:
            return ""
        if len(names) == len(results):
            return t(" (every site)")
        shown = ", ".join(names[:5])
        if len(names) > 5:
            shown = t("{names} and {n} more", names=shown, n=f"{len(names) - 5:,}")
        return f" ({shown})"

    notes = []
    losing = [r for r in results if r.kwh_per_seat["net_saving"] <= 0]
    if losing:
        notes.append(t("There is no net saving{sites}: thin clients and servers use as much "
                       "as the desktops saved, or more.", sites=named(losing)))
    heavy = [r for r in results
             if r.server_fraction is not None and r.server_fraction > 0.5]
    if heavy:
        notes.append(t("The server share is above the posts' rule of thumb (at most half the "
                       "gross desktop saving){sites}.", sites=named(heavy)))
    never = [r for r in results if r.costs is not None and r.costs.payback_years is None]
    if never:
        notes.append(t("The hardware does not pay back within {years} years on these "
                       "figures{sites}.", years=lifecycle.PAYBACK_LIMIT, sites=named(never)))
    idle = [r for r in results if r.site.servers is None
            and r.site.seats < 0.5 * r.site.server_count * r.site.seats_per_server]
    if idle:
        notes.append(t("Whole servers less than half used{sites}: with 'servers: shared' "
                       "sites share servers and each carries its seats' share.",
                       sites=named(idle)))
    return notes
