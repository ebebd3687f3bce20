"""Renderers of a savings Proposal: text, json, yaml, csv, markdown, html.

Machine formats (json, yaml, csv) carry the figures rounded to 3 decimals
(Wh, tenths of a cent, grams); human formats round half up to whole units
for display, as the posts did (164.25 kWh shows as 164).
"""

import csv
import io
import json
import math
from decimal import ROUND_HALF_UP, Decimal

from ..report import check_format
from . import model as savings
from .carbon import ATTRIBUTION, SOURCE

FORMATS = ("text", "json", "yaml", "csv", "markdown", "html")
POSTS = ("Blog post 'Get Thin and make the World a better place' (26 January 2009): "
         "150 W desktop, 3 h/day before and 0.5 h/day after, 450 g CO2/kWh, "
         "0.25 EUR/kWh; office desktops at 100 W all year")
REFERENCES = ("A 2008 study measured a 16 W thin client plus 41 W of server per seat "
              "(20 seats per server) against an 85 W PC; Forrester (2008) found about "
              "25 % saving once servers and cooling are counted, where '75 %' claims "
              "leave the server out")
CHART_SITES = 25


def renderer(fmt):
    """The render function for ``--format``, or a UsageError."""
    table = {"text": to_text, "json": to_json, "yaml": to_yaml, "csv": to_csv,
             "markdown": to_markdown, "html": to_html}
    return table[check_format(fmt, FORMATS)]


# --- numbers ----------------------------------------------------------------

def show(value, decimals=0):
    """Display rounding: half up, thousands separators, no '-0'."""
    if value is None:
        return "-"
    q = Decimal(1).scaleb(-decimals)
    d = Decimal(repr(float(value))).quantize(q, rounding=ROUND_HALF_UP)
    if d == 0:
        d = abs(d)
    return f"{d:,.{decimals}f}"


def num(value):
    """An input figure as typed: 0.5, 24, 1.5."""
    return f"{value:g}"


def _round3(v, _floor=math.floor):
    """Round half up to 3 decimals; 4x faster than round(v, 3), which
    matters for 10,000 sites (the quotient is the float nearest the
    decimal, so it prints short: 394.2, not 394.20000000000005)."""
    return _floor(v * 1000 + 0.5) / 1000


def _r3(d):
    return {k: _round3(v) for k, v in d.items()}


def _money_word(currency):
    return currency or "money"


# --- shared descriptions ---------------------------------------------------

def grid_source(site):
    if site.country:
        return (f"{site.country_name} ({site.country}) {site.country_year}, "
                "Ember and Our World in Data via CodeCarbon")
    return "as given"


def basis(site):
    """The inputs of a site in four plain lines."""
    share_w = site.server_watts * site.pue / site.seats_per_server
    return [
        f"Desktops: {num(site.desktop_watts)} W, {num(site.hours_before)} h/day before, "
        f"{num(site.hours_after)} h/day after, {num(site.days)} days/year",
        f"Thin clients: {num(site.thin_client_watts)} W, {num(site.thin_client_hours)} h/day",
        f"Server: {num(site.server_watts)} W, {num(site.server_hours)} h/day, "
        f"{num(site.server_days)} days/year, PUE {num(site.pue)}, "
        f"seats per server {num(site.seats_per_server)} "
        f"(= {show(share_w, 1)} W per seat while on)",
        f"Electricity: {num(site.price)} {site.currency}/kWh; "
        f"{num(site.g_per_kwh)} g CO2/kWh ({grid_source(site)})",
    ]


def cost_lines(costs, currency, site=None):
    if costs is None:
        return []
    cur = _money_word(currency)
    lines = []
    invest = f"Investment: {show(costs.investment)} {cur}"
    if site is not None:
        parts = []
        if site.thin_client_price is not None:
            parts.append(f"thin clients at {num(site.thin_client_price)} {cur}")
        if site.server_price is not None:
            parts.append(f"servers at {num(site.server_price)} {cur} per "
                         f"{num(site.seats_per_server)} seats")
        if parts:
            invest += f" ({', '.join(parts)})"
    lines.append(invest)
    lines.append(f"Avoided desktop replacements: {show(costs.avoided)} {cur}; "
                 f"net investment {show(costs.net_investment)} {cur}")
    lines.append(f"Payback: {payback_text(costs.payback_years)}")
    horizon = f"Over {costs.years} years" if costs.years else "Over each site's horizon"
    lines.append(f"{horizon}: net benefit {show(costs.horizon_benefit)} {cur}, "
                 f"{show(costs.horizon_kwh)} kWh and {show(costs.horizon_co2_kg)} kg CO2 saved")
    return lines


def payback_text(years):
    if years is None:
        return "never, on electricity alone"
    if years == 0:
        return "at once (the avoided desktops pay for it)"
    return f"{show(years, 1)} years"


