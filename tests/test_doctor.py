"""The doctor: its report, its framework for the concerns' checks, and the task."""

import json

import pytest
from conftest import assert_clean_error, run_sunray, tree_snapshot
from fleet_support import broken_server, healthy_server

from sunray import doctor
from sunray.core.config import defaults
from sunray.core.rootfs import Root
from sunray.doctor import Check
from sunray.modules.checks import (
    check_kernel_hooks,
)

# --- framework -----------------------------------------------------------------


def test_report_table_summary_and_failure():
    report = doctor.DoctorReport(root="/srv/x", checks=[
        Check("a", "A", "ok", "fine"),
        Check("long-check-name", "B", "fail", "broken", "sunray fix-b"),
        Check("c", "C", "warn", "hmm", "sunray fix-c"),
        Check("d", "D", "skip", "n/a"),
    ])
    text = report.to_text()
    lines = text.splitlines()
    # aligned: every DETAIL column starts at the same offset
    offsets = {line.index(word) for line, word in zip(lines[1:], ["fine", "broken"])}
    assert len(offsets) == 1
    assert "fix: sunray fix-b" in text and "fix: sunray fix-c" in text
    assert lines[-1] == "doctor /srv/x: 1 ok, 1 warn, 1 fail, 1 skip"
    assert report.failure == "1 check(s) failed: long-check-name"
    data = report.to_dict()
    assert data["summary"] == {"ok": 1, "warn": 1, "fail": 1, "skip": 1}
    assert data["checks"][1] == {"id": "long-check-name", "title": "B", "status": "fail",
                                 "detail": "broken", "fix": "sunray fix-b"}
    assert doctor.DoctorReport(root="/", checks=[Check("a", "A", "warn")]).failure == ""
    with pytest.raises(ValueError):
        Check("x", "X", "bad")


def test_a_crashing_check_is_a_fail_row_not_a_crash(sandbox):
    def check_explodes(root, config):
        raise OSError(13, "Permission denied")

    def check_fine(root, config):
        return [Check("fine", "Fine", "ok")]

    report = doctor.run(Root(sandbox), defaults(), checks=[check_explodes, check_fine])
    assert [(c.id, c.status) for c in report.checks] == [("explodes", "fail"), ("fine", "ok")]
    assert "Permission denied" in report.checks[0].detail


def test_register_adds_once():
    def check_extra(root, config):
        return []

    before = doctor.registered()
    try:
        doctor.register(check_extra)
        doctor.register(check_extra)
        assert doctor.registered() == before + [check_extra]
    finally:
        doctor._REGISTRY.remove(check_extra)


# --- the task ----------------------------------------------------------------------------


def test_doctor_task_healthy_server_exit_0(sandbox):
    healthy_server(sandbox)
    before = tree_snapshot(sandbox)
    proc = run_sunray("doctor", "--root", sandbox)
    assert proc.returncode == 0, proc.stderr
    # warn: no kernel under /lib/modules; skip: modules-loaded, esound, hook-program (stand-in hooks)
    assert proc.stdout.rstrip().endswith(": 8 ok, 1 warn, 0 fail, 3 skip"), proc.stdout
    assert tree_snapshot(sandbox) == before  # the doctor changes nothing
    data = json.loads(run_sunray("doctor", "--root", sandbox, "--format", "json").stdout)
    assert data["failure"] is None
    assert {c["id"] for c in data["checks"]} >= {
        "tmp-nodev", "pending-merges", "module-sources", "boot-hook", "kernel-hooks",
        "modules-loaded", "tmp-cleaners", "esd-dir", "modules-built", "esound", "journal"}


def test_doctor_task_broken_server_exit_1(sandbox):
    broken_server(sandbox)
    proc = run_sunray("doctor", "--root", sandbox, "--format", "json")
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    status = {c["id"]: c["status"] for c in data["checks"]}
    assert status["tmp-nodev"] == "fail" and status["pending-merges"] == "warn"
    assert status["boot-hook"] == "fail" and status["kernel-hooks"] == "fail"
    # a tmpwatch script with no tmpwatch call cannot be judged; no /tmp/.esd, no boot hook
    assert status["tmp-cleaner-tmpwatch"] == "fail" and status["esd-dir"] == "fail"
    assert proc.stderr.strip().splitlines()[-1].startswith("sunray: 6 check(s) failed: ")
    assert "Traceback" not in proc.stderr


def test_doctor_task_bad_input(sandbox, tmp_path):
    assert_clean_error(run_sunray("doctor", "--root", tmp_path / "nope"), 2, "does not exist")
    assert_clean_error(run_sunray("doctor", "--root", sandbox, "--format", "yaml"), 2, "--format")


def test_fix_lines_name_the_root_they_were_judged_on(sandbox):
    broken_server(sandbox)
    data = json.loads(run_sunray("doctor", "--root", sandbox, "--format", "json").stdout)
    fixes = {c["id"]: c["fix"] for c in data["checks"]}
    assert fixes["kernel-hooks"] == f"sunray install-kernel-hooks --root {sandbox}"
    assert fixes["esd-dir"] == f"sunray esd-dir --root {sandbox}"
    # on / the fix is printed as is
    assert check_kernel_hooks(Root(sandbox), defaults())[0].fix == "sunray install-kernel-hooks"


