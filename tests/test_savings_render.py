"""Every format of the savings report: each parses back with the same
numbers, and hostile names stay text in each."""

import csv
import io
import json
import re

import pytest
import yaml
from conftest import run_sunray
from savings_support import ATTRIBUTION, PROPOSAL, write_yaml

from sunray.savings import model
from sunray.savings.display import show

# Savings and fleet run on an admin's workstation (Python 3.9+): not in the 3.6 tier.
pytestmark = pytest.mark.workstation


@pytest.fixture(scope="module")
def outputs():
    return {fmt: run_sunray("savings", "--config", PROPOSAL, "--format", fmt).stdout
            for fmt in ("json", "yaml", "csv", "markdown", "html")}


def test_every_format_parses_and_agrees(outputs):
    data = json.loads(outputs["json"])
    assert yaml.safe_load(outputs["yaml"]) == data
    rows = list(csv.DictReader(io.StringIO(outputs["csv"])))
    assert [r["row"] for r in rows] == ["site", "site", "site", "total", "source", "generator"]
    assert rows[-2]["site"] == ATTRIBUTION  # the attribution travels with the figures
    rows = rows[:-2]
    for row, site_ in zip(rows, data["sites"]):
        assert row["site"] == site_["name"]
        for line in model.LINES:
            assert float(row[f"kwh_{line}"]) == site_["kwh"][line]
            assert float(row[f"co2_kg_{line}"]) == site_["co2_kg"][line]
    total = rows[-1]
    for line in model.LINES:
        assert float(total[f"kwh_{line}"]) == data["total"]["kwh"][line]
        assert float(total[f"money_{line}"]) == data["total"]["money"][line]
    assert float(total["net_investment"]) == data["total"]["costs"]["net_investment"]

    md = outputs["markdown"]
    tables = [ln for ln in md.splitlines() if ln.startswith("|")]
    # 4 tables: header, rule and 7 lines each; and the suggested "servers off
    # out of hours" scenario (its servers run 24 h, the head office's desktops 10).
    assert len(tables) == 4 * 9 + 8
    block = md[md.index("## Total"):]
    net_row = next(ln for ln in block.splitlines() if ln.startswith("| Net saving"))
    cells = [c.strip() for c in net_row.strip("|").split("|")]
    t = data["total"]
    assert cells[1:] == [show(t["kwh"]["net_saving"]), show(t["money"]["net_saving"]),
                         show(t["co2_kg"]["net_saving"])]
    for table in re.split(r"\n\n", md):
        lines = [ln for ln in table.splitlines() if ln.startswith("|")]
        assert len({ln.count("|") for ln in lines}) <= 1, table

    page = outputs["html"]
    assert re.search(show(t["kwh"]["net_saving"]) + r'</span> <span class="unit">kWh', page)
    assert ATTRIBUTION in page


def test_a_sites_inputs_are_the_shared_ones_updated_with_its_own(outputs):
    from sunray.savings import proposal

    data = json.loads(outputs["json"])
    shared = data["shared_inputs"]
    sites, _ = proposal.plan({}, {}, PROPOSAL)
    for site, given in zip(sites, data["sites"]):
        assert {**shared, **given["inputs"]} == dict(zip(model.FIELD, model.input_values(site)))
        assert not shared.keys() & given["inputs"].keys()
    # Only what differs between the three sites is repeated per site.
    assert set(data["sites"][0]["inputs"]) == {
        "seats", "hours_before", "thin_client_hours", "days", "server_watts",
        "seats_per_server", "pue", "country", "g_per_kwh"}
    assert (shared["price"], shared["currency"], shared["years"]) == (0.22, "EUR", 5)


def test_hostile_names_stay_text_in_every_format(tmp_path):
    evil = "<script>alert(1)</script> | *x* =cmd"
    path = write_yaml(tmp_path, {"title": "<b>t</b>", "customer": "A & B",
                                 "sites": [{"name": evil, "seats": 2}]})
    page = run_sunray("savings", "--config", path, "--format", "html").stdout
    assert "<script>" not in page and "<b>t</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "A &amp; B" in page
    md = run_sunray("savings", "--config", path, "--format", "markdown").stdout
    heading = next(ln for ln in md.splitlines() if "alert" in ln)
    assert "\\<script\\>" in heading and "\\|" in heading and "\\*x\\*" in heading
    hostile_csv = write_yaml(tmp_path, {"sites": [{"name": "=HYPERLINK(1)", "seats": 1}]}, "c.yaml")
    rows = list(csv.reader(io.StringIO(
        run_sunray("savings", "--config", hostile_csv, "--format", "csv").stdout)))
    assert rows[1][1] == "'=HYPERLINK(1)"


def test_the_order_of_a_sites_keys_changes_no_output(tmp_path):
    # Sites whose values come from the same places list their inputs alike,
    # whatever order each gives its keys in (the inputs list groups them).
    sites = [{"name": "A", "seats": 10, "price": 0.30}, {"name": "C", "seats": 10},
             {"name": "B", "seats": 10, "price": 0.22}]
    reordered = sites[:2] + [{"price": 0.22, "seats": 10, "name": "B"}]
    outputs = []
    for i, listed in enumerate((sites, reordered)):
        path = write_yaml(tmp_path, {"defaults": {"price": 0.22}, "sites": listed}, f"{i}.yaml")
        outputs.append(run_sunray("savings", "--config", path, "--format", "json").stdout)
    assert outputs[0] == outputs[1]


def test_a_value_written_two_ways_stays_each_sites(tmp_path):
    path = write_yaml(tmp_path, {"sites": [{"name": "A", "seats": 2, "desktop_watts": 85},
                                           {"name": "B", "seats": 2, "desktop_watts": 85.0}]})
    data = json.loads(run_sunray("savings", "--config", path, "--format", "json").stdout)
    assert "desktop_watts" not in data["shared_inputs"]
    assert [s["inputs"]["desktop_watts"] for s in data["sites"]] == [85, 85.0]
