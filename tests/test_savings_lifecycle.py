"""Life-cycle money: whole servers, refreshes, escalation, discounting,
payback to the month; standby power; servers shared across sites."""

import json
import re

import pytest
from conftest import run_sunray
from savings_support import site, write_yaml

from sunray.savings import lifecycle, model

# Savings and fleet run on an admin's workstation (Python 3.9+): not in the 3.6 tier.
pytestmark = pytest.mark.workstation


def test_a_site_buys_whole_servers():
    r = model.compute(site("office", seats=40, seats_per_server=30, server_watts=450,
                           server_price=5000))
    assert r.site.server_count == 2
    assert r.kwh["server"] == pytest.approx(2 * 450 * 24 * 365 * 1.5 / 1000)
    assert r.costs.investment == pytest.approx(2 * 5000)


def test_shared_servers_pool_the_seats_of_every_site(tmp_path):
    sites = [{"name": "A", "seats": 120}, {"name": "B", "seats": 40}, {"name": "C", "seats": 15}]
    common = {"defaults": {"seats_per_server": 30, "server_price": 5000}, "sites": sites}
    per_site = json.loads(run_sunray("savings", "--config", write_yaml(tmp_path, common),
                                     "--format", "json").stdout)
    assert per_site["servers"] == "per-site"
    assert per_site["total"]["servers"] == 4 + 2 + 1
    shared = json.loads(run_sunray("savings", "--config", write_yaml(
        tmp_path, {**common, "servers": "shared"}, "s.yaml"), "--format", "json").stdout)
    assert shared["servers"] == "shared"
    assert shared["total"]["servers"] == pytest.approx(6)  # ceil(175 / 30)
    assert shared["total"]["costs"]["investment"] == pytest.approx(6 * 5000)
    flag = json.loads(run_sunray("savings", "--config", write_yaml(tmp_path, common, "f.yaml"),
                                 "--servers", "shared", "--format", "json").stdout)
    assert flag["total"]["servers"] == pytest.approx(6)


def test_desktop_standby_outside_use_hours():
    r = model.compute(site("office", seats=30, hours_before=9, days=200, desktop_off_watts=2))
    assert r.kwh_per_seat["before"] == pytest.approx(100 * 9 * 200 / 1000
                                                     + 2 * (8760 - 1800) / 1000)
    # A desktop that stays (residual use) still idles plugged in.
    kept = model.compute(site("home", desktop_off_watts=2))
    assert kept.kwh_per_seat["desktop_after"] == pytest.approx(150 * 0.5 * 365 / 1000
                                                              + 2 * (8760 - 182.5) / 1000)


def _devices(**changes):
    values = dict(seats=10, servers=1, thin_client_price=300, server_price=3000,
                  desktop_price=0, thin_client_life=8, server_life=5, desktop_life=4,
                  thin_client_embodied_kg=0, server_embodied_kg=0, desktop_embodied_kg=0)
    values.update(changes)
    return lifecycle.Devices(**values)


def test_refreshes_recur_within_the_horizon():
    c = lifecycle.costs(_devices(desktop_price=700), 1000, 0, 10, 0, 0, 0, 0)
    # desktops avoided at 0, 4, 8; thin clients bought at 0, 8; servers at 0, 5.
    assert c.net_investment == pytest.approx(3000 + 3000 - 7000)
    assert c.refresh == pytest.approx(-7000 + 3000 - 7000 + 3000)
    # Residual value at year 10 (straight line): the desktops not bought at 8
    # would be worth 2/4 of 7,000, the thin clients bought at 8 are worth 6/8
    # of 3,000, the server bought at 5 is at its end.
    assert c.residual_value == pytest.approx(-7000 * 2 / 4 + 3000 * 6 / 8)
    assert c.horizon_benefit == pytest.approx(10 * 1000 - (-1000) - c.refresh - 1250)
    assert c.payback_years == 0 and c.payback_months == 0
    # Without the residual value: the running total at the horizon's end, as before.
    off = lifecycle.costs(_devices(desktop_price=700), 1000, 0, 10, 0, 0, 0, 0, residual=False)
    assert off.residual_value == 0
    assert off.horizon_benefit == pytest.approx(10 * 1000 - (-1000) - c.refresh)


