"""What the human formats show: display rounding, and the rows built once
that the text, markdown and HTML reports lay out."""

import re

import pytest
from savings_support import site, text_rows

from sunray.savings import model
from sunray.savings.display import show, site_rows, total_rows
from sunray.savings.evaluate import evaluate
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
    row = re.search(r'<td class="name">Office</td>(.*?)</tr>', page).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    by_label = {r[0]: r for r in rows}
    before, after, net = (by_label[model.LINE_LABELS[k]] for k in ("before", "after", "net_saving"))
    assert cells[:6] == ["12", before[2], after[2], net[2], net[3], net[4]]


# --- the words ----------------------------------------------------------------------

def _report(fmt="text", *args):
    from conftest import run_sunray

    proc = run_sunray("savings", "--format", fmt, *args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_negative_net_investment_is_ahead_from_day_one():
    out = _report("text", "--preset", "office", "--seats", "15", "--thin-client-price", "250",
                  "--desktop-price", "800")
    assert "ahead from day one" in out
    assert "never" not in out and "net investment -" not in out


def test_the_school_proposal_money_words_agree_with_each_other():
    """Before: 'ahead from day one by 3,000 EUR' beside 'Payback in 12.0
    years' (Grundschule), and 'ahead by 0 EUR' beside 'No payback within 30
    years' while the same site showed a net benefit over 5 years."""
    from pathlib import Path

    school = Path(__file__).parent / "fixtures" / "savings" / "school.yaml"
    out = _report("text", "--config", str(school))
    sites = re.split(r"\n(?:Site|Total): ", out)
    grundschule = next(s for s in sites if s.startswith("Grundschule"))
    assert "Desktops not bought: 22,000 EUR: ahead by 3,000 EUR at the switch" in grundschule
    assert "Below zero in years 2\u20134; payback in 4.0 years" in grundschule
    assert "ahead from day one" not in grundschule
    music = next(s for s in sites if s.startswith("Musikschule"))
    assert "no net investment at the switch" in music
    # Before the residual value: "Below zero in years 1-4; payback in 4.0
    # years", the desktop refresh avoided at year 4 counted whole. Those
    # desktops would be worth 3/4 of their price at year 5: the music
    # school never gets back to zero, and says so.
    assert "Below zero from year 1 on; no payback within 30 years" in music
    assert "net cost 2,789 EUR" in music
    assert "ahead by 0" not in out
    for part in sites:
        if "ahead from day one" in part:
            # (the scenario table's "payback" row is a label, not a claim)
            assert "payback in" not in part.lower(), part


def test_a_negative_saving_is_extra_kwh_not_negative_saved():
    out = _report("text", "--preset", "office", "--seats", "1", "--thin-client-price", "250")
    assert "extra" in out
    assert not re.search(r"-[\d,]+ kWh.* saved", out)
    assert "not pay back within 30 years" in out
    assert out.count("pay back") == 1  # one note, not one per place


def test_payback_in_months_then_years():
    from sunray.savings.display import payback_text

    assert payback_text(14 / 12) == "payback in 14 months"
    assert payback_text(3.0) == "payback in 36 months"
    assert payback_text(4.25) == "payback in 4.3 years"
    assert payback_text(0.0) == "ahead from day one"
    assert payback_text(None) == "no payback within 30 years"


def test_citations_credit_only_what_the_sources_say():
    out = _report("markdown", "--preset", "home")
    assert "Fraunhofer UMSICHT" in out and "December 2006" in out
    assert "41 W" in out and "including" in out
    assert "16 W" not in out
    assert "gives no price per kWh: 0.25 EUR/kWh is our reading" in out
    assert "Netherlands in 2009" not in out
    assert "34 euros for 137 kWh" in out  # what the post gives, and our reading of it
    # One term, CO2e, except where the post is quoted (it says CO2).
    ours = "\n".join(ln for ln in out.splitlines() if "Presets:" not in ln)
    assert "kg CO2e" in ours and "kg CO2 " not in ours and "CO2 |" not in ours


def test_every_input_is_listed_with_its_source():
    import json

    data = json.loads(_report("json", "--preset", "home", "--price", "0.3",
                              "--desktop-price", "500"))
    rows = {r["label"]: r for r in data["inputs_and_defaults"]}
    assert rows["Electricity price"]["value"] == 0.3
    assert rows["Electricity price"]["source"] == "given: --price"
    assert "blog post" in rows["Desktop power"]["source"]
    assert rows["Desktop lifetime (refresh cycle)"]["source"].startswith("our assumption")
    assert {"label", "value", "unit", "source"} == set(rows["Desktop power"])
    text = _report("text", "--preset", "home")
    assert "Inputs and defaults:" in text and "our assumption" in text


def test_the_basis_names_the_whole_servers_and_their_watts_per_seat():
    from sunray.savings.display import basis

    lines = basis(site("office", seats=40, seats_per_server=30, server_watts=450, pue=1.6))
    assert "2 servers bought (= 36.0 W per seat while on)" in lines[2]


@pytest.mark.parametrize("spans,words", [
    ([(1.5, 4.0)], "below zero in years 2\u20134"),
    ([(1.5, 1.9)], "below zero in year 2"),
    ([(0.0, None)], "below zero from year 1 on"),
    ([(1.5, 4.0), (6.2, 7.0)], "below zero in years 2\u20134 and 7"),
    # Spans in the same or the next year are one stretch of years.
    ([(0.5, 1.0), (1.5, 2.0)], "below zero in years 1\u20132"),
    ([(0.2, 0.9), (2.0, None)], "below zero in year 1 and from year 3 on"),
])
def test_below_zero_spans_in_words(spans, words):
    from sunray.savings.display import below_zero_text

    assert below_zero_text(spans) == words
