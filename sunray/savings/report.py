"""The formats of a savings Proposal and the renderer of each.

Machine formats (json, yaml, csv; ``render_data``) carry the figures rounded
to 3 decimals (Wh, tenths of a cent, grams); human formats (text, markdown:
``render_text``; html: ``render_html``) show what ``display`` builds, rounded
half up to whole units as the posts did (164.25 kWh shows as 164).
"""

from typing import Callable, Dict

from ..report import check_format
from . import render_data, render_html, render_text
from .proposal import Proposal

Renderer = Callable[[Proposal], str]

FORMATS = ("text", "json", "yaml", "csv", "markdown", "html")
RENDERERS: Dict[str, Renderer] = {
    "text": render_text.to_text,
    "json": render_data.to_json,
    "yaml": render_data.to_yaml,
    "csv": render_data.to_csv,
    "markdown": render_text.to_markdown,
    "html": render_html.to_html,
}


def renderer(fmt: str) -> Renderer:
    """The render function for ``--format``, or a UsageError."""
    return RENDERERS[check_format(fmt, FORMATS)]
