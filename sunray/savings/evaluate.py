"""Step two of a savings run: the figures of a read proposal.

``evaluate`` computes every site (``model``: power, energy, money, CO2e;
``lifecycle``: purchases over the horizon), the total, the scenarios and
the sensitivity (``scenarios``), into a ``Proposal`` that the renderers
turn into a report. Nothing here reads a file or renders a format.
"""

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from . import model, scenarios
from .i18n import t
from .proposal import DEFAULT_TITLE


@dataclass
class Proposal:
    """Validated sites, their results and the total, ready to render."""

    title: str
    customer: str
    prepared_by: str
    date: str
    results: List[model.SiteResult]
    total: model.Total
    notes: List[str] = field(default_factory=list)
    servers: str = "per-site"
    scenarios: List[Any] = field(default_factory=list)    # scenarios.Scenario
    sensitivity: Optional[List[Any]] = None                # scenarios.Sensitivity
    integrator: Optional[Dict[str, str]] = None  # name, contact, logo (a data: URI)
    valid_until: Optional[str] = None            # YYYY-MM-DD

    @property
    def countries(self) -> List[Tuple[str, str, Optional[int], float]]:
        """Distinct country figures used, as (iso3, name, year, g/kWh)."""
        seen = {}
        for r in self.results:
            s = r.site
            if s.country:
                seen[s.country] = (s.country, s.country_name, s.country_year, s.g_per_kwh)
        return list(seen.values())


def evaluate(sites: List[model.Site], meta: Dict[str, Any]) -> Proposal:
    """Compute every site and the total, the scenarios and the sensitivity."""
    shared = meta.get("servers") == "shared"

    def recompute(variant: List[model.Site]) -> List[model.SiteResult]:
        return [model.compute(s) for s in (pooled(variant) if shared else variant)]

    results = recompute(sites)
    notes = model.observations(results)
    total = model.total(results)
    if total.money is None:
        notes.append(t("The sites use different currencies: money is not totalled."))
    title = meta["title"]
    if title == DEFAULT_TITLE:  # ours: in the report's language
        title = t(title)
    named = scenarios.run(sites, meta.get("scenarios") or [], recompute)
    if len(sites) <= scenarios.SENSITIVITY_SITES:
        suggested = scenarios.out_of_hours(sites, recompute)
        if suggested is not None and not any(sc.name == suggested.name for sc in named):
            named.append(suggested)
    proposal = Proposal(title, meta["customer"], meta["prepared_by"], meta["date"],
                        results, total, notes, meta.get("servers", "per-site"),
                        named, scenarios.sensitivity(sites, recompute))
    for key in ("integrator", "valid_until"):
        setattr(proposal, key, meta.get(key))
    return proposal


def pooled(sites: List[model.Site]) -> List[model.Site]:
    """The sites sharing whole servers: the pool is ceil(sum of seats / seats
    per server) servers, and each site carries its seats' share of it."""
    shares = [s.seats / s.seats_per_server for s in sites]
    needed = sum(shares)
    whole = math.ceil(needed - 1e-9)
    scale = whole / needed if needed else 0.0
    return [dataclasses.replace(s, servers=share * scale) for s, share in zip(sites, shares)]
