"""A savings proposal: the layers of inputs, the proposal file, bad flags
and files through the real program, and the output file."""

import json
import os
import stat

import pytest
from conftest import assert_clean_error, run_sunray
from savings_support import PROPOSAL, write_yaml

from sunray.savings.proposal import plan

# Savings and fleet run on an admin's workstation (Python 3.9+): not in the 3.6 tier.
pytestmark = pytest.mark.workstation

# --- inputs: layers, YAML ------------------------------------------------------------


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
    # Before: "Sun Ray savings estimate", a saving promised before any figure.
    assert meta["title"] == "Sun Ray thin clients: energy, money and CO2e compared"


def test_settings_defaults_and_preset_apply(tmp_path):
    sites_, _ = plan({"preset": "home", "defaults": {"currency": "CHF"}}, {})
    assert (sites_[0].desktop_watts, sites_[0].currency) == (150, "CHF")
    proc = run_sunray("savings", "--format", "json",
                      env={"INVOKE_SUNRAY_SAVINGS_PRESET": "home"})
    assert json.loads(proc.stdout)["sites"][0]["preset"] == "home"


def test_single_site_name_and_title_flags():
    proc = run_sunray("savings", "--site", "Attic", "--title", "Our house", "--preset", "home",
                      "--format", "json")
    data = json.loads(proc.stdout)
    assert (data["title"], data["sites"][0]["name"]) == ("Our house", "Attic")
    proc = run_sunray("savings", "--site", "X", "--config", PROPOSAL)
    assert_clean_error(proc, 2, "--site")


def test_readme_example_proposal_runs(tmp_path):
    from conftest import REPO

    page = (REPO / "docs" / "savings.md").read_text()
    section = page[page.index("**A proposal file**"):]
    example = section[section.index("```yaml\n") + 8:]
    example = example[:example.index("```")]
    path = write_yaml(tmp_path, example)
    data = json.loads(run_sunray("savings", "--config", path, "--format", "json").stdout)
    assert [s["name"] for s in data["sites"]] == \
        ["Head office Rotterdam", "Warehouse Venlo", "Branch Antwerp"]
    assert data["sites"][2]["inputs"]["country"] == "BEL"
    assert [(g["country"], g["g_per_kwh"]) for g in data["grids"]] == \
        [("NLD", 267.6), ("BEL", 138.1)]
    assert data["total"]["seats"] == 157
    assert data["total"]["costs"]["years"] == 5


def test_a_file_without_sites_is_one_site(tmp_path):
    path = write_yaml(tmp_path, {"preset": "home", "defaults": {"seats": 4}})
    data = json.loads(run_sunray("savings", "--config", path, "--format", "json").stdout)
    assert len(data["sites"]) == 1
    assert data["sites"][0]["kwh"]["before"] == pytest.approx(4 * 164.25)


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
    (["--format", "docx"], ["--format", "html, pdf"]),
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
    ({"sites": [{"name": "A", "seats": 10 ** 400}]}, ["sites[0].seats = 1000", "out of range"]),
    ({"sites": [{"name": "A", "pue": 0.5}]}, ["sites[0].pue = 0.5", "1..3"]),
    ({"sites": [{"name": "A", "watts": 100}]}, ["sites[0]: unknown key 'watts'", "desktop_watts"]),
    ({"sites": [{"name": "A", "seats": 1}, {"name": "A", "seats": 2}]}, ["sites[1].name = 'A'", "unique"]),
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
    ("sites: [ {name: A\n", ["line 2, column 1", "expected ',' or '}'"]),
    ("a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
     "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
     "g: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n", ["more than 5,000,000 values", "alias bomb"]),
    (b"sites:\n  - name: Caf\xe9\n", ["not UTF-8 text", "line 2"]),
    ("- just\n- a list\n", ["expected a mapping"]),
    # A key given twice: YAML would keep the last, into the customer's PDF.
    ("sites:\n  - name: A\n    seats: 10\n    price: 0.32\n    price: 3200\n",
     ["line 5, column 5: duplicate key 'price' (first given on line 4)"]),
    ("defaults: {seats: 3}\ndefaults: {seats: 30}\nsites: [{name: A}]\n",
     ["line 2, column 1: duplicate key 'defaults'"]),
    ('{"sites": [{"name": "A", "seats": 3, "seats": 4}]}', ["line 1, column 38: duplicate key 'seats'"]),
    # YAML 1.1 reads 0x10 as 16 and 0o17 as 15: not seats anyone typed.
    ("sites: [{name: A, seats: 0x10}]\n", ["sites[0].seats = '0x10'", "not a number"]),
    ("sites: [{name: A, seats: 0b11}]\n", ["sites[0].seats = '0b11'", "not a number"]),
    ("sites: [{name: A, seats: '190:20'}]\n", ["sites[0].seats = '190:20'", "not a number"]),
    # An exponent is a number, too big here (YAML 1.1 read 1e12 as text).
    ("sites: [{name: A, seats: 1e12}]\n", ["sites[0].seats = 1000000000000", "out of range"]),
    ("sites: [{name: A, seats: 10, price: 2E+9}]\n", ["sites[0].price = 2000000000", "out of range"]),
    ("", ["the file is empty (or only comments)"]),
    ("# to do\n", ["the file is empty"]),
]


