"""Grid carbon intensity per country, from the bundled table.

``sunray/savings/data/carbon-intensity.csv`` (iso3, country, year, g_co2e_per_kwh):
Ember and Our World in Data (CC BY 4.0), via CodeCarbon (MIT). The table is
read only when a country is asked for, and once per process, as a package
resource (from a checkout, an installed copy or the pyz alike).
"""

import csv
import difflib
import functools
import io
from dataclasses import dataclass
from typing import Dict

from ..core.errors import JobFailed, UsageError
from ..core.resources import read

ATTRIBUTION = "Carbon intensity: Ember and Our World in Data (CC BY 4.0), via CodeCarbon (MIT)"
SOURCE = "Ember and Our World in Data, 'Carbon intensity of electricity', via CodeCarbon 3.3.2"
# The table as a resource name, inside the sunray package.
TABLE = "savings/data/carbon-intensity.csv"


@dataclass(frozen=True)
class GridFigure:
    """One country's grid carbon intensity (g CO2e per kWh generated)."""

    iso3: str
    country: str
    year: int
    g_per_kwh: float


@functools.lru_cache(maxsize=1)
def table() -> Dict[str, GridFigure]:
    """Every row of the bundled table, by ISO 3166 alpha-3 code."""
    rows = {}
    try:
        text = read(TABLE).decode("utf-8")
    except OSError as e:
        raise JobFailed(f"sunray/{TABLE}: cannot read the carbon intensity table: {e.strerror or e}") from None
    with io.StringIO(text, newline="") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            try:
                figure = GridFigure(
                    row["iso3"].strip().upper(),
                    row["country"].strip(),
                    int(row["year"]),
                    float(row["g_co2e_per_kwh"]),
                )
            except (KeyError, TypeError, ValueError, AttributeError):
                raise JobFailed(f"sunray/{TABLE}: line {line}: malformed row") from None
            rows[figure.iso3] = figure
    return rows


def lookup(code: str, where: str = "country") -> GridFigure:
    """The figure for ISO3 ``code`` (any case), or a UsageError with a hint;
    ``where`` names the flag or key the code came from."""
    rows = table()
    key = str(code).strip().upper()
    if key in rows:
        return rows[key]
    raise UsageError(f"{where} = {code!r}: unknown ISO 3166 alpha-3 code; "
                     f"{_hint(str(code), rows)}")


def _hint(code: str, rows: Dict[str, GridFigure]) -> str:
    """Suggest codes whose code or country name is close to what was typed."""
    names = {f.country.lower(): f.iso3 for f in rows.values()}
    typed = code.strip().lower()
    found = [c for c in rows if typed and c.startswith(typed.upper())]
    found += [names[n] for n in names if typed and n.startswith(typed)]
    found += [names[n] for n in difflib.get_close_matches(typed, names, n=3, cutoff=0.75)]
    found += difflib.get_close_matches(code.strip().upper(), rows, n=3, cutoff=0.6)
    unique = list(dict.fromkeys(found))[:3]
    if unique:
        listed = ", ".join(f"{c} ({rows[c].country})" for c in unique)
        return f"did you mean {listed}?"
    return "e.g. NLD, DEU, FRA, GBR, USA (see sunray/savings/data/carbon-intensity.csv)"
