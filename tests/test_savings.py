"""The savings calculator: the posts' numbers, the model's laws, every output
format, bad input through the real program, and the output file."""

import csv
import html.parser
import io
import json
import os
import re
import stat
from dataclasses import replace

import pytest
import yaml
from conftest import FIXTURES, assert_clean_error, run_sunray
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from sunray.errors import UsageError
from sunray.savings import model as savings
from sunray.savings.proposal import evaluate, plan
from sunray.savings.display import show

PROPOSAL = FIXTURES / "savings" / "proposal.yaml"
ATTRIBUTION = "Carbon intensity: Ember and Our World in Data (CC BY 4.0), via CodeCarbon (MIT)"


def site(preset="home", **changes):
    values = dict(savings.PRESETS[preset], name=preset, preset=preset)
    values.update(changes)
    return savings.Site(**values)


def text_rows(out):
    """{label: [cells]} of the text tables (label, then the numbers)."""
    rows = {}
    for line in out.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells and cells[0] in savings.LINE_LABELS.values():
            rows.setdefault(cells[0], cells[1:])
    return rows


def write_yaml(tmp_path, data, name="p.yaml"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


# --- the posts --------------------------------------------------------------

def test_home_preset_reproduces_the_posts_exactly():
    r = savings.compute(site("home"))
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


def test_home_preset_through_the_program_shows_the_posts_numbers():
    proc = run_sunray("savings", "--preset", "home")
    assert proc.returncode == 0, proc.stderr
    rows = text_rows(proc.stdout)
    # columns: kWh per seat, kWh, EUR, kg CO2
    assert rows["Desktops before"][:2] == ["164", "164"]
    assert rows["Desktops after (residual use)"][:2] == ["27", "27"]
    assert rows["Gross saving (desktops only)"] == ["137", "137", "34", "62"]
    assert rows["Net saving (after thin clients and servers)"] == ["124", "124", "31", "56"]


def test_office_preset_reproduces_the_posts_and_counts_the_server():
    r = savings.compute(site("office"))
    k = r.kwh_per_seat
    assert k["before"] == pytest.approx(876)
    assert show(r.co2_kg["before"]) == "394"          # the posts: "about 390 kg"
    assert show(r.money["gross_saving"]) == "219"      # the posts: "as much as 200 euros"
    assert k["server"] == pytest.approx(350.4)         # 40 W per seat, 24x7
    assert k["server"] <= k["gross_saving"] / 2        # the posts: at most half
    proc = run_sunray("savings", "--preset", "office", "--format", "json")
    data = json.loads(proc.stdout)
    assert data["sites"][0]["kwh_per_seat"]["before"] == 876
    assert data["sites"][0]["co2_kg"]["before"] == pytest.approx(394.2)


def test_office_server_share_is_settable_and_flagged_above_half():
    proc = run_sunray("savings", "--preset", "office", "--seats-per-server", "5",
                      "--format", "json")
    data = json.loads(proc.stdout)
    assert data["sites"][0]["kwh_per_seat"]["server"] == pytest.approx(1051.2)
    assert any("above the posts' rule of thumb" in n for n in data["notes"])
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
    )


@hsettings(max_examples=200, deadline=None)
@given(sites(), st.integers(1, 1000))
def test_savings_scale_linearly_with_seats(s, factor):
    one = savings.compute(replace(s, seats=1))
    many = savings.compute(replace(s, seats=s.seats * factor))
    for table in ("kwh", "money", "co2_kg"):
        for line in savings.LINES:
            expected = getattr(one, table)[line] * s.seats * factor
            assert getattr(many, table)[line] == pytest.approx(expected, rel=1e-9, abs=1e-9)


@hsettings(max_examples=200, deadline=None)
@given(sites())
def test_no_difference_gives_no_saving(s):
    same = replace(s, hours_after=s.hours_before, thin_client_watts=0, server_watts=0)
    r = savings.compute(same)
    for table in (r.kwh, r.money, r.co2_kg):
        assert table["gross_saving"] == pytest.approx(0, abs=1e-9)
        assert table["net_saving"] == pytest.approx(0, abs=1e-9)


@hsettings(max_examples=200, deadline=None)
@given(sites())
def test_units_are_consistent(s):
    r = savings.compute(s)
    k = r.kwh_per_seat
    if s.desktop_watts * s.hours_before > 1e-6:  # not in subnormal floats
        # kWh x 1000 / (W x h/day x days) is 1: watt-hours, not watts or kW.
        assert k["before"] * 1000 / (s.desktop_watts * s.hours_before * s.days) == \
            pytest.approx(1)
    assert k["after"] == pytest.approx(k["desktop_after"] + k["thin_client"] + k["server"])
    assert k["net_saving"] == pytest.approx(k["gross_saving"] - k["thin_client"] - k["server"],
                                            rel=1e-9, abs=1e-9)
    close = dict(rel=1e-9, abs=1e-9)
    for line in savings.LINES:
        assert r.co2_kg[line] == pytest.approx(r.kwh[line] * s.g_per_kwh / 1000, **close)
        assert r.money[line] == pytest.approx(r.kwh[line] * s.price, **close)


