"""The HTML report of a savings Proposal: one self-contained page for the
customer (templates/savings-report.html.j2) with summary cards and bar
charts; the figures, rows and lines come from ``display``."""

from typing import Any, Dict, List, Sequence, Tuple

from . import model
from .carbon import ATTRIBUTION
from .display import (
    basis,
    cost_lines,
    methodology,
    money_word,
    num,
    seats_text,
    show,
    site_rows,
    sources,
    total_heading,
    total_rows,
)
from .proposal import Proposal

CHART_SITES = 25  # the per-site chart shows the largest; the tables show every site
BAR_H = 16
CHART_LABEL_W = 200
CHART_BAR_W = 470
CHART_W = CHART_LABEL_W + CHART_BAR_W + 90
SEGMENTS = (("desktop_after", "Residual desktop use"), ("thin_client", "Thin clients"),
            ("server", "Server share"))


def chart(rows: Sequence[Tuple[str, Dict[str, float]]]) -> Dict[str, Any]:
    """Bar geometry for (label, kwh dict) rows: a 'before' bar and a stacked
    'after' bar (residual desktops, thin clients, server share) per row."""
    top = max((max(k["before"], k["after"]) for _, k in rows), default=0) or 1.0
    scale = CHART_BAR_W / top
    groups, y = [], 8
    for label, k in rows:
        x: float = CHART_LABEL_W
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


def _common_inputs(results: List[model.SiteResult]) -> List[Tuple[str, str]]:
    """Inputs every site shares (listed once under Assumptions)."""
    first = results[0].site
    rows = []
    for f in model.FIELDS:
        if f.name in ("seats", "country"):
            continue
        value = getattr(first, f.name)
        if value is None or any(getattr(r.site, f.name) != value for r in results[1:]):
            continue
        shown = num(value) if isinstance(value, (int, float)) else value
        unit = f.unit
        if f.name == "price":
            unit = f"{first.currency}/kWh"
        elif f.name in model.COST_FIELDS:
            unit = f"{first.currency} {unit}"
        elif f.name == "seats_per_server":
            unit = ""
        rows.append((f.label, f"{shown} {unit}".strip()))
    return rows


def _cards(total: model.Total) -> List[Dict[str, str]]:
    """The summary cards: net and gross saving, thin clients and servers, payback."""
    t = total
    cur = money_word(t.currency)
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
    return cards


def html_context(proposal: Proposal) -> Dict[str, Any]:
    """Everything the template shows, already worded and rounded."""
    p = proposal
    t = p.total
    biggest = sorted(p.results, key=lambda r: -r.kwh["before"])[:CHART_SITES]
    biggest_names = {id(r) for r in biggest}
    chart_sites = [r for r in p.results if id(r) in biggest_names]
    sites = []
    for r in p.results:
        s = r.site
        sites.append({
            "name": s.name, "seats": seats_text(s.seats), "preset": s.preset,
            "currency": s.currency, "basis": basis(s),
            "rows": site_rows(r),
            "costs": cost_lines(r.costs, s.currency, s),
            "negative": r.kwh["net_saving"] < 0,
        })
    return {
        "title": p.title, "customer": p.customer, "prepared_by": p.prepared_by,
        "date": p.date, "cards": _cards(t), "currency": money_word(t.currency),
        "total_heading": total_heading(t),
        "total_rows": total_rows(t),
        "total_costs": cost_lines(t.costs, t.currency),
        "total_negative": t.kwh["net_saving"] < 0,
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


def to_html(proposal: Proposal) -> str:
    """The report page, rendered with autoescape on (names stay text)."""
    from ..templating import render

    return render("savings-report.html.j2", autoescape=True, **html_context(proposal))