def site_rows(result):
    """(label, kWh per seat, kWh, money, kg CO2) for every line of a site."""
    return [(savings.LINE_LABELS[k], result.kwh_per_seat[k], result.kwh[k],
             result.money[k], result.co2_kg[k]) for k in savings.LINES]


def total_rows(total):
    money = total.money or {}
    return [(savings.LINE_LABELS[k], total.kwh[k], money.get(k), total.co2_kg[k])
            for k in savings.LINES]


def sources(proposal):
    lines = [f"Presets: {POSTS}."]
    if any(not r.site.country for r in proposal.results):
        lines.append("Grid carbon intensity given as a number where no country is named "
                     "(the posts used 450 g CO2/kWh, the Netherlands in 2009).")
    for iso3, name, year, g in proposal.countries:
        lines.append(f"{name} ({iso3}): {num(g)} g CO2e/kWh in {year}; {SOURCE}.")
    lines.append(f"{ATTRIBUTION}.")
    return lines


def methodology():
    return [
        "Per seat and year: desktops before = desktop W x h/day before x days.",
        "After = residual desktop use + thin client W x h/day x days + server share.",
        "Server share = server W x server h/day x server days x PUE / seats per server: "
        "servers run in a cooled room, usually around the clock.",
        "Gross saving = desktops before - residual desktop use (the usual, naive figure); "
        "net saving = before - after (what the customer saves).",
        "Money = kWh x price; CO2 kg = kWh x g CO2 per kWh / 1000.",
        f"For comparison: {REFERENCES}.",
    ]


# --- machine formats -------------------------------------------------------

def _costs_dict(costs):
    if costs is None:
        return None
    d = costs.to_dict()
    return {k: (_round3(v) if isinstance(v, float) else v) for k, v in d.items()}


def site_dict(r):
    s = r.site
    return {
        "name": s.name,
        "preset": s.preset,
        "seats": s.seats,
        "currency": s.currency,
        "inputs": s.inputs(),
        "grid": {"g_per_kwh": s.g_per_kwh, "country": s.country,
                 "country_name": s.country_name or None, "year": s.country_year,
                 "source": grid_source(s)},
        "kwh_per_seat": _r3(r.kwh_per_seat),
        "kwh": _r3(r.kwh),
        "money": _r3(r.money),
        "co2_kg": _r3(r.co2_kg),
        "costs": _costs_dict(r.costs),
    }


def to_dict(p):
    t = p.total
    return {
        "title": p.title,
        "customer": p.customer or None,
        "prepared_by": p.prepared_by or None,
        "date": p.date,
        "sites": [site_dict(r) for r in p.results],
        "total": {
            "sites": t.sites,
            "seats": t.seats,
            "currency": t.currency,
            "kwh": _r3(t.kwh),
            "money": _r3(t.money) if t.money is not None else None,
            "co2_kg": _r3(t.co2_kg),
            "costs": _costs_dict(t.costs),
        },
        "notes": list(p.notes),
        "sources": sources(p),
        "attribution": ATTRIBUTION,
    }


def to_json(p):
    """Indented JSON with one line per site: json's C encoder only runs
    without indent, and 10,000 sites must render in well under a second."""
    d = to_dict(p)
    sites = d.pop("sites")
    head = json.dumps(d, indent=2)
    rows = ",\n    ".join(map(json.dumps, sites))
    return head[:-2] + ',\n  "sites": [\n    ' + rows + "\n  ]\n}\n"


def to_yaml(p):
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(to_dict(p), Dumper=dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False)


CSV_FIXED = ("row", "site", "preset", "seats", "currency", "g_per_kwh", "country")
CSV_COST = ("investment", "avoided", "net_investment", "payback_years", "years",
            "horizon_benefit")


def csv_header():
    cols = list(CSV_FIXED)
    for k in savings.LINES:
        cols += [f"kwh_per_seat_{k}", f"kwh_{k}", f"money_{k}", f"co2_kg_{k}"]
    return cols + list(CSV_COST)


def _cell(text):
    """Keep spreadsheet programs from running a site name as a formula."""
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text


def _cost_cells(costs):
    if costs is None:
        return [""] * len(CSV_COST)
    d = _costs_dict(costs)
    return ["" if d[k] is None else d[k] for k in CSV_COST]


