"""sunray boot: what the boot hook runs before SRSS starts.

Every step runs even when an earlier one fails; at boot only the live /tmp
mount is looked at."""

import json
import os
import stat

from conftest import need_root, run_sunray

from sunray.boot import run as boot_run
from sunray.core.report import Report
from sunray.core.rootfs import Root


def test_boot_looks_at_the_live_mounts_only(sandbox, tmp_path, monkeypatch):
    # /proc/self/mounts cannot be staged by a test: a file in its format stands in.
    from sunray.tmpclean import tmpmount

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
