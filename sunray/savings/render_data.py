"""The machine formats of a savings Proposal: json, yaml and csv.

They carry the figures rounded half up to 3 decimals (Wh, tenths of a cent,
grams), and the same numbers in every format.
"""

import csv
import io
import json
import math
import operator
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from . import lifecycle, model
from .carbon import ATTRIBUTION
from .display import grid_source, sources
from .evaluate import Proposal
from .output import MARKER
from .sources import inputs_and_defaults

CSV_FIXED = ("row", "site", "preset", "seats", "currency", "g_per_kwh", "country")
CSV_COST = ("investment", "avoided", "net_investment", "payback_years", "payback_months",
            "years", "horizon_benefit", "refresh", "embodied_co2_kg", "residual_value",
            "deployment", "npv", "roi", "net_co2_kg")


def _round3(v: float, _floor: Callable[[float], int] = math.floor) -> float:
    """Round half up to 3 decimals; 4x faster than round(v, 3), which
    matters for 10,000 sites (the quotient is the float nearest the
    decimal, so it prints short: 394.2, not 394.20000000000005)."""
    return _floor(v * 1000 + 0.5) / 1000


def _r3(d: Dict[str, float], _floor: Callable[[float], int] = math.floor) -> Dict[str, float]:
    # _round3 inlined: 40,000 of these dicts for 10,000 sites.
    return {k: _floor(v * 1000 + 0.5) / 1000 for k, v in d.items()}


# The Costs fields machine output carries, in its order (the yearly flows
# behind the totals stay inside).
_COST_FIELDS = ("investment", "avoided", "net_investment", "yearly_saving", "payback_years",
                "years", "horizon_benefit", "horizon_kwh", "horizon_co2_kg", "refresh",
                "embodied_co2_kg", "residual_value", "deployment", "npv", "roi", "net_co2_kg",
                "spent_in_horizon")
_cost_values = operator.attrgetter(*_COST_FIELDS)


def _costs_dict(costs: Optional[model.Costs],
                _floor: Callable[[float], int] = math.floor) -> Optional[Dict[str, Any]]:
    if costs is None:
        return None
    d = {k: (_floor(v * 1000 + 0.5) / 1000 if type(v) is float else v)
         for k, v in zip(_COST_FIELDS, _cost_values(costs))}
    d["below_zero"] = [[None if x is None else _round3(x) for x in span]
                       for span in costs.below_zero]
    d["payback_months"] = costs.payback_months
    return d


def cash_flow_list(costs: Optional[model.Costs]) -> Optional[List[Dict[str, Any]]]:
    """The year-by-year cash flow (lifecycle.cash_flow) as plain rows."""
    if costs is None:
        return None
    return [{k: (_round3(v) if type(v) is float else v) for k, v in row._asdict().items()}
            for row in lifecycle.cash_flow(costs)]


# --- json and yaml ------------------------------------------------------------

def shared_inputs(sites: Sequence[model.Site]) -> Tuple[Dict[str, Any], Tuple[str, ...]]:
    """The inputs every site has with the same value, and the names of the
    others, which each site carries itself (10,000 sites need not repeat
    30 shared values each: a site's inputs are the shared ones updated
    with its own)."""
    columns = zip(*map(model.input_values, sites))
    shared, own = {}, []
    for name, column in zip(model.FIELD, columns):
        # The same value written the same way (85 and 85.0 stay each site's).
        if column.count(column[0]) == len(column) and len(set(map(type, column))) == 1:
            shared[name] = column[0]
        else:
            own.append(name)
    return shared, tuple(own)


def _grids(results: Sequence[model.SiteResult]) -> List[Dict[str, Any]]:
    """Each country whose grid figure a site uses: figure, year, source."""
    first: Dict[str, model.Site] = {}
    for r in results:
        if r.site.country:
            first.setdefault(r.site.country, r.site)
    return [{"country": s.country, "country_name": s.country_name, "year": s.country_year,
             "g_per_kwh": s.g_per_kwh, "source": grid_source(s)} for s in first.values()]


def site_dict(result: model.SiteResult, own: Tuple[str, ...],
              _floor: Callable[[float], int] = math.floor) -> Dict[str, Any]:
    """One site: its inputs named in ``own`` (the others are shared) and
    its figures for all its seats (per seat: divide by ``seats``; 10,000
    sites write 70,000 fewer numbers)."""
    s = result.site
    # The three tables rounded in one pass (10,000 sites: 210,000 numbers);
    # zip stops at each table's last key, so each takes its own numbers.
    three = (result.kwh, result.money, result.co2_kg)
    rounded = iter([_floor(v * 1000 + 0.5) / 1000 for table in three for v in table.values()])
    kwh, money, co2_kg = [dict(zip(table, rounded)) for table in three]
    return {
        "name": s.name,
        "preset": s.preset,
        "seats": s.seats,
        "servers": _round3(s.server_count),
        "currency": s.currency,
        "inputs": {name: getattr(s, name) for name in own},
        "kwh": kwh,
        "money": money,
        "co2_kg": co2_kg,
        "costs": _costs_dict(result.costs),
    }


