"""install-kernel-hooks: the hooks are installed from templates, are
shellcheck-clean, and, run the way kernel packages run them against a
sandbox (INVOKE_SUNRAY_ROOT), build for the new kernel and clean up on removal."""

import os
import stat
import subprocess

import pytest
from conftest import assert_clean_error, need, run_sunray, tree_snapshot
from modules_support import (
    ALL_KO,
    host_kernels,
    installed,
    make_server,
    modinfo,
    record,
    sunray_program,
)
from support import packaged_launcher, path_without_python

from sunray.core.hookprogram import NO_PYTHON

POSTINST = "etc/kernel/postinst.d/sunray-modules"
HEADER_POSTINST = "etc/kernel/header_postinst.d/sunray-modules"
POSTRM = "etc/kernel/postrm.d/sunray-modules"
PLUGIN = "etc/kernel/install.d/85-sunray.install"
HOOKS = [POSTINST, HEADER_POSTINST, POSTRM, PLUGIN]


def install_hooks(top, *args, strict=False):
    env = {"INVOKE_SUNRAY_PROGRAM": sunray_program()}
    if strict:
        env["INVOKE_SUNRAY_MODULES_HOOK_STRICT"] = "1"
    return run_sunray("install-kernel-hooks", "--root", top, *args, env=env)


def run_hook(top, hook, *args, path=None):
    """Run a hook as the kernel packages do: `sh SCRIPT ARGS`, on the sandbox
    (``path``: its PATH)."""
    env = dict(os.environ, INVOKE_SUNRAY_ROOT=str(top))
    if path is not None:
        env["PATH"] = path
    env.pop("SUNRAY_DEBUG", None)
    return subprocess.run(["sh", str(top / hook), *args], capture_output=True, text=True,
                          env=env, timeout=600)


@pytest.fixture
def kernels():
    return host_kernels()


