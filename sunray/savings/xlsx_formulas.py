"""The savings model restated as spreadsheet formulas, one entry per figure.

The workbook (``render_xlsx``) writes every figure as a live formula over
named inputs, so a customer who changes an input sees what sunray would
compute for that change. Each figure is one ``Figure`` of a table:

* ``SITE``: one column of the Sites sheet, one cell per site. ``{name}`` in
  its formula is the site's own cell of an input or of an earlier figure
  (when the Sites sheet has no column for an input, the Inputs sheet's
  default of that name); a bare name (``year_index``, ``pool_servers``) is a
  defined name of the workbook.
* ``TOTAL``: one cell of the Totals sheet with a defined name; ``{sites.x}``
  is the column of ``x`` over every site (or the default, when ``x`` has no
  column).
* ``CASH_FLOW``: one column of the Cash flow sheet, one row per year;
  ``{t}`` is the row's year from the switch (0: the first year).

``value`` gives sunray's own figure for the cell (stored in the file, so it
shows before any recalculation); ``mirrors`` names the function of
``model`` or ``lifecycle`` the formula restates. A new figure of the model
is one more entry here, in dependency order (a formula refers only to
inputs and to figures above it).

Formulas are Excel's (English function names, ``,`` between arguments) as
the file format stores them; Excel and LibreOffice show them in the
user's language.
"""

import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from . import lifecycle, model

# The years a cash flow covers: payback is looked for this far (lifecycle).
SPAN = lifecycle.PAYBACK_LIMIT

# Number formats by kind (render_xlsx turns them into the language's).
KWH, MONEY, KG, COUNT, WHOLE = "kwh", "money", "kg", "count", "whole"


@dataclass(frozen=True)
class Figure:
    """One computed figure: its name, formula, label, kind and sunray's value."""

    name: str
    formula: str
    label: str
    kind: str
    mirrors: str
    value: Callable[[Any], Optional[float]]
    group: str = ""   # the heading over a run of columns (Sites sheet)


# --- per site -----------------------------------------------------------------

# The purchases of one year t (0-based, at its start) of one site, as
# lifecycle.costs buys them: every device at 0, life, 2 x life, ... (a year
# t holds a purchase when the next multiple of the life from t falls in it),
# the desktops not bought counted negative, discounted to the switch.
def _bought(count: str, price: str, life: str) -> str:
    return f"{count}*{price}*(ROUNDUP({{t}}/{life},0)*{life}<{{t}}+1)"


PURCHASES_IN_YEAR = (
    "({deployment_cost}*{seats}*({t}=0)+" + "+".join((_bought("{seats}", "{thin_client_price}", "{thin_client_life}"),
                    _bought("{server_count}", "{server_price}", "{server_life}")))
    + "-" + _bought("{seats}", "{desktop_price}", "{desktop_life}")
    + ")/(1+{discount_rate}/100)^{t}")
# The saving of one year t (during it): the energy money at the escalated
# price, less the running cost of all seats, discounted from the year's end.
# The yearly costs besides energy, per seat (model.Site.yearly_other_cost).
OTHER_COST = "({admin_after}-{admin_before}+{licence_cost}+{running_cost})"
# The residual value (undiscounted) comes in at the end of the horizon's last
# year, as lifecycle.costs adds it to the horizon benefit.
SAVING_IN_YEAR = ("({money_net_saving}*(1+{price_escalation}/100)^{t}-" + OTHER_COST + "*{seats}"
                  "+{residual}*({t}+1={years}))"
                  "/(1+{discount_rate}/100)^({t}+1)")


def _left(count: str, price: str, life: str) -> str:
    """What the devices bought inside the horizon are still worth at its end,
    straight line (lifecycle.costs): each purchase at INT(k x life) before
    the horizon's end whose life runs past it."""
    at = f"INT(year_index*{life})"
    return (f"{count}*{price}*SUMPRODUCT(({at}<{{years}})*({at}+{life}>{{years}})"
            f"*({at}+{life}-{{years}}))/{life}")


def _in_horizon(per_year: str) -> str:
    """The sum over the years of a site's horizon of a per-year expression."""
    return ("SUMPRODUCT((year_index<{years})*"
            + per_year.replace("{t}", "year_index") + ")")


def _bought_in_horizon(count: str, price: str, life: str) -> str:
    """Devices bought inside the horizon, undiscounted: at 0, life, ... < years."""
    return f"{count}*{price}*ROUNDUP({{years}}/{life},0)"


def _line(kind: str, line: str) -> Callable[[Any], float]:
    return lambda r: getattr(r, kind)[line]


def _cost(name: str) -> Callable[[Any], Optional[float]]:
    return lambda r: getattr(r.horizon, name)


_ENERGY = "model.energy_per_seat"
_OFF = "{desktop_off_watts}/1000*MAX(8760-{hours_%s}*{days},0)"

