"""Doctor checks of the boot package: the boot hook is installed and
enabled, and the program the hooks call exists."""

import os

from support import only
from tmpmount_support import write

from sunray.boot.checks import check_boot_hook, check_hook_program


def test_boot_hook_systemd_and_sysv(sandbox):
    check = only(check_boot_hook, sandbox)
    assert check.status == "fail" and check.fix == "sunray install-boot-hook"

    write(sandbox / "etc/systemd/system/sunray-boot.service", "[Unit]\n")
    check = only(check_boot_hook, sandbox)
    assert check.status == "fail" and "not enabled" in check.detail
    wants = sandbox / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True)
    (wants / "sunray-boot.service").symlink_to("/etc/systemd/system/sunray-boot.service")
    assert only(check_boot_hook, sandbox).status == "ok"


def test_boot_hook_sysv(sandbox):
    script = sandbox / "etc/rc.d/init.d/sunray-boot"
    write(script, "#!/bin/sh\n", 0o644)
    assert "not executable" in only(check_boot_hook, sandbox).detail
    os.chmod(script, 0o755)
    check = only(check_boot_hook, sandbox)
    assert check.status == "fail" and check.fix == "chkconfig --add sunray-boot"
    for level in "2345":
        d = sandbox / f"etc/rc.d/rc{level}.d"
        d.mkdir(parents=True)
        (d / "S04sunray-boot").symlink_to("../init.d/sunray-boot")
    check = only(check_boot_hook, sandbox)
    assert check.status == "ok" and "4 runlevel(s)" in check.detail


def test_hook_program_missing_under_the_root(sandbox):
    hook = sandbox / "etc/kernel/postinst.d/sunray-modules"
    hook.parent.mkdir(parents=True)
    hook.write_text("#!/bin/sh\nSUNRAY='/opt/sunray/bin/sunray'\n")
    check = only(check_hook_program, sandbox)
    assert check.status == "warn" and "/opt/sunray/bin/sunray" in check.detail
    program = sandbox / "opt/sunray/bin/sunray"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    assert only(check_hook_program, sandbox).status == "ok"
    hook.unlink()
    assert only(check_hook_program, sandbox).status == "skip"