def test_the_residual_value_keeps_the_benefit_from_jumping_with_the_horizon():
    """Before: the school's benefit for 3, 4, 5, 6, 8 years was 12,901 /
    9,035 / 118,918 / 76,552 / 68,820 EUR: one avoided desktop refresh
    counted whole at year 4, no device worth anything at the end. With the
    straight-line residual value, a year more adds about one year's worth."""
    def benefit(years):
        return lifecycle.costs(_devices(seats=175, servers=7, thin_client_price=250,
                                        server_price=4500, desktop_price=550),
                               -5184, 0, years, 0, 0, 0, 0).horizon_benefit

    steps = [benefit(y + 1) - benefit(y) for y in range(1, 10)]
    # Each year: the energy (-5,184), the desktops' value used up (175 x 550 / 4),
    # less the thin clients' (175 x 250 / 8) and the servers' (7 x 4500 / 5).
    year = -5184 + 175 * 550 / 4 - 175 * 250 / 8 - 7 * 4500 / 5
    assert steps == [pytest.approx(year)] * 9


def test_payback_in_months_escalation_and_discounting():
    c = lifecycle.costs(_devices(thin_client_life=30, server_life=30), 5000, 0, 5, 0, 0, 0, 0)
    assert c.payback_years == pytest.approx(6000 / 5000)
    assert c.payback_months == 15  # 14.4 months, rounded up
    grown = lifecycle.costs(_devices(), 5000, 0, 5, 10, 0, 0, 0)
    # The thin clients (3,000, 8 years) are worth 3/8 at year 5; the server
    # is at its end (its refresh at 5 is past the horizon).
    assert grown.horizon_benefit == pytest.approx(
        sum(5000 * 1.1 ** t for t in range(5)) - 6000 + 3000 * 3 / 8)
    discounted = lifecycle.costs(_devices(), 5000, 0, 5, 0, 5, 0, 0)
    assert discounted.horizon_benefit == pytest.approx(
        sum(5000 / 1.05 ** (t + 1) for t in range(5)) - 6000 + 3000 * 3 / 8 / 1.05 ** 5)
    assert discounted.npv == discounted.horizon_benefit
    assert discounted.roi == pytest.approx(discounted.horizon_benefit / 6000)
    running = lifecycle.costs(_devices(), 5000, 10 * 50, 5, 0, 0, 0, 0)
    assert running.yearly_saving == pytest.approx(4500)
    losing = lifecycle.costs(_devices(), -100, 0, 5, 0, 0, 0, 0)
    assert losing.payback_years is None


def test_embodied_co2e_counts_purchases_in_the_horizon():
    c = lifecycle.costs(_devices(desktop_embodied_kg=300, thin_client_embodied_kg=30,
                                 server_embodied_kg=600), 0, 0, 5, 0, 0, 0, 0)
    # desktops avoided at 0 and 4; thin clients at 0; the server at 0.
    assert c.embodied_co2_kg == pytest.approx(2 * 10 * 300 - 10 * 30 - 600)


def test_an_idle_whole_server_is_noted_and_bad_modes_refused(tmp_path):
    from conftest import assert_clean_error

    data = json.loads(run_sunray("savings", "--preset", "office", "--seats", "1",
                                 "--format", "json").stdout)
    assert data["sites"][0]["servers"] == 1
    assert any("less than half used" in n and "servers: shared" in n for n in data["notes"])
    assert_clean_error(run_sunray("savings", "--servers", "pooled"), 2,
                       "--servers = 'pooled'", "per-site, shared")
    path = write_yaml(tmp_path, {"servers": "all", "sites": [{"name": "A", "seats": 2}]})
    assert_clean_error(run_sunray("savings", "--config", path), 2, ".servers = 'all'")


