"""Scenarios side by side, and which input moves the result most.

A proposal's ``scenarios:`` names variants of its inputs (``low:``,
``high:``, ``servers scheduled: {server_hours: 12}``...), each applied to
every site on top of everything else, like command-line flags. Each becomes
one column of totals next to the proposal as given ("expected").

The sensitivity line moves one input at a time by +-``SWING_PCT`` % on every
site and reports how far the yearly net money (or, without prices, the
yearly net kWh) moves, largest first. It recomputes every site per input,
so it runs for proposals of at most ``SENSITIVITY_SITES`` sites.
"""

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..core.errors import UsageError
from . import model

SWING_PCT = 20
SENSITIVITY_SITES = 1000
# The inputs that matter most in practice, as (field, upper bound or None).
SENSITIVE = (("price", None), ("desktop_watts", None), ("hours_before", 24.0),
             ("server_watts", None), ("server_hours", 24.0), ("server_days", 366.0),
             ("seats_per_server", None), ("pue", 3.0))
# The suggested scenario when servers run around the clock and desktops do
# not: servers on this many hours longer than the thin clients are used
# (start-up, backups, updates), on the days of use only.
OUT_OF_HOURS_MARGIN_H = 2
OUT_OF_HOURS = "servers off out of hours"


@dataclass(frozen=True)
class Scenario:
    """One column: a name, the inputs it changes, and the totals it gives."""

    name: str
    changes: Dict[str, Any]
    total: model.Total
    suggested: bool = False  # ours (OUT_OF_HOURS), not the proposal's


@dataclass(frozen=True)
class Sensitivity:
    """How far +-SWING_PCT % of one input moves the yearly net result."""

    name: str
    label: str
    low: float    # the result with the input SWING_PCT % lower
    high: float   # ... and higher
    unit: str     # the currency, or 'kWh'

    @property
    def swing(self) -> float:
        return abs(self.high - self.low) / 2


Recompute = Callable[[List[model.Site]], List[model.SiteResult]]


def variant_sites(sites: List[model.Site], changes: Dict[str, Any]) -> List[model.Site]:
    """Every site with ``changes`` (validated field values) applied."""
    if not changes:
        return sites
    moved = [dataclasses.replace(s, **changes) for s in sites]
    for s in moved:
        if s.hours_after > s.hours_before:
            raise UsageError(f"scenario {changes}: site {s.name!r} would use its desktops "
                             f"{s.hours_after:g} h/day after but {s.hours_before:g} before; "
                             "give hours_after too")
    return moved


def run(sites: List[model.Site], named: List[Tuple[str, Dict[str, Any]]],
        recompute: Recompute) -> List[Scenario]:
    """The named scenarios' totals (the caller shows 'expected' beside them)."""
    return [Scenario(name, changes, model.total(recompute(variant_sites(sites, changes))))
            for name, changes in named]


def out_of_hours(sites: List[model.Site], recompute: Recompute) -> Optional[Scenario]:
    """The suggested scenario: servers that run 24 h are switched off
    OUT_OF_HOURS_MARGIN_H hours after the last desktop or thin client stops,
    on the days of use only; None when that leaves no site's servers any
    hours off (a site used round the clock keeps its servers on)."""
    moved: List[model.Site] = []
    first: Optional[model.Site] = None
    for s in sites:
        hours = min(24.0, max(s.thin_client_hours, s.hours_before) + OUT_OF_HOURS_MARGIN_H)
        if s.server_hours >= 24 and hours < 24:
            s = dataclasses.replace(s, server_hours=hours, server_days=min(s.server_days, s.days))
            first = first or s
        moved.append(s)
    if first is None:  # thin clients (or desktops) in use round the clock somewhere: no gain
        return None
    changes = {"server_hours": first.server_hours, "server_days": first.server_days}
    return Scenario(OUT_OF_HOURS, changes, model.total(recompute(moved)), suggested=True)


def _result(total: model.Total) -> Tuple[float, str]:
    if total.money is not None and total.currency:
        return total.money["net_saving"], total.currency
    return total.kwh["net_saving"], "kWh"


def sensitivity(sites: List[model.Site], recompute: Recompute) -> Optional[List[Sensitivity]]:
    """Each sensitive input's effect, largest first; None when too many sites."""
    if len(sites) > SENSITIVITY_SITES:
        return None
    found = []
    for name, ceiling in SENSITIVE:
        results = []
        for factor in (1 - SWING_PCT / 100, 1 + SWING_PCT / 100):
            moved = []
            for s in sites:
                value = getattr(s, name) * factor
                if ceiling is not None:
                    value = min(value, ceiling)
                if name == "seats_per_server":
                    value = max(value, 1.0)
                if name == "pue":
                    value = max(value, 1.0)
                changes: Dict[str, Any] = {name: value}
                if name == "hours_before":
                    changes["hours_after"] = min(s.hours_after, value)
                moved.append(dataclasses.replace(s, **changes))
            results.append(_result(model.total(recompute(moved))))
        (low, unit), (high, _) = results
        found.append(Sensitivity(name, model.FIELD[name].label, low, high, unit))
    return sorted(found, key=lambda s: -s.swing)
