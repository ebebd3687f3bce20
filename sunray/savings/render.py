"""Step three of a savings run: the formats of an evaluated Proposal and
the renderer of each.

Machine formats (json, yaml, csv; ``render_data``) carry the figures rounded
to 3 decimals (Wh, tenths of a cent, grams) and are the same in every
language; human formats (text, markdown: ``render_text``; html:
``render_html``; pdf: that HTML printed by Chromium, ``pdf``) show what
``display`` builds, rounded half up to whole units as the posts did (164.25
kWh shows as 164), in the report's language (``--lang``); xlsx is a workbook
of live formulas in that language (``render_xlsx``).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ContextManager, Dict, List, Mapping, Optional, Tuple

from ..core.errors import UsageError
from ..core.report import check_format
from . import i18n, render_data, render_html, render_text
from .evaluate import Proposal

Renderer = Callable[[Proposal], str]
# A PDF holds every site up to this many (Chromium prints a long table at
# about a page a second); beyond, the PDF has the summary and a CSV of every
# site is written beside it.
PDF_APPENDIX_SITES = 100

FORMATS = ("text", "json", "yaml", "csv", "markdown", "html", "pdf", "xlsx")
# In the report's language; the others in English.
HUMAN = ("text", "markdown", "html", "pdf", "xlsx")
RENDERERS: Dict[str, Renderer] = {
    "text": render_text.to_text,
    "json": render_data.to_json,
    "yaml": render_data.to_yaml,
    "csv": render_data.to_csv,
    "markdown": render_text.to_markdown,
}


@dataclass(frozen=True)
class Request:
    """What the report is to be: its format, language and paper size."""

    fmt: str
    locale: i18n.Locale
    paper: str
    output: Optional[Path] = None

    @classmethod
    def checked(cls, fmt: str, lang: Optional[str], paper: Optional[str],
                output: Optional[Any], savings_settings: Mapping[str, Any]) -> "Request":
        """A Request from the flags (else ``sunray.savings.lang`` and
        ``.paper``), or a UsageError; a PDF needs ``--output``."""
        fmt = check_format(fmt, FORMATS)
        if lang is not None:
            locale = i18n.get(lang, "--lang")
        else:
            locale = i18n.get(savings_settings.get("lang"), "sunray.savings.lang")
        where = "--paper" if paper is not None else "sunray.savings.paper"
        paper = paper if paper is not None else savings_settings.get("paper") or "a4"
        if not isinstance(paper, str) or paper.strip().lower() not in render_html.PAPERS:
            raise UsageError(f"{where} {paper!r}: unknown paper size; allowed: "
                             f"{', '.join(render_html.PAPERS)}")
        if fmt == "pdf" and not output:
            raise UsageError("--format pdf needs --output FILE (a PDF is not for a terminal)")
        if fmt == "xlsx":
            if not output:
                raise UsageError("--format xlsx needs --output FILE (a workbook is not for "
                                 "a terminal)")
            from . import render_xlsx

            render_xlsx.check_available()
        return cls(fmt, locale, paper.strip().lower(), Path(output) if output else None)


def sites_csv_path(output: Path) -> Path:
    """Where the CSV of every site goes beside a PDF: report.pdf -> report-sites.csv."""
    return output.with_name(output.stem + "-sites.csv")


def language(request: Request) -> "ContextManager[i18n.Locale]":
    """The words of the run (notes are worded when the proposal is
    evaluated): the report's language for human formats, else English."""
    return i18n.using(request.locale if request.fmt in HUMAN else i18n.LOCALES["en"])


def render(proposal: Proposal, request: Request) -> List[Tuple[Optional[Path], bytes]]:
    """The report in the requested format and language: (path, bytes) of the
    document (path ``request.output``, None for stdout), and of the CSV of
    every site beside a PDF too large to hold them."""
    with language(request):
        if request.fmt == "xlsx":
            from . import render_xlsx

            return [(request.output, render_xlsx.to_xlsx(proposal))]
        if request.fmt not in ("html", "pdf"):
            return [(request.output, RENDERERS[request.fmt](proposal).encode("utf-8"))]
        beside = None
        if (request.fmt == "pdf" and request.output is not None
                and len(proposal.results) > PDF_APPENDIX_SITES):
            beside = sites_csv_path(request.output)
        page = render_html.to_html(proposal, request.paper,
                                   sites_file=beside.name if beside else None)
        if request.fmt == "html":
            return [(request.output, page.encode("utf-8"))]
        from . import pdf

        files = [(request.output, pdf.html_to_pdf(page, title=proposal.title,
                                                  author=proposal.prepared_by,
                                                  subject=proposal.customer))]
    if beside is not None:
        files.append((beside, render_data.to_csv(proposal).encode("utf-8")))
    return files