def _total_dict(t: model.Total) -> Dict[str, Any]:
    return {
        "sites": t.sites,
        "seats": t.seats,
        "servers": _round3(t.servers),
        "currency": t.currency,
        "kwh": _r3(t.kwh),
        "money": _r3(t.money) if t.money is not None else None,
        "co2_kg": _r3(t.co2_kg),
        "costs": _costs_dict(t.costs),
        "cash_flow": cash_flow_list(t.costs),
    }


def to_dict(proposal: Proposal) -> Dict[str, Any]:
    """The whole proposal as plain data (what json and yaml print)."""
    t = proposal.total
    shared, own = shared_inputs([r.site for r in proposal.results])
    return {
        "generator": MARKER,
        "title": proposal.title,
        "customer": proposal.customer or None,
        "prepared_by": proposal.prepared_by or None,
        "date": proposal.date,
        "servers": proposal.servers,
        "shared_inputs": shared,
        "grids": _grids(proposal.results),
        "sites": [site_dict(r, own) for r in proposal.results],
        "total": _total_dict(t),
        "scenarios": [
            {"name": sc.name, "changes": sc.changes, "suggested": sc.suggested,
             "total": _total_dict(sc.total)}
            for sc in proposal.scenarios],
        "sensitivity": None if proposal.sensitivity is None else [
            {"input": x.name, "label": x.label, "low": _round3(x.low),
             "high": _round3(x.high), "unit": x.unit} for x in proposal.sensitivity],
        "notes": list(proposal.notes),
        "inputs_and_defaults": [
            {"label": label, "value": value, "unit": unit, "source": source}
            for label, value, unit, source in inputs_and_defaults(proposal.results)],
        "sources": sources(proposal),
        "attribution": ATTRIBUTION,
    }


def to_json(proposal: Proposal) -> str:
    """Indented JSON with one line per site: json's C encoder only runs
    without indent, and 10,000 sites must render in well under a second."""
    d = to_dict(proposal)
    sites = d.pop("sites")
    head = json.dumps(d, indent=2)
    # Plain data has no cycles: the encoder need not look for them, per site.
    rows = ",\n    ".join(map(json.JSONEncoder(check_circular=False).encode, sites))
    return head[:-2] + ',\n  "sites": [\n    ' + rows + "\n  ]\n}\n"


def to_yaml(proposal: Proposal) -> str:
    """The same data as YAML: block style for the proposal, one flow mapping
    per site (JSON, which YAML reads as it is): PyYAML's representer took
    69 s and 650 MB for 10,000 sites, this a fraction of a second."""
    from ..core.yamlload import yaml_module

    yaml = yaml_module()  # PyYAML (the `savings` extra) or Invoke's copy: same output
    d = to_dict(proposal)
    sites = d.pop("sites")
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    head = yaml.dump(d, Dumper=dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=100)
    encode = json.JSONEncoder(check_circular=False, ensure_ascii=False).encode
    rows = "".join(f"- {encode(site)}\n" for site in sites)
    return head + "sites:\n" + rows


# --- csv ----------------------------------------------------------------------

def csv_header() -> List[str]:
    """The column names: the site, four figures per line, then the costs."""
    cols = list(CSV_FIXED)
    for k in model.LINES:
        cols += [f"kwh_per_seat_{k}", f"kwh_{k}", f"money_{k}", f"co2_kg_{k}"]
    return cols + list(CSV_COST)


def _cell(text: str) -> str:
    """Keep spreadsheet programs from running a site name as a formula."""
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text


def _cost_cells(costs: Optional[model.Costs]) -> List[Union[str, float, int]]:
    d = _costs_dict(costs)
    if d is None:
        return [""] * len(CSV_COST)
    return ["" if d[k] is None else d[k] for k in CSV_COST]


def to_csv(proposal: Proposal) -> str:
    """One row per site and a total row."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(csv_header())
    for r in proposal.results:
        s = r.site
        row = ["site", _cell(s.name), s.preset, s.seats, _cell(s.currency), s.g_per_kwh,
               s.country or ""]
        for k in model.LINES:
            row += [_round3(r.kwh_per_seat[k]), _round3(r.kwh[k]), _round3(r.money[k]),
                    _round3(r.co2_kg[k])]
        w.writerow(row + _cost_cells(r.costs))
    t = proposal.total
    row = ["total", "", "", t.seats, _cell(t.currency or ""), "", ""]
    for k in model.LINES:
        money = _round3(t.money[k]) if t.money is not None else ""
        row += ["", _round3(t.kwh[k]), money, _round3(t.co2_kg[k])]
    w.writerow(row + _cost_cells(t.costs))
    # Trailing rows that name themselves in the "row" column: spreadsheets
    # and csv.DictReader read them as rows; a '#' comment line they would not skip.
    w.writerow(["source", ATTRIBUTION])
    w.writerow(["generator", MARKER])
    return out.getvalue()