def test_the_payback_and_the_horizon_benefit_never_contradict_each_other():
    """At the horizon's end the running total is the horizon benefit: at or
    above zero exactly when the payback is inside the horizon; and 'ahead
    from day one' (payback 0) only when no span is below zero."""
    import random

    rng = random.Random(13)
    for _ in range(2000):
        years = rng.randint(1, 12)
        c = lifecycle.costs(
            _devices(seats=rng.randint(1, 60), servers=rng.randint(1, 3),
                     thin_client_price=rng.choice([0, 250, 400]),
                     server_price=rng.choice([0, 3000, 6000]),
                     desktop_price=rng.choice([0, 300, 700]),
                     thin_client_life=rng.randint(1, 9), server_life=rng.randint(1, 9),
                     desktop_life=rng.randint(1, 9)),
            rng.uniform(-3000, 6000), rng.choice([0, 200]), years,
            rng.choice([0, 3]), rng.choice([0, 4]), 0, 0)
        if c.horizon_benefit >= -1e-6:
            assert c.payback_years is not None and c.payback_years <= years, c
        else:  # still below zero at the end; a purchase at t = years is past it
            assert c.payback_years is None or c.payback_years >= years, c
        assert (c.payback_years == 0) == (not c.below_zero), c
        for start, end in c.below_zero:
            # A span may start at the horizon's end itself: the residual
            # value of the desktops not bought can pull the total under.
            assert 0 <= start <= years and (end is None or start < end <= years), c


def test_below_zero_spans_follow_the_running_total():
    # 3,000 ahead at the switch, 2,000 a year lost, desktops (2 x 11,000)
    # not replaced at year 4: below zero from 1.5 years until 4.0.
    c = lifecycle.costs(_devices(seats=2, servers=0, thin_client_price=9500,
                                 desktop_price=11000, thin_client_life=30),
                        -2000, 0, 5, 0, 0, 0, 0)
    assert c.net_investment == pytest.approx(-3000)
    assert c.below_zero == (pytest.approx((1.5, 4.0)),)
    assert c.payback_years == pytest.approx(4.0)
    # ... and the desktops not bought at 4 would be worth 3/4 at year 5.
    assert c.horizon_benefit == pytest.approx(3000 - 5 * 2000 + 22000 - 22000 * 3 / 4
                                              + 19000 * 25 / 30)
    # A loss from the first year on, never made good: one open span, no payback.
    lost = lifecycle.costs(_devices(desktop_price=0), -100, 0, 5, 0, 0, 0, 0)
    assert lost.below_zero == ((0.0, None),) and lost.payback_years is None


def test_manufacturing_co2e_defaults_to_the_cited_per_workplace_figure():
    """Before: 0 unless the admin gave per-device figures. Now the study's
    lower bound (80 kg per seat in 5 years) is counted, scaled to the
    horizon and named on the report; any per-device figure replaces it."""
    r = model.compute(site("office", seats=40, thin_client_price=250, years=10))
    assert r.costs.embodied_co2_kg == pytest.approx(40 * 80 * 10 / 5)
    given = model.compute(site("office", seats=40, thin_client_price=250, years=10,
                               desktop_embodied_kg=300))
    assert given.costs.embodied_co2_kg == pytest.approx(40 * 300 * 3)  # desktops at 0, 4, 8
    out = run_sunray("savings", "--preset", "office", "--seats", "40", "--thin-client-price",
                     "250", "--years", "10", "--format", "markdown").stdout.replace("\\", "")
    assert "Manufacturing CO2e over 10 years: 6,400 kg CO2e avoided" in out
    assert re.search(r"Manufacturing CO2e avoided per workplace .*: 80 kg CO2e per seat in 5 "
                     r"years \(Maga, Hiebel, Knermann 2013, Int J Life Cycle Assess 18: a lower "
                     r"bound", out)
    assert "Manufacturing CO2e: Maga, Hiebel, Knermann (Fraunhofer UMSICHT), Int J Life Cycle " \
        "Assess 18 (2013) 861-871: over 80 kg CO2e less" in out
    # Not used (per-device figures given, or no costs at all): not listed as an input.
    for unused in (["--thin-client-price", "250", "--desktop-embodied-kg", "300"], []):
        out = run_sunray("savings", "--preset", "office", "--seats", "40", *unused,
                         "--format", "markdown").stdout
        assert "Maga" not in out and "per workplace" not in out


