"""The HTML report of a savings Proposal: one self-contained page for the
customer (templates/savings-report.html.j2), laid out for print (A4 or
Letter, two pages for a few sites): summary cards, before/after bar charts,
the total, one table row per site, scenarios and sensitivity, notes, every
input and default with its source, method and sources.

Figures, rows and lines come from ``display``; words go through ``i18n.t``
in the active language. Up to ``DETAIL_SITES`` sites every site is in the
sites table; beyond that the table holds the sites with the largest net
saving and a compact appendix (its own pages) lists every site, so 10,000
sites stay a few MB of HTML that Chromium lays out in seconds.
"""

import textwrap
from typing import Any, Dict, List, Optional, Sequence, Tuple

from . import charts, i18n, lifecycle, model, story
from .carbon import ATTRIBUTION
from .display import (
    KG,
    below_zero_text,
    cost_lines,
    input_rows,
    methodology,
    num,
    payback_text,
    scenario_table,
    sensitivity_line,
    show,
    sources,
    total_heading,
    total_rows,
)
from .evaluate import Proposal
from .i18n import t

DETAIL_SITES = 25  # sites in the chart and the sites table; more go to the appendix
PAPERS = ("a4", "letter")
BAR_H = 9
CHART_LABEL_W = 210
CHART_BAR_W = 400
CHART_W = CHART_LABEL_W + CHART_BAR_W + 150
LABEL_CHARS = 30  # a chart label wraps at this width (SVG text does not wrap itself)
SEGMENTS = ("desktop_after", "thin_client", "server")
SEGMENT_NAMES = {"before": "Desktops before", "desktop_after": "Residual desktop use",
                 "thin_client": "Thin clients", "server": "Server share"}


def chart(rows: Sequence[Tuple[str, Dict[str, float]]]) -> Dict[str, Any]:
    """Bar geometry for (label, kwh dict) rows: a 'before' bar and a stacked
    'after' bar (residual desktops, thin clients, server share) per row, each
    labelled; a long label wraps onto more lines instead of being cut."""
    top = max((max(k["before"], k["after"]) for _, k in rows), default=0) or 1.0
    # One scale for every bar (the total's and the sites'), with an axis.
    top, ticks = charts.energy_axis(top, CHART_LABEL_W, CHART_BAR_W)
    scale = CHART_BAR_W / top
    # Many bars (a big proposal) are drawn thinner, so the chart stays on page 1.
    compact = len(rows) > 10
    bar_h, line_h, gap = (5, 10, 3) if compact else (BAR_H, 13, 8)
    groups, y = [], 6
    for label, k in rows:
        lines = textwrap.wrap(label, LABEL_CHARS, break_long_words=True) or [""]
        height = max(2 * bar_h + 4, line_h * len(lines))
        x: float = CHART_LABEL_W
        segments = []
        for key in SEGMENTS:
            w = max(k[key], 0) * scale
            segments.append({"key": key, "name": t(SEGMENT_NAMES[key]), "x": round(x, 2),
                             "w": round(w, 2), "kwh": show(k[key])})
            x += w
        groups.append({
            "lines": lines,
            "label_y": y + height / 2 - line_h / 2 * (len(lines) - 1) + 4,
            "full_label": label,
            "y": y + (height - 2 * bar_h - 4) / 2,
            "before_w": round(max(k["before"], 0) * scale, 2),
            "before": t("before: {kwh}", kwh=story.energy_text(k["before"])),
            "before_kwh": show(k["before"]),
            "after": t("after: {kwh}", kwh=story.energy_text(k["after"])),
            "after_end": round(x, 2),
            "segments": segments,
        })
        y += height + gap
    return {"width": CHART_W, "height": y + 16, "groups": groups, "bar_h": bar_h,
            "compact": compact, "line_h": line_h,
            "label_w": CHART_LABEL_W, "ticks": ticks, "axis_y": y}


