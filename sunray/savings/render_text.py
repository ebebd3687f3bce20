"""The text formats of a savings Proposal: plain text (the terminal) and
markdown; the figures, rows and lines come from ``display``."""

from typing import List, Sequence

from . import i18n
from .carbon import ATTRIBUTION
from .display import (
    KG,
    basis,
    cost_lines,
    input_rows,
    methodology,
    money_word,
    num_servers,
    scenario_table,
    seats_text,
    sensitivity_line,
    site_rows,
    sources,
    total_heading,
    total_rows,
)
from .evaluate import Proposal
from .i18n import t as tr
from .output import MARKER
from .story import summary

# --- plain text ------------------------------------------------------------------


def input_lines(proposal: Proposal) -> List[str]:
    """'Desktop power: 150 W (preset home: the blog post ...)', one per input,
    and how servers are counted."""
    servers = (tr("shared across sites: each site carries its seats' share of {servers}",
                  servers=num_servers(proposal.total.servers)) if proposal.servers == "shared"
               else tr("each site buys whole servers"))
    lines = [tr("Servers: {how}", how=servers)]
    for label, value, source in input_rows(proposal.results):
        lines.append(f"{label}: {value} ({source})")
    return lines


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> List[str]:
    """Plain text table: first column left, the others right-aligned."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [str(row[0]).ljust(widths[0])]
        cells += [str(c).rjust(w) for c, w in zip(row[1:], widths[1:])]
        lines.append(indent + "  ".join(cells).rstrip())
    return lines


def to_text(proposal: Proposal) -> str:
    """A table per site and, for several sites, the total; then notes."""
    p = proposal
    lines = [p.title]
    lines.append(", ".join(x for x in (p.customer and tr("for {customer}", customer=p.customer),
                                       p.prepared_by and tr("by {name}", name=p.prepared_by),
                                       i18n.active().date(p.date)) if x))
    lines += [""] + summary(p)
    for r in p.results:
        s = r.site
        lines += ["", tr("Site: {name} ({seats}, preset {preset})", name=s.name,
                         seats=seats_text(s.seats), preset=s.preset)]
        lines += ["  " + b for b in basis(s)]
        lines.append("")
        lines += _table((tr("per year"), tr("kWh/seat"), "kWh", s.currency, KG), site_rows(r))
        lines += ["  " + c for c in cost_lines(r.costs, s.currency, s)]
    t = p.total
    if len(p.results) > 1:
        lines += ["", tr("Total: {what}", what=total_heading(t))]
        lines += _table((tr("per year"), "kWh", money_word(t.currency), KG), total_rows(t))
        lines += ["  " + c for c in cost_lines(t.costs, t.currency, seats=t.seats)]
    header, rows = scenario_table(p)
    if rows:
        lines += ["", tr("Scenarios:")] + _table(header, rows)
    sensitivity = sensitivity_line(p)
    if sensitivity:
        lines += ["", sensitivity]
    if p.notes:
        lines += ["", tr("Notes:")] + [f"  - {n}" for n in p.notes]
    lines += ["", tr("Inputs and defaults:")] + [f"  - {line}" for line in input_lines(p)]
    if p.countries:
        lines += ["", tr(ATTRIBUTION) + "."]
    lines += ["", tr("Report by {generator}.", generator=MARKER)]
    return "\n".join(lines) + "\n"


# --- markdown --------------------------------------------------------------------

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_{}[]<>()#+!|~"})


def md(text: object) -> str:
    """Markdown-escape text so a site name stays text (and inside its cell)."""
    return str(text).translate(_MD_SPECIAL)


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> List[str]:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def to_markdown(proposal: Proposal) -> str:
    """The total first, then a section per site, notes, method and sources."""
    p = proposal
    t = p.total
    lines = [f"# {md(p.title)}", ""]
    byline = " · ".join(md(x) for x in (
        p.customer and tr("Prepared for {customer}", customer=p.customer),
        p.prepared_by and tr("by {name}", name=p.prepared_by), i18n.active().date(p.date)) if x)
    lines += [byline, ""] + [md(line) + "  " for line in summary(p)]
    lines += ["", "## " + tr("Total: {what}", what=total_heading(t)), ""]
    lines += _md_table((tr("Per year"), "kWh", md(money_word(t.currency)), KG), total_rows(t))
    lines += [""] + [f"- {md(c)}" for c in cost_lines(t.costs, t.currency, seats=t.seats)]
    for r in p.results:
        s = r.site
        lines += ["", "## " + tr("{name} ({seats}, preset {preset})", name=md(s.name),
                                 seats=seats_text(s.seats), preset=md(s.preset)), ""]
        lines += [f"- {md(b)}" for b in basis(s)] + [""]
        lines += _md_table((tr("Per year"), tr("kWh/seat"), "kWh", md(s.currency), KG),
                           site_rows(r))
        costs = cost_lines(r.costs, s.currency, s)
        if costs:
            lines += [""] + [f"- {md(c)}" for c in costs]
    header, rows = scenario_table(p)
    if rows:
        lines += ["", "## " + tr("Scenarios"), ""] + _md_table([md(h) for h in header],
                                                      [[md(c) for c in r] for r in rows])
    sensitivity = sensitivity_line(p)
    if sensitivity:
        lines += ["", md(sensitivity)]
    if p.notes:
        lines += ["", "## " + tr("Notes"), ""] + [f"- {md(n)}" for n in p.notes]
    lines += ["", "## " + tr("Inputs and defaults"), ""] + [f"- {md(x)}" for x in input_lines(p)]
    lines += ["", "## " + tr("Method"), ""] + [f"- {md(m)}" for m in methodology()]
    lines += ["", "## " + tr("Sources"), ""] + [f"- {md(s)}" for s in sources(p)]
    lines += ["", f"<!-- generator: {MARKER} -->"]
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"