def test_payback_and_horizon():
    r = savings.compute(site("office", seats=15, thin_client_price=250, server_price=4000))
    c = r.costs
    assert c.investment == pytest.approx(15 * 250 + 4000)
    assert c.yearly_saving == pytest.approx(15 * 490.56 * 0.25)
    assert c.payback_years == pytest.approx(7750 / (15 * 490.56 * 0.25))
    assert c.horizon_benefit == pytest.approx(5 * 15 * 490.56 * 0.25 - 7750)
    # Avoided desktops worth more than the hardware: it pays back at once.
    assert savings.compute(site("office", thin_client_price=250, desktop_price=800)) \
        .costs.payback_years == 0
    # Running costs above the savings: never, whatever the desktops were worth.
    losing = site("office", server_watts=5000, thin_client_price=250, desktop_price=800)
    assert savings.compute(losing).costs.payback_years is None
    assert savings.compute(site("office")).costs is None


# --- inputs: layers, country, YAML -------------------------------------------------

def test_flags_override_yaml_sites_which_override_the_file_defaults(tmp_path):
    path = write_yaml(tmp_path, {
        "preset": "home",
        "defaults": {"price": 0.30, "g_per_kwh": 500, "seats": 3},
        "sites": [{"name": "A", "price": 0.40}, {"name": "B", "country": "fra"}],
    })
    sites_, meta = plan({"preset": "office"}, {}, path)
    a, b = sites_
    assert (a.preset, a.price, a.seats, a.g_per_kwh, a.desktop_watts) == ("home", 0.40, 3, 500, 150)
    assert (b.price, b.country, b.country_name, b.g_per_kwh) == (0.30, "FRA", "France", 56.0)
    sites_, _ = plan({}, {"price": "0.1", "seats": "7"}, path)
    assert [(s.price, s.seats) for s in sites_] == [(0.1, 7), (0.1, 7)]
    # A flag's g/kWh beats a site's country, and the other way round.
    sites_, _ = plan({}, {"g_per_kwh": "100"}, path)
    assert [(s.g_per_kwh, s.country) for s in sites_] == [(100, None), (100, None)]
    assert meta["title"] == "Sun Ray savings estimate"


def test_settings_defaults_and_preset_apply(tmp_path):
    sites_, _ = plan({"preset": "home", "defaults": {"currency": "CHF"}}, {})
    assert (sites_[0].desktop_watts, sites_[0].currency) == (150, "CHF")
    proc = run_sunray("savings", "--format", "json",
                      env={"INVOKE_SUNRAY_SAVINGS_PRESET": "home"})
    assert json.loads(proc.stdout)["sites"][0]["preset"] == "home"


def test_country_figure_year_source_and_attribution():
    proc = run_sunray("savings", "--country", "deu")
    assert proc.returncode == 0, proc.stderr
    assert "380.9 g CO2/kWh (Germany (DEU) 2023" in proc.stdout
    assert ATTRIBUTION in proc.stdout
    data = json.loads(run_sunray("savings", "--country", "DEU", "--format", "json").stdout)
    grid = data["sites"][0]["grid"]
    assert (grid["g_per_kwh"], grid["country"], grid["year"]) == (380.9, "DEU", 2023)
    assert data["sites"][0]["co2_kg"]["before"] == pytest.approx(876 * 0.3809, abs=5e-4)


def test_help_names_the_data_attribution():
    proc = run_sunray("--help", "savings")
    assert proc.returncode == 0
    assert ATTRIBUTION in " ".join(proc.stdout.split())


def test_several_sites_give_a_table_each_and_a_total():
    proc = run_sunray("savings", "--config", PROPOSAL)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for name in ("Head office Rotterdam", "Warehouse Venlo", "Branch Antwerp"):
        assert f"Site: {name}" in out
    assert "Total: 3 sites, 157 seats" in out
    assert out.count("Net saving (after thin clients and servers)") == 4
    total = out[out.index("Total: 3 sites"):]
    assert text_rows(total)["Desktops before"] == ["60,012", "13,203", "14,698"]
    assert "Head office Rotterdam: no net saving" in out


# --- every format, same numbers ---------------------------------------------------

@pytest.fixture(scope="module")
def outputs():
    return {fmt: run_sunray("savings", "--config", PROPOSAL, "--format", fmt).stdout
            for fmt in ("json", "yaml", "csv", "markdown", "html")}


