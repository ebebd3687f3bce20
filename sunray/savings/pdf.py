"""The PDF of a savings report: the HTML printed by headless Chromium.

Debian's ``chromium`` (or ``chromium-browser``, ``google-chrome``) is found on
PATH when a PDF is asked for. The page size, margins, running header and page
numbers are the HTML's own ``@page`` rules (margin boxes), so Chromium's
header and footer are switched off. Chromium gets a private profile in a
temporary directory (removed afterwards), no network, and a time limit; its
chatter on stderr is shown only when it fails.

The PDF gets an incremental update with its document information (title,
author, subject, creator ``sunray-savings``), so a later run recognises it
as a report of ours.
"""

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import List, Optional

from ..core.errors import JobFailed

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S = 120
CREATOR = "sunray-savings"


def find_browser() -> str:
    """The path of a Chromium on PATH, or JobFailed naming what to install."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    raise JobFailed("--format pdf needs headless Chromium, and none of "
                    f"{', '.join(BROWSERS)} is on PATH (Debian: apt-get install chromium)")


def browser_command(browser: str, profile: str, html: Path, pdf: Path) -> List[str]:
    """Chromium's arguments to print ``html`` to ``pdf``, offline and quiet."""
    return [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--disable-sync",
            "--disable-background-networking", "--disable-component-update",
            "--disable-default-apps", "--mute-audio", "--no-pdf-header-footer",
            f"--user-data-dir={profile}", f"--print-to-pdf={pdf}", html.as_uri()]


def html_to_pdf(html: str, title: str = "", author: str = "", subject: str = "",
                browser: Optional[str] = None, timeout: float = TIMEOUT_S) -> bytes:
    """The PDF of the HTML page ``html`` (JobFailed when Chromium fails)."""
    browser = browser or find_browser()
    with tempfile.TemporaryDirectory(prefix="sunray-pdf-") as work:
        page = Path(work) / "report.html"
        page.write_text(html, encoding="utf-8")
        out = Path(work) / "report.pdf"
        profile = os.path.join(work, "profile")
        cmd = browser_command(browser, profile, page, out)
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL, timeout=timeout,
                                  env=_quiet_env(work))
        except subprocess.TimeoutExpired:
            raise JobFailed(f"{browser} did not print the PDF within {timeout:g} s") from None
        except OSError as e:
            raise JobFailed(f"cannot run {browser}: {e.strerror}") from None
        data = out.read_bytes() if out.exists() else b""
        if proc.returncode != 0 or not data.startswith(b"%PDF-"):
            tail = _last_error(proc.stderr.decode("utf-8", "replace"))
            raise JobFailed(f"{browser} failed to print the PDF (exit {proc.returncode})"
                            + (f": {tail}" if tail else ""))
    return with_info(data, title=title, author=author, subject=subject)


def _quiet_env(home: str) -> dict:
    """The environment for Chromium: ours, with a throwaway HOME and no
    session bus (it only complains about it)."""
    env = dict(os.environ)
    env.update(HOME=home, XDG_CONFIG_HOME=home, XDG_CACHE_HOME=home)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    return env


def _last_error(stderr: str) -> str:
    """The last meaningful line of Chromium's stderr, shortened to one line."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    lines = [ln for ln in lines if "dbus" not in ln.lower()] or lines
    return lines[-1][:200] if lines else ""


# --- document information, as an incremental update --------------------------

def _pdf_text(text: str) -> bytes:
    """A PDF text string: printable ASCII as a literal (so CREATOR shows in
    the file's bytes), anything else UTF-16BE with its byte order mark, in hex."""
    if all(" " <= c <= "~" for c in text):
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        return b"(" + escaped.encode("ascii") + b")"
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode("ascii") + b">"


def with_info(data: bytes, title: str = "", author: str = "", subject: str = "") -> bytes:
    """``data`` with an appended update whose Info dictionary names the
    title, author, subject and CREATOR. Left unchanged when its trailer is
    not the classic kind this understands (Chromium's is)."""
    start = re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", data)
    trailer = data.rfind(b"trailer")
    if not start or trailer < 0:
        return data
    head = data[trailer:start.start()]
    size = re.search(rb"/Size\s+(\d+)", head)
    root = re.search(rb"/Root\s+(\d+\s+\d+\s+R)", head)
    if not size or not root:
        return data
    number = int(size.group(1))
    fields = [(b"Title", title), (b"Author", author), (b"Subject", subject),
              (b"Creator", CREATOR), (b"Producer", CREATOR + " via Chromium")]
    info = b"".join(b"/" + key + b" " + _pdf_text(value) + b"\n" for key, value in fields if value)
    body = data if data.endswith(b"\n") else data + b"\n"
    offset = len(body)
    obj = b"%d 0 obj\n<<\n%s>>\nendobj\n" % (number, info)
    xref_at = offset + len(obj)
    xref = b"xref\n0 1\n0000000000 65535 f \n%d 1\n%010d 00000 n \n" % (number, offset)
    tail = (b"trailer\n<< /Size %d /Root %s /Info %d 0 R /Prev %s >>\nstartxref\n%d\n%%%%EOF\n"
            % (number + 1, root.group(1), number, start.group(1), xref_at))
    return body + obj + xref + tail
