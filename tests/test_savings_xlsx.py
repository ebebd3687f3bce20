"""The savings workbook (--format xlsx): named inputs, live formulas, and
the same figures as sunray's when the customer changes an input.

The test that matters is ``test_libreoffice_recalculates_sunrays_figures``:
workbooks are changed with openpyxl (which drops every stored result),
recalculated by real LibreOffice headless (one soffice run for all of
them), read back, and compared with ``sunray savings --format json`` for
the same change."""

import json
import os
import subprocess

import openpyxl
import pytest
import xlsxwriter
import yaml
from conftest import FIXTURES, assert_clean_error, need, run_sunray
from openpyxl.utils.cell import range_boundaries

from sunray.savings import i18n, model, proposal, render_xlsx
from sunray.savings import xlsx_formulas as fx
from sunray.savings.evaluate import evaluate

pytestmark = pytest.mark.workstation

SCHOOL = FIXTURES / "savings" / "school.yaml"
PROPOSAL = FIXTURES / "savings" / "proposal.yaml"
COSTS = ("investment", "avoided", "net_investment", "yearly_saving", "refresh",
         "horizon_benefit", "horizon_kwh", "horizon_co2_kg", "embodied_co2_kg")


def _xlsx(tmp_path, config, *flags, name="book.xlsx"):
    out = tmp_path / name
    proc = run_sunray("savings", "--config", config, *flags, "--format", "xlsx",
                      "--output", out)
    assert proc.returncode == 0, proc.stderr
    return out


