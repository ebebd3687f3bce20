"""The output file: never over an input (however it is reached), never over
a file that is not a previous report of ours unless --force."""

import json
import os

import pytest
from conftest import assert_clean_error, run_sunray
from savings_support import PROPOSAL, write_yaml

from sunray.savings.output import MARKER, is_our_output

# Savings and fleet run on an admin's workstation (Python 3.9+): not in the 3.6 tier.
pytestmark = pytest.mark.workstation


@pytest.fixture
def proposal(tmp_path):
    path = tmp_path / "proposal.yaml"
    path.write_bytes(PROPOSAL.read_bytes())
    return path


@pytest.mark.parametrize("how", ["same", "symlink", "hardlink"])
def test_output_over_the_input_is_refused_even_with_force(tmp_path, proposal, how):
    before = proposal.read_bytes()
    if how == "same":
        out = proposal
    elif how == "symlink":
        out = tmp_path / "report.json"
        out.symlink_to(proposal)
    else:
        out = tmp_path / "report.json"
        os.link(proposal, out)
    for extra in ([], ["--force"]):
        proc = run_sunray("savings", "--config", proposal, "--output", out,
                          "--format", "json", *extra)
        assert_clean_error(proc, 2, "--output", "input")
        assert proposal.read_bytes() == before


def test_output_over_a_foreign_file_needs_force(tmp_path):
    out = tmp_path / "notes.txt"
    out.write_text("my own notes\n")
    proc = run_sunray("savings", "--preset", "home", "--output", out)
    assert_clean_error(proc, 2, str(out), "--force")
    assert out.read_text() == "my own notes\n"
    proc = run_sunray("savings", "--preset", "home", "--output", out, "--force")
    assert proc.returncode == 0, proc.stderr
    assert "137" in out.read_text()


@pytest.mark.parametrize("fmt", ["text", "json", "yaml", "csv", "markdown", "html"])
def test_a_previous_report_of_ours_is_replaced_without_force(tmp_path, fmt):
    out = tmp_path / f"report.{fmt}"
    assert run_sunray("savings", "--preset", "home", "--format", fmt,
                      "--output", out).returncode == 0
    assert is_our_output(out)
    proc = run_sunray("savings", "--preset", "office", "--format", fmt, "--output", out)
    assert proc.returncode == 0, proc.stderr
    assert MARKER in out.read_text()


def test_the_marker_is_a_field_in_the_machine_formats():
    data = json.loads(run_sunray("savings", "--preset", "home", "--format", "json").stdout)
    assert data["generator"] == MARKER


def test_is_our_output_reads_only_head_and_tail(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("x" * 100_000 + MARKER + "y" * 100_000)
    assert not is_our_output(path)
    path = write_yaml(tmp_path, {"title": "a proposal"})
    assert not is_our_output(path)


def test_output_over_the_bundled_grid_table_is_refused_even_with_force():
    from conftest import REPO

    table = REPO / "sunray" / "savings" / "data" / "carbon-intensity.csv"
    before = table.read_bytes()
    proc = run_sunray("savings", "--country", "DEU", "--output", table, "--force")
    assert_clean_error(proc, 2, "input of this run")
    assert table.read_bytes() == before
