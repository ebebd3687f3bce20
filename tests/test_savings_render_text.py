"""The text report: the posts' numbers in its tables, and a table per site
with a total."""

import pytest
from conftest import run_sunray
from savings_support import PROPOSAL, text_rows

# Savings and fleet run on an admin's workstation (Python 3.9+): not in the 3.6 tier.
pytestmark = pytest.mark.workstation


def test_home_preset_through_the_program_shows_the_posts_numbers():
    proc = run_sunray("savings", "--preset", "home")
    assert proc.returncode == 0, proc.stderr
    rows = text_rows(proc.stdout)
    # columns: kWh per seat, kWh, EUR, kg CO2
    assert rows["Desktops before"][:2] == ["164", "164"]
    assert rows["Desktops after (residual use)"][:2] == ["27", "27"]
    assert rows["Gross saving (desktops only)"] == ["137", "137", "34", "62"]
    assert rows["Net saving (after thin clients and servers)"] == ["124", "124", "31", "56"]


def test_several_sites_give_a_table_each_and_a_total():
    proc = run_sunray("savings", "--config", PROPOSAL)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for name in ("Head office Rotterdam", "Warehouse Venlo", "Branch Antwerp"):
        assert f"Site: {name}" in out
    assert "Total: 3 sites, 157 seats" in out
    assert out.count("Net saving (after thin clients and servers)") == 4
    total = out[out.index("Total: 3 sites"):]
    # 120 seats x 2 W off power for the 6,460 h a year they are not used: +1,550 kWh.
    assert text_rows(total)["Desktops before"] == ["61,562", "13,544", "15,113"]
    assert out.count("no net saving (Head office Rotterdam)") == 1  # said once