def _shown(result: model.SiteResult, name: str) -> str:
    """An input of a site as its row in the sites table shows it: value and unit."""
    site = result.site
    value = getattr(site, name)
    f = model.FIELD[name]
    shown = num(value) if isinstance(value, (int, float)) else str(value)
    unit = t(f.unit) if f.unit else ""
    if name == "price":
        unit = f"{site.currency}/kWh"
    elif name in model.COST_FIELDS:
        return f"{i18n.active().money(shown, site.currency)} {unit}".strip()
    elif name == "seats_per_server":
        unit = ""
    return f"{shown} {unit}".strip()


def _differing_inputs(results: List[model.SiteResult]) -> List[str]:
    """The inputs whose value differs between sites (each site's row names its own)."""
    first = results[0].site
    return [f.name for f in model.FIELDS if f.name not in ("seats", "country")
            and any(getattr(r.site, f.name) != getattr(first, f.name) for r in results[1:])]


def _payback_short(costs: Optional[model.Costs]) -> str:
    """The payback for a table cell or a card: months up to three years."""
    return "" if costs is None else payback_text(costs.payback_years, short=True)


def _site_row(result: model.SiteResult, differ: Sequence[str]) -> Dict[str, Any]:
    kwh = result.kwh
    s = result.site
    own = [f"{t(model.FIELD[n].label)} {_shown(result, n)}" for n in differ]
    if s.country and "g_per_kwh" in differ:
        own.append(i18n.country(s.country, s.country_name))
    return {
        "name": s.name, "own": own, "seats": show(s.seats),
        "before": show(kwh["before"]), "after": show(kwh["after"]),
        "net": show(kwh["net_saving"]), "money": show(result.money["net_saving"]),
        "co2": show(result.co2_kg["net_saving"]), "payback": _payback_short(result.costs),
        "below": below_zero_text(result.costs.below_zero, result.costs.years)
        if result.costs is not None and result.costs.below_zero else "",
        "negative": kwh["net_saving"] < 0,
    }


def _css_string(text: str) -> str:
    """``text`` as a double-quoted CSS string: everything but letters, digits
    and spaces as a hex escape, so no name can end the string or the style."""
    return '"' + "".join(c if c.isalnum() and ord(c) < 128 or c == " " else f"\\{ord(c):06x} "
                         for c in text) + '"'


def html_context(proposal: Proposal, paper: str = "a4",
                 sites_file: Optional[str] = None) -> Dict[str, Any]:
    """Everything the template shows, already worded and rounded. Beyond
    DETAIL_SITES sites, every site is in an appendix table, or, when
    ``sites_file`` names one, in that CSV file beside the report."""
    from markupsafe import Markup

    p = proposal
    loc = i18n.active()
    total = p.total
    results = p.results
    many = len(results) > DETAIL_SITES
    # The same sites in the chart and the table: the largest (energy before).
    biggest = sorted(results, key=lambda r: -r.kwh["before"])[:DETAIL_SITES] if many \
        else results
    by_saving = biggest
    differ = _differing_inputs(results)
    date = loc.date(p.date)
    header = " · ".join(x for x in (p.customer, date) if x)
    currency = loc.currency_heading(total.currency)
    return {
        "lang": loc.lang, "t": t, "paper": "A4" if paper == "a4" else "letter",
        "title": p.title, "customer": p.customer, "prepared_by": p.prepared_by, "date": date,
        "running_header": Markup(_css_string(header or p.title)),
        "running_title": Markup(_css_string(p.title)),
        "page_word": Markup(_css_string(t("Page") + " ")),
        "of_word": Markup(_css_string(" " + t("of") + " ")),
        "cards": story.cards(p), "summary": story.summary(p), "currency": currency, "kg": KG,
        "total_heading": total_heading(total),
        "total_rows": [(key, *row) for key, row in zip(model.LINES, total_rows(total))],
        # Without the investment line: the cash flow shows it.
        "total_costs": cost_lines(total.costs, total.currency, seats=total.seats)[1:],
        "total_negative": total.kwh["net_saving"] < 0,
        # One scale for every bar: the total beside its sites, or, beyond
        # DETAIL_SITES (where the total would dwarf them), the shown sites alone.
        "chart_total": chart(([] if many else [
            (t("All sites") if total.sites > 1 else results[0].site.name, total.kwh)])
            + ([(r.site.name, r.kwh) for r in biggest] if len(results) > 1 else [])),
        "chart_sites": None,
        "cumulative": charts.cumulative(total.costs, unit=currency),
        # Per site in the appendix: the sites of the chart and the table.
        "site_cumulative": [(r.site.name, charts.cumulative(r.costs, 240, 76))
                            for r in biggest] if many and not sites_file else [],
        "cash_flow": _cash_rows(total.costs),
        "tornado": _tornado(p),
        "legend": [(key, t(SEGMENT_NAMES[key])) for key in ("before",) + SEGMENTS],
        "chart_note": t("The chart and the table show the {n} largest sites.", n=DETAIL_SITES)
        if many else "",
        "sites": [_site_row(r, differ) for r in (by_saving if many else results)],
        "sites_note": _sites_note(len(results), sites_file),
        "site_currency": currency,
        "appendix": [_site_row(r, ()) for r in results] if many and not sites_file else [],
        "inputs": _grouped_inputs(input_rows(results)),
        "servers": t("Servers: shared across sites, each site carries its seats' share of "
                     "{n} servers", n=show(total.servers))
        if p.servers == "shared" else t("Servers: each site buys whole servers"),
        "scenarios": _scenarios(p),
        "sensitivity": sensitivity_line(p),
        "methodology": methodology(),
        "notes": p.notes,
        # The attribution closes the sources of the other formats; here the footer has it.
        "sources": [line for line in sources(p) if line != t(ATTRIBUTION) + "."],
        "attribution": t(ATTRIBUTION),
    }


