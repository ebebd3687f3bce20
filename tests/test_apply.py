"""apply and the demo: every fix in order on a sandbox server, then the doctor.

The demo server is built from our fixtures (a CentOS 6 shaped tree, SRSS
module stand-ins) and its modules are compiled for real against the host's
installed kernel headers.
"""

import json
import os
import stat

import pytest
from conftest import assert_clean_error, need, run_sunray, tree_snapshot

from sunray import demo
from sunray.demo import host_header_kernels

# Every test here drives real system tools (kbuild, depmod, modinfo).
pytestmark = [pytest.mark.system, pytest.mark.usefixtures("_headers")]


@pytest.fixture(scope="module")
def _headers():
    need("make", "gcc", "depmod", "modinfo")
    if not host_header_kernels():
        pytest.fail("no kernel headers installed (./bootstrap installs two)")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "server"
    proc = run_sunray("demo", "--path", path, "--format", "json")
    return path, proc


def _snapshot_without_logs(path):
    # Build logs and the lock file are rewritten by every run that builds or
    # checks; everything else must stay byte-identical.
    return {k: v for k, v in tree_snapshot(path).items()
            if not k.startswith(("var/log/", "var/lib/sunray/modules.lock"))}


def test_demo_fixes_the_sandbox_server(demo_run):
    path, proc = demo_run
    assert proc.returncode == 0, proc.stderr + proc.stdout
    report = json.loads(proc.stdout)
    assert [s["step"] for s in report["steps"]] == [
        "patch-tmpwatch", "esd-dir", "install-boot-hook", "install-kernel-hooks", "rebuild-modules"]
    assert all(s["ok"] and s["changed"] for s in report["steps"]), report["steps"]
    statuses = {c["id"]: c["status"] for c in report["doctor"]["checks"]}
    assert "fail" not in statuses.values(), statuses

    tmpwatch = (path / "etc/cron.daily/tmpwatch").read_text()
    assert "-x /tmp/SUNWut" in tmpwatch and "-x /tmp/.esd" in tmpwatch
    esd = os.lstat(path / "tmp/.esd")
    assert stat.S_ISDIR(esd.st_mode) and stat.S_IMODE(esd.st_mode) == 0o1777
    moved = [p for p in os.listdir(path / "tmp") if p.startswith(".esd.sunray-moved")]
    assert len(moved) == 1  # the stale file was kept aside, not deleted
    assert (path / "etc/rc.d/init.d/sunray-boot").is_file()
    assert os.path.islink(path / "etc/rc.d/rc5.d/S05sunray-boot")
    assert (path / "etc/kernel/postinst.d/sunray-modules").is_file()
    for kernel in host_header_kernels():
        for module in ("utadem", "utdisk", "utdiskctl", "utio"):
            assert (path / f"lib/modules/{kernel}/extra/sunray/{module}.ko").is_file()
        assert "utadem.ko" in (path / f"lib/modules/{kernel}/modules.dep").read_text()


def test_apply_again_changes_nothing(demo_run):
    path, _ = demo_run
    before = _snapshot_without_logs(path)
    proc = run_sunray("apply", "--root", path)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "nothing to change" in proc.stdout.splitlines()[-1]
    assert _snapshot_without_logs(path) == before


