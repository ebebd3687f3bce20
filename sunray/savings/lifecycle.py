"""Money and embodied CO2e over the horizon: purchases, refreshes, payback.

Pure arithmetic, no I/O. Time runs in years from the day of the switch
(t = 0). At t = 0 the site buys its thin clients and servers and does not
buy the desktops it would otherwise have bought; every device is bought
again when its lifetime ends (t = life, 2 x life, ... inside the horizon),
so avoided desktop purchases recur too. Each year brings the energy money
saving (escalated by the price escalation, year 1 at today's price) minus
the extra running cost per seat (admin, licences). Money at time t is
discounted by (1 + discount rate)^t; savings count at the end of their year.

The horizon benefit is the net present value of all that. The running
total of discounted money moves in steps (purchases at the start of a year)
and straight lines (a year's saving); the spans in which it is below zero
inside the horizon are kept, so the report can say "ahead at the switch,
below zero in years 2-4" instead of two words that contradict each other.
The payback is the moment from which the total stays at or above zero to
the end of the horizon (0: it never goes below zero); when it is still
below zero at the end, the first moment after that it reaches zero, read
to the month (``PAYBACK_LIMIT`` years at most). With 0 % escalation
and discount and lifetimes at least the horizon, the horizon benefit is
years x yearly saving - net investment, as before this model.
"""

import functools
import itertools
import math
import operator
from dataclasses import dataclass
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple

# Payback is looked for this many years ahead, whatever the horizon.
PAYBACK_LIMIT = 30
# The period of the study figure behind Devices.embodied_saving_kg.
EMBODIED_STUDY_YEARS = 5


@dataclass  # a value, not frozen only for speed (see model.Site)
class Devices:
    """What a site buys and avoids, with prices, lifetimes and embodied CO2e."""

    seats: int
    servers: float             # whole per site, or the site's share of a pool
    thin_client_price: float
    server_price: float
    desktop_price: float
    thin_client_life: float
    server_life: float
    desktop_life: float
    thin_client_embodied_kg: float
    server_embodied_kg: float
    desktop_embodied_kg: float
    # Per seat and EMBODIED_STUDY_YEARS, on top of the per-device figures (the
    # model passes 0 when any of those is given: they replace it).
    embodied_saving_kg: float = 0.0


@dataclass  # a value, not frozen only for speed (see model.Site)
class Costs:
    """Hardware and running money of a site (or the total), and when it pays."""

    investment: float          # thin clients + servers bought at the switch
    avoided: float             # desktops not bought at the switch
    net_investment: float      # investment - avoided; negative: ahead from day one
    yearly_saving: float       # energy money saved in year 1 - running cost
    payback_years: Optional[float]  # 0: at once; None: not within PAYBACK_LIMIT years
    years: Optional[int]       # horizon (None in a total of mixed horizons)
    horizon_benefit: float     # net present value over the horizon
    horizon_kwh: float
    horizon_co2_kg: float      # grid CO2e saved over the horizon
    refresh: float             # later purchases (net of avoided desktops) in the horizon
    embodied_co2_kg: float     # manufacturing CO2e avoided in the horizon (negative: extra)
    # (start, end) in years of each span inside the horizon in which the
    # running total is below zero; end None: still below at the horizon's end.
    below_zero: Tuple[Tuple[float, Optional[float]], ...] = ()
    # Discounted money per year, for totals and payback: purchases at the
    # start of year i+1 (index 0: the switch), savings during year i+1.
    purchases: Tuple[float, ...] = ()
    savings: Tuple[float, ...] = ()

    @property
    def payback_months(self) -> Optional[int]:
        """Payback in whole months, rounded up (0: at once)."""
        if self.payback_years is None:
            return None
        return int(math.ceil(round(self.payback_years * 12, 6)))


@functools.lru_cache(maxsize=None)
def _bought_at(life: float, span: int) -> Tuple[int, ...]:
    """The years (0-based starts) in which a device of ``life`` years is bought."""
    times, t = [], 0.0
    step = max(life, 1.0)
    while t < span:
        times.append(int(t))
        t += step
    return tuple(times)


