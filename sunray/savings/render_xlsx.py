"""The savings workbook (``--format xlsx``): every figure a live formula.

Four sheets, in the report's language:

* **Inputs**: every input of the model as one cell named by its proposal
  key (``price``, ``desktop_watts``, ``hours_before``, ...; ``servers`` is
  ``per-site`` or ``shared``), the value most sites use, the lowest and
  highest value at a site beside it, and where it comes from.
* **Sites**: one row per site: its inputs (a reference to the Inputs
  sheet's cell, or the site's own value) and its figures as formulas; each
  column is named ``site_NAME`` over every site. With more than
  ``ALL_COLUMNS_SITES`` sites only the inputs the sites do not share have
  a column (the others are the Inputs sheet's).
* **Totals**: the sums, with defined names (``net_kwh_per_year``,
  ``net_money_per_year``, ``horizon_benefit``, ...).
* **Cash flow**: money year by year over the horizon and its running total.

The formulas are the table of ``xlsx_formulas``; each cell also stores
sunray's own figure, so the workbook shows the report's numbers before
anything is recalculated (LibreOffice keeps stored figures on opening;
Excel recalculates on opening, as XlsxWriter asks it to).
"""

import collections
import io
import math
import zipfile
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from ..core.optional import require
from . import display, lifecycle, model
from . import xlsx_formulas as fx
from .evaluate import Proposal
from .i18n import active, t
from .output import MARKER
from .sources import SOURCE, grid_place, origin_source

# Up to this many sites every input has a column on the Sites sheet.
ALL_COLUMNS_SITES = 1000
NUMERIC = tuple(f.name for f in model.FIELDS if f.kind in ("int", "number", "switch"))
SITE_OWN = "the proposal's sites"   # a site's origin of a value it gives itself
FIRST = 2                          # the Sites sheet's first site row (0-based; two heading rows)
# Number formats follow the language: LibreOffice reads the locale tag;
# Excel shows the digits with the computer's own separators.
LOCALE_TAG = {"en": "", "de": "[$-407]", "nl": "[$-413]"}


def check_available() -> None:
    """A UsageError naming the extra when XlsxWriter is not installed."""
    require("xlsxwriter", "--format xlsx")


class _Row:
    """One site (or the total) as the formula table's ``value`` reads it."""

    __slots__ = ("site", "seats", "servers", "kwh", "money", "co2_kg", "horizon",
                 "server_units", "pool_servers")

    def __init__(self, **values: Any) -> None:
        for name in self.__slots__:
            setattr(self, name, values.get(name))


class _Year:
    __slots__ = ("purchases", "savings", "cumulative")

    def __init__(self, purchases: float, savings: float, cumulative: float) -> None:
        self.purchases, self.savings, self.cumulative = purchases, savings, cumulative


def _value(site: model.Site, name: str) -> Any:
    value = getattr(site, name)
    return 0 if value is None else value


def _own(site: model.Site, name: str) -> bool:
    """Whether the site gives ``name`` itself (a country given at the site is its
    grid figure)."""
    origin = site.origin
    return origin.get(name) == SITE_OWN or (name == "g_per_kwh" and
                                            origin.get("country") == SITE_OWN)


def own_inputs(sites: Sequence[model.Site]) -> List[frozenset]:
    """Each site's inputs it gives itself (sites with the same sources share
    one origin dict: 10,000 sites are a few of them)."""
    by_origin: Dict[int, frozenset] = {}
    owns = []
    for s in sites:
        own = by_origin.get(id(s.origin))
        if own is None:
            own = by_origin[id(s.origin)] = frozenset(n for n in NUMERIC if _own(s, n))
        owns.append(own)
    return owns


def defaults(sites: Sequence[model.Site], owns: Sequence[frozenset]) -> Dict[str, Any]:
    """Each input's default: the value most sites use that do not give their own."""
    chosen = {}
    for name in NUMERIC + ("currency",):
        values = [_value(s, name) for s, own in zip(sites, owns) if name not in own]
        chosen[name] = collections.Counter(values or [_value(s, name) for s in sites]
                                           ).most_common(1)[0][0]
    return chosen


def _letters(col: int) -> str:
    text = ""
    col += 1
    while col:
        col, rest = divmod(col - 1, 26)
        text = chr(65 + rest) + text
    return text


