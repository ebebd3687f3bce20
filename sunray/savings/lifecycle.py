"""Money and embodied CO2e over the horizon: purchases, refreshes, payback.

Pure arithmetic, no I/O. Time runs in years from the day of the switch
(t = 0). At t = 0 the site buys its thin clients and servers and does not
buy the desktops it would otherwise have bought; every device is bought
again when its lifetime ends (t = life, 2 x life, ... inside the horizon),
so avoided desktop purchases recur too. Each year brings the energy money
saving (escalated by the price escalation, year 1 at today's price) minus
the extra running cost per seat (admin, licences). Money at time t is
discounted by (1 + discount rate)^t; savings count at the end of their year.

A one-off deployment (and migration) cost is paid at the switch. With the
residual value on (the default), every device still inside its life at the
horizon's end counts at its remaining straight-line share of its price:
price x (bought + life - horizon) / life, for the thin clients and servers
the switch owns (a plus) and for the desktops it did not buy (a minus: the
desktops would have been worth that), discounted like money at the
horizon's end. So the benefit grows with the horizon instead of jumping at
each refresh.

The horizon benefit is the net present value of all that (NPV at the
discount rate). ROI = horizon benefit / money spent on the switch in the
horizon (thin clients, servers, deployment, discounted). The running
total of discounted money moves in steps (purchases at the start of a year)
and straight lines (a year's saving); the spans in which it is below zero
inside the horizon are kept, so the report can say "ahead at the switch,
below zero in years 2-4" instead of two words that contradict each other;
the residual value comes in at the horizon's end, so the running total
there is the horizon benefit.
The payback is the moment from which the total stays at or above zero to
the end of the horizon (0: it never goes below zero); when it is still
below zero at the end, the first moment after that it reaches zero, read
to the month (``PAYBACK_LIMIT`` years at most; after the horizon without
the residual value). With 0 % escalation and discount, lifetimes equal to
the horizon and no deployment cost, the horizon benefit is years x yearly
saving - net investment.
"""

import functools
import itertools
import math
import operator
from dataclasses import dataclass
from typing import Iterable, Iterator, List, NamedTuple, Optional, Sequence, Tuple

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
    residual_value: float = 0.0  # at the horizon's end, discounted (in horizon_benefit)
    deployment: float = 0.0      # one-off, at the switch
    # Discounted per year, like purchases and savings: what the switch spends
    # (thin clients, servers, deployment; purchases = spent - desktops not
    # bought) and the part of savings that is not energy (admin, licences...).
    spent: Tuple[float, ...] = ()
    other: Tuple[float, ...] = ()

    @property
    def npv(self) -> float:
        """The net present value at the discount rate: the horizon benefit."""
        return self.horizon_benefit

    spent_in_horizon: float = 0.0  # sum of spent inside the horizon

    @property
    def roi(self) -> Optional[float]:
        """Horizon benefit / money spent on the switch in the horizon (None:
        nothing spent)."""
        spent = self.spent_in_horizon
        return self.horizon_benefit / spent if spent > _CENT else None

    @property
    def net_co2_kg(self) -> float:
        """CO2e saved over the horizon, operation and manufacturing together
        (negative: extra)."""
        return self.horizon_co2_kg + self.embodied_co2_kg

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
          yearly_co2_kg: float, deployment: float = 0.0, residual: bool = True) -> Costs:
    """The Costs of one site: ``yearly_money`` is the net energy money saving
    at today's price, ``running_cost`` the extra yearly cost for all seats
    besides energy, ``deployment`` the one-off cost at the switch;
    ``residual``: count the residual value at the horizon's end."""
    d = devices
    running_cost, deployment = float(running_cost), float(deployment)
    span = max(years, PAYBACK_LIMIT)
    purchases = [0.0] * span
    spent = [0.0] * span
    spent[0] = purchases[0] = deployment
    embodied = 0.0
    left = 0.0  # the residual value at the horizon's end, not discounted
    for count, price, life, kg in (
            (d.seats, d.thin_client_price, d.thin_client_life, d.thin_client_embodied_kg),
            (d.servers, d.server_price, d.server_life, d.server_embodied_kg),
            (d.seats, -d.desktop_price, d.desktop_life, -d.desktop_embodied_kg)):
        if not (price or kg):
            continue
        amount, made = count * price, count * kg
        for t in _bought_at(life, span):
            purchases[t] += amount
            if price > 0:
                spent[t] += amount
            if t < years:
                embodied -= made
                if residual and t + life > years:
                    left += amount * (t + life - years) / life
    embodied += d.seats * d.embodied_saving_kg * years / EMBODIED_STUDY_YEARS
    investment = d.seats * d.thin_client_price + d.servers * d.server_price
    avoided = d.seats * d.desktop_price
    refresh = sum(purchases[1:years])
    if escalation_pct == 0 and discount_pct == 0:  # the usual case: 10,000 sites, fast
        disc_purchases, disc_spent = tuple(purchases), tuple(spent)
        disc_savings = (yearly_money - running_cost,) * span
        disc_other = (-running_cost,) * span
        disc_left = left
    else:
        rate = 1 + discount_pct / 100
        growth = 1 + escalation_pct / 100
        disc_purchases = tuple(p / rate ** t for t, p in enumerate(purchases))
        disc_spent = tuple(p / rate ** t for t, p in enumerate(spent))
        disc_savings = tuple((yearly_money * growth ** t - running_cost) / rate ** (t + 1)
                             for t in range(span))
        disc_other = tuple(-running_cost / rate ** (t + 1) for t in range(span))
        disc_left = left / rate ** years
    benefit = sum(disc_savings[:years]) - sum(disc_purchases[:years]) + disc_left
    paid_back, below = money_path(disc_purchases, disc_savings, years, disc_left)
    return Costs(investment, avoided, investment - avoided, yearly_money - running_cost,
                 paid_back, years, benefit,
                 years * yearly_kwh, years * yearly_co2_kg, refresh, embodied,
                 below, disc_purchases, disc_savings, disc_left, deployment, disc_spent,
                 disc_other, sum(disc_spent[:years]))


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