_PER_SEAT = {
    "before": "{desktop_watts}*{hours_before}*{days}/1000+" + _OFF % "before",
    "desktop_after": ("{desktop_watts}*{hours_after}*{days}/1000"
                      "+IF({hours_after}>0," + _OFF % "after" + ",0)"),
    "thin_client": ("{thin_client_watts}*{thin_client_hours}*{days}/1000"
                    "+{thin_client_standby_watts}*IF({thin_client_standby_hours}>0,"
                    "{thin_client_standby_hours},MAX(8760-{thin_client_hours}*{days},0))/1000"),
    "server": "{server_count}*{server_watts}*{server_hours}*{server_days}*{pue}/{seats}/1000",
    "after": "{kwh_desktop_after}+{kwh_thin_client}+{kwh_server}",
    "gross_saving": "{kwh_before}-{kwh_desktop_after}",
    "net_saving": "{kwh_before}-{kwh_after}",
}


def _kwh_formula(line: str) -> str:
    """A line's kWh for all seats: per seat x seats (sums of lines as they are)."""
    formula = _PER_SEAT[line]
    if line in ("after", "gross_saving", "net_saving"):
        return formula
    return f"({formula})*{{seats}}"


SITE: Tuple[Figure, ...] = (
    Figure("server_units", "{seats}/{seats_per_server}", "Server units (seats / seats per server)",
           COUNT, "evaluate.pooled", lambda r: r.site.seats / r.site.seats_per_server),
    Figure("server_count",
           'IF(servers="shared",{server_units}*pool_servers/pool_server_units,'
           "ROUNDUP({server_units}-1E-9,0))",
           "Servers", COUNT, "model.Site.server_count, evaluate.pooled",
           lambda r: r.site.server_count),
    *(Figure(f"kwh_{line}", _kwh_formula(line), model.LINE_LABELS[line], KWH, _ENERGY,
             _line("kwh", line), group="kWh per year") for line in model.LINES),
    *(Figure(f"money_{line}", f"{{kwh_{line}}}*{{price}}", model.LINE_LABELS[line], MONEY,
             "model.compute", _line("money", line), group="Money per year")
      for line in model.LINES),
    *(Figure(f"co2_kg_{line}", f"{{kwh_{line}}}*{{g_per_kwh}}/1000", model.LINE_LABELS[line], KG,
             "model.compute", _line("co2_kg", line), group="kg CO2e per year")
      for line in model.LINES),
    Figure("investment", "{seats}*{thin_client_price}+{server_count}*{server_price}",
           "Investment at the switch", MONEY, "lifecycle.costs", _cost("investment"),
           group="Over the horizon"),
    Figure("avoided", "{seats}*{desktop_price}", "Desktops not bought at the switch", MONEY,
           "lifecycle.costs", _cost("avoided"), group="Over the horizon"),
    Figure("net_investment", "{investment}-{avoided}", "Net investment", MONEY,
           "lifecycle.costs", _cost("net_investment"), group="Over the horizon"),
    Figure("yearly_saving", "{money_net_saving}-" + OTHER_COST + "*{seats}",
           "Saving in year 1, after running costs", MONEY, "lifecycle.costs",
           _cost("yearly_saving"), group="Over the horizon"),
    Figure("refresh",
           "+".join((_bought_in_horizon("{seats}", "{thin_client_price}", "{thin_client_life}"),
                     _bought_in_horizon("{server_count}", "{server_price}", "{server_life}")))
           + "-" + _bought_in_horizon("{seats}", "{desktop_price}", "{desktop_life}")
           + "-{net_investment}",
           "Later purchases in the horizon (net of desktops not bought)", MONEY,
           "lifecycle.costs", _cost("refresh"), group="Over the horizon"),
    Figure("residual",
           "IF({residual_value},"
           + "+".join((_left("{seats}", "{thin_client_price}", "{thin_client_life}"),
                       _left("{server_count}", "{server_price}", "{server_life}")))
           + "-" + _left("{seats}", "{desktop_price}", "{desktop_life}") + ",0)",
           "Residual value at the horizon's end", MONEY, "lifecycle.costs (residual)",
           lambda r: r.horizon.residual_value * (1 + r.site.discount_rate / 100) ** r.site.years,
           group="Over the horizon"),
    Figure("horizon_benefit",
           _in_horizon(SAVING_IN_YEAR) + "-" + _in_horizon(PURCHASES_IN_YEAR),
           "Net benefit over the horizon", MONEY, "lifecycle.costs, lifecycle.money_path",
           _cost("horizon_benefit"), group="Over the horizon"),
    Figure("horizon_kwh", "{years}*{kwh_net_saving}", "kWh saved over the horizon", KWH,
           "lifecycle.costs", _cost("horizon_kwh"), group="Over the horizon"),
    Figure("horizon_co2_kg", "{years}*{co2_kg_net_saving}",
           "kg CO2e saved over the horizon (electricity)", KG, "lifecycle.costs",
           _cost("horizon_co2_kg"), group="Over the horizon"),
    Figure("embodied_co2_kg",
           "{seats}*{desktop_embodied_kg}*ROUNDUP({years}/{desktop_life},0)"
           "-{seats}*{thin_client_embodied_kg}*ROUNDUP({years}/{thin_client_life},0)"
           "-{server_count}*{server_embodied_kg}*ROUNDUP({years}/{server_life},0)"
           "+IF({desktop_embodied_kg}+{thin_client_embodied_kg}+{server_embodied_kg}>0,0,"
           f"{{seats}}*{{embodied_saving_kg}}*{{years}}/{lifecycle.EMBODIED_STUDY_YEARS})",
           "Manufacturing CO2e avoided in the horizon (kg)", KG,
           "lifecycle.costs, model.device_embodied", _cost("embodied_co2_kg"),
           group="Over the horizon"),
)