def _quote(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'" if not sheet.isalnum() else sheet


class _Book:
    """The workbook being written: formats by kind and currency, names."""

    def __init__(self, workbook: Any) -> None:
        self.wb = workbook
        self.lang = active().lang
        self._formats: Dict[Tuple[Any, ...], Any] = {}

    def fmt(self, kind: str, currency: Optional[str] = None, **style: Any) -> Any:
        key = (kind, currency, tuple(sorted(style.items())))
        if key not in self._formats:
            props = dict(style)
            props["num_format"] = self.number_format(kind, currency)
            self._formats[key] = self.wb.add_format(props)
        return self._formats[key]

    def number_format(self, kind: str, currency: Optional[str]) -> str:
        tag = LOCALE_TAG[self.lang]
        if kind == fx.MONEY and currency:
            sign = currency if self.lang == "en" else {"EUR": "€"}.get(currency, currency)
            sign = sign.replace('"', "")
            if self.lang == "nl":
                return f'{tag}"{sign} "#,##0;"{sign} "-#,##0'
            return f'{tag}#,##0" {sign}"'
        if kind == fx.COUNT:
            return tag + "#,##0.0"
        if kind in (fx.KWH, fx.KG, fx.MONEY, fx.WHOLE):
            return tag + "#,##0"
        if kind == "plain":   # an input as typed: 0.32, 85, 1.6 (de, nl: 0,32)
            return tag + "General"
        return "General"

    def name(self, name: str, sheet: str, ref: str) -> None:
        self.wb.define_name(name, f"={_quote(sheet)}!{ref}")


def _fast_sheet_class(xlsxwriter: Any) -> Any:
    class Sheet(xlsxwriter.worksheet.Worksheet):
        """A worksheet that takes our formulas as they are: XlsxWriter runs
        every formula through 29 regular expressions that prefix Excel 365's
        dynamic-array functions, which ours never use (10,000 sites: 300,000
        formulas, three quarters of the time). tests/test_savings_xlsx.py
        checks that XlsxWriter's own preparation leaves ours unchanged."""

        def _prepare_formula(self, formula: str, expand_future_functions: bool = False) -> str:
            return formula[1:] if formula.startswith("=") else formula

    return Sheet


def to_xlsx(proposal: Proposal) -> bytes:
    """The workbook of an evaluated proposal, as the bytes of an .xlsx file."""
    xlsxwriter = require("xlsxwriter", "--format xlsx")
    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_numbers": False,
                                   "strings_to_formulas": False, "strings_to_urls": False})
    wb.set_properties({"title": proposal.title, "author": proposal.prepared_by,
                       "company": proposal.customer, "comments": MARKER})
    book = _Book(wb)
    sheet_class = _fast_sheet_class(xlsxwriter)
    names = {key: t(key) for key in ("Inputs", "Sites", "Totals", "Cash flow")}
    sheets = {key: wb.add_worksheet(name, sheet_class) for key, name in names.items()}
    results = proposal.results
    sites = [r.site for r in results]
    owns = own_inputs(sites)
    chosen = defaults(sites, owns)
    columns = _site_columns(sites, owns, chosen)
    horizons = [r.costs if r.costs is not None else model.horizon_costs(
        r.site, r.money["net_saving"], r.kwh["net_saving"], r.co2_kg["net_saving"])
        for r in results]
    refs = _write_sites(book, sheets["Sites"], names["Sites"], results, horizons, columns,
                        chosen, owns)
    _write_inputs(book, sheets["Inputs"], names["Inputs"], proposal, chosen, columns, refs,
                  owns)
    _write_totals(book, sheets["Totals"], names["Totals"], proposal, horizons, refs)
    _write_cash_flow(book, sheets["Cash flow"], names["Cash flow"], proposal, horizons, refs)
    wb.close()
    return _marked(out.getvalue())


def _marked(data: bytes) -> bytes:
    """The file with our marker as the zip's comment: the last bytes of the
    file, where ``output.is_our_output`` looks (the parts are compressed)."""
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a") as z:
        z.comment = MARKER.encode("ascii")
    return buffer.getvalue()


def _site_columns(sites: Sequence[model.Site], owns: Sequence[frozenset],
                  chosen: Dict[str, Any]) -> List[str]:
    """The inputs with a column on the Sites sheet (see the module doc)."""
    if len(sites) <= ALL_COLUMNS_SITES:
        return list(NUMERIC)
    return [name for name in NUMERIC if name == "seats" or any(
        name in own or _value(s, name) != chosen[name] for s, own in zip(sites, owns))]