def _grouped_inputs(rows: Sequence[Tuple[str, str, str]]) -> Dict[str, Any]:
    """The inputs table, shorter: the inputs that share a source with two
    others (given in the proposal, the preset) are one line under it; the
    others, each with its own source, stay rows."""
    by_source: Dict[str, List[str]] = {}
    for label, value, source in rows:
        by_source.setdefault(source, []).append(f"{label} {value}")
    groups = [(source, items) for source, items in by_source.items() if len(items) >= 3]
    grouped = {source for source, _ in groups}
    return {"groups": groups, "rows": [row for row in rows if row[2] not in grouped]}


def _cash_rows(costs: Optional[model.Costs]) -> List[List[str]]:
    """The cash flow's rows, worded: year, spent, desktops not bought, energy,
    other, residual value, net, running total."""
    if costs is None:
        return []
    return [[str(r.year), show(-r.spent), show(r.avoided), show(r.energy), show(r.other),
             show(r.residual) if r.residual else "", show(r.net), show(r.cumulative)]
            for r in lifecycle.cash_flow(costs)]


def _tornado(proposal: Proposal) -> Optional[Dict[str, Any]]:
    found = proposal.sensitivity
    if not found:
        return None
    total = proposal.total
    base = total.money["net_saving"] if total.money is not None and found[0].unit != "kWh" \
        else total.kwh["net_saving"]
    return charts.tornado(found, base, [t(x.label) for x in found])


def _scenarios(proposal: Proposal) -> Dict[str, Any]:
    header, rows = scenario_table(proposal)
    return {"header": header, "rows": rows}


def _sites_note(sites: int, sites_file: Optional[str]) -> str:
    """Where every site is, when the sites table holds only the largest."""
    if sites <= DETAIL_SITES:
        return ""
    if sites_file:
        return t("The {n} sites with the largest net saving; all {total} sites are in the "
                 "file {file} beside this report.", n=DETAIL_SITES, total=show(sites),
                 file=sites_file)
    return t("The {n} sites with the largest net saving; all {total} sites are listed in the "
             "appendix.", n=DETAIL_SITES, total=show(sites))


def to_html(proposal: Proposal, paper: str = "a4", sites_file: Optional[str] = None) -> str:
    """The report page in the active language, rendered with autoescape on
    (names stay text)."""
    from ..core.templating import render

    return render("savings-report.html.j2", autoescape=True,
                  **html_context(proposal, paper, sites_file))