def costs(devices: Devices, yearly_money: float, running_cost: float, years: int,
          escalation_pct: float, discount_pct: float, yearly_kwh: float,
          yearly_co2_kg: float) -> Costs:
    """The Costs of one site: ``yearly_money`` is the net energy money saving
    at today's price, ``running_cost`` the extra yearly cost for all seats."""
    d = devices
    span = max(years, PAYBACK_LIMIT)
    purchases = [0.0] * span
    embodied = 0.0
    for count, price, life, kg in (
            (d.seats, d.thin_client_price, d.thin_client_life, d.thin_client_embodied_kg),
            (d.servers, d.server_price, d.server_life, d.server_embodied_kg),
            (d.seats, -d.desktop_price, d.desktop_life, -d.desktop_embodied_kg)):
        if not (price or kg):
            continue
        amount, made = count * price, count * kg
        for t in _bought_at(life, span):
            purchases[t] += amount
            if t < years:
                embodied -= made
    embodied += d.seats * d.embodied_saving_kg * years / EMBODIED_STUDY_YEARS
    investment = d.seats * d.thin_client_price + d.servers * d.server_price
    avoided = d.seats * d.desktop_price
    refresh = sum(purchases[1:years])
    if escalation_pct == 0 and discount_pct == 0:  # the usual case: 10,000 sites, fast
        disc_purchases = tuple(purchases)
        disc_savings = (yearly_money - running_cost,) * span
    else:
        rate = 1 + discount_pct / 100
        growth = 1 + escalation_pct / 100
        disc_purchases = tuple(p / rate ** t for t, p in enumerate(purchases))
        disc_savings = tuple((yearly_money * growth ** t - running_cost) / rate ** (t + 1)
                             for t in range(span))
    benefit = sum(disc_savings[:years]) - sum(disc_purchases[:years])
    paid_back, below = money_path(disc_purchases, disc_savings, years)
    return Costs(investment, avoided, investment - avoided, yearly_money - running_cost,
                 paid_back, years, benefit,
                 years * yearly_kwh, years * yearly_co2_kg, refresh, embodied,
                 below, disc_purchases, disc_savings)


# Below this, a running total counts as zero (float dust from discounting).
_CENT = 1e-6


def _zero_crossings(purchases: Sequence[float],
                    savings: Sequence[float]) -> Iterator[Tuple[float, bool]]:
    """(time, below) at the switch and each time the running total goes below
    zero (True) or back to zero or above (False), in time order (lazily: the
    caller stops once it knows enough, which for 10,000 sites matters)."""
    total = 0.0
    below: Optional[bool] = None
    for year, (bought, saved) in enumerate(zip(purchases, savings)):
        total -= bought
        now = total < -_CENT
        if now is not below:
            below = now
            yield float(year), now
        end = total + saved
        if (end < -_CENT) is not below:
            # The year's saving comes in evenly: the moment it crosses zero.
            below = not below
            yield year + min(1.0, max(0.0, -total / saved)), below
        total = end


def money_path(purchases: Sequence[float], savings: Sequence[float], years: int
               ) -> Tuple[Optional[float], Tuple[Tuple[float, Optional[float]], ...]]:
    """The payback (see the module's doc; None: not within the flows given)
    and the spans below zero inside a horizon of ``years``."""
    spans: List[Tuple[float, Optional[float]]] = []
    start: Optional[float] = None
    for when, below in _zero_crossings(purchases[:years], savings[:years]):
        if when > years or (when == years and below):
            break  # back to zero exactly at the end still counts
        if below:
            start = when
        elif start is not None:
            spans.append((start, when))
            start = None
    if start is None:
        return (spans[-1][1] if spans else 0.0), tuple(spans)
    spans.append((start, None))
    # Still below zero at the horizon's end: when does it get back, if ever?
    for when, below in _zero_crossings(purchases, savings):
        if when >= years and not below:
            return when, tuple(spans)
    return None, tuple(spans)


def column_sums(rows: Iterable[Iterable[float]]) -> List[float]:
    """Rows of numbers summed position by position (several sites' yearly
    money year by year; zip walks them in C: 10,000 sites); a shorter row
    counts 0 after its end."""
    return [sum(column) for column in itertools.zip_longest(*rows, fillvalue=0.0)]


def add(costs_list: Sequence[Costs]) -> Costs:
    """The Costs of several sites together (horizon None when they differ)."""
    purchases = column_sums(c.purchases for c in costs_list)
    savings = column_sums(c.savings for c in costs_list)
    span = len(purchases)
    horizons = {c.years for c in costs_list}
    common = next(iter(horizons)) if len(horizons) == 1 else None
    if len(horizons) <= 1:
        paid_back, below = money_path(purchases, savings, common or span)
    else:
        # Mixed horizons: each site's money counts up to its own horizon (as
        # in the summed benefit), read over the longest; no payback after it.
        paid_back, below = money_path(
            column_sums(c.purchases[:c.years or span] for c in costs_list),
            column_sums(c.savings[:c.years or span] for c in costs_list),
            max(c.years or span for c in costs_list))

    def summed(name: str) -> float:
        return sum(map(operator.attrgetter(name), costs_list))

    return Costs(summed("investment"), summed("avoided"), summed("net_investment"),
                 summed("yearly_saving"), paid_back, common,
                 summed("horizon_benefit"), summed("horizon_kwh"), summed("horizon_co2_kg"),
                 summed("refresh"), summed("embodied_co2_kg"), below, tuple(purchases),
                 tuple(savings))
