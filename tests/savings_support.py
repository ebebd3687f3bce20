"""Helpers shared by the savings tests: the example proposal, sites from a
preset, the rows of the text tables, and proposal files."""

import re

import yaml
from conftest import FIXTURES

from sunray.savings import model

PROPOSAL = FIXTURES / "savings" / "proposal.yaml"
ATTRIBUTION = "Carbon intensity: Ember and Our World in Data (CC BY 4.0), via CodeCarbon (MIT)"


def site(preset="home", **changes):
    values = dict(model.PRESETS[preset], name=preset, preset=preset)
    values.update(changes)
    return model.Site(**values)


def text_rows(out):
    """{label: [cells]} of the text tables (label, then the numbers)."""
    rows = {}
    for line in out.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells and cells[0] in model.LINE_LABELS.values():
            rows.setdefault(cells[0], cells[1:])
    return rows


def write_yaml(tmp_path, data, name="p.yaml"):
    path = tmp_path / name
    if isinstance(data, bytes):  # not text: a file in another encoding
        path.write_bytes(data)
    else:
        path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path
