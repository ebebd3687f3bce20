"""The report's languages (sunray/savings/i18n.py and data/translations.csv): numbers,
money, dates and typed numbers per language, the catalogue complete for
every string a report shows, and --lang/--paper through the program."""

import csv
import io
import json
import re
import string
from decimal import ROUND_HALF_UP, Decimal

import pytest
from conftest import FIXTURES, assert_clean_error, run_sunray
from hypothesis import given
from hypothesis import strategies as st
from savings_support import PROPOSAL, write_yaml

from sunray.savings import evaluate, i18n, proposal, render

# Savings and fleet run on an admin's workstation (Python 3.9+): not in the 3.6 tier.
pytestmark = pytest.mark.workstation

SCHOOL = FIXTURES / "savings" / "school.yaml"
EN, DE, NL = (i18n.LOCALES[k] for k in ("en", "de", "nl"))


def test_numbers_money_and_dates_follow_each_language():
    assert [loc.number(1234.5, 1) for loc in (EN, DE, NL)] == ["1,234.5", "1.234,5", "1.234,5"]
    assert [loc.number(-1234567) for loc in (EN, DE, NL)] == ["-1,234,567", "-1.234.567",
                                                              "-1.234.567"]
    assert DE.number(-0.4) == "0" and DE.number(None) == "-" and DE.plain(0.32) == "0,32"
    assert [loc.money("1.234", "EUR") for loc in (DE, NL)] == ["1.234 €", "€ 1.234"]
    assert EN.money("1,234", "EUR") == "1,234 EUR"
    assert [loc.money("5", "USD") for loc in (EN, DE, NL)] == ["5 USD", "5 USD", "USD 5"]
    assert [loc.date("2026-11-30") for loc in (EN, DE, NL)] == [
        "30 November 2026", "30. November 2026", "30 november 2026"]
    assert DE.date("Winter 2026") == "Winter 2026"


@given(st.floats(min_value=-1e12, max_value=1e12) | st.integers(-10**9, 10**9).map(lambda i: i / 2))
def test_whole_units_round_half_up_as_decimal_does(value):
    d = Decimal(repr(float(value))).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert EN.number(value) == f"{abs(d) if d == 0 else d:,.0f}"


@pytest.mark.parametrize("loc, text, value", [
    (EN, "0.32", 0.32), (EN, "1,234.5", 1234.5), (EN, "1,234", 1234.0), (EN, "-7", -7.0),
    (EN, "0,32", 0.32),          # a comma that cannot group thousands is a decimal comma
    (DE, "0,32", 0.32), (DE, "1.234,5", 1234.5), (DE, "1.234", 1234.0), (DE, ",5", 0.5),
    (DE, "0.32", 0.32),          # a point that cannot group thousands is a decimal point
    (NL, "1.234.567,25", 1234567.25), (NL, "12", 12.0),
])
def test_typed_numbers_are_read_as_the_language_writes_them(loc, text, value):
    assert loc.parse_number(text) == value


@pytest.mark.parametrize("loc, text", [
    (EN, "1,2,3"), (EN, "1,23.4"), (DE, "1.23.4"), (DE, "1,234.5"), (EN, "abc"), (EN, ""),
    (EN, "1e3"), (DE, "nan"),
])
def test_numbers_a_language_cannot_read_are_refused(loc, text):
    with pytest.raises(ValueError):
        loc.parse_number(text)


