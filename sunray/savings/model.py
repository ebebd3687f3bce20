"""The savings model: desktops replaced by Sun Rays, per seat and per year.

Pure arithmetic, no I/O. For one site (a group of seats sharing inputs):

* before        = desktop W x desktop h/day x days
                + desktop off W x the year's other hours (standby, plugged in)
* after         = residual desktop use (the same for the residual h/day; no
                  off power when no desktop stays, residual h/day 0)
                + thin client W x its h/day x days
                + thin client standby W x standby h/year (given, else the rest
                  of the year: 8,760 - thin client h/day x days)
                + server share = servers x server W x server h/day x server days
                                 x PUE / seats
* gross saving  = before - residual desktop use   (what the posts computed)
* net saving    = before - after                   (what the customer gets)

A site buys whole servers: ceil(seats / seats per server), unless the
proposal shares servers across sites (the caller passes the site's share of
the pool). Energy in kWh, money = kWh x price, CO2e in kg = kWh x g/kWh /
1000. The server share is where naive comparisons cheat: servers run 24x7
in a cooled room (PUE), whatever the desktops did. Money over the years
(refreshes, escalation, discounting, residual value, payback) is
``lifecycle``'s; this passes it the yearly cost per seat besides energy,
admin after - admin before + licences + other running cost, and the
one-off deployment cost per seat. Values are plain floats; rounding is the
renderers' business.
"""

import math
import operator
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional

from . import lifecycle
from .fields import (
    COST_FIELDS,
    DEFAULTS,
    FIELD,
    FIELDS,
    HOURS_PER_YEAR,
    OURS,
    PRESETS,
    Field,
    check,
    check_name,
    parse_flag,
)
from .lifecycle import Costs

# Re-exported: the inputs are fields' (the model's callers name them here),
# and a SiteResult's money is a lifecycle.Costs.
__all__ = ["COST_FIELDS", "Costs", "DEFAULTS", "FIELD", "FIELDS", "Field", "HOURS_PER_YEAR",
           "OURS", "PRESETS", "check", "check_name", "parse_flag"]


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
    admin_before: float = DEFAULTS["admin_before"][0]
    admin_after: float = DEFAULTS["admin_after"][0]
    licence_cost: float = DEFAULTS["licence_cost"][0]
    deployment_cost: float = DEFAULTS["deployment_cost"][0]
    residual_value: bool = DEFAULTS["residual_value"][0]
    thin_client_standby_watts: float = DEFAULTS["thin_client_standby_watts"][0]
    thin_client_standby_hours: Optional[float] = DEFAULTS["thin_client_standby_hours"][0]
    # Servers this site pays for: None = whole servers of its own,
    # ceil(seats / seats per server); a number = its share of a shared pool.
    servers: Optional[float] = None
    # Where each input came from: {field: "preset office", "--price", ...}.
    # Shared by the sites of a proposal whose values come from the same
    # places: read it, never change it.
    origin: Dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def has_costs(self) -> bool:
        return (self.running_cost != 0 or _cost_inputs(self) != _NO_COST_INPUTS
                or self.yearly_other_cost != 0 or self.deployment_cost != 0)

    @property
    def yearly_other_cost(self) -> float:
        """The yearly cost per seat besides energy that the switch adds
        (negative: saves): admin after - admin before + licences + other."""
        return self.admin_after - self.admin_before + self.licence_cost + self.running_cost

    @property
    def standby_hours(self) -> float:
        """Hours a year a thin client is plugged in but not used: as given,
        else the rest of the year."""
        if self.thin_client_standby_hours is not None:
            return self.thin_client_standby_hours
        return max(HOURS_PER_YEAR - self.thin_client_hours * self.days, 0.0)

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
    if s.thin_client_standby_watts:
        thin_client += s.thin_client_standby_watts * s.standby_hours / 1000
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
    return lifecycle.costs(devices, yearly_money, site.yearly_other_cost * seats, site.years,
                           site.price_escalation, site.discount_rate, yearly_kwh, yearly_co2_kg,
                           deployment=site.deployment_cost * seats, residual=bool(site.residual_value))


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
    assumed = [r for r in results if r.site.origin.get("seats") == "assumed"
               and r.site.seats > 1]
    if assumed:
        s = assumed[0].site
        notes.append(t("No number of seats was given: {seats} seats assumed, the seats one "
                       "server carries ({per} per server); give --seats for the real site.",
                       seats=f"{s.seats:,}", per=f"{s.seats_per_server:g}"))
    losing = [r for r in results if r.kwh_per_seat["net_saving"] <= 0]
    if losing:
        notes.append(t("There is no net saving{sites}: thin clients and servers use as much "
                       "as the desktops saved, or more.", sites=named(losing)))
    heavy = [r for r in results
             if r.server_fraction is not None and r.server_fraction > 0.5]
    if heavy:
        notes.append(t("The servers take more than half of what the desktops no longer use "
                       "(a common rule of thumb: at most half){sites}.", sites=named(heavy)))
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