def _write_sites(book: _Book, ws: Any, sheet: str, results: Sequence[model.SiteResult],
                 horizons: Sequence[lifecycle.Costs], columns: List[str],
                 chosen: Dict[str, Any], owns: Sequence[frozenset]) -> Dict[str, str]:
    """The Sites sheet; returns {input or figure: its column over every site,
    or the Inputs sheet's name for an input without a column}."""
    head = book.fmt("text", bold=True, text_wrap=True, valign="top")
    col = {}
    for i, name in enumerate(columns, start=2):
        col[name] = i
    for i, figure in enumerate(fx.SITE, start=2 + len(columns)):
        col[figure.name] = i
    last = FIRST + len(results)   # 1-based number of the last site row
    ranges = {name: f"{_quote(sheet)}!${_letters(c)}${FIRST + 1}:${_letters(c)}${last}"
              for name, c in col.items()}
    for name in col:
        book.name("site_" + name, sheet, ranges[name].split("!", 1)[1])
    # Two heading rows (written in order: the sheet streams row by row): the
    # groups (inputs, then each run of figures), then each column's label.
    groups = [t("Site"), t("Country"), t("Inputs (yellow: change them)")] + [""] * (len(col) - 1)
    labels = ["", ""]
    for name in columns:
        f = model.FIELD[name]
        unit = f" ({t(f.unit)})" if f.unit and name not in model.COST_FIELDS else ""
        labels.append(t(f.label) + unit)
    group = None
    for figure in fx.SITE:
        if figure.group != group:
            group = figure.group
            groups[col[figure.name]] = t(group) if group else ""
        labels.append(t(figure.label))
    ws.write_row(0, 0, groups, head)
    ws.write_row(1, 0, labels, head)
    for name in columns:
        ws.data_validation(FIRST, col[name], last - 1, col[name], _allowed(model.FIELD[name]))
    ws.set_row(1, 60)
    ws.set_column(0, 0, 36)
    ws.set_column(1, 1, 8)
    ws.set_column(2, len(col) + 1, 12)
    ws.freeze_panes(FIRST, 1)

    # One template per figure: {name} -> the row's cell (or a default's name).
    cell = {name: f"${_letters(c)}{{r}}" for name, c in col.items()}
    cell.update({name: name for name in NUMERIC if name not in col})
    templates = [("=" + fx.fill(figure.formula, cell), col[figure.name], figure)
                 for figure in fx.SITE]
    follows = book.fmt("plain", bg_color="#FFF2CC", font_color="#7F6000")
    given = book.fmt("plain", bg_color="#FFE699", bold=True)
    write_formula, write_number = ws.write_formula, ws.write_number
    formats: Dict[str, List[Any]] = {}   # currency -> each template's format
    for index, (r, horizon, own) in enumerate(zip(results, horizons, owns)):
        s = r.site
        row = FIRST + index
        excel_row = str(row + 1)
        ws.write_string(row, 0, s.name)
        ws.write_string(row, 1, s.country or "")
        for name in columns:
            value = _value(s, name)
            if value == chosen[name] and name not in own:
                write_formula(row, col[name], "=" + name, follows, value)
            else:
                write_number(row, col[name], value, given)
        values = _Row(site=s, kwh=r.kwh, money=r.money, co2_kg=r.co2_kg, horizon=horizon)
        currency = s.currency
        if currency not in formats:
            formats[currency] = [book.fmt(figure.kind, currency) for _, _, figure in templates]
        for (template, c, figure), fmt in zip(templates, formats[currency]):
            write_formula(row, c, template.replace("{r}", excel_row), fmt, figure.value(values))
    refs = {name: ranges[name] for name in col}
    refs.update({name: name for name in NUMERIC if name not in col})
    return refs