@pytest.mark.parametrize("data,needles", BAD_YAML)
def test_bad_proposal_files_exit_2_without_output(tmp_path, data, needles):
    path = write_yaml(tmp_path, data)
    out = tmp_path / "out" / "report.json"
    out.parent.mkdir()
    proc = run_sunray("savings", "--config", path, "--format", "json", "--output", out)
    assert_clean_error(proc, 2, str(path), *needles)
    assert os.listdir(out.parent) == []


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


# --- dates and seats -----------------------------------------------------------------


@pytest.mark.parametrize("date", ["2026-13-45", "2026-02-30", "tomorrow", "01.02.2009"])
def test_a_bad_date_names_the_key_and_the_form(tmp_path, date):
    path = write_yaml(tmp_path, f"date: {date}\nsites: [{{name: A, seats: 2}}]\n")
    proc = run_sunray("savings", "--config", path)
    assert_clean_error(proc, 2, f"{path}.date", "YYYY-MM-DD")


def test_a_good_date_is_kept_as_written(tmp_path):
    path = write_yaml(tmp_path, "date: 2009-02-01\nsites: [{name: A, seats: 2}]\n")
    data = json.loads(run_sunray("savings", "--config", path, "--format", "json").stdout)
    assert data["date"] == "2009-02-01"


def test_a_site_without_seats_is_an_error_naming_it(tmp_path):
    path = write_yaml(tmp_path, {"sites": [{"name": "A", "seats": 3}, {"name": "Annex"}]})
    proc = run_sunray("savings", "--config", path)
    assert_clean_error(proc, 2, "sites[1]", "'Annex'", "seats")
    # A default for every site, or the flag, gives the seats.
    path = write_yaml(tmp_path, {"defaults": {"seats": 4}, "sites": [{"name": "Annex"}]})
    assert run_sunray("savings", "--config", path).returncode == 0
    path = write_yaml(tmp_path, {"sites": [{"name": "Annex"}]})
    assert run_sunray("savings", "--config", path, "--seats", "5").returncode == 0


def test_a_json_proposal_reads_like_its_yaml(tmp_path):
    data = {"date": "2009-02-01", "defaults": {"seats": 3},
            "sites": [{"name": "A"}, {"name": "B", "price": 0.3}]}
    as_yaml = write_yaml(tmp_path, data)
    as_json = tmp_path / "p.json"
    as_json.write_text(json.dumps(data))
    outs = [json.loads(run_sunray("savings", "--config", p, "--format", "json").stdout)
            for p in (as_yaml, as_json)]
    assert outs[0] == outs[1]
    as_json.write_text('{"sites": [1, }')
    assert_clean_error(run_sunray("savings", "--config", as_json), 2, "line 1, column")
    # Before: exit 1, "internal error: RecursionError" (json's parser recurses).
    as_json.write_text('{"sites": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert_clean_error(run_sunray("savings", "--config", as_json), 2, "nested too deeply")
