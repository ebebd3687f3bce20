"""What the human formats show: display rounding, and the rows built once
that the text, markdown and HTML reports lay out."""

import re

import pytest
from savings_support import site, text_rows

from sunray.savings import model
from sunray.savings.display import show, site_rows, total_rows
from sunray.savings.proposal import evaluate
from sunray.savings.render_html import to_html
from sunray.savings.render_text import to_markdown, to_text

# Savings and fleet run on an admin's workstation (Python 3.9+): not in the 3.6 tier.
pytestmark = pytest.mark.workstation


def test_show_rounds_half_up_with_separators_and_no_minus_zero():
    assert [show(0.5), show(2.5), show(164.25), show(-0.4)] == ["1", "3", "164", "0"]
    assert show(1234.56, 1) == "1,234.6"
    assert show(None) == "-"


def test_text_markdown_and_html_show_the_same_rows():
    sites = [site("home", name="Attic"), site("office", name="Office", seats=12)]
    proposal = evaluate(sites, {"title": "T", "customer": "", "prepared_by": "",
                                "date": "2009-01-26"})
    rows = site_rows(proposal.results[1])
    assert [r[0] for r in rows] == [model.LINE_LABELS[k] for k in model.LINES]
    assert len(total_rows(proposal.total)) == len(model.LINES)

    text = to_text(proposal)
    office = text_rows(text[text.index("Site: Office"):])
    assert [(label, *office[label]) for label, *_ in rows] == rows

    markdown = to_markdown(proposal)
    section = markdown[markdown.index("## Office"):]
    cells = [tuple(c.strip() for c in line.strip("|").split("|"))
             for line in section.splitlines() if line.startswith("| ")][1:]
    assert cells[:len(rows)] == rows

    page = to_html(proposal)
    # The HTML's sites table: one row per site with its before, after and net figures.
    row = re.search(r'<td class="name">Office(?:<span.*?</span>)?</td>(.*?)</tr>', page).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    by_label = {r[0]: r for r in rows}
    before, after, net = (by_label[model.LINE_LABELS[k]] for k in ("before", "after", "net_saving"))
    assert cells[:6] == ["12", before[2], after[2], net[2], net[3], net[4]]