def test_a_total_of_mixed_horizons_reads_its_path_within_each_sites_horizon():
    """Before: the total of a 3-year and a 10-year site read the 3-year
    site's refreshes after its horizon, and said 'below zero ... from year
    10 on; payback in 11.1 years' beside a positive net benefit."""
    import random

    rng = random.Random(11)
    for _ in range(500):
        parts = [lifecycle.costs(
            _devices(seats=rng.randint(1, 20), thin_client_price=rng.choice([0, 300]),
                     desktop_price=rng.choice([0, 500]), thin_client_life=rng.randint(1, 6)),
            rng.uniform(-2000, 3000), 0, rng.randint(1, 12), 0, rng.choice([0, 4]), 0, 0)
            for _ in range(rng.randint(2, 4))]
        total = lifecycle.add(parts)
        longest = max(c.years for c in parts)
        assert total.horizon_benefit == pytest.approx(sum(c.horizon_benefit for c in parts))
        if len({c.years for c in parts}) == 1:
            continue
        if total.horizon_benefit >= 1e-6:
            assert total.payback_years is not None and total.payback_years <= longest, total
        elif total.horizon_benefit <= -1e-6:
            assert total.payback_years is None and total.below_zero[-1][1] is None, total


def test_back_to_zero_exactly_at_the_horizon_closes_the_span():
    # Before: ((0.0, None),) beside a payback of 5.0 years.
    assert lifecycle.money_path([100] + [0] * 29, [20] * 30, 5) == (5.0, ((0.0, 5.0),))


def test_itemised_costs_standby_roi_and_net_co2e():
    base = dict(seats=20, thin_client_price=250, server_price=4000, desktop_price=0,
                thin_client_life=5, server_life=5, years=5)
    plain = model.compute(site("office", **base)).costs
    costed = model.compute(site("office", admin_before=60, admin_after=20, licence_cost=15,
                                deployment_cost=40, **base))
    c = costed.costs
    # Yearly: 20 seats x (20 - 60 + 15) = 500 saved; once: 20 x 40 at the switch.
    assert c.yearly_saving == pytest.approx(plain.yearly_saving + 500)
    assert c.deployment == pytest.approx(800)
    assert c.horizon_benefit == pytest.approx(plain.horizon_benefit + 5 * 500 - 800)
    assert c.spent_in_horizon == pytest.approx(20 * 250 + 2 * 4000 + 800)
    assert c.roi == pytest.approx(c.horizon_benefit / c.spent_in_horizon)
    assert c.net_co2_kg == pytest.approx(c.horizon_co2_kg + c.embodied_co2_kg)
    rows = lifecycle.cash_flow(c)
    assert [r.year for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].spent == pytest.approx(20 * 250 + 2 * 4000 + 800)
    assert rows[-1].cumulative == pytest.approx(c.horizon_benefit)
    # Standby: 1 W for the rest of the year unless the hours are given.
    idle = model.compute(site("office", seats=1, thin_client_hours=9, days=200,
                              thin_client_standby_watts=1))
    assert idle.kwh_per_seat["thin_client"] == pytest.approx(4 * 1800 / 1000 + 6960 / 1000)
    given = model.compute(site("office", seats=1, thin_client_hours=9, days=200,
                               thin_client_standby_watts=1, thin_client_standby_hours=1000))
    assert given.kwh_per_seat["thin_client"] == pytest.approx(4 * 1800 / 1000 + 1)


@pytest.mark.parametrize("args, message", [
    (["--admin-before", "-5"], "out of range; allowed: 0..1,000,000 per seat and year"),
    (["--deployment-cost", "lots"], "--deployment-cost 'lots': not a number"),
    (["--residual-value", "maybe"], "--residual-value 'maybe': allowed: true or false"),
    (["--thin-client-standby-watts", "500"], "out of range; allowed: 0..100 W"),
    (["--thin-client-hours", "9", "--days", "200", "--thin-client-standby-hours", "8000"],
     "a year has 6984 h left"),
])
def test_new_inputs_are_checked_like_the_others(args, message):
    from conftest import assert_clean_error

    assert_clean_error(run_sunray("savings", "--seats", "5", *args), 2, message)


def test_residual_value_in_a_proposal_file_is_true_or_false(tmp_path):
    from conftest import assert_clean_error

    path = write_yaml(tmp_path, {"defaults": {"residual_value": "no"},
                                 "sites": [{"name": "A", "seats": 2}]})
    assert_clean_error(run_sunray("savings", "--config", path), 2,
                       "defaults.residual_value = 'no': not true or false")
    off = write_yaml(tmp_path, {"defaults": {"residual_value": False, "thin_client_price": 300},
                                "sites": [{"name": "A", "seats": 2}]}, "off.yaml")
    data = json.loads(run_sunray("savings", "--config", off, "--format", "json").stdout)
    assert data["total"]["costs"]["residual_value"] == 0