def test_every_format_parses_and_agrees(outputs):
    data = json.loads(outputs["json"])
    assert yaml.safe_load(outputs["yaml"]) == data
    rows = list(csv.DictReader(io.StringIO(outputs["csv"])))
    assert [r["row"] for r in rows] == ["site", "site", "site", "total"]
    for row, site_ in zip(rows, data["sites"]):
        assert row["site"] == site_["name"]
        for line in savings.LINES:
            assert float(row[f"kwh_{line}"]) == site_["kwh"][line]
            assert float(row[f"co2_kg_{line}"]) == site_["co2_kg"][line]
    total = rows[-1]
    for line in savings.LINES:
        assert float(total[f"kwh_{line}"]) == data["total"]["kwh"][line]
        assert float(total[f"money_{line}"]) == data["total"]["money"][line]
    assert float(total["net_investment"]) == data["total"]["costs"]["net_investment"]

    md = outputs["markdown"]
    tables = [ln for ln in md.splitlines() if ln.startswith("|")]
    assert len(tables) == 4 * 9  # 4 tables: header, rule and 7 lines each
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
    assert show(t["kwh"]["net_saving"]) + " kWh" in page
    assert ATTRIBUTION in page


class _Balance(html.parser.HTMLParser):
    VOID = {"meta", "br", "img", "input", "link", "hr", "rect"}

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.tags = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def test_html_is_well_formed_and_self_contained(outputs):
    page = outputs["html"]
    parser = _Balance()
    parser.feed(page)
    assert parser.errors == [] and parser.stack == []
    assert parser.tags.count("svg") == 2 and "style" in parser.tags
    assert "@media print" in page
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)  # nothing to fetch
    assert "<script" not in page


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
    hostile_csv = write_yaml(tmp_path, {"sites": [{"name": "=HYPERLINK(1)"}]}, "c.yaml")
    rows = list(csv.reader(io.StringIO(
        run_sunray("savings", "--config", hostile_csv, "--format", "csv").stdout)))
    assert rows[1][1] == "'=HYPERLINK(1)"


# --- bad input: exit 2, one line naming field, value and range ---------------------

BAD_FLAGS = [
    (["--hours-before", "30"], ["--hours-before 30", "0..24"]),
    (["--hours-after", "4", "--preset", "home"], ["--hours-after", "4", "0..3"]),
    (["--seats", "0"], ["--seats 0", "1..1,000,000"]),
    (["--seats", "2.5"], ["--seats 2.5", "whole number"]),
    (["--pue", "0.9"], ["--pue 0.9", "1..3"]),
    (["--desktop-watts", "-5"], ["--desktop-watts -5", "0..5,000"]),
    (["--price", "cheap"], ["--price 'cheap'", "not a number"]),
    (["--days", "400"], ["--days 400", "1..366"]),
    (["--country", "XYZ"], ["--country", "'XYZ'", "unknown ISO 3166"]),
    (["--country", "netherland"], ["did you mean NLD (Netherlands)"]),
    (["--country", "NLD", "--g-per-kwh", "300"], ["not both"]),
    (["--preset", "castle"], ["--preset", "'castle'", "home, office"]),
    (["--format", "pdf"], ["--format", "html"]),
    (["--config", "/nonexistent/p.yaml"], ["--config", "No such file"]),
]


@pytest.mark.parametrize("args,needles", BAD_FLAGS, ids=lambda a: " ".join(a)
                         if isinstance(a, list) and a and a[0].startswith("--") else "")
def test_bad_flags_exit_2_with_field_value_and_range(tmp_path, args, needles):
    out = tmp_path / "report.html"
    proc = run_sunray("savings", *args, "--output", out)
    assert_clean_error(proc, 2, *needles)
    assert not out.exists() and os.listdir(tmp_path) == []


BAD_YAML = [
    ({"sites": [{"name": "A", "hours_before": 25}]}, ["sites[0].hours_before = 25", "0..24"]),
    ({"sites": [{"name": "A", "seats": "ten"}]}, ["sites[0].seats = 'ten'", "not a number"]),
    ({"sites": [{"name": "A", "seats": True}]}, ["sites[0].seats = True", "not a number"]),
    ({"sites": [{"name": "A", "pue": 0.5}]}, ["sites[0].pue = 0.5", "1..3"]),
    ({"sites": [{"name": "A", "watts": 100}]}, ["sites[0]: unknown key 'watts'", "desktop_watts"]),
    ({"sites": [{"name": "A"}, {"name": "A"}]}, ["sites[1].name = 'A'", "unique"]),
    ({"sites": [{"name": "A", "country": "ATL"}]}, ["sites[0].country = 'ATL'", "ISO 3166"]),
    ({"defaults": {"days": 0}}, ["defaults.days = 0", "1..366"]),
    ({"defaults": [1, 2]}, ["defaults: expected a mapping"]),
    ({"sites": "all of them"}, ["sites: expected a non-empty list"]),
    ({"sites": ["A"]}, ["sites[0]: expected a mapping"]),
    ("sites:\n  -\n", ["sites[0]: expected a mapping"]),
    ({"sites": [{"name": "A", "hours_before": 2, "hours_after": 3}]},
     ["sites[0].hours_after = 3", "sites[0].hours_before = 2", "0..2 h/day"]),
    ({"colour": "blue"}, ["unknown key 'colour'", "title"]),
    ({"preset": "villa"}, [".preset = 'villa'", "home, office"]),
    ("sites: [ {name: A\n", ["not valid YAML", "line"]),
    ("- just\n- a list\n", ["expected a mapping"]),
]


