"""The savings model: the posts' numbers, the model's laws (hypothesis),
payback, the checks of one input, and totals across currencies."""

import json
from dataclasses import replace

import pytest
from conftest import run_sunray
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from savings_support import site, text_rows, write_yaml

from sunray.core.errors import UsageError
from sunray.savings import model
from sunray.savings.display import show
from sunray.savings.evaluate import evaluate
from sunray.savings.proposal import plan

# Savings and fleet run on an admin's workstation (Python 3.9+): not in the 3.6 tier.
pytestmark = pytest.mark.workstation

# --- the posts --------------------------------------------------------------


def test_home_preset_reproduces_the_posts_exactly():
    r = model.compute(site("home"))
    k, money, co2 = r.kwh_per_seat, r.money, r.co2_kg
    assert k["before"] == pytest.approx(164.25) and k["desktop_after"] == pytest.approx(27.375)
    assert [show(k["before"]), show(k["desktop_after"]), show(k["gross_saving"])] == \
        ["164", "27", "137"]
    assert show(money["gross_saving"]) == "34"
    assert show(co2["gross_saving"]) == "62"
    # The honest figure: a 4 W Sun Ray for 2.5 h and 10 W more on the server.
    assert k["thin_client"] == pytest.approx(3.65)
    assert k["server"] == pytest.approx(9.125)
    assert show(k["net_saving"]) == "124"


def test_office_preset_reproduces_the_posts_and_counts_the_server():
    # 15 seats fill the preset's one whole server (a site buys whole servers).
    r = model.compute(site("office", seats=15))
    k = r.kwh_per_seat
    assert k["before"] == pytest.approx(876)
    assert show(r.co2_kg["before"] / 15) == "394"          # the posts: "about 390 kg"
    assert show(r.money["gross_saving"] / 15) == "219"      # the posts: "as much as 200 euros"
    assert k["server"] == pytest.approx(350.4)         # 40 W per seat, 24x7
    assert k["server"] <= k["gross_saving"] / 2        # the posts: at most half
    proc = run_sunray("savings", "--preset", "office", "--seats", "1", "--format", "json")
    data = json.loads(proc.stdout)
    assert data["sites"][0]["kwh"]["before"] == 876  # one seat
    assert data["sites"][0]["co2_kg"]["before"] == pytest.approx(394.2)


def test_the_office_preset_without_seats_is_one_full_server_and_says_so():
    """Before: 1 seat paying for a whole server, '-1,104 EUR' and 'no net
    saving' for the first example a user tries."""
    data = json.loads(run_sunray("savings", "--preset", "office", "--format", "json").stdout)
    site_ = data["sites"][0]
    assert site_["seats"] == 15 and site_["servers"] == 1
    assert site_["money"]["net_saving"] == pytest.approx(15 * 490.56 * 0.25)
    assert any("15 seats assumed" in n for n in data["notes"])
    assert not any("no net saving" in n for n in data["notes"])
    seats = next(i for i in data["inputs_and_defaults"] if i["label"].startswith("Seats"))
    assert seats["value"] == 15 and seats["source"].startswith("assumed")
    wider = json.loads(run_sunray("savings", "--preset", "office", "--seats-per-server", "25",
                                  "--format", "json").stdout)
    assert wider["sites"][0]["seats"] == 25
    # The posts' home figures stay one desktop.
    home = json.loads(run_sunray("savings", "--preset", "home", "--format", "json").stdout)
    assert home["sites"][0]["seats"] == 1 and not any("assumed" in n for n in home["notes"])


def test_office_server_share_is_settable_and_flagged_above_half():
    proc = run_sunray("savings", "--preset", "office", "--seats-per-server", "5",
                      "--seats", "5", "--format", "json")
    data = json.loads(proc.stdout)
    assert data["sites"][0]["kwh"]["server"] / 5 == pytest.approx(1051.2)  # per seat
    # Customer words (before: "above the posts' rule of thumb").
    assert any("more than half of what the desktops no longer use" in n for n in data["notes"])
    assert any("no net saving" in n for n in data["notes"])


# --- the model's laws (hypothesis) ---------------------------------------------

hours = st.floats(0, 24, allow_nan=False)
watts = st.floats(0, 2000, allow_nan=False)


@st.composite
def sites(draw):
    before = draw(hours)
    return site(
        "office",
        seats=draw(st.integers(1, 10_000)),
        desktop_watts=draw(watts),
        hours_before=before,
        hours_after=draw(st.floats(0, before, allow_nan=False)),
        thin_client_watts=draw(st.floats(0, 50, allow_nan=False)),
        thin_client_hours=draw(hours),
        server_watts=draw(watts),
        server_hours=draw(hours),
        server_days=draw(st.floats(1, 366)),
        seats_per_server=draw(st.floats(1, 200)),
        pue=draw(st.floats(1, 3)),
        days=draw(st.floats(1, 366)),
        price=draw(st.floats(0, 5)),
        g_per_kwh=draw(st.floats(0, 1200)),
        desktop_off_watts=draw(st.floats(0, 10)),
    )


