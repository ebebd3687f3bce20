"""The HTML savings report: well-formed and self-contained, and as a
customer sees it: rendered by real headless Chromium (Debian package
chromium; those tests are marked system), checked in the rendered DOM and as
a screenshot."""

import html.parser
import re
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from conftest import need, run_sunray
from savings_support import ATTRIBUTION, PROPOSAL

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
    assert parser.tags.count("svg") == 2 and "style" in parser.tags
    assert "@media print" in page
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
    assert "61,562" in dom and "9,230 kWh" in dom   # before and net, all sites
    assert ATTRIBUTION in dom
    # The chart: two SVGs, before and after bars for the total and each site,
    # the after bars split into residual desktops, thin clients and servers.
    assert dom.count("<svg") == 2
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