def _write_inputs(book: _Book, ws: Any, sheet: str, proposal: Proposal, chosen: Dict[str, Any],
                  columns: List[str], refs: Dict[str, str], owns: Sequence[frozenset]) -> None:
    """The Inputs sheet: one named cell per input, the sites' range beside it."""
    head = book.fmt("text", bold=True, bottom=1, text_wrap=True, valign="top")
    ws.write(0, 0, proposal.title, book.fmt("text", bold=True, font_size=14))
    ws.write(1, 0, " · ".join(x for x in (proposal.customer, active().date(proposal.date)) if x))
    ws.write(2, 0, t("Yellow cells are inputs: change them, and every figure of the "
                     "workbook follows. A site follows these values unless it gives its own "
                     "(Sites sheet)."))
    ws.write_row(4, 0, [t("Input"), t("Value"), t("Unit"), t("Lowest at a site"),
                        t("Highest at a site"), t("Source")], head)
    sites = [r.site for r in proposal.results]
    entry = book.fmt("plain", bg_color="#FFE699", bold=True)
    row = 5
    for name in NUMERIC:
        f = model.FIELD[name]
        first = next((s for s, own in zip(sites, owns)
                      if name not in own and _value(s, name) == chosen[name]), sites[0])
        if name == "g_per_kwh" and first.country:
            source = f"{grid_place(first)}: {SOURCE}"
        else:
            source = display.source_text(origin_source(first, name))
        ws.write_string(row, 0, t(f.label))
        ws.write_number(row, 1, chosen[name], entry)
        ws.write_string(row, 2, _unit(f, chosen["currency"]))
        if name in columns:
            column_values = [_value(s, name) for s in sites]
            shown = book.fmt("plain")
            ws.write_formula(row, 3, f"=MIN({refs[name]})", shown, min(column_values))
            ws.write_formula(row, 4, f"=MAX({refs[name]})", shown, max(column_values))
        ws.write_string(row, 5, source)
        ws.data_validation(row, 1, row, 1, _allowed(f))
        book.name(name, sheet, f"$B${row + 1}")
        row += 1
    ws.write_string(row, 0, t(model.FIELD["currency"].label))
    ws.write_string(row, 1, chosen["currency"], entry)
    book.name("currency", sheet, f"$B${row + 1}")
    row += 1
    ws.write_string(row, 0, t("Servers"))
    ws.write_string(row, 1, proposal.servers, entry)
    ws.data_validation(row, 1, row, 1, {"validate": "list", "source": ["per-site", "shared"]})
    ws.write_string(row, 2, "per-site / shared")
    ws.write_string(row, 5, t("per-site: each site buys whole servers; shared: the sites "
                              "share a pool of whole servers, each carries its seats' share"))
    book.name("servers", sheet, f"$B${row + 1}")
    ws.set_column(0, 0, 60)
    ws.set_column(1, 2, 14)
    ws.set_column(3, 4, 18)
    ws.set_column(5, 5, 90)
    ws.freeze_panes(5, 0)


def _allowed(f: model.Field) -> Dict[str, Any]:
    """The cell's data validation: the range sunray allows for the input."""
    kind = "integer" if f.kind in ("int", "switch") else "decimal"
    return {"validate": kind, "criteria": "between", "minimum": f.low, "maximum": f.high,
            "error_title": t(f.label)[:32],
            "error_message": f"{active().number(f.low, 0 if float(f.low).is_integer() else 1)}"
                             f" .. {active().number(f.high)} {t(f.unit) if f.unit else ''}".strip()}


def _unit(f: model.Field, currency: str) -> str:
    if f.name == "price":
        return f"{currency}/kWh"
    if f.name in model.COST_FIELDS or f.name == "running_cost":
        return f"{currency} {t(f.unit)}"
    return t(f.unit) if f.unit else ""


def _sites_refs(formula: str, refs: Dict[str, str]) -> str:
    return fx.fill(formula, {"sites." + name: ref for name, ref in refs.items()})


def _write_totals(book: _Book, ws: Any, sheet: str, proposal: Proposal,
                  horizons: Sequence[lifecycle.Costs], refs: Dict[str, str]) -> None:
    """The Totals sheet: each total a named cell."""
    total = proposal.total
    sites = [r.site for r in proposal.results]
    units = sum(s.seats / s.seats_per_server for s in sites)
    values = _Row(seats=total.seats, servers=total.servers, kwh=total.kwh, money=total.money,
                  co2_kg=total.co2_kg, horizon=lifecycle.add(horizons), server_units=units,
                  pool_servers=float(math.ceil(units - 1e-9)))
    head = book.fmt("text", bold=True, bottom=1)
    ws.write(0, 0, t("Totals"), book.fmt("text", bold=True, font_size=14))
    ws.write(1, 0, display.total_heading(total))
    row, group = 3, None
    for figure in fx.TOTAL:
        if figure.group != group:
            group = figure.group
            row += 1
            ws.write(row, 0, t(group) if group else "", head)
            row += 1
        ws.write_string(row, 0, t(figure.label))
        value = figure.value(values)
        if figure.kind == fx.MONEY and total.currency is None:
            ws.write_string(row, 1, t("The sites use different currencies: money is not "
                                      "totalled."))
        else:
            ws.write_formula(row, 1, "=" + _sites_refs(figure.formula, refs),
                             book.fmt(figure.kind, total.currency, bold=True), value)
        book.name(figure.name, sheet, f"$B${row + 1}")
        row += 1
    if proposal.notes:
        row += 1
        ws.write(row, 0, t("Notes"), head)
        for note in proposal.notes:
            row += 1
            ws.write_string(row, 0, note)
    ws.set_column(0, 0, 60)
    ws.set_column(1, 1, 18)