# --- all sites together -------------------------------------------------------

def _total_line(kind: str, line: str) -> Callable[[Any], Optional[float]]:
    def value(t: Any) -> Optional[float]:
        table = getattr(t, kind)
        return None if table is None else table[line]
    return value


def _total_cost(name: str) -> Callable[[Any], Optional[float]]:
    return lambda t: getattr(t.horizon, name)


# The short names of the lines in the totals' defined names: net_kwh_per_year.
TOTAL_LINE_NAMES = {"gross_saving": "gross", "net_saving": "net"}
_TOTALLED_COSTS = ("investment", "avoided", "net_investment", "yearly_saving", "refresh",
                   "horizon_benefit", "horizon_kwh", "horizon_co2_kg", "embodied_co2_kg")
_SITE_LABEL = {f.name: f.label for f in SITE}

TOTAL: Tuple[Figure, ...] = (
    Figure("total_seats", "SUM({sites.seats})", "Seats", WHOLE, "model.total",
           lambda t: t.seats),
    Figure("pool_server_units", "SUM({sites.server_units})",
           "Server units (seats / seats per server)", COUNT, "evaluate.pooled",
           lambda t: t.server_units),
    Figure("pool_servers", "ROUNDUP(pool_server_units-1E-9,0)", "Servers if shared across sites",
           COUNT, "evaluate.pooled", lambda t: t.pool_servers),
    Figure("total_servers", "SUM({sites.server_count})", "Servers", COUNT, "model.total",
           lambda t: t.servers),
    *(Figure(f"{TOTAL_LINE_NAMES.get(line, line)}_{unit}_per_year",
             f"SUM({{sites.{kind}_{line}}})", model.LINE_LABELS[line], fmt, "model.total",
             _total_line(attr, line), group=group)
      for kind, attr, unit, fmt, group in (
          ("kwh", "kwh", "kwh", KWH, "kWh per year"),
          ("money", "money", "money", MONEY, "Money per year"),
          ("co2_kg", "co2_kg", "co2_kg", KG, "kg CO2e per year"))
      for line in model.LINES),
    *(Figure(name, f"SUM({{sites.{name}}})", _SITE_LABEL[name],
             MONEY if name not in ("horizon_kwh", "horizon_co2_kg", "embodied_co2_kg")
             else (KWH if name == "horizon_kwh" else KG),
             "lifecycle.add", _total_cost(name), group="Over the horizon")
      for name in _TOTALLED_COSTS),
)


# --- the cash flow, year by year ------------------------------------------------

_PLACE = re.compile(r"\{([\w.]+)\}")


def names_in(formula: str) -> List[str]:
    """The ``{names}`` a formula refers to (inputs and figures), in order."""
    return _PLACE.findall(formula)


def fill(formula: str, refs: Mapping[str, str]) -> str:
    """The formula with each ``{name}`` replaced by its reference in ``refs``."""
    return _PLACE.sub(lambda m: refs[m.group(1)], formula)


def _sites(per_year: str) -> str:
    """A per-year expression of one site summed over every site in its horizon."""
    inner = per_year
    for name in set(names_in(per_year)) - {"t"}:
        inner = inner.replace("{%s}" % name, "{sites.%s}" % name)
    return "SUMPRODUCT(({t}<{sites.years})*" + inner + ")"


CASH_FLOW: Tuple[Figure, ...] = (
    Figure("purchases", _sites(PURCHASES_IN_YEAR),
           "Purchases at the start of the year (net of desktops not bought)", MONEY,
           "lifecycle.costs (purchases), lifecycle.add", lambda y: y.purchases),
    Figure("savings", _sites(SAVING_IN_YEAR), "Saving during the year", MONEY,
           "lifecycle.costs (savings), lifecycle.add", lambda y: y.savings),
    Figure("net", "{savings}-{purchases}", "Net in the year", MONEY, "lifecycle.money_path",
           lambda y: y.savings - y.purchases),
    Figure("cumulative", "{previous_cumulative}+{net}", "Running total at the end of the year",
           MONEY, "lifecycle.money_path", lambda y: y.cumulative),
)


def mirrors() -> Dict[str, str]:
    """{figure name: the model function it restates}, every table."""
    return {f.name: f.mirrors for table in (SITE, TOTAL, CASH_FLOW) for f in table}
