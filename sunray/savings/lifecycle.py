"""Money and embodied CO2e over the horizon: purchases, refreshes, payback.

Pure arithmetic, no I/O. Time runs in years from the day of the switch
(t = 0). At t = 0 the site buys its thin clients and servers and does not
buy the desktops it would otherwise have bought; every device is bought
again when its lifetime ends (t = life, 2 x life, ... inside the horizon),
so avoided desktop purchases recur too. Each year brings the energy money
saving (escalated by the price escalation, year 1 at today's price) minus
the extra running cost per seat (admin, licences). Money at time t is
discounted by (1 + discount rate)^t; savings count at the end of their year.

The horizon benefit is the net present value of all that; the payback is
the first moment the running total of discounted money turns positive,
read to the month (``PAYBACK_LIMIT`` years at most). With 0 % escalation
and discount and lifetimes at least the horizon, the horizon benefit is
years x yearly saving - net investment, as before this model.
"""

import math
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

# Payback is looked for this many years ahead, whatever the horizon.
PAYBACK_LIMIT = 30


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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

    def to_dict(self) -> Dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k not in ("purchases", "savings")}
        d["payback_months"] = self.payback_months
        return d


def _bought_at(life: float, span: int) -> List[int]:
    """The years (0-based starts) in which a device of ``life`` years is bought."""
    times, t = [], 0.0
    step = max(life, 1.0)
    while t < span:
        times.append(int(t))
        t += step
    return times


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
        for t in _bought_at(life, span):
            purchases[t] += count * price
            if t < years:
                embodied -= count * kg
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
    return Costs(investment, avoided, investment - avoided, yearly_money - running_cost,
                 payback(disc_purchases, disc_savings), years, benefit,
                 years * yearly_kwh, years * yearly_co2_kg, refresh, embodied,
                 disc_purchases, disc_savings)


def payback(purchases: Sequence[float], savings: Sequence[float]) -> Optional[float]:
    """Years until the running total of money turns positive for good: 0 when
    the switch itself saves money, None when not within the flows given."""
    total = 0.0
    when: Optional[float] = None
    for year, (bought, saved) in enumerate(zip(purchases, savings)):
        total -= bought
        if total < 0 and total + saved >= 0 and saved > 0:
            when = year + (-total / saved)
        elif total < 0:
            when = None  # a refresh (or a losing year) put it back under
        elif when is None:
            when = float(year)
        total += saved
    return when


def add(costs_list: Sequence[Costs]) -> Costs:
    """The Costs of several sites together (horizon None when they differ)."""
    span = max(len(c.purchases) for c in costs_list)
    purchases = [0.0] * span
    savings = [0.0] * span
    for c in costs_list:
        for t, (p, s) in enumerate(zip(c.purchases, c.savings)):
            purchases[t] += p
            savings[t] += s
    horizons = {c.years for c in costs_list}

    def summed(name: str) -> float:
        return sum(getattr(c, name) for c in costs_list)

    return Costs(summed("investment"), summed("avoided"), summed("net_investment"),
                 summed("yearly_saving"), payback(purchases, savings),
                 horizons.pop() if len(horizons) == 1 else None,
                 summed("horizon_benefit"), summed("horizon_kwh"), summed("horizon_co2_kg"),
                 summed("refresh"), summed("embodied_co2_kg"), tuple(purchases),
                 tuple(savings))