@pytest.mark.parametrize("data,needles", BAD_YAML)
def test_bad_proposal_files_exit_2_without_output(tmp_path, data, needles):
    path = write_yaml(tmp_path, data)
    out = tmp_path / "out" / "report.json"
    out.parent.mkdir()
    proc = run_sunray("savings", "--config", path, "--format", "json", "--output", out)
    assert_clean_error(proc, 2, str(path), *needles)
    assert os.listdir(out.parent) == []


def test_model_checks_name_the_value_and_range():
    with pytest.raises(UsageError, match=r"^x = 3.5: out of range; allowed: 1..3$"):
        savings.check("pue", 3.5, "x")
    with pytest.raises(UsageError, match="not a finite number"):
        savings.check("price", float("nan"), "x")
    with pytest.raises(UsageError, match="printable"):
        savings.check("currency", "EU\nR", "x")


# --- the output file ---------------------------------------------------------------

def test_output_is_written_atomically_and_keeps_the_mode(tmp_path):
    out = tmp_path / "report.html"
    proc = run_sunray("savings", "--preset", "home", "--format", "html", "--output", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"wrote {out}"
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    os.chmod(out, 0o600)
    proc = run_sunray("savings", "--preset", "office", "--format", "csv", "--output", out)
    assert proc.returncode == 0
    assert out.read_text().startswith("row,site,")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["report.html"]  # no temporary files left


def test_output_refuses_symlinks_and_missing_directories(tmp_path):
    target = tmp_path / "victim"
    target.write_text("precious\n")
    link = tmp_path / "report.html"
    link.symlink_to(target)
    proc = run_sunray("savings", "--format", "html", "--output", link)
    assert_clean_error(proc, 2, "symlink")
    assert target.read_text() == "precious\n" and link.is_symlink()
    proc = run_sunray("savings", "--output", tmp_path / "no" / "dir" / "r.txt")
    assert_clean_error(proc, 2, "does not exist")
    proc = run_sunray("savings", "--output", tmp_path)
    assert_clean_error(proc, 2, "not a regular file")


def test_single_site_name_and_title_flags():
    proc = run_sunray("savings", "--site", "Attic", "--title", "Our house", "--preset", "home",
                      "--format", "json")
    data = json.loads(proc.stdout)
    assert (data["title"], data["sites"][0]["name"]) == ("Our house", "Attic")
    proc = run_sunray("savings", "--site", "X", "--config", PROPOSAL)
    assert_clean_error(proc, 2, "--site")


def test_mixed_currencies_are_not_added_up(tmp_path):
    path = write_yaml(tmp_path, {"sites": [{"name": "NL"}, {"name": "CH", "currency": "CHF"}]})
    sites_, meta = plan({}, {}, path)
    p = evaluate(sites_, meta)
    assert p.total.money is None
    assert any("different currencies" in n for n in p.notes)
    proc = run_sunray("savings", "--config", path)
    assert proc.returncode == 0
    assert text_rows(proc.stdout[proc.stdout.index("Total:"):])["Desktops before"][1] == "-"


def test_readme_example_proposal_runs(tmp_path):
    from conftest import REPO

    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("### savings"):]
    example = section[section.index("```yaml\n") + 8:]
    example = example[:example.index("```")]
    path = write_yaml(tmp_path, example)
    data = json.loads(run_sunray("savings", "--config", path, "--format", "json").stdout)
    assert [s["name"] for s in data["sites"]] == \
        ["Head office Rotterdam", "Warehouse Venlo", "Branch Antwerp"]
    assert data["sites"][2]["grid"]["country"] == "BEL"
    assert data["total"]["seats"] == 157
    assert data["total"]["costs"]["years"] == 5


def test_a_file_without_sites_is_one_site(tmp_path):
    path = write_yaml(tmp_path, {"preset": "home", "defaults": {"seats": 4}})
    data = json.loads(run_sunray("savings", "--config", path, "--format", "json").stdout)
    assert len(data["sites"]) == 1
    assert data["sites"][0]["kwh"]["before"] == pytest.approx(4 * 164.25)