def money_path(purchases: Sequence[float], savings: Sequence[float], years: int,
               residual: float = 0.0
               ) -> Tuple[Optional[float], Tuple[Tuple[float, Optional[float]], ...]]:
    """The payback (see the module's doc; None: not within the flows given)
    and the spans below zero inside a horizon of ``years``, with
    ``residual`` coming in at its end."""
    spans: List[Tuple[float, Optional[float]]] = []
    start: Optional[float] = None
    inside_p = list(purchases[:years]) + [-residual]
    inside_s = list(savings[:years]) + [0.0]
    for when, below in _zero_crossings(inside_p, inside_s):
        if when > years or (when == years and below and not residual):
            # Back to zero exactly at the end still counts; under it then
            # only by the residual value (of desktops not bought).
            break
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


class CashYear(NamedTuple):
    """One year of the cash flow (discounted at the discount rate, like the
    horizon benefit): what the switch spends at the year's start, the
    desktops it does not buy then, the energy and other money it saves
    during the year, the residual value at the horizon's end (last year
    only), the year's net and the running total at the year's end."""

    year: int
    spent: float
    avoided: float
    energy: float
    other: float
    residual: float
    net: float
    cumulative: float


def cash_flow(costs: Costs) -> List[CashYear]:
    """The year-by-year cash flow over the horizon (none for a total of
    mixed horizons). The last running total is the horizon benefit."""
    if not costs.years:
        return []
    rows, running = [], 0.0
    for i in range(costs.years):
        spent, bought = costs.spent[i], costs.purchases[i]
        other = costs.other[i]
        energy = costs.savings[i] - other
        residual = costs.residual_value if i == costs.years - 1 else 0.0
        net = energy + other + residual - bought
        running += net
        rows.append(CashYear(i + 1, spent, spent - bought, energy, other, residual, net,
                             running))
    return rows


def column_sums(rows: Iterable[Iterable[float]]) -> List[float]:
    """Rows of numbers summed position by position (several sites' yearly
    money year by year; zip walks them in C: 10,000 sites); a shorter row
    counts 0 after its end."""
    return [sum(column) for column in itertools.zip_longest(*rows, fillvalue=0.0)]


def add(costs_list: Sequence[Costs]) -> Costs:
    """The Costs of several sites together (horizon None when they differ)."""
    def summed(name: str) -> float:
        return sum(map(operator.attrgetter(name), costs_list))

    purchases = column_sums(c.purchases for c in costs_list)
    savings = column_sums(c.savings for c in costs_list)
    span = len(purchases)
    horizons = {c.years for c in costs_list}
    common = next(iter(horizons)) if len(horizons) == 1 else None
    if len(horizons) <= 1:
        paid_back, below = money_path(purchases, savings, common or span,
                                      summed("residual_value"))
    else:
        # Mixed horizons: each site's money counts up to its own horizon (as
        # in the summed benefit), its residual value at its end, read over
        # the longest; no payback after it.
        longest = max(c.years or span for c in costs_list)

        def until_end(c: Costs) -> List[float]:
            end = c.years or span
            return list(c.purchases[:end]) + ([-c.residual_value] if end < longest else [])

        paid_back, below = money_path(
            column_sums(until_end(c) for c in costs_list),
            column_sums(c.savings[:c.years or span] for c in costs_list), longest,
            sum(c.residual_value for c in costs_list if (c.years or span) == longest))

    return Costs(summed("investment"), summed("avoided"), summed("net_investment"),
                 summed("yearly_saving"), paid_back, common,
                 summed("horizon_benefit"), summed("horizon_kwh"), summed("horizon_co2_kg"),
                 summed("refresh"), summed("embodied_co2_kg"), below, tuple(purchases),
                 tuple(savings), summed("residual_value"), summed("deployment"),
                 tuple(column_sums(c.spent for c in costs_list)),
                 tuple(column_sums(c.other for c in costs_list)), summed("spent_in_horizon"))