@hsettings(max_examples=200, deadline=None)
@given(sites(), st.integers(1, 1000))
def test_savings_scale_linearly_with_seats(s, factor):
    # Linear in seats for a share of servers; whole servers are tested below.
    one = model.compute(replace(s, seats=1, servers=1 / s.seats_per_server))
    seats = s.seats * factor
    many = model.compute(replace(s, seats=seats, servers=seats / s.seats_per_server))
    for table in ("kwh", "money", "co2_kg"):
        for line in model.LINES:
            expected = getattr(one, table)[line] * s.seats * factor
            assert getattr(many, table)[line] == pytest.approx(expected, rel=1e-9, abs=1e-9)


@hsettings(max_examples=200, deadline=None)
@given(sites())
def test_no_difference_gives_no_saving(s):
    same = replace(s, hours_after=s.hours_before, thin_client_watts=0, server_watts=0,
                   desktop_off_watts=0)
    r = model.compute(same)
    for table in (r.kwh, r.money, r.co2_kg):
        assert table["gross_saving"] == pytest.approx(0, abs=1e-9)
        assert table["net_saving"] == pytest.approx(0, abs=1e-9)


@hsettings(max_examples=200, deadline=None)
@given(sites())
def test_units_are_consistent(s):
    r = model.compute(s)
    k = r.kwh_per_seat
    off_hours = max(8760 - s.hours_before * s.days, 0)
    used = s.desktop_watts * s.hours_before * s.days + s.desktop_off_watts * off_hours
    if used > 1e-6:  # not in subnormal floats
        # kWh x 1000 / (W x h/day x days + off W x other hours) is 1: watt-hours.
        assert k["before"] * 1000 / used == pytest.approx(1)
    assert k["after"] == pytest.approx(k["desktop_after"] + k["thin_client"] + k["server"])
    assert k["net_saving"] == pytest.approx(k["gross_saving"] - k["thin_client"] - k["server"],
                                            rel=1e-9, abs=1e-9)
    close = dict(rel=1e-9, abs=1e-9)
    for line in model.LINES:
        assert r.co2_kg[line] == pytest.approx(r.kwh[line] * s.g_per_kwh / 1000, **close)
        assert r.money[line] == pytest.approx(r.kwh[line] * s.price, **close)


def test_payback_and_horizon():
    # Lifetimes past the payback: no refresh, so the simple formula holds.
    r = model.compute(site("office", seats=15, thin_client_price=250, server_price=4000,
                           thin_client_life=30, server_life=30))
    c = r.costs
    assert c.investment == pytest.approx(15 * 250 + 4000)
    assert c.yearly_saving == pytest.approx(15 * 490.56 * 0.25)
    assert c.payback_years == pytest.approx(7750 / (15 * 490.56 * 0.25))
    # ... plus the hardware's residual value: 25 of its 30 years are left.
    assert c.horizon_benefit == pytest.approx(5 * 15 * 490.56 * 0.25 - 7750 + 7750 * 25 / 30)
    # Avoided desktops worth more than the hardware: it pays back at once.
    assert model.compute(site("office", seats=15, thin_client_price=250, desktop_price=800)) \
        .costs.payback_years == 0
    # Running costs above the savings: never, whatever the desktops were worth.
    losing = site("office", server_watts=5000, thin_client_price=250, desktop_price=800)
    assert model.compute(losing).costs.payback_years is None
    assert model.compute(site("office")).costs is None


def test_model_checks_name_the_value_and_range():
    with pytest.raises(UsageError, match=r"^x = 3.5: out of range; allowed: 1..3$"):
        model.check("pue", 3.5, "x")
    with pytest.raises(UsageError, match="not a finite number"):
        model.check("price", float("nan"), "x")
    with pytest.raises(UsageError, match="printable"):
        model.check("currency", "EU\nR", "x")
    # The quick way for the usual numbers keeps every rule of the long one.
    assert model.check("seats", 3.0, "x") == 3 and type(model.check("seats", 3.0, "x")) is int
    assert type(model.check("pue", 1, "x")) is int and model.check("pue", 1.25, "x") == 1.25
    for name, value, problem in (("seats", True, "not a number"), ("seats", 2.5, "whole number"),
                                 ("pue", float("inf"), "not a finite number"),
                                 ("running_cost", -1e7, "out of range"),
                                 ("currency", 5, "expected text")):
        with pytest.raises(UsageError, match=problem):
            model.check(name, value, "x")


def test_mixed_currencies_are_not_added_up(tmp_path):
    path = write_yaml(tmp_path, {"defaults": {"seats": 2},
                                 "sites": [{"name": "NL"}, {"name": "CH", "currency": "CHF"}]})
    sites_, meta = plan({}, {}, path)
    p = evaluate(sites_, meta)
    assert p.total.money is None
    assert any("different currencies" in n for n in p.notes)
    proc = run_sunray("savings", "--config", path)
    assert proc.returncode == 0
    assert text_rows(proc.stdout[proc.stdout.index("Total:"):])["Desktops before"][1] == "-"