def _json(config, *flags):
    proc = run_sunray("savings", "--config", config, *flags, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _cell(wb, name):
    """The (sheet, coordinate) a defined name points at."""
    (sheet, ref), = wb.defined_names[name].destinations
    return wb[sheet], ref.replace("$", "")


def _named(wb, name):
    sheet, ref = _cell(wb, name)
    if ":" not in ref:
        return sheet[ref].value
    return [row[0].value for row in sheet[ref]]


def _site_cell(wb, name, index):
    """The cell of site ``index`` (0-based) in the Sites column of ``name``."""
    sheet, ref = _cell(wb, "site_" + name)
    col, first, _, _ = range_boundaries(ref)
    return sheet.cell(row=first + index, column=col)


def assert_same_figures(wb, data):
    """Every figure of the workbook (read as values) against sunray's JSON."""
    def close(got, want, what):
        assert isinstance(got, (int, float)), (what, got)
        assert abs(got - want) <= 0.0015 + 1e-9 * abs(want), (what, got, want)

    for i, site in enumerate(data["sites"]):
        close(_site_cell(wb, "server_count", i).value, site["servers"], (site["name"], "servers"))
        for line in model.LINES:
            for kind in ("kwh", "money", "co2_kg"):
                close(_site_cell(wb, f"{kind}_{line}", i).value, site[kind][line],
                      (site["name"], kind, line))
        if site["costs"] is not None:
            for name in COSTS:
                close(_site_cell(wb, name, i).value, site["costs"][name], (site["name"], name))
    total = data["total"]
    close(_named(wb, "net_kwh_per_year"), total["kwh"]["net_saving"], "net_kwh_per_year")
    close(_named(wb, "before_kwh_per_year"), total["kwh"]["before"], "before_kwh_per_year")
    close(_named(wb, "net_money_per_year"), total["money"]["net_saving"], "net_money_per_year")
    close(_named(wb, "net_co2_kg_per_year"), total["co2_kg"]["net_saving"], "net_co2_kg")
    close(_named(wb, "total_seats"), total["seats"], "seats")
    close(_named(wb, "total_servers"), total["servers"], "servers")
    for name in COSTS:
        close(_named(wb, name), total["costs"][name], name)
    # The cash flow's running total ends at the horizon benefit.
    cash = wb[_cell(wb, "year_index")[0].title]
    column = [c.value for c in next(cash.iter_cols(min_col=6, max_col=6, min_row=5))]
    inside = [v for v in column if v not in (None, "")]
    assert len(inside) == total["costs"]["years"]
    close(inside[-1], total["costs"]["horizon_benefit"], "cumulative at the horizon")


def test_every_input_is_a_named_cell_and_the_stored_figures_are_sunrays(tmp_path):
    book = _xlsx(tmp_path, PROPOSAL)
    wb = openpyxl.load_workbook(book, data_only=True)
    assert wb.sheetnames == ["Inputs", "Sites", "Totals", "Cash flow"]
    for name in render_xlsx.NUMERIC + ("currency", "servers"):
        sheet, _ = _cell(wb, name)
        assert sheet.title == "Inputs", name
    assert (_named(wb, "price"), _named(wb, "currency"), _named(wb, "servers")) == (
        0.22, "EUR", "per-site")
    # Two of three sites use 24 h before: that is the default; Rotterdam its own 10.
    assert _named(wb, "hours_before") == 24
    formulas = openpyxl.load_workbook(book)
    assert _site_cell(formulas, "hours_before", 0).value == 10
    assert _site_cell(formulas, "hours_before", 1).value == "=hours_before"
    assert _site_cell(formulas, "price", 2).value == "=price"
    assert str(_site_cell(formulas, "kwh_net_saving", 0).value).startswith("=")
    assert str(formulas["Totals"][_cell(formulas, "horizon_benefit")[1]].value) \
        .startswith("=SUM(Sites!")
    # Before any recalculation the workbook shows sunray's own figures.
    assert_same_figures(wb, _json(PROPOSAL))


def test_the_workbook_is_worded_in_the_reports_language(tmp_path):
    i18n.MISSING.clear()
    sites, meta = proposal.plan({}, {}, SCHOOL)
    for lang, sheets, sign in (("de", ["Eingaben", "Standorte", "Summen", "Zahlungsstrom"],
                                '#,##0" €"'),
                               ("nl", ["Invoer", "Locaties", "Totalen", "Kasstroom"],
                                '"€ "#,##0')):
        locale = i18n.LOCALES[lang]
        with i18n.using(locale):
            data = render_xlsx.to_xlsx(evaluate(sites, meta))
        path = tmp_path / f"{lang}.xlsx"
        path.write_bytes(data)
        wb = openpyxl.load_workbook(path)
        assert wb.sheetnames == sheets
        inputs = wb[sheets[0]]
        assert inputs["A6"].value == locale.t(model.FIELD["seats"].label)
        sheet, ref = _cell(wb, "net_money_per_year")
        assert sign in sheet[ref].number_format
        assert sheet[ref].number_format.startswith(render_xlsx.LOCALE_TAG[lang])
    assert sorted(i18n.MISSING) == []


def test_the_formula_table_refers_only_to_inputs_and_figures_above():
    known = set(render_xlsx.NUMERIC)
    for figure in fx.SITE:
        assert set(fx.names_in(figure.formula)) <= known, figure.name
        known.add(figure.name)
    sites_known = {"sites." + name for name in known}
    for figure in fx.TOTAL:
        assert set(fx.names_in(figure.formula)) <= sites_known, figure.name
    for figure in fx.CASH_FLOW:
        assert set(fx.names_in(figure.formula)) <= sites_known | {
            "t", "purchases", "savings", "net", "previous_cumulative"}, figure.name
    assert all(fx.mirrors().values())


def test_our_formulas_pass_through_xlsxwriter_unchanged():
    """The fast worksheet skips XlsxWriter's formula rewriting: it must not matter."""
    sites, meta = proposal.plan({}, {"servers": "shared"}, PROPOSAL)
    written = list(render_xlsx.formulas_written(evaluate(sites, meta)))
    assert len(written) == len(fx.SITE)
    sheet = xlsxwriter.worksheet.Worksheet()
    fast = render_xlsx._fast_sheet_class(xlsxwriter)()
    class Anywhere(dict):
        def __missing__(self, name):
            return "'Cash flow'!$B$5" if name == "t" else "Sites!$C$3:$C$5"

    written += ["=" + fx.fill(f.formula, Anywhere()) for f in fx.TOTAL + fx.CASH_FLOW]
    for formula in written:
        assert fast._prepare_formula(formula) == sheet._prepare_formula(formula), formula


def test_without_xlsxwriter_one_line_naming_the_extra(tmp_path):
    hide = tmp_path / "hide"
    (hide / "xlsxwriter").mkdir(parents=True)
    (hide / "xlsxwriter" / "__init__.py").write_text("raise ImportError('hidden by the test')\n")
    out = tmp_path / "book.xlsx"
    proc = run_sunray("savings", "--config", SCHOOL, "--format", "xlsx", "--output", out,
                      env={"PYTHONPATH": os.pathsep.join(filter(None, (
                          str(hide), os.environ.get("PYTHONPATH"))))})
    assert_clean_error(proc, 2)
    assert proc.stderr.strip() == ("sunray: --format xlsx needs XlsxWriter: "
                                   "pip install 'sunray-toolkit[xlsx]'")
    assert not out.exists() and list(tmp_path.iterdir()) == [hide]


def test_a_workbook_needs_output_and_replaces_its_own(tmp_path):
    assert_clean_error(run_sunray("savings", "--config", SCHOOL, "--format", "xlsx"), 2,
                       "--format xlsx needs --output FILE")
    book = _xlsx(tmp_path, SCHOOL)
    first = book.read_bytes()
    assert first.endswith(b"sunray-savings")  # the zip's comment: ours to replace
    _xlsx(tmp_path, SCHOOL, "--price", "0.3")  # no --force needed over our own workbook
    assert book.read_bytes() != first
    stranger = tmp_path / "stranger.xlsx"
    stranger.write_bytes(b"PK\x05\x06" + bytes(18))
    proc = run_sunray("savings", "--config", SCHOOL, "--format", "xlsx", "--output", stranger)
    assert_clean_error(proc, 2, "not a savings report of ours")


# --- recalculated by LibreOffice ------------------------------------------------

def _set_named(wb, name, value):
    sheet, ref = _cell(wb, name)
    sheet[ref] = value


def _set_site(wb, name, index, value):
    _site_cell(wb, name, index).value = value


def _changed_yaml(tmp_path, source, site_index, **changes):
    data = yaml.safe_load(source.read_text())
    data["sites"][site_index].update(changes)
    path = tmp_path / f"changed-{site_index}-{'-'.join(changes)}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _few_columns(tmp_path, monkeypatch):
    """The workbook of a large proposal (here: the three sites, with the
    threshold lowered): only the inputs the sites do not share have a column."""
    monkeypatch.setattr(render_xlsx, "ALL_COLUMNS_SITES", 2)
    sites, meta = proposal.plan({}, {}, PROPOSAL)
    path = tmp_path / "few-columns.xlsx"
    path.write_bytes(render_xlsx.to_xlsx(evaluate(sites, meta)))
    wb = openpyxl.load_workbook(path)
    assert "site_price" not in wb.defined_names and "site_desktop_watts" not in wb.defined_names
    assert "site_seats" in wb.defined_names and "site_server_watts" in wb.defined_names
    return path


def _cases(tmp_path, monkeypatch):
    """(name, workbook to change, the change, sunray's JSON for that change)."""
    school = _xlsx(tmp_path, SCHOOL, name="school.xlsx")
    office = _xlsx(tmp_path, PROPOSAL, name="office.xlsx")
    few = _few_columns(tmp_path, monkeypatch)
    more = _changed_yaml(tmp_path, SCHOOL, 1, seats=55)
    hotter = _changed_yaml(tmp_path, PROPOSAL, 2, server_watts=320)
    return [
        ("unchanged", office, lambda wb: None, _json(PROPOSAL)),
        ("default price", school, lambda wb: _set_named(wb, "price", 0.4),
         _json(SCHOOL, "--price", "0.4")),
        ("seats of a site", school, lambda wb: _set_site(wb, "seats", 1, 55), _json(more)),
        ("shared inputs without a column", few,
         lambda wb: (_set_named(wb, "price", 0.3), _set_named(wb, "desktop_watts", 90)),
         _json(PROPOSAL, "--price", "0.3", "--desktop-watts", "90")),
        ("a site's own value", office, lambda wb: _set_site(wb, "server_watts", 2, 320),
         _json(hotter)),
        ("shared servers and desktop power", school,
         lambda wb: (_set_named(wb, "servers", "shared"), _set_named(wb, "desktop_watts", 70)),
         _json(SCHOOL, "--servers", "shared", "--desktop-watts", "70")),
        ("money over the years", school,
         lambda wb: [_set_named(wb, k, v) for k, v in (
             ("discount_rate", 4), ("price_escalation", 2.5), ("years", 7),
             ("thin_client_life", 2.5), ("running_cost", 12), ("desktop_embodied_kg", 300))],
         _json(SCHOOL, "--discount-rate", "4", "--price-escalation", "2.5", "--years", "7",
               "--thin-client-life", "2.5", "--running-cost", "12",
               "--desktop-embodied-kg", "300")),
    ]


@pytest.mark.system
def test_libreoffice_recalculates_sunrays_figures(tmp_path, monkeypatch):
    need("soffice")
    cases = _cases(tmp_path, monkeypatch)
    edited = tmp_path / "edited"
    edited.mkdir()
    for i, (_, book, change, _) in enumerate(cases):
        wb = openpyxl.load_workbook(book)
        change(wb)
        wb.save(edited / f"case{i}.xlsx")  # openpyxl keeps formulas, drops every result
    out = tmp_path / "recalculated"
    profile = tmp_path / "profile"
    proc = subprocess.run(
        ["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--convert-to", "xlsx", "--outdir", str(out),
         *[str(edited / f"case{i}.xlsx") for i in range(len(cases))]],
        capture_output=True, text=True, timeout=300, env={**os.environ, "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    for i, (name, _, _, data) in enumerate(cases):
        recalculated = openpyxl.load_workbook(out / f"case{i}.xlsx", data_only=True)
        try:
            assert_same_figures(recalculated, data)
        except AssertionError as e:
            raise AssertionError(f"{name}: {e}") from None
