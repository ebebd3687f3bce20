"""The PDF report (sunray/savings/pdf.py): the three-site school proposal of
issue 13 printed by real headless Chromium on two A4 pages in English and
German, with running header and page numbers; each page is also saved as a
PNG under tests/artefacts/ (git-ignored) for a person to look at. Without a
Chromium, or when it fails, the task ends with one line and no file."""

import csv
import html
import io
import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES, REPO, assert_clean_error, need, run_sunray
from savings_support import write_yaml

from sunray.savings import pdf, render

# Savings and fleet run on an admin's workstation (Python 3.9+): not in the 3.6 tier.
pytestmark = pytest.mark.workstation

SCHOOL = FIXTURES / "savings" / "school.yaml"
LONG_NAME = "Gesamtschule Am Lindenhof, Hauptgebäude mit Sporthalle und Mensa (Lindenallee 12)"
ARTEFACTS = REPO / "tests" / "artefacts"


def _text(path, *args, mode="-layout"):
    return subprocess.run(["pdftotext", mode, *args, str(path), "-"],
                          capture_output=True, text=True, check=True).stdout


def _info(path):
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True,
                         check=True).stdout
    return dict(re.findall(r"^([\w ]+):\s+(.*)$", out, re.M))


@pytest.fixture(scope="module", params=["en", "de", "nl"])
def school_pdf(request, tmp_path_factory):
    need("chromium", "pdfinfo", "pdftotext", "pdftoppm")
    lang = request.param
    out = tmp_path_factory.mktemp("pdf") / f"school-{lang}.pdf"
    proc = run_sunray("savings", "--config", SCHOOL, "--lang", lang, "--format", "pdf",
                      "--output", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # Chromium's chatter is not shown when it works
    ARTEFACTS.mkdir(exist_ok=True)
    prefix = ARTEFACTS / f"savings-school-{lang}"
    for old in ARTEFACTS.glob(f"{prefix.name}-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(out), str(prefix)], check=True)
    print(f"pages of the {lang} PDF: {prefix}-*.png")
    return lang, out


@pytest.mark.system
def test_the_school_proposal_is_two_a4_pages_with_header_and_page_numbers(school_pdf):
    lang, path = school_pdf
    info = _info(path)
    assert info["Pages"] == "2"
    assert info["Page size"].startswith("594.96 x 841.92")  # A4 in points
    assert info["Creator"] == pdf.CREATOR and info["Author"].startswith("M. Becker")
    date, page = {"en": ("30 November 2026", "Page {} of 2"),
                  "de": ("30. November 2026", "Seite {} von 2"),
                  "nl": ("30 november 2026", "Pagina {} van 2")}[lang]
    for number in (1, 2):
        text = _text(path, "-f", str(number), "-l", str(number))
        assert f"Schulverbund Rheinaue gGmbH · {date}" in text.splitlines()[0]
        assert page.format(number) in text
    assert len(list(ARTEFACTS.glob(f"savings-school-{lang}-*.png"))) == 2


@pytest.mark.system
def test_site_names_are_whole_and_german_numbers_have_a_decimal_comma(school_pdf):
    lang, path = school_pdf
    flat = re.sub(r"\s+", "", _text(path))
    # Wrapped, never cut: whole in the text's reading order, in the chart and the table.
    assert re.sub(r"\s+", " ", _text(path, mode="-raw")).count(LONG_NAME) >= 2
    if lang in ("de", "nl"):
        assert "380,9g" in flat and "0,32EUR/kWh" in flat and "29.211" in flat
    else:
        assert "380.9g" in flat and "29,211" in flat
    if lang == "de":
        assert "Netto-Einsparung" in flat


# What page 1 must say, per language: the honest card (more energy is never a
# saving), the plain-words summary, the running-total chart and the tornado.
PAGE_ONE = {
    "en": ("EXTRAENERGYPERYEAR16,199", "comesout35,550EURaheadofkeepingthedesktops",
           "servers run 8,760 h a year", "Money over time: running total",
           "What moves the yearly result (EUR)", "serversoffoutofhours"),
    "de": ("MEHRVERBRAUCHPROJAHR16.199", "35.550€besserda", "die Server laufen 8.760 h",
           "Geld über die Zeit: laufender Saldo", "Was das Jahresergebnis bewegt (€)",
           "ServeraußerhalbderNutzungszeitaus"),
    "nl": ("EXTRAENERGIEPERJAAR16.199", "€35.550beteruit", "de servers draaien 8.760 u",
           "Geld in de tijd: lopend saldo", "Wat het jaarresultaat beweegt (€)",
           "serversuitbuitendegebruikstijd"),
}


@pytest.mark.system
def test_page_one_has_the_summary_the_money_chart_and_the_tornado(school_pdf):
    """Before: 'Energie- und CO2-Einsparung' above a red 'net saving -12,082
    kWh'; no cash flow, no tornado; Musikschule's years below zero only in
    the text report."""
    lang, path = school_pdf
    first = _text(path, "-f", "1", "-l", "1", mode="-raw")
    flat = re.sub(r"\s+", "", first)
    spaced = re.sub(r"\s+", " ", first)
    card, verdict, reason, money, tornado, lever = PAGE_ONE[lang]
    for needle in (card, verdict, lever):
        assert needle in flat, needle
    for needle in (reason, money, tornado):
        assert needle in spaced, needle
    assert "-16,199" not in flat and "-16.199" not in flat.split("kWh")[0]
    # Year-by-year cash flow on page 2, its running total ending at the benefit.
    second = re.sub(r"\s+", " ", _text(path, "-f", "2", "-l", "2"))
    assert {"en": "Cash flow per year", "de": "Zahlungen pro Jahr",
            "nl": "Kasstroom per jaar"}[lang] in second
    assert re.search(r"-55[.,]781 35[.,]285 35[.,]550", second)
    # The music school's years below zero are on the report.
    below = {"en": "below zero from year 1 on", "de": "im Minus ab Jahr 1",
             "nl": "onder nul vanaf jaar 1"}[lang]
    assert below in spaced


def _page_words(path):
    """Per page: its height and its words as (yMax, text), from pdftotext -bbox."""
    out = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True,
                         text=True, check=True).stdout
    pages = []
    for page in out.split("<page ")[1:]:
        height = float(re.search(r'height="([\d.]+)"', page).group(1))
        words = [(float(y), html.unescape(w))
                 for y, w in re.findall(r'yMax="([\d.]+)">([^<]*)</word>', page)]
        pages.append((height, words))
    return pages


@pytest.mark.system
def test_no_page_is_half_empty_and_no_heading_is_left_at_a_page_foot(school_pdf):
    lang, path = school_pdf
    page_html = run_sunray("savings", "--config", SCHOOL, "--lang", lang, "--format",
                           "html").stdout
    headings = {re.sub(r"\s+", " ", html.unescape(h)).strip()
                for h in re.findall(r"<h[23][^>]*>(.*?)</h[23]>", page_html)}
    pages = _page_words(path)
    for number, (height, words) in enumerate(pages[:-1], 1):
        body = [(y, w) for y, w in words if y < height - 30]  # not the page number line
        bottom = max(y for y, _ in body)
        assert bottom > 0.75 * height, f"page {number} ends at {bottom / height:.0%}"
        last_line = " ".join(w for y, w in body if y > bottom - 2)
        assert last_line not in headings, f"page {number} ends with the heading {last_line!r}"


@pytest.mark.system
def test_letter_paper(tmp_path):
    need("chromium", "pdfinfo")
    out = tmp_path / "letter.pdf"
    proc = run_sunray("savings", "--config", SCHOOL, "--paper", "letter", "--format", "pdf",
                      "--output", out)
    assert proc.returncode == 0, proc.stderr
    assert _info(out)["Page size"].startswith("612 x 792")


def test_without_chromium_the_task_fails_with_one_line_and_no_file(tmp_path):
    out = tmp_path / "r.pdf"
    proc = run_sunray("savings", "--format", "pdf", "--output", out,
                      env={"PATH": str(tmp_path / "empty")})
    assert_clean_error(proc, 1, "needs headless Chromium", "apt-get install chromium")
    assert not out.exists()


def test_a_failing_chromium_shows_its_last_line_and_leaves_nothing(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "chromium"
    fake.write_text("#!/bin/sh\necho 'noise' >&2\necho 'GPU process crashed' >&2\nexit 3\n")
    fake.chmod(0o755)
    temp = tmp_path / "tmp"
    temp.mkdir()
    out = tmp_path / "r.pdf"
    proc = run_sunray("savings", "--format", "pdf", "--output", out,
                      env={"PATH": f"{bin_dir}:{os.environ['PATH']}", "TMPDIR": str(temp)})
    assert_clean_error(proc, 1, "failed to print the PDF (exit 3): GPU process crashed")
    assert not out.exists() and list(temp.iterdir()) == []  # profile and page removed


def test_document_information_is_added_as_an_update():
    original = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\nxref\n0 2\n"
                b"0000000000 65535 f \n0000000009 00000 n \ntrailer\n<< /Size 2 /Root 1 0 R >>\n"
                b"startxref\n45\n%%EOF\n")
    data = pdf.with_info(original, title="Angebot für (A)", author="J. Jansen")
    assert data.startswith(original)
    update = data[len(original):]
    assert b"/Creator (sunray-savings)" in update and b"/Author (J. Jansen)" in update
    assert b"/Title <FEFF" in update  # not ASCII: UTF-16
    assert re.search(rb"/Size 3 /Root 1 0 R /Info 2 0 R /Prev 45 >>", update)
    xref_at = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", data).group(1))
    assert data[xref_at:].startswith(b"xref\n")
    obj_at = int(re.search(rb"2 1\n(\d{10}) 00000 n", update).group(1))
    assert data[obj_at:].startswith(b"2 0 obj")
    assert pdf.with_info(b"%PDF-1.5 no classic trailer") == b"%PDF-1.5 no classic trailer"


def test_artefacts_are_ignored_by_git():
    assert "tests/artefacts/" in Path(REPO / ".gitignore").read_text().splitlines()


@pytest.mark.system
def test_a_large_proposal_gets_a_summary_pdf_and_every_site_in_a_csv_beside(tmp_path):
    need("chromium", "pdfinfo", "pdftotext")
    n = render.PDF_APPENDIX_SITES + 1
    path = write_yaml(tmp_path, {"sites": [{"name": f"Site {i:03d}", "seats": i + 1}
                                           for i in range(n)]})
    out = tmp_path / "big.pdf"
    proc = run_sunray("savings", "--config", path, "--format", "pdf", "--output", out)
    assert proc.returncode == 0, proc.stderr
    beside = tmp_path / "big-sites.csv"
    assert proc.stdout.strip() == f"wrote {out}, {beside}"
    rows = list(csv.DictReader(io.StringIO(beside.read_text())))
    assert len([r for r in rows if r["row"] == "site"]) == n
    text = re.sub(r"\s+", " ", _text(out))
    assert f"all {n} sites are in the file big-sites.csv beside this report" in text
    assert int(_info(out)["Pages"]) <= 4  # cards and charts, total and sites table, notes
