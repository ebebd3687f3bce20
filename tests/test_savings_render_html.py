"""The HTML savings report: well-formed and self-contained, and as a
customer sees it: rendered by real headless Chromium (Debian package
chromium; those tests are marked system), checked in the rendered DOM and as
a screenshot."""

import html
import html.parser
import re
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from conftest import need, run_sunray
from savings_support import ATTRIBUTION, PROPOSAL, write_yaml

from sunray.savings.evaluate import evaluate
from sunray.savings.proposal import plan
from sunray.savings.render_html import DETAIL_SITES, _css_string, to_html

# Savings and fleet run on an admin's workstation (Python 3.9+): not in the 3.6 tier.
pytestmark = pytest.mark.workstation


@pytest.fixture(scope="module")
def html_page():
    return run_sunray("savings", "--config", PROPOSAL, "--format", "html").stdout


class _Balance(html.parser.HTMLParser):
    VOID = {"meta", "br", "img", "input", "link", "hr", "rect"}

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.tags = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def test_html_is_well_formed_and_self_contained(html_page):
    page = html_page
    parser = _Balance()
    parser.feed(page)
    assert parser.errors == [] and parser.stack == []
    # One energy chart (every bar on one scale), the running total, the tornado.
    assert parser.tags.count("svg") == 3 and "style" in parser.tags
    assert "@media print" in page and "@bottom-right" in page and "counter(pages)" in page
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)  # nothing to fetch
    assert "<script" not in page


# --- in headless Chromium ------------------------------------------------------