def to_csv(p):
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(csv_header())
    for r in p.results:
        s = r.site
        row = ["site", _cell(s.name), s.preset, s.seats, _cell(s.currency), s.g_per_kwh,
               s.country or ""]
        for k in savings.LINES:
            row += [_round3(r.kwh_per_seat[k]), _round3(r.kwh[k]), _round3(r.money[k]),
                    _round3(r.co2_kg[k])]
        w.writerow(row + _cost_cells(r.costs))
    t = p.total
    row = ["total", "", "", t.seats, _cell(t.currency or ""), "", ""]
    for k in savings.LINES:
        money = _round3(t.money[k]) if t.money is not None else ""
        row += ["", _round3(t.kwh[k]), money, _round3(t.co2_kg[k])]
    w.writerow(row + _cost_cells(t.costs))
    return out.getvalue()


# --- human formats ---------------------------------------------------------

def _table(header, rows, indent="  "):
    """Plain text table: first column left, the others right-aligned."""
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    lines = []
    for row in [header] + rows:
        cells = [str(row[0]).ljust(widths[0])]
        cells += [str(c).rjust(w) for c, w in zip(row[1:], widths[1:])]
        lines.append(indent + "  ".join(cells).rstrip())
    return lines


def _seats(n):
    return f"{n:,} seat" + ("" if n == 1 else "s")


def to_text(p):
    lines = [p.title]
    lines.append(", ".join(x for x in (p.customer and f"for {p.customer}",
                                       p.prepared_by and f"by {p.prepared_by}", p.date) if x))
    for r in p.results:
        s = r.site
        cur = s.currency
        lines += ["", f"Site: {s.name} ({_seats(s.seats)}, preset {s.preset})"]
        lines += ["  " + b for b in basis(s)]
        lines.append("")
        header = ("per year", "kWh/seat", "kWh", cur, "kg CO2")
        rows = [(label, show(a), show(b), show(c), show(d))
                for label, a, b, c, d in site_rows(r)]
        lines += _table(header, rows)
        lines += ["  " + c for c in cost_lines(r.costs, cur, s)]
    t = p.total
    if len(p.results) > 1:
        lines += ["", f"Total: {t.sites:,} sites, {_seats(t.seats)}"]
        header = ("per year", "kWh", _money_word(t.currency), "kg CO2")
        lines += _table(header, [(label, show(a), show(b), show(c))
                                 for label, a, b, c in total_rows(t)])
        lines += ["  " + c for c in cost_lines(t.costs, t.currency)]
    if p.notes:
        lines += ["", "Notes:"] + [f"  - {n}" for n in p.notes]
    if p.countries:
        lines += ["", ATTRIBUTION + "."]
    return "\n".join(lines) + "\n"


_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_{}[]<>()#+!|~"})


def md(text):
    """Markdown-escape text so a site name stays text (and inside its cell)."""
    return str(text).translate(_MD_SPECIAL)


def _md_table(header, rows):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def to_markdown(p):
    t = p.total
    lines = [f"# {md(p.title)}", ""]
    byline = " · ".join(md(x) for x in (p.customer and f"Prepared for {p.customer}",
                                        p.prepared_by and f"by {p.prepared_by}", p.date) if x)
    lines += [byline, "", f"## Total: {t.sites:,} site{'s' if t.sites != 1 else ''}, "
              f"{_seats(t.seats)}", ""]
    lines += _md_table(("Per year", "kWh", md(_money_word(t.currency)), "kg CO2"),
                       [(label, show(a), show(b), show(c)) for label, a, b, c in total_rows(t)])
    lines += [""] + [f"- {md(c)}" for c in cost_lines(t.costs, t.currency)]
    for r in p.results:
        s = r.site
        lines += ["", f"## {md(s.name)} ({_seats(s.seats)}, preset {md(s.preset)})", ""]
        lines += [f"- {md(b)}" for b in basis(s)] + [""]
        lines += _md_table(("Per year", "kWh/seat", "kWh", md(s.currency), "kg CO2"),
                           [(label, show(a), show(b), show(c), show(d))
                            for label, a, b, c, d in site_rows(r)])
        costs = cost_lines(r.costs, s.currency, s)
        if costs:
            lines += [""] + [f"- {md(c)}" for c in costs]
    if p.notes:
        lines += ["", "## Notes", ""] + [f"- {md(n)}" for n in p.notes]
    lines += ["", "## Method", ""] + [f"- {md(m)}" for m in methodology()]
    lines += ["", "## Sources", ""] + [f"- {md(s)}" for s in sources(p)]
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"


# --- HTML ------------------------------------------------------------------

BAR_H = 16
CHART_LABEL_W = 200
CHART_BAR_W = 470
CHART_W = CHART_LABEL_W + CHART_BAR_W + 90
SEGMENTS = (("desktop_after", "Residual desktop use"), ("thin_client", "Thin clients"),
            ("server", "Server share"))


