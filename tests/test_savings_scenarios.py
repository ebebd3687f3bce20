"""Scenarios side by side and the sensitivity line."""

import json

import pytest
from conftest import assert_clean_error, run_sunray
from savings_support import write_yaml

# Savings and fleet run on an admin's workstation (Python 3.9+): not in the 3.6 tier.
pytestmark = pytest.mark.workstation

SCHOOL = {
    "preset": "office",
    "defaults": {"price": 0.32, "desktop_watts": 85, "hours_before": 9,
                 "thin_client_hours": 9, "days": 200, "server_watts": 450,
                 "seats_per_server": 30, "pue": 1.6, "thin_client_price": 300,
                 "server_price": 5000, "desktop_price": 700},
    "scenarios": {"low": {"price": 0.25}, "high": {"price": 0.40},
                  "servers scheduled": {"server_hours": 12}},
    "sites": [{"name": "A", "seats": 120}, {"name": "B", "seats": 40},
              {"name": "C", "seats": 15}],
}


def test_scenarios_side_by_side(tmp_path):
    path = write_yaml(tmp_path, SCHOOL)
    data = json.loads(run_sunray("savings", "--config", path, "--format", "json").stdout)
    by_name = {sc["name"]: sc for sc in data["scenarios"]}
    # The proposal's own, then ours: its servers run 24 h, its desktops 9 h.
    assert list(by_name) == ["low", "high", "servers scheduled", "servers off out of hours"]
    ours = by_name["servers off out of hours"]
    assert ours["suggested"] and not by_name["low"]["suggested"]
    assert ours["changes"] == {"server_hours": 11, "server_days": 200}
    assert ours["total"]["kwh"]["server"] == pytest.approx(
        data["total"]["kwh"]["server"] * 11 * 200 / (24 * 365), abs=0.01)
    expected = data["total"]
    # Price scales money, not energy; fewer server hours save energy.
    assert by_name["low"]["total"]["kwh"] == expected["kwh"]
    assert by_name["low"]["total"]["money"]["net_saving"] == pytest.approx(
        expected["kwh"]["net_saving"] * 0.25, abs=0.01)
    assert by_name["servers scheduled"]["total"]["kwh"]["server"] == pytest.approx(
        expected["kwh"]["server"] / 2, abs=0.01)
    text = run_sunray("savings", "--config", path).stdout
    header = next(ln for ln in text.splitlines() if "expected" in ln)
    assert header.split() == ["expected", "low", "high", "servers", "scheduled", "servers",
                              "off", "out", "of", "hours"]


def test_no_out_of_hours_scenario_where_thin_clients_run_round_the_clock(tmp_path):
    """The office preset's thin clients run 24 h: a site whose desktops ran
    10 h leaves its servers no hours off. Before: internal error: StopIteration."""
    path = write_yaml(tmp_path, {"defaults": {"price": 0.30}, "sites": [
        {"name": "Head office", "seats": 40}, {"name": "Depot", "seats": 8, "hours_before": 10}]})
    proc = run_sunray("savings", "--config", path, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["scenarios"] == []
    mixed = write_yaml(tmp_path, {"defaults": {"price": 0.30}, "sites": [
        {"name": "Round the clock", "seats": 40},
        {"name": "Day shift", "seats": 8, "hours_before": 8, "thin_client_hours": 8}]}, "mixed.yaml")
    data = json.loads(run_sunray("savings", "--config", mixed, "--format", "json").stdout)
    assert [sc["changes"] for sc in data["scenarios"]] == [{"server_hours": 10, "server_days": 365}]


def test_sensitivity_names_the_input_that_moves_the_result_most(tmp_path):
    path = write_yaml(tmp_path, SCHOOL)
    data = json.loads(run_sunray("savings", "--config", path, "--format", "json").stdout)
    found = data["sensitivity"]
    swings = [abs(x["high"] - x["low"]) for x in found]
    assert swings == sorted(swings, reverse=True)
    price = next(x for x in found if x["input"] == "price")
    net = data["total"]["money"]["net_saving"]
    assert price["low"] == pytest.approx(net * 0.8, abs=0.01)
    assert price["high"] == pytest.approx(net * 1.2, abs=0.01)
    assert "Sensitivity (each input 20 %" in run_sunray("savings", "--config", path).stdout


@pytest.mark.parametrize("scenarios,needles", [
    ({"low": {"colour": 1}}, ["scenarios.low: unknown key 'colour'"]),
    ({"low": {"price": -1}}, ["scenarios.low.price = -1", "0..1,000,000"]),
    ({"expected": {"price": 1}}, ["'expected' is the proposal as given"]),
    ([1, 2], ["scenarios: expected a mapping"]),
])
def test_bad_scenarios_exit_2(tmp_path, scenarios, needles):
    path = write_yaml(tmp_path, {**SCHOOL, "scenarios": scenarios})
    assert_clean_error(run_sunray("savings", "--config", path), 2, *needles)