def chromium(profile, *args):
    cmd = ["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
           *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def png_pixels(path):
    """(width, height, rows of RGB(A) bytes) of a non-interlaced 8-bit PNG."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and interlace == 0 and colour in (2, 6)
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    need("chromium")
    work = tmp_path_factory.mktemp("savings-html")
    page = work / "report.html"
    proc = run_sunray("savings", "--config", PROPOSAL, "--format", "html", "--output", page)
    assert proc.returncode == 0, proc.stderr
    return work, page


@pytest.mark.system
def test_rendered_dom_has_the_sites_totals_chart_and_attribution(report):
    work, page = report
    proc = chromium(work / "profile", "--dump-dom", page.as_uri())
    assert proc.returncode == 0, proc.stderr
    dom = proc.stdout
    for name in ("Head office Rotterdam", "Warehouse Venlo", "Branch Antwerp"):
        assert name in dom
    assert "Total: 3 sites, 157 seats" in dom
    assert "61,562" in dom and '9,230</span> <span class="unit">kWh' in dom  # before and net
    assert ATTRIBUTION in dom
    # The energy chart (before: two, on two scales), before and after bars for
    # the total and each site, the after bars split into residual desktops,
    # thin clients and servers; the running total and the tornado.
    assert dom.count("<svg") == 3
    before = re.findall(r'<rect class="bar bar-before" data-kwh="([\d,]+)"[^>]*width="([\d.]+)"',
                        dom)
    assert [kwh for kwh, _ in before] == ["61,562", "29,150", "21,900", "10,512"]
    assert all(float(w) > 0 for _, w in before)
    assert len(re.findall(r'<rect class="bar bar-server"', dom)) == 4


@pytest.mark.system
def test_screenshot_is_a_real_picture_of_the_report(report):
    work, page = report
    png = work / "report.png"
    proc = chromium(work / "profile", f"--screenshot={png}", "--window-size=1200,1600",
                    page.as_uri())
    assert proc.returncode == 0, proc.stderr
    width, height, bpp, rows = png_pixels(png)
    assert (width, height) == (1200, 1600)
    colours = set()
    for row in rows[::8]:
        for x in range(0, width * bpp, 8 * bpp):
            colours.add(row[x:x + 3])
    assert len(colours) > 50, "the page looks blank"
    # The server-share amber (#e0a526) of the chart's bars is on the screen.
    assert any(abs(c[0] - 0xE0) < 8 and abs(c[1] - 0xA5) < 8 and abs(c[2] - 0x26) < 8
               for c in colours)


# --- the print layout, many sites, names in CSS ------------------------------------

def _proposal(path):
    sites, meta = plan({}, {}, path)
    return evaluate(sites, meta)


def test_a_single_site_report_shows_its_figures_line_by_line():
    page = to_html(_proposal(None))
    assert "The figures: 1 site, 15 seats" in page  # one full server's seats, assumed
    for label in ("Desktops before", "Server share", "Net saving (after thin clients and servers)"):
        assert f"<td>{label}</td>" in page


def test_bars_are_labelled_before_and_after_and_long_names_wrap(tmp_path):
    name = "A very long site name that goes on and on, Building C (Annex) 12"
    page = to_html(_proposal(write_yaml(tmp_path, {"sites": [
        {"name": name, "seats": 5}, {"name": "Small", "seats": 2}]})))
    assert len(re.findall(r'class="value"[^>]*>before: [\d,]+ kWh<', page)) == 3
    assert len(re.findall(r'class="value"[^>]*>after: [\d,]+ kWh<', page)) == 3
    labels = re.findall(r'<text class="site-label"[^>]*>(.*?)</text>', page)
    lines = re.findall(r"<tspan[^>]*>(.*?)</tspan>", labels[1])  # after "All sites"
    assert len(lines) > 1 and " ".join(lines) == name  # wrapped, every word kept
    assert "…" not in page


def test_many_sites_get_the_largest_in_the_table_and_all_in_an_appendix(tmp_path):
    n = DETAIL_SITES + 15
    path = write_yaml(tmp_path, {"sites": [{"name": f"Site {i:03d}", "seats": i + 1}
                                           for i in range(n)]})
    page = to_html(_proposal(path))
    main, appendix = page.split('<section class="appendix">')
    assert main.count('<td class="name">') == DETAIL_SITES
    table = main[main.index('<table class="sites">'):]
    table = table[:table.index("</table>")]
    assert f"Site {n - 1:03d}" in table and "Site 000" not in table  # the largest savings
    assert appendix.count('<td class="name">') == n
    assert f"all {n} sites are listed in the appendix" in main
    csv_note = to_html(_proposal(path), sites_file="r-sites.csv")
    assert '<section class="appendix">' not in csv_note
    assert "in the file r-sites.csv beside this report" in csv_note


def test_ten_thousand_sites_stay_a_small_page(tmp_path):
    path = write_yaml(tmp_path, {"sites": [{"name": f"S{i}", "seats": 3} for i in range(10_000)]})
    page = to_html(_proposal(path))
    assert len(page) < 4_000_000  # was 19 MB: a section per site
    # One energy chart: the 25 largest sites on one scale (the total's bar
    # would dwarf them; the cards and the table have it).
    assert page.count("<svg") == 1 and page.count('<g class="group">') == DETAIL_SITES


def test_names_in_the_running_header_cannot_leave_their_css_string():
    evil = 'A"; } body { display: none } </style><script>x</script> \\'
    css = _css_string(evil)
    inner = css[1:-1]
    assert '"' not in inner and "<" not in inner and "}" not in inner and "\n" not in inner
    decoded = re.sub(r"\\([0-9a-f]{6}) ", lambda m: chr(int(m.group(1), 16)), inner)
    assert decoded == evil


@pytest.mark.system
def test_seven_digit_figures_fit_their_cards_and_names_are_not_cut(tmp_path):
    need("chromium")
    name = "Gesamtschule Am Lindenhof, Hauptgebäude mit Sporthalle und Mensa (Lindenallee 12)"
    path = write_yaml(tmp_path, {"defaults": {"thin_client_price": 300, "server_price": 5000,
                                              "desktop_price": 100},
                                 "sites": [{"name": name, "seats": 9000},
                                           {"name": "B", "seats": 4000}]})
    page = tmp_path / "r.html"
    proc = run_sunray("savings", "--config", path, "--format", "html", "--output", page)
    assert proc.returncode == 0, proc.stderr
    html_text = page.read_text()
    assert re.search(r'<span class="num">-?\d{1,3},\d{3},\d{3}</span>', html_text)  # 7 digits
    # A measuring script in a copy: what overflows its box, or breaks a figure.
    probe = tmp_path / "probe.html"
    probe.write_text(html_text.replace("</body>", """<script>
const bad = [];
for (const e of document.querySelectorAll('.card, .card .num, td.name')) {
  if (e.scrollWidth > e.clientWidth + 1) bad.push('overflow ' + e.className + ': ' + e.textContent);
}
for (const e of document.querySelectorAll('.card .num')) {
  if (e.getClientRects().length !== 1) bad.push('broken ' + e.textContent);
}
for (const svg of document.querySelectorAll('svg.chart')) {
  const width = svg.viewBox.baseVal.width;
  for (const e of svg.querySelectorAll('text')) {
    const b = e.getBBox();
    if (b.x < 0 || b.x + b.width > width) bad.push('outside ' + e.textContent);
  }
}
document.body.setAttribute('data-bad', JSON.stringify(bad));
</script></body>"""))
    proc = chromium(tmp_path / "profile", "--window-size=760,1200", "--dump-dom", probe.as_uri())
    assert proc.returncode == 0, proc.stderr
    bad = re.search(r'data-bad="(.*?)"', proc.stdout).group(1)
    assert html.unescape(bad) == "[]"