def test_dry_run_on_a_fresh_server_changes_nothing(tmp_path):
    root, _ = demo.build(tmp_path / "server")
    before = tree_snapshot(root.top)
    proc = run_sunray("apply", "--root", root.top, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "+/usr/sbin/tmpwatch" in proc.stdout or "-x /tmp/SUNWut" in proc.stdout
    assert tree_snapshot(root.top) == before
    # Every step would change something: the builds ("would build" rows) too.
    assert proc.stdout.splitlines()[-1].endswith("5 steps, 5 would change something, 0 failed")
    assert "would build" in proc.stdout
    # A dry run says what it would do, never what it did.
    said = [line for line in proc.stdout.splitlines() if not line.startswith(("+", "-", " "))
            or line.lstrip().startswith("would")]
    for past in ("created root:root", "moved it aside", "removed the symlink", ": added "):
        assert not [line for line in said if past in line], (past, said)
    doc = json.loads(run_sunray("apply", "--root", root.top, "--dry-run", "--format",
                                "json").stdout)
    assert doc["changed"] is True and all(s["changed"] for s in doc["steps"]), doc["steps"]
    assert tree_snapshot(root.top) == before


def test_apply_revert_gives_back_the_server_as_it_was(tmp_path):
    """Before: no apply --revert; an admin had to run five reverts in the
    right order. Now one command undoes every step, last first."""
    root, _ = demo.build(tmp_path / "server")
    before = tree_snapshot(root.top)
    assert run_sunray("apply", "--root", root.top).returncode == 0
    applied = tree_snapshot(root.top)
    dry = run_sunray("apply", "--root", root.top, "--revert", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "apply --revert" in dry.stdout and "5 would change something" in dry.stdout
    assert tree_snapshot(root.top) == applied
    proc = run_sunray("apply", "--root", root.top, "--revert", "--format", "json")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    report = json.loads(proc.stdout)
    assert [s["step"] for s in report["steps"]] == [
        "remove-modules", "install-kernel-hooks --revert", "install-boot-hook --revert",
        "esd-dir --revert", "patch-tmpwatch --revert"]
    assert report["revert"] is True and report["doctor"] is None
    assert all(s["ok"] and s["changed"] for s in report["steps"]), report["steps"]
    assert tree_snapshot(root.top) == before  # byte for byte, state directory and all
    again = run_sunray("apply", "--root", root.top, "--revert")
    assert again.returncode == 0 and "nothing to change" in again.stdout.splitlines()[-1]
    assert tree_snapshot(root.top) == before


def test_a_failing_step_does_not_stop_the_others(tmp_path):
    root, _ = demo.build(tmp_path / "server")
    # tmpwatch called through a variable: patch-tmpwatch refuses that shape.
    (root.top / "etc/cron.daily/tmpwatch").write_text('#!/bin/sh\nTW=/usr/sbin/tmpwatch\n$TW 10d /tmp\n')
    proc = run_sunray("apply", "--root", root.top, "--format", "json")
    assert_clean_error(proc, 1, "patch-tmpwatch")
    report = json.loads(proc.stdout)
    ok = {s["step"]: s["ok"] for s in report["steps"]}
    assert ok == {"patch-tmpwatch": False, "esd-dir": True, "install-boot-hook": True,
                  "install-kernel-hooks": True, "rebuild-modules": True}
    assert os.path.isdir(root.top / "tmp/.esd")


def test_demo_refuses_a_directory_that_is_not_a_demo(tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "data").write_text("keep me\n")
    assert_clean_error(run_sunray("demo", "--path", precious), 2, "not a sunray demo")
    assert (precious / "data").read_text() == "keep me\n"


def test_a_step_hitting_an_os_error_is_reported_and_installs_nothing_half(tmp_path):
    root, _ = demo.build(tmp_path / "server")
    (root.top / "etc/kernel").mkdir()
    (root.top / "etc/kernel/install.d").write_text("a file where a directory belongs\n")
    proc = run_sunray("apply", "--root", root.top, "--format", "json")
    assert_clean_error(proc, 1, "install-kernel-hooks")
    steps = {s["step"]: s for s in json.loads(proc.stdout)["steps"]}
    # found by the check of every target before the first write
    assert "/etc/kernel/install.d: not a directory" in steps["install-kernel-hooks"]["failure"]
    assert steps["rebuild-modules"]["ok"]
    # none of the four hooks was written: all or nothing
    assert sorted(os.listdir(root.top / "etc/kernel")) == ["install.d"]


def test_demo_hooks_call_a_program_inside_the_sandbox(demo_run):
    path, _ = demo_run
    launcher = path / "usr/bin/sunray"
    assert os.access(launcher, os.X_OK)
    assert "PROGRAM=/usr/bin/sunray" in (path / "etc/rc.d/init.d/sunray-boot").read_text()
    proc = run_sunray("--help", env={"PATH": f"{launcher.parent}:{os.environ['PATH']}"})
    assert proc.returncode == 0


def test_hooks_in_a_tree_call_the_program_installed_there(demo_run):
    """For a root other than /, the hooks run the tree's own /usr/bin/sunray,
    whichever sunray installed them."""
    path, _ = demo_run
    for hook in ("etc/kernel/postinst.d/sunray-modules", "etc/kernel/install.d/85-sunray.install"):
        assert "SUNRAY='/usr/bin/sunray'" in (path / hook).read_text()
