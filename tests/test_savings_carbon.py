"""Grid carbon intensity by country: the figure, its year and source, and
the attribution in the reports and the help."""

import json

import pytest
from conftest import run_sunray
from savings_support import ATTRIBUTION

# Savings and fleet run on an admin's workstation (Python 3.9+): not in the 3.6 tier.
pytestmark = pytest.mark.workstation


def test_country_figure_year_source_and_attribution():
    proc = run_sunray("savings", "--country", "deu")
    assert proc.returncode == 0, proc.stderr
    assert "380.9 g CO2e/kWh (Germany (DEU) 2023" in proc.stdout  # the data is CO2e
    assert ATTRIBUTION in proc.stdout
    data = json.loads(run_sunray("savings", "--country", "DEU", "--format", "json").stdout)
    [grid] = data["grids"]
    assert (grid["g_per_kwh"], grid["country"], grid["year"]) == (380.9, "DEU", 2023)
    assert grid["source"] == "Germany (DEU) 2023, Ember and Our World in Data via CodeCarbon"
    assert (data["shared_inputs"]["country"], data["shared_inputs"]["g_per_kwh"]) == \
        ("DEU", 380.9)
    # 15 seats: without --seats, one full server's seats are assumed.
    assert data["sites"][0]["co2_kg"]["before"] == pytest.approx(15 * 876 * 0.3809, abs=5e-4)


def test_help_names_the_data_attribution():
    proc = run_sunray("--help", "savings")
    assert proc.returncode == 0
    assert ATTRIBUTION in " ".join(proc.stdout.split())
