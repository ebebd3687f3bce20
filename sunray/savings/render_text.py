"""The text formats of a savings Proposal: plain text (the terminal) and
markdown; the figures, rows and lines come from ``display``."""

from typing import List, Sequence

from .carbon import ATTRIBUTION
from .display import (
    KG,
    basis,
    cost_lines,
    methodology,
    money_word,
    num,
    num_servers,
    scenario_table,
    seats_text,
    sensitivity_line,
    site_rows,
    sources,
    total_heading,
    total_rows,
)
from .output import MARKER
from .proposal import Proposal
from .sources import inputs_and_defaults

# --- plain text ------------------------------------------------------------------


def input_lines(proposal: Proposal) -> List[str]:
    """'Desktop power: 150 W (preset home: the blog post ...)', one per input,
    and how servers are counted."""
    servers = ("shared across sites: each site carries its seats' share of "
               f"{num_servers(proposal.total.servers)}" if proposal.servers == "shared"
               else "each site buys whole servers")
    lines = [f"Servers: {servers}"]
    for label, value, unit, source in inputs_and_defaults(proposal.results):
        shown = num(value) if isinstance(value, (int, float)) else str(value)
        lines.append(f"{label}: {shown} {unit}".rstrip() + f" ({source})")
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
    lines.append(", ".join(x for x in (p.customer and f"for {p.customer}",
                                       p.prepared_by and f"by {p.prepared_by}", p.date) if x))
    for r in p.results:
        s = r.site
        lines += ["", f"Site: {s.name} ({seats_text(s.seats)}, preset {s.preset})"]
        lines += ["  " + b for b in basis(s)]
        lines.append("")
        lines += _table(("per year", "kWh/seat", "kWh", s.currency, KG), site_rows(r))
        lines += ["  " + c for c in cost_lines(r.costs, s.currency, s)]
    t = p.total
    if len(p.results) > 1:
        lines += ["", f"Total: {total_heading(t)}"]
        lines += _table(("per year", "kWh", money_word(t.currency), KG), total_rows(t))
        lines += ["  " + c for c in cost_lines(t.costs, t.currency, seats=t.seats)]
    header, rows = scenario_table(p)
    if rows:
        lines += ["", "Scenarios:"] + _table(header, rows)
    sensitivity = sensitivity_line(p)
    if sensitivity:
        lines += ["", sensitivity]
    if p.notes:
        lines += ["", "Notes:"] + [f"  - {n}" for n in p.notes]
    lines += ["", "Inputs and defaults:"] + [f"  - {line}" for line in input_lines(p)]
    if p.countries:
        lines += ["", ATTRIBUTION + "."]
    lines += ["", f"Report by {MARKER}."]
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
    byline = " · ".join(md(x) for x in (p.customer and f"Prepared for {p.customer}",
                                        p.prepared_by and f"by {p.prepared_by}", p.date) if x)
    lines += [byline, "", f"## Total: {total_heading(t)}", ""]
    lines += _md_table(("Per year", "kWh", md(money_word(t.currency)), KG), total_rows(t))
    lines += [""] + [f"- {md(c)}" for c in cost_lines(t.costs, t.currency, seats=t.seats)]
    for r in p.results:
        s = r.site
        lines += ["", f"## {md(s.name)} ({seats_text(s.seats)}, preset {md(s.preset)})", ""]
        lines += [f"- {md(b)}" for b in basis(s)] + [""]
        lines += _md_table(("Per year", "kWh/seat", "kWh", md(s.currency), KG),
                           site_rows(r))
        costs = cost_lines(r.costs, s.currency, s)
        if costs:
            lines += [""] + [f"- {md(c)}" for c in costs]
    header, rows = scenario_table(p)
    if rows:
        lines += ["", "## Scenarios", ""] + _md_table([md(h) for h in header],
                                                      [[md(c) for c in r] for r in rows])
    sensitivity = sensitivity_line(p)
    if sensitivity:
        lines += ["", md(sensitivity)]
    if p.notes:
        lines += ["", "## Notes", ""] + [f"- {md(n)}" for n in p.notes]
    lines += ["", "## Inputs and defaults", ""] + [f"- {md(x)}" for x in input_lines(p)]
    lines += ["", "## Method", ""] + [f"- {md(m)}" for m in methodology()]
    lines += ["", "## Sources", ""] + [f"- {md(s)}" for s in sources(p)]
    lines += ["", f"<!-- generator: {MARKER} -->"]
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"
