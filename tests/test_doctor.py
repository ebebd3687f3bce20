"""The doctor's framework and the checks that need no other concern."""

import json

import pytest
from conftest import assert_clean_error, run_sunray, tree_snapshot
from fleet_support import broken_server, healthy_server
from support import only
from tmpmount_support import write

from sunray import doctor
from sunray.config import defaults
from sunray.doctor import Check
from sunray.modules.checks import (
    check_kernel_hooks,
    check_module_sources,
    check_modules_loaded,
    parse_proc_modules,
)
from sunray.rootfs import Root

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


# --- module sources ------------------------------------------------------------------


def test_module_sources(sandbox):
    check = only(check_module_sources, sandbox)
    assert check.status == "fail" and "missing" in check.detail
    write(sandbox / "usr/src/SUNWut/README", "x\n")
    write(sandbox / "usr/src/SUNWut/utadem/Makefile", "x\n")  # no .c: not a module
    check = only(check_module_sources, sandbox)
    assert check.status == "fail" and "no module directory" in check.detail
    write(sandbox / "usr/src/SUNWut/utadem/utadem.c", "x\n")
    write(sandbox / "usr/src/SUNWut/utdisk/Makefile", "x\n")
    write(sandbox / "usr/src/SUNWut/utdisk/utdiskctl.c", "x\n")
    check = only(check_module_sources, sandbox)
    assert check.status == "ok" and check.detail == "/usr/src/SUNWut: utadem, utdisk"
    config = defaults()
    config["modules"] = {"src": "/opt/SUNWut/src"}
    assert check_module_sources(Root(sandbox), config)[0].status == "fail"


# --- kernel hooks ------------------------------------------------------------


def test_kernel_hooks(sandbox):
    check = only(check_kernel_hooks, sandbox)
    assert check.status == "fail" and check.fix == "sunray install-kernel-hooks"
    write(sandbox / "etc/kernel/postinst.d/sunray-modules", "#!/bin/sh\n", 0o755)
    assert only(check_kernel_hooks, sandbox).status == "warn"  # no postrm
    write(sandbox / "etc/kernel/postrm.d/sunray-modules", "#!/bin/sh\n", 0o755)
    assert only(check_kernel_hooks, sandbox).status == "ok"
    write(sandbox / "etc/kernel/install.d/85-sunray.install", "#!/bin/sh\n", 0o644)
    check = only(check_kernel_hooks, sandbox)
    assert check.status == "fail" and "85-sunray.install" in check.fix


def test_kernel_install_plugin_alone_is_enough(sandbox):
    write(sandbox / "etc/kernel/install.d/85-sunray.install", "#!/bin/sh\n", 0o755)
    assert only(check_kernel_hooks, sandbox).status == "ok"


# --- loaded modules ----------------------------------------------------------------------

PROC_MODULES = """\
utadem 45056 2 - Live 0x0000000000000000 (OE)
utdisk 36864 0 - Live 0x0000000000000000 (OE)
snd_pcm 159744 1 snd_hda_intel, Live 0x0000000000000000
"""


def test_modules_loaded_parsing_and_status(sandbox, tmp_path):
    healthy_server(sandbox)
    # not the running system: skipped with a note
    check = only(check_modules_loaded, sandbox)
    assert check.status == "skip" and "not the running system" in check.detail

    proc = tmp_path / "modules"
    proc.write_text(PROC_MODULES)
    assert parse_proc_modules(PROC_MODULES) == {
        "utadem": "Live", "utdisk": "Live", "snd_pcm": "Live"}
    check = only(check_modules_loaded, sandbox, proc_modules=proc)
    assert check.status == "fail" and check.detail.startswith("not loaded: utio")
    proc.write_text(PROC_MODULES + "utio 16384 0 - Unloading 0x0\n")
    assert only(check_modules_loaded, sandbox, proc_modules=proc).status == "warn"
    proc.write_text(PROC_MODULES + "utio 16384 0 - Live 0x0\n")
    check = only(check_modules_loaded, sandbox, proc_modules=proc)
    assert check.status == "ok" and check.detail == "loaded: utadem, utdisk, utio"


def test_modules_loaded_on_root_slash_and_without_proc_modules(sandbox, tmp_path):
    # This machine: no SRSS sources in /usr/src/SUNWut, so nothing is expected.
    assert check_modules_loaded(Root("/"), defaults())[0].status == "skip"
    healthy_server(sandbox)
    check = only(check_modules_loaded, sandbox, proc_modules=tmp_path / "absent")
    assert check.status == "skip" and "missing" in check.detail


# --- the task ----------------------------------------------------------------------------


def test_doctor_task_healthy_server_exit_0(sandbox):
    healthy_server(sandbox)
    before = tree_snapshot(sandbox)
    proc = run_sunray("doctor", "--root", sandbox)
    assert proc.returncode == 0, proc.stderr
    # warn: no kernel under /lib/modules; skip: modules-loaded, esound, hook-program (stand-in hooks)
    assert proc.stdout.rstrip().endswith(": 7 ok, 1 warn, 0 fail, 3 skip"), proc.stdout
    assert tree_snapshot(sandbox) == before  # the doctor changes nothing
    data = json.loads(run_sunray("doctor", "--root", sandbox, "--format", "json").stdout)
    assert data["failure"] is None
    assert {c["id"] for c in data["checks"]} >= {
        "tmp-nodev", "pending-merges", "module-sources", "boot-hook", "kernel-hooks",
        "modules-loaded", "tmp-cleaners", "esd-dir", "modules-built", "esound"}


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


