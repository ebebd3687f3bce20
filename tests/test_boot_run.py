"""sunray boot: what the boot hook runs before SRSS starts.

Every step runs even when an earlier one fails; at boot only the live /tmp
mount is looked at."""

import json
import os
import stat

import pytest
from conftest import PROGRAM, need_root, run_sunray, tree_snapshot

from sunray.boot import run as boot_run
from sunray.report import Report
from sunray.rootfs import Root

SCRIPT_DEBIAN = "etc/init.d/sunray-boot"
SCRIPT_RHEL = "etc/rc.d/init.d/sunray-boot"
UNIT = "etc/systemd/system/sunray-boot.service"
WANTS = "etc/systemd/system/multi-user.target.wants/sunray-boot.service"
DROPIN = "etc/tmpfiles.d/sunray.conf"


def hook(*args):
    """Run install-boot-hook with the venv's sunray as the hook's program."""
    if not PROGRAM.exists():
        pytest.skip(f"{PROGRAM} is missing (pip install -e .)")
    return run_sunray("install-boot-hook", *args, env={"INVOKE_SUNRAY_PROGRAM": str(PROGRAM)})


def snapshot(root):
    """The tree minus the toolkit's own state dir (backups and records)."""
    return {k: v for k, v in tree_snapshot(root).items() if not k.startswith("var/lib/sunray")}


def make_sysv(sandbox, layout="debian"):
    """A sysvinit server: /sbin/init is a plain binary, init.d exists."""
    (sandbox / "sbin").mkdir()
    (sandbox / "sbin/init").write_bytes(b"\x7fELF sysvinit stand-in")
    if layout == "rhel":
        (sandbox / "etc/rc.d/init.d").mkdir(parents=True)
        (sandbox / "etc/init.d").symlink_to("rc.d/init.d")
        for level in range(7):
            (sandbox / f"etc/rc.d/rc{level}.d").mkdir()
    else:
        (sandbox / "etc/init.d").mkdir()
        (sandbox / "etc/rc3.d").mkdir()  # the others get created (and reverted)
    return sandbox


def make_systemd(sandbox):
    """A merged-/usr systemd server: /sbin -> usr/sbin, init -> systemd."""
    (sandbox / "usr/lib/systemd").mkdir(parents=True)
    (sandbox / "usr/lib/systemd/systemd").write_bytes(b"\x7fELF systemd stand-in")
    (sandbox / "usr/sbin").mkdir()
    (sandbox / "sbin").symlink_to("usr/sbin")
    (sandbox / "usr/sbin/init").symlink_to("../lib/systemd/systemd")
    (sandbox / "etc/systemd/system").mkdir(parents=True)
    return sandbox


def test_boot_looks_at_the_live_mounts_only(sandbox, tmp_path, monkeypatch):
    # /proc/self/mounts cannot be staged by a test: a file in its format stands in.
    from sunray import tmpmount

    mounts = tmp_path / "mounts"
    mounts.write_text("tmpfs /tmp tmpfs rw,nosuid,nodev 0 0\n")
    monkeypatch.setattr(tmpmount, "MOUNTS", str(mounts))
    (sandbox / "etc/fstab").write_text("tmpfs /tmp tmpfs nodev 0 0\n")
    # Another root is not mounted here; its fstab was warned about at install.
    assert boot_run._step_tmp_nodev(Root(sandbox), {}).warnings == []
    [warning] = boot_run._step_tmp_nodev(Root("/"), {}).warnings
    assert warning.startswith(f"/tmp is mounted nodev now ({mounts})")
    assert "/tmp/SUNWut" in warning and "mount -o remount,dev /tmp" in warning


# --- boot -------------------------------------------------------------------------


def test_boot_task_makes_esd_dir(sandbox):
    need_root()
    proc = run_sunray("boot", "--root", sandbox, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert [s["step"] for s in report["steps"]][0] == "esd-dir"
    assert all(s["ok"] for s in report["steps"])
    assert stat.S_IMODE(os.lstat(sandbox / "tmp/.esd").st_mode) == 0o1777


def test_a_failing_boot_step_does_not_stop_the_others(sandbox, monkeypatch):
    need_root()
    ran = []

    def broken(root, config):
        ran.append("broken")
        raise RuntimeError("disk on fire")

    def last(root, config):
        ran.append("last")
        return Report("last")

    monkeypatch.setattr(boot_run, "BOOT_STEPS",
                        [("broken", broken)] + boot_run.BOOT_STEPS + [("last", last)])
    report = boot_run.boot(Root(sandbox), {"esd": {"dir": "/tmp/.esd"}})
    assert ran == ["broken", "last"]
    assert (sandbox / "tmp/.esd").is_dir()  # esd-dir ran after the failure
    assert "broken: RuntimeError: disk on fire" in report.failure
    assert [s["ok"] for s in report.data["steps"]][0] is False