def chart(rows):
    """Bar geometry for (label, kwh dict) rows: a 'before' bar and a stacked
    'after' bar (residual desktops, thin clients, server share) per row."""
    top = max((max(k["before"], k["after"]) for _, k in rows), default=0) or 1.0
    scale = CHART_BAR_W / top
    groups, y = [], 8
    for label, k in rows:
        x = CHART_LABEL_W
        segments = []
        for key, name in SEGMENTS:
            w = max(k[key], 0) * scale
            segments.append({"key": key, "name": name, "x": round(x, 2), "w": round(w, 2),
                             "kwh": show(k[key])})
            x += w
        groups.append({
            "label": label if len(label) <= 30 else label[:29] + "…",
            "full_label": label,
            "y": y,
            "before_w": round(k["before"] * scale, 2),
            "before": show(k["before"]),
            "after": show(k["after"]),
            "after_end": round(x, 2),
            "segments": segments,
        })
        y += 2 * BAR_H + 22
    return {"width": CHART_W, "height": y, "groups": groups, "bar_h": BAR_H,
            "label_w": CHART_LABEL_W, "bar_w": CHART_BAR_W}


def _common_inputs(results):
    """Inputs every site shares (listed once under Assumptions)."""
    first = results[0].site
    rows = []
    for f in savings.FIELDS:
        if f.name in ("seats", "country"):
            continue
        value = getattr(first, f.name)
        if value is None or any(getattr(r.site, f.name) != value for r in results[1:]):
            continue
        shown = num(value) if isinstance(value, (int, float)) else value
        unit = f.unit
        if f.name == "price":
            unit = f"{first.currency}/kWh"
        elif f.name in savings.COST_FIELDS:
            unit = f"{first.currency} {unit}"
        elif f.name == "seats_per_server":
            unit = ""
        rows.append((f.label, f"{shown} {unit}".strip()))
    return rows


def html_context(p):
    t = p.total
    cur = _money_word(t.currency)
    net, gross = t.kwh["net_saving"], t.kwh["gross_saving"]
    cards = [
        {"title": "Net saving per year", "value": f"{show(net)} kWh",
         "detail": f"{show(t.money['net_saving'])} {cur} · {show(t.co2_kg['net_saving'])} kg CO2"
         if t.money else f"{show(t.co2_kg['net_saving'])} kg CO2"},
        {"title": "Gross desktop saving", "value": f"{show(gross)} kWh",
         "detail": "what the desktops no longer use"},
        {"title": "Thin clients and servers", "value":
         f"{show(t.kwh['thin_client'] + t.kwh['server'])} kWh",
         "detail": (f"{show(100 * (t.kwh['thin_client'] + t.kwh['server']) / gross)} % of the "
                    "gross saving") if gross > 0 else "counted in the net saving"},
    ]
    if t.costs is not None:
        years = t.costs.payback_years
        short = ("never" if years is None else "at once" if years == 0
                 else f"{show(years, 1)} years")
        cards.append({"title": "Payback", "value": short,
                      "detail": f"net investment {show(t.costs.net_investment)} {cur}"})
    biggest = sorted(p.results, key=lambda r: -r.kwh["before"])[:CHART_SITES]
    biggest_names = {id(r) for r in biggest}
    chart_sites = [r for r in p.results if id(r) in biggest_names]
    sites = []
    for r in p.results:
        s = r.site
        sites.append({
            "name": s.name, "seats": _seats(s.seats), "preset": s.preset,
            "currency": s.currency, "basis": basis(s),
            "rows": [(label, show(a), show(b), show(c), show(d))
                     for label, a, b, c, d in site_rows(r)],
            "costs": cost_lines(r.costs, s.currency, s),
            "negative": r.kwh["net_saving"] < 0,
        })
    return {
        "title": p.title, "customer": p.customer, "prepared_by": p.prepared_by,
        "date": p.date, "cards": cards, "currency": cur,
        "total_heading": f"{t.sites:,} site{'s' if t.sites != 1 else ''}, {_seats(t.seats)}",
        "total_rows": [(label, show(a), show(b), show(c)) for label, a, b, c in total_rows(t)],
        "total_costs": cost_lines(t.costs, t.currency),
        "total_negative": net < 0,
        "chart_total": chart([("All sites" if t.sites > 1 else p.results[0].site.name,
                               t.kwh)]),
        "chart_sites": chart([(r.site.name, r.kwh) for r in chart_sites])
        if len(p.results) > 1 else None,
        "chart_truncated": len(p.results) > CHART_SITES,
        "legend": (("before", "Desktops before"),) + SEGMENTS,
        "chart_limit": CHART_SITES,
        "sites": sites,
        "assumptions": _common_inputs(p.results),
        "methodology": methodology(),
        "notes": p.notes,
        "sources": sources(p),
        "attribution": ATTRIBUTION,
    }


def to_html(p):
    from ..templating import render

    return render("savings-report.html.j2", autoescape=True, **html_context(p))