@pytest.mark.system
def test_hooks_are_installed_executable_clean_and_revertible(sandbox):
    need("shellcheck")
    before = tree_snapshot(sandbox)
    proc = install_hooks(sandbox, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "would be created" in proc.stdout and "+run_sunray rebuild-modules" in proc.stdout
    assert tree_snapshot(sandbox) == before

    proc = install_hooks(sandbox)
    assert proc.returncode == 0, proc.stderr
    for hook in HOOKS:
        path = sandbox / hook
        assert stat.S_IMODE(path.stat().st_mode) == 0o755
        text = path.read_text()
        assert text.startswith("#!/bin/sh\n")
        assert f"SUNRAY='{sunray_program()}'" in text
        lint = subprocess.run(["shellcheck", "-s", "sh", str(path)], capture_output=True, text=True)
        assert lint.returncode == 0, lint.stdout
    assert "run_sunray remove-modules" in (sandbox / POSTRM).read_text()
    assert "remove) run_sunray remove-modules" in (sandbox / PLUGIN).read_text()

    again = install_hooks(sandbox)
    assert again.returncode == 0 and "nothing to change" in again.stdout

    proc = install_hooks(sandbox, "--revert")
    assert proc.returncode == 0, proc.stderr
    assert not any((sandbox / h).exists() for h in HOOKS)


def test_program_path_with_quotes_is_refused(sandbox):
    proc = run_sunray("install-kernel-hooks", "--root", sandbox,
                      env={"INVOKE_SUNRAY_PROGRAM": "/usr/bin/sun'ray"})
    assert_clean_error(proc, 2, "sunray.program")
    assert not (sandbox / POSTINST).exists()


@pytest.mark.system
def test_postinst_builds_for_the_new_kernel_and_postrm_cleans_up(tmp_path, kernels):
    old, new = kernels
    top = make_server(tmp_path / "root", kernels)
    assert install_hooks(top).returncode == 0
    proc = run_hook(top, POSTINST, new, f"/boot/vmlinuz-{new}")
    assert proc.returncode == 0, proc.stderr
    assert sorted(installed(top, new)) == ALL_KO
    assert installed(top, old) == {}  # only the kernel being installed
    assert modinfo("vermagic", top / f"lib/modules/{new}/extra/sunray/utio.ko").startswith(new + " ")
    assert "extra/sunray/utadem.ko:" in (top / f"lib/modules/{new}/modules.dep").read_text()

    # the package runs the hook again on reconfigure: nothing to build
    proc = run_hook(top, POSTINST, new, f"/boot/vmlinuz-{new}")
    assert proc.returncode == 0 and "up to date" in proc.stdout

    before = tree_snapshot(top)
    proc = run_sunray("remove-modules", "--root", top, "--kernel", new, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert f"would be removed  /lib/modules/{new}/extra/sunray/utdiskctl.ko" in proc.stdout
    assert tree_snapshot(top) == before

    proc = run_hook(top, POSTRM, new, f"/boot/vmlinuz-{new}")
    assert proc.returncode == 0, proc.stderr
    assert installed(top, new) == {}
    assert record(top, new) is None
    assert not (top / f"lib/modules/{new}/extra").exists()
    assert not (top / f"var/log/sunray/modules/{new}").exists()
    assert (top / f"lib/modules/{new}/build").is_symlink()  # not ours: left alone


@pytest.mark.system
def test_kernel_install_plugin_add_and_remove(tmp_path, kernels):
    kernel = kernels[0]
    top = make_server(tmp_path / "root", [kernel])
    assert install_hooks(top).returncode == 0
    proc = run_hook(top, PLUGIN, "add", kernel, f"/boot/efi/x/{kernel}", f"/boot/vmlinuz-{kernel}")
    assert proc.returncode == 0, proc.stderr
    assert sorted(installed(top, kernel)) == ALL_KO
    proc = run_hook(top, PLUGIN, "remove", kernel, f"/boot/efi/x/{kernel}")
    assert proc.returncode == 0, proc.stderr
    assert installed(top, kernel) == {} and record(top, kernel) is None
    # other verbs are not ours
    assert run_hook(top, PLUGIN, "inspect", kernel).returncode == 0


@pytest.mark.parametrize("bad", ["6.1;touch${IFS}pwned", "$(touch pwned)", "../../x", "-rf", ""])
def test_hooks_refuse_bad_versions_before_calling_sunray(sandbox, bad, tmp_path):
    # A stand-in program that records any call: it must never run.
    program = tmp_path / "sunray"
    program.write_text(f"#!/bin/sh\ntouch {tmp_path}/called\n")
    program.chmod(0o755)
    proc = run_sunray("install-kernel-hooks", "--root", sandbox,
                      env={"INVOKE_SUNRAY_PROGRAM": str(program)})
    assert proc.returncode == 0, proc.stderr
    for hook, args in ((POSTINST, [bad, "/boot/vmlinuz"]), (PLUGIN, ["add", bad, "/boot/e"])):
        proc = run_hook(sandbox, hook, *args)
        assert proc.returncode == 0  # never fail the kernel installation for it
        assert "refusing kernel version" in proc.stderr
    assert not (tmp_path / "called").exists()
    assert not list(sandbox.rglob("pwned")) and not (tmp_path / "pwned").exists()


def test_failed_build_warns_and_exits_0_unless_strict(tmp_path, kernels):
    top = make_server(tmp_path / "root", [])
    missing = "9.9.9-1-amd64"
    (top / f"lib/modules/{missing}").mkdir(parents=True)
    assert install_hooks(top).returncode == 0
    proc = run_hook(top, POSTINST, missing, f"/boot/vmlinuz-{missing}")
    assert proc.returncode == 0
    assert f"install linux-headers-{missing}" in proc.stdout + proc.stderr
    assert f"'sunray rebuild-modules --kernel {missing}' failed (exit 1)" in proc.stderr

    assert install_hooks(top, strict=True).returncode == 0
    proc = run_hook(top, POSTINST, missing, f"/boot/vmlinuz-{missing}")
    assert proc.returncode == 1
    proc = run_hook(top, PLUGIN, "add", missing, "/boot/e")
    assert proc.returncode == 1  # never 77, which would stop later plugins




def doctor_rows(top):
    import json

    proc = run_sunray("doctor", "--root", top, "--format", "json")
    assert "Traceback" not in proc.stderr, proc.stderr
    return {c["id"]: c for c in json.loads(proc.stdout)["checks"]}


def test_hook_without_python_logs_records_and_doctor_shows_it(sandbox, tmp_path):
    # The packages' own launcher, on a PATH without any Python.
    program = packaged_launcher(tmp_path / "bin" / "sunray")
    no_python = path_without_python(tmp_path)
    proc = run_sunray("install-kernel-hooks", "--root", sandbox,
                      env={"INVOKE_SUNRAY_PROGRAM": str(program)})
    assert proc.returncode == 0, proc.stderr
    assert "kernel-hook-run" not in doctor_rows(sandbox)  # nothing recorded: no row

    kernel = "2.6.32-754.el6.x86_64"
    proc = run_hook(sandbox, POSTINST, kernel, f"/boot/vmlinuz-{kernel}", path=no_python)
    assert proc.returncode == 0, proc.stderr  # not strict: the kernel install goes on
    assert NO_PYTHON + ": sunray needs 3.6" in proc.stderr  # the launcher's own line, shown
    [line] = [x for x in proc.stderr.splitlines() if x.startswith("sunray-modules: SRSS")]
    assert f"SRSS modules not rebuilt for {kernel}" in line
    assert "`sunray boot` will try at the next boot" in line
    assert "install a Python 3.6+ (e.g. rh-python36 on RHEL 6)" in line
    state = dict(x.split("=", 1) for x in
                 (sandbox / "var/lib/sunray/kernel-hook.last").read_text().splitlines())
    assert state["kernel"] == kernel and state["task"] == "rebuild-modules"
    assert state["cause"] == "no-python"
    assert state["reason"] == NO_PYTHON[len("sunray: "):] + ": sunray needs 3.6 or later and found none (tried python3,"
    assert state["time"].endswith("Z")

    row = doctor_rows(sandbox)["kernel-hook-run"]
    assert row["status"] == "fail" and kernel in row["detail"] and "not rebuilt" in row["detail"]
    assert "rh-python36" in row["fix"]
    assert row["fix"].endswith(f"sunray rebuild-modules --root {sandbox} --kernel {kernel}")

    proc = run_sunray("install-kernel-hooks", "--root", sandbox,
                      env={"INVOKE_SUNRAY_PROGRAM": str(program),
                           "INVOKE_SUNRAY_MODULES_HOOK_STRICT": "1"})
    assert proc.returncode == 0, proc.stderr
    proc = run_hook(sandbox, PLUGIN, "remove", kernel, "/boot/e", path=no_python)
    assert proc.returncode == 1  # strict
    assert f"SRSS modules not removed for {kernel}" in proc.stderr
    row = doctor_rows(sandbox)["kernel-hook-run"]
    assert row["status"] == "ok"  # nothing of sunray's left under /lib/modules/KERNEL

    # Once sunray runs again, what it does is its own to report: the record goes.
    program.write_text("#!/bin/sh\necho 'nothing to do'\n")
    proc = run_hook(sandbox, POSTINST, kernel, f"/boot/vmlinuz-{kernel}")
    assert proc.returncode == 0 and "nothing to do" in proc.stdout, proc.stderr
    assert not (sandbox / "var/lib/sunray/kernel-hook.last").exists()
    assert "kernel-hook-run" not in doctor_rows(sandbox)


def test_hook_with_missing_program_records_it(sandbox, tmp_path):
    proc = run_sunray("install-kernel-hooks", "--root", sandbox,
                      env={"INVOKE_SUNRAY_PROGRAM": str(tmp_path / "nope" / "sunray")})
    assert proc.returncode == 0, proc.stderr
    kernel = "6.1.0-9-amd64"
    proc = run_hook(sandbox, POSTINST, kernel, f"/boot/vmlinuz-{kernel}")
    assert proc.returncode == 0
    assert f"SRSS modules not rebuilt for {kernel}" in proc.stderr
    assert f"{tmp_path}/nope/sunray not found; install sunray" in proc.stderr
    row = doctor_rows(sandbox)["kernel-hook-run"]
    assert row["status"] == "fail" and row["fix"].startswith("install sunray")


# --- issue 11: every target checked before the first write, forward and revert


def test_a_directory_where_a_hook_goes_is_found_before_the_first_write(sandbox):
    # issue 11, case 6: the first three hooks were written, then exit 2.
    (sandbox / PLUGIN).mkdir(parents=True)
    before = tree_snapshot(sandbox)
    proc = install_hooks(sandbox)
    assert_clean_error(proc, 2, "/etc/kernel/install.d/85-sunray.install exists and is not "
                       "a regular file", "nothing was changed")
    assert tree_snapshot(sandbox) == before


def _immutable(path):
    import shutil

    if os.geteuid() != 0 or shutil.which("chattr") is None:
        pytest.skip("needs root and chattr")
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("this file system has no immutable flag")


def test_a_revert_meeting_an_immutable_hook_changes_nothing(sandbox):
    # issue 11, case 7: the revert restored the hooks before it and stopped.
    before = tree_snapshot(sandbox)
    assert install_hooks(sandbox).returncode == 0
    installed_tree = tree_snapshot(sandbox)
    _immutable(sandbox / POSTRM)
    try:
        proc = run_sunray("install-kernel-hooks", "--root", sandbox, "--revert")
        assert_clean_error(proc, 1, "cannot revert: /etc/kernel/postrm.d/sunray-modules is not "
                           "writable", "nothing was changed")
        assert tree_snapshot(sandbox) == installed_tree
    finally:
        subprocess.run(["chattr", "-i", str(sandbox / POSTRM)], check=True)
    proc = run_sunray("install-kernel-hooks", "--root", sandbox, "--revert")
    assert proc.returncode == 0, proc.stderr
    assert tree_snapshot(sandbox) == before  # and no state directory left


def test_hooks_a_package_owns_are_left_to_it(sandbox):
    """The RPM's and the .deb's hooks (marked as theirs): the task installs
    none beside them, and its --revert removes none of them."""
    from sunray.core.config import defaults
    from sunray.modules.kernel_hooks import render_hooks

    hooks = render_hooks(dict(defaults(), program="/usr/bin/sunray"), package="sunray-toolkit")
    for path in ("/" + POSTINST, "/" + POSTRM):
        (sandbox / path[1:]).parent.mkdir(parents=True, exist_ok=True)
        (sandbox / path[1:]).write_text(hooks[path])
    before = tree_snapshot(sandbox)
    for args in ((), ("--revert",), ("--dry-run",)):
        proc = install_hooks(sandbox, *args)
        assert proc.returncode == 0, proc.stderr
        assert "the kernel hooks are the sunray-toolkit package's own" in proc.stdout
        assert tree_snapshot(sandbox) == before
    assert not (sandbox / PLUGIN).exists()