def test_german_price_with_a_decimal_comma_through_the_program():
    proc = run_sunray("savings", "--lang", "de", "--seats", "40", "--price", "0,32",
                      "--country", "DEU", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["shared_inputs"]["price"] == 0.32 and data["sites"][0]["seats"] == 40
    text = run_sunray("savings", "--lang", "de", "--preset", "home", "--price", "0,25").stdout
    assert "0,25" in text


@pytest.mark.parametrize("args, needles", [
    (["--lang", "en", "--price", "1,2,3"], ["--price '1,2,3'", "not a number", "1,234.5"]),
    (["--lang", "de", "--price", "1.23.4"], ["--price '1.23.4'", "1.234,5"]),
    (["--lang", "fr"], ["--lang 'fr'", "en, de, nl"]),
    (["--paper", "a3"], ["--paper 'a3'", "a4, letter"]),
    (["--format", "pdf"], ["--format pdf needs --output"]),
])
def test_bad_language_paper_and_numbers_exit_2_with_one_line(args, needles):
    assert_clean_error(run_sunray("savings", *args), 2, *needles)


def test_the_language_setting_applies_and_the_flag_wins(tmp_path):
    settings = write_yaml(tmp_path, {"sunray": {"savings": {"lang": "nl"}}}, "s.yaml")
    page = run_sunray("-f", settings, "savings", "--config", PROPOSAL, "--format", "html").stdout
    assert '<html lang="nl">' in page and "1 februari 2009" in page
    page = run_sunray("-f", settings, "savings", "--config", PROPOSAL, "--format", "html",
                      "--lang", "en").stdout
    assert '<html lang="en">' in page
    bad = write_yaml(tmp_path, {"sunray": {"savings": {"lang": "xx"}}}, "b.yaml")
    assert_clean_error(run_sunray("-f", bad, "savings"), 2, "sunray.savings.lang 'xx'")


# --- the catalogue --------------------------------------------------------------

def _fields(text):
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


CATALOGUE = {english: tuple(row.values()) for english, row in i18n.catalogue().items()}


def test_every_translation_keeps_the_fields_of_its_english_text():
    for english, translations in CATALOGUE.items():
        assert len(translations) == len(i18n.LANGS) - 1, english
        for translated in translations:
            assert translated and _fields(translated) == _fields(english), (english, translated)


def _reports(lang, *paths, fmt="html"):
    request = render.Request.checked(fmt, lang, None, None, {})
    pages = []
    for path in paths:
        with render.language(request):  # notes are worded as the proposal is evaluated
            sites, meta = proposal.plan({}, {}, path)
            pages.append(render.render(evaluate.evaluate(sites, meta), request)[0][1].decode())
    return pages


def _many_sites(tmp_path):
    return write_yaml(tmp_path, {"defaults": {"thin_client_price": 250},
                                 "sites": [{"name": f"S{i}", "seats": 5 + i} for i in range(30)]})


def _scenarios(tmp_path):
    """Shared servers, every life-cycle input, scenarios, two countries."""
    return write_yaml(tmp_path, {
        "servers": "shared", "scenarios": {"low": {"price": 0.2},
                                           "servers scheduled": {"server_hours": 12}},
        "defaults": {"thin_client_price": 250, "server_price": 3000, "desktop_price": 700,
                     "desktop_embodied_kg": 300, "thin_client_embodied_kg": 20,
                     "server_embodied_kg": 800, "running_cost": 10, "price_escalation": 3,
                     "discount_rate": 2, "price": 0.3},
        "sites": [{"name": "A", "seats": 40}, {"name": "B", "seats": 7, "country": "NLD"}]},
        "scenarios.yaml")


@pytest.mark.parametrize("lang", ["de", "nl"])
def test_every_string_the_report_shows_has_a_translation(lang, tmp_path):
    i18n.MISSING.clear()
    paths = (SCHOOL, PROPOSAL, _many_sites(tmp_path), _scenarios(tmp_path))
    pages = _reports(lang, *paths)
    for fmt in ("text", "markdown"):
        _reports(lang, *paths, fmt=fmt)
    assert sorted(text for code, text in i18n.MISSING if code == lang) == []
    # Nothing passed t() by: no text on the page is an English text the catalogue translates.
    nodes = {node.strip() for page in pages for node in re.split(r"<[^>]+>", page)}
    left = [english for english, translations in CATALOGUE.items()
            if english in nodes and english not in translations and len(english) > 3]
    assert left == []


def test_the_template_only_uses_texts_in_the_catalogue():
    from sunray.core.resources import read_template

    source = read_template("savings-report.html.j2").decode()
    texts = re.findall(r"""\bt\("((?:[^"\\]|\\.)*)"[,)]""", source)
    assert texts
    assert [text for text in texts if text not in CATALOGUE] == []


def test_the_translations_table_is_a_plain_csv_with_one_row_per_text():
    from sunray.core.resources import read

    rows = list(csv.reader(io.StringIO(read(i18n.TRANSLATIONS).decode("utf-8"))))
    assert rows[0] == list(i18n.LANGS)
    assert all(len(row) == len(i18n.LANGS) for row in rows)
    english = [row[0] for row in rows[1:]]
    assert len(english) == len(set(english)) == len(i18n.catalogue())  # no text twice


@pytest.mark.parametrize("lang,germany,korea", [("de", "Deutschland", "Südkorea"),
                                                ("nl", "Duitsland", "Zuid-Korea"),
                                                ("en", "Germany", "South Korea")])
def test_country_names_are_in_the_report_language(lang, germany, korea, tmp_path):
    """Before: 'Germany (DEU)' on a German report. The names come from the
    machine's iso-codes translations (.ci/apt-packages installs them)."""
    path = write_yaml(tmp_path, {"sites": [{"name": "A", "seats": 3, "country": "DEU"},
                                           {"name": "B", "seats": 3, "country": "KOR"}]})
    page = _reports(lang, path)[0]
    assert f"{germany} (DEU)" in page and f"{korea} (KOR)" in page
    if lang != "en":
        assert "Germany (DEU)" not in page and "South Korea (KOR)" not in page


def test_without_iso_codes_country_names_stay_english(tmp_path, monkeypatch):
    monkeypatch.setattr(i18n, "ISO_3166_JSON", str(tmp_path / "missing.json"))
    i18n._iso_names.cache_clear()
    try:
        path = write_yaml(tmp_path, {"sites": [{"name": "A", "seats": 3, "country": "DEU"}]})
        assert "Germany (DEU)" in _reports("de", path)[0]
    finally:
        i18n._iso_names.cache_clear()