def _years(horizons: Sequence[lifecycle.Costs]) -> List[_Year]:
    """Each site's discounted money per year, within its horizon, summed."""
    purchases = lifecycle.column_sums(h.purchases[:h.years] for h in horizons)
    # The residual value comes in at the end of a site's last year (discounted
    # as lifecycle.costs counts it in the horizon benefit).
    savings = lifecycle.column_sums(
        h.savings[:h.years - 1] + (h.savings[h.years - 1] + h.residual_value,) if h.years
        else () for h in horizons)
    years, running = [], 0.0
    for bought, saved in zip(purchases, savings):
        running += saved - bought
        years.append(_Year(bought, saved, running))
    return years


def _write_cash_flow(book: _Book, ws: Any, sheet: str, proposal: Proposal,
                     horizons: Sequence[lifecycle.Costs], refs: Dict[str, str]) -> None:
    """The Cash flow sheet: one row per year from the switch, the running total."""
    currency = proposal.total.currency
    head = book.fmt("text", bold=True, text_wrap=True, valign="top", bottom=1)
    ws.write(0, 0, t("Cash flow"), book.fmt("text", bold=True, font_size=14))
    ws.write(1, 0, t("Money discounted at the discount rate: purchases at the start of a "
                     "year, savings during it. Years past the horizon stay empty."))
    labels = [t("Year"), t("Years from the switch")] + [t(f.label) for f in fx.CASH_FLOW]
    ws.write_row(3, 0, labels, head)
    first = 4
    book.name("year_index", sheet, f"$B${first + 1}:$B${first + fx.SPAN}")
    years = _years(horizons)
    col = {f.name: 2 + i for i, f in enumerate(fx.CASH_FLOW)}
    horizon_end = "MAX(" + refs["years"] + ")"
    red = book.fmt(fx.MONEY, currency, font_color="#C00000")
    for t_index in range(fx.SPAN):
        row = first + t_index
        excel_row = row + 1
        ws.write_number(row, 0, t_index + 1)
        ws.write_number(row, 1, t_index)
        cells = {"t": f"$B{excel_row}"}
        cells.update({name: f"{_letters(c)}{excel_row}" for name, c in col.items()})
        cells["previous_cumulative"] = (f"{_letters(col['cumulative'])}{excel_row - 1}"
                                        if t_index else "0")
        cells.update({"sites." + name: ref for name, ref in refs.items()})
        inside = t_index < len(years) and currency is not None
        for figure in fx.CASH_FLOW:
            formula = fx.fill(figure.formula, cells)
            value: Any = figure.value(years[t_index]) if inside else ""
            fmt = red if figure.name == "cumulative" and inside and value < 0 else \
                book.fmt(fx.MONEY, currency)
            ws.write_formula(row, col[figure.name],
                             f'=IF($B{excel_row}<{horizon_end},{formula},"")', fmt, value)
    ws.conditional_format(first, col["cumulative"], first + fx.SPAN - 1, col["cumulative"],
                          {"type": "cell", "criteria": "<", "value": 0, "format": red})
    ws.set_column(0, 1, 10)
    ws.set_column(2, 5, 22)
    ws.freeze_panes(first, 0)


def formulas_written(proposal: Proposal) -> Iterable[str]:
    """Every formula template of the Sites sheet for this proposal (for tests)."""
    sites = [r.site for r in proposal.results]
    owns = own_inputs(sites)
    columns = _site_columns(sites, owns, defaults(sites, owns))
    col = {name: 2 + i for i, name in enumerate(columns)}
    col.update({f.name: 2 + len(columns) + i for i, f in enumerate(fx.SITE)})
    cell = {name: f"${_letters(c)}{{r}}" for name, c in col.items()}
    cell.update({name: name for name in NUMERIC if name not in col})
    return ["=" + fx.fill(f.formula, cell).replace("{r}", "3") for f in fx.SITE]
