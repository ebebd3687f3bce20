"""RHEL's weak-updates beside sunray's own builds, with the real depmod and
a depmod.d configuration in RHEL's search order: a kernel's own build wins
over a weak link to another kernel's, doctor lists the links, and
remove-modules takes away the links that point at what it removes.
(weak-modules itself is RHEL's and not on this machine: the test makes the
link it would make, relative so that depmod -b resolves it inside the tree.)"""

import json
import os
import subprocess

import pytest
from conftest import run_sunray
from modules_support import ALL_KO, host_kernels, installed, make_server, rebuild

pytestmark = pytest.mark.system
RHEL_ORDER = "search updates extra built-in weak-updates\n"


def weak_row(top):
    proc = run_sunray("doctor", "--root", top, "--format", "json")
    return {c["id"]: c for c in json.loads(proc.stdout)["checks"]}.get("weak-updates")


def dep_entries(top, kernel):
    return [line.split(":")[0] for line in (top / f"lib/modules/{kernel}/modules.dep").read_text().splitlines()]


def test_own_build_wins_over_a_weak_link_and_removal_takes_the_link(tmp_path):
    old, new = host_kernels()
    top = make_server(tmp_path / "root", [old, new])
    (top / "etc/depmod.d").mkdir()
    (top / "etc/depmod.d/dist.conf").write_text(RHEL_ORDER)
    assert rebuild(top, "--kernel", old).returncode == 0
    weak_dir = top / f"lib/modules/{new}/weak-updates/sunray"
    weak_dir.mkdir(parents=True)
    link = weak_dir / "utadem.ko"
    link.symlink_to(f"../../../{old}/extra/sunray/utadem.ko")  # what weak-modules --add-kernel makes

    row = weak_row(top)
    assert row["status"] == "warn" and f"{new}: 1 from {old}" in row["detail"]
    assert row["fix"] == f"sunray rebuild-modules --root {top} --kernel {new}"

    proc = rebuild(top, "--kernel", new)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(installed(top, new)) == ALL_KO  # built despite the weak link
    entries = dep_entries(top, new)
    assert "extra/sunray/utadem.ko" in entries and "weak-updates/sunray/utadem.ko" not in entries
    assert weak_row(top)["status"] == "ok"

    # The check can fail: with weak-updates searched first, depmod picks the link.
    (top / "etc/depmod.d/dist.conf").write_text("search weak-updates updates extra built-in\n")
    subprocess.run(["depmod", "-b", str(top), "-C", str(top / "etc/depmod.d"), new], check=True,
                   capture_output=True)
    assert "weak-updates/sunray/utadem.ko" in dep_entries(top, new)
    (top / "etc/depmod.d/dist.conf").write_text(RHEL_ORDER)

    proc = run_sunray("remove-modules", "--root", top, "--kernel", old, "--dry-run")
    assert f"would be removed  /lib/modules/{new}/weak-updates/sunray/utadem.ko" in proc.stdout
    assert os.path.lexists(link)
    proc = run_sunray("remove-modules", "--root", top, "--kernel", old)
    assert proc.returncode == 0, proc.stderr
    assert not os.path.lexists(link) and installed(top, old) == {}
    assert sorted(installed(top, new)) == ALL_KO
    assert "extra/sunray/utadem.ko" in dep_entries(top, new)
    assert weak_row(top) is None


def test_doctor_names_a_dangling_weak_link(sandbox):
    kernel, gone = "5.14.0-70.el9.x86_64", "5.14.0-1.el9.x86_64"
    weak_dir = sandbox / f"lib/modules/{kernel}/weak-updates/sunray"
    weak_dir.mkdir(parents=True)
    (weak_dir / "utdisk.ko").symlink_to(f"/lib/modules/{gone}/extra/sunray/utdisk.ko")
    (weak_dir / "other.ko").symlink_to("/lib/modules/x/extra/vendor/other.ko")  # not sunray's
    row = weak_row(sandbox)
    assert row["status"] == "warn"
    assert f"{kernel}: 1 from {gone} (1 dangling)" in row["detail"]
    assert f"/lib/modules/{kernel}/weak-updates/sunray/utdisk.ko" in row["detail"]
