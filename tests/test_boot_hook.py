"""install-boot-hook: the SysV script and the systemd unit, for real.

The hook's files are checked by the real tools (sh -n, shellcheck,
systemd-analyze verify), the installed init script is run, and install,
re-install and revert are compared as whole-tree snapshots.
"""

import json
import os
import shlex
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from conftest import PROGRAM, PYTHON, assert_clean_error, need, need_root, run_sunray, tree_snapshot
from support import packaged_launcher, path_without_python

from sunray.boot import hook as boot_hook
from sunray.core.config import defaults
from sunray.core.errors import UsageError
from sunray.core.hookprogram import NO_PYTHON
from sunray.core.rootfs import Root

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


# --- SysV -------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["debian", "rhel"])
def test_sysv_install_links_reinstall_and_revert(sandbox, layout):
    make_sysv(sandbox, layout)
    before = snapshot(sandbox)

    proc = hook("--root", sandbox)
    assert proc.returncode == 0, proc.stderr
    assert "init system: sysv" in proc.stdout
    script_rel = SCRIPT_RHEL if layout == "rhel" else SCRIPT_DEBIAN
    script = sandbox / script_rel
    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    text = script.read_text()
    assert "# chkconfig: 2345 05 95\n" in text
    assert "# X-Start-Before:    utsvc utstorage\n" in text
    assert f"PROGRAM={PROGRAM}\n" in text

    rc = "etc/rc.d/rc{}.d" if layout == "rhel" else "etc/rc{}.d"
    for level, prefix in [(2, "S05"), (3, "S05"), (4, "S05"), (5, "S05"),
                          (0, "K95"), (1, "K95"), (6, "K95")]:
        link = sandbox / rc.format(level) / f"{prefix}sunray-boot"
        assert os.readlink(link) == "../init.d/sunray-boot"
        assert link.resolve() == script.resolve()
    assert not list(sandbox.glob("etc/systemd/**/sunray-boot*"))

    installed = snapshot(sandbox)
    again = hook("--root", sandbox)
    assert again.returncode == 0, again.stderr
    assert "nothing to change" in again.stdout
    assert snapshot(sandbox) == installed

    assert boot_hook.status(Root(sandbox), {})["installed"] == "sysv"
    reverted = run_sunray("install-boot-hook", "--root", sandbox, "--revert")
    assert reverted.returncode == 0, reverted.stderr
    assert snapshot(sandbox) == before
    assert boot_hook.status(Root(sandbox), {})["installed"] == "none"


@pytest.mark.system
def test_init_script_passes_sh_n_and_shellcheck(sandbox):
    need("shellcheck")
    make_sysv(sandbox)
    assert hook("--root", sandbox).returncode == 0
    script = sandbox / SCRIPT_DEBIAN
    for shell in ("sh", "dash", "bash"):
        if shutil.which(shell):
            check = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True)
            assert check.returncode == 0, (shell, check.stderr)
    check = subprocess.run(["shellcheck", "--shell=sh", str(script)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout


@pytest.mark.system
def test_installed_init_script_really_starts_boot(sandbox):
    need_root()
    make_sysv(sandbox)
    assert hook("--root", sandbox).returncode == 0
    script = str(sandbox / SCRIPT_DEBIAN)
    env = dict(os.environ, INVOKE_SUNRAY_ROOT=str(sandbox))
    env.pop("SUNRAY_DEBUG", None)

    def run(*args):
        return subprocess.run(["sh", script, *args], capture_output=True, text=True,
                              env=env, timeout=300)

    assert run("status").returncode == 3
    started = run("start")
    assert started.returncode == 0, started.stderr
    esd = os.lstat(sandbox / "tmp/.esd")
    assert stat.S_ISDIR(esd.st_mode) and stat.S_IMODE(esd.st_mode) == 0o1777
    assert (esd.st_uid, esd.st_gid) == (0, 0)
    assert "created" in started.stdout
    assert run("status").returncode == 0
    assert run("stop").returncode == 0
    bad = run("bogus")
    assert bad.returncode == 2 and "Usage:" in bad.stderr


@pytest.mark.system
def test_init_script_start_reports_a_failed_boot(sandbox, tmp_path):
    make_sysv(sandbox)
    assert hook("--root", sandbox).returncode == 0
    (sandbox / "tmp").rmdir()
    (sandbox / "tmp").symlink_to(tmp_path)  # esd-dir must refuse this
    env = dict(os.environ, INVOKE_SUNRAY_ROOT=str(sandbox))
    proc = subprocess.run(["sh", str(sandbox / SCRIPT_DEBIAN), "start"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 1
    assert "esd-dir" in proc.stderr and "symlink" in proc.stderr


# --- systemd ----------------------------------------------------------------


@pytest.mark.system
def test_systemd_install_verify_reinstall_and_revert(sandbox, tmp_path):
    make_systemd(sandbox)
    before = snapshot(sandbox)

    proc = hook("--root", sandbox, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["init"] == "systemd"
    unit = (sandbox / UNIT).read_text()
    for line in ("Type=oneshot", "RemainAfterExit=yes", f"ExecStart={PROGRAM} boot",
                 "Before=utsvc.service utstorage.service",
                 "After=local-fs.target systemd-tmpfiles-setup.service",
                 "WantedBy=multi-user.target", "TimeoutStartSec=600"):
        assert line + "\n" in unit, line
    assert os.readlink(sandbox / WANTS) == "/etc/systemd/system/sunray-boot.service"
    assert "d /tmp/.esd 1777 root root -" in (sandbox / DROPIN).read_text()
    assert not (sandbox / "etc/init.d").exists()

    installed = snapshot(sandbox)
    again = hook("--root", sandbox)
    assert again.returncode == 0 and "nothing to change" in again.stdout
    assert snapshot(sandbox) == installed
    assert boot_hook.status(Root(sandbox), {})["installed"] == "systemd"

    full = tree_snapshot(sandbox)
    planned = run_sunray("install-boot-hook", "--root", sandbox, "--revert", "--dry-run")
    assert planned.returncode == 0 and "would be restored" in planned.stdout
    assert tree_snapshot(sandbox) == full

    reverted = run_sunray("install-boot-hook", "--root", sandbox, "--revert")
    assert reverted.returncode == 0, reverted.stderr
    assert snapshot(sandbox) == before
    assert not (sandbox / "var/lib/sunray/boot_hook.json").exists()
    again = run_sunray("install-boot-hook", "--root", sandbox, "--revert")
    assert again.returncode == 0 and "nothing to revert" in again.stdout


@pytest.mark.system
def test_unit_passes_systemd_analyze_verify(sandbox, tmp_path):
    # `systemd-analyze verify --root=` needs a whole systemd tree (it fails on
    # a missing sysinit.target), so the real tool checks the file itself from
    # a directory of its own; ExecStart points at the venv's sunray, which
    # exists here. verify exits 0 even for unknown keys or bad values, so any
    # message on stderr counts as a failure too.
    need("systemd-analyze")
    make_systemd(sandbox)
    assert hook("--root", sandbox).returncode == 0
    copy = tmp_path / "verify" / "sunray-boot.service"
    copy.parent.mkdir()
    shutil.copy(sandbox / UNIT, copy)
    check = subprocess.run(["systemd-analyze", "verify", str(copy)],
                           capture_output=True, text=True, cwd=copy.parent)
    assert check.returncode == 0, check.stderr
    assert check.stderr.strip() == "", check.stderr

    # The check can fail: a misspelt value is caught.
    copy.write_text(copy.read_text().replace("Type=oneshot", "Type=oneshott"))
    bad = subprocess.run(["systemd-analyze", "verify", str(copy)],
                         capture_output=True, text=True, cwd=copy.parent)
    assert "oneshott" in bad.stderr


def test_configured_before_units_and_bad_ones(sandbox):
    make_systemd(sandbox)
    config = defaults()
    config["boot"]["before"] = ["utsvc.service", "zsunray-init.service"]
    config["program"] = "/x/sunray"
    report = boot_hook.install(Root(sandbox), config)
    assert "Before=utsvc.service zsunray-init.service\n" in (sandbox / UNIT).read_text()
    assert report.data["program"] == "/x/sunray"
    assert any("/x/sunray does not exist under the root" in w for w in report.warnings)
    config["boot"]["before"] = ["utsvc; rm -rf /"]
    with pytest.raises(UsageError, match="not a systemd unit name"):
        boot_hook.install(Root(sandbox), config)
    bad = run_sunray("install-boot-hook", "--root", sandbox,
                     env={"INVOKE_SUNRAY_PROGRAM": "/opt/sun ray/bin/sunray"})
    assert_clean_error(bad, 2, "sunray.program")


def test_dry_run_changes_nothing(sandbox):
    make_systemd(sandbox)
    before = tree_snapshot(sandbox)
    proc = hook("--root", sandbox, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "would be created" in proc.stdout
    assert "+Type=oneshot" in proc.stdout  # the diff is shown
    assert tree_snapshot(sandbox) == before


# --- choosing the init system --------------------------------------------------


def test_auto_rule(sandbox):
    root = Root(sandbox)
    with pytest.raises(UsageError, match="--init"):
        boot_hook.detect_init(root)
    (sandbox / "etc/init.d").mkdir()
    assert boot_hook.detect_init(root)[0] == "sysv"
    (sandbox / "lib/systemd").mkdir(parents=True)
    (sandbox / "lib/systemd/systemd").write_text("")
    (sandbox / "etc/systemd/system").mkdir(parents=True)
    assert boot_hook.detect_init(root)[0] == "systemd"
    (sandbox / "sbin").mkdir()
    (sandbox / "sbin/init").write_text("")  # sysvinit, systemd merely installed
    assert boot_hook.detect_init(root)[0] == "sysv"
    (sandbox / "sbin/init").unlink()
    (sandbox / "sbin/init").symlink_to("/lib/systemd/systemd")  # absolute: inside the root
    assert boot_hook.detect_init(root)[0] == "systemd"
    (sandbox / "sbin/init").unlink()
    (sandbox / "sbin/init").write_text("")
    (sandbox / "run/systemd/system").mkdir(parents=True)
    assert boot_hook.detect_init(root)[0] == "systemd"


def test_init_flag_overrides_and_unknown_tree_asks_for_it(sandbox):
    assert_clean_error(run_sunray("install-boot-hook", "--root", sandbox), 2, "--init")
    proc = hook("--root", sandbox, "--init", "sysv")
    assert proc.returncode == 0, proc.stderr
    assert (sandbox / SCRIPT_DEBIAN).is_file()


# --- /tmp mounted nodev -----------------------------------------------------------


def test_nodev_warning_from_fstab(sandbox):
    make_sysv(sandbox)
    (sandbox / "etc/fstab").write_text(
        "# /tmp on its own\nUUID=1 / ext4 defaults 0 1\n"
        "tmpfs /tmp tmpfs rw,nosuid,nodev,size=2G 0 0\n"
    )
    proc = hook("--root", sandbox)
    assert proc.returncode == 0, proc.stderr
    assert "warning: /tmp is mounted nodev by /etc/fstab" in proc.stderr
    [line] = [x for x in proc.stderr.splitlines() if "/etc/fstab" in x]
    assert "SRSS makes device nodes under /tmp/SUNWut" in line and "remount,dev" in line

    (sandbox / "etc/fstab").write_text("tmpfs /tmp tmpfs rw,nosuid 0 0\n# tmpfs /tmp tmpfs nodev\n")
    assert boot_hook.tmp_nodev_warnings(Root(sandbox)) == []


def test_nodev_warning_from_tmp_mount(sandbox):
    root = Root(sandbox)
    lib = sandbox / "usr/lib/systemd/system"
    lib.mkdir(parents=True)
    (lib / "tmp.mount").write_text(
        "[Mount]\nWhat=tmpfs\nWhere=/tmp\nType=tmpfs\n"
        "Options=mode=1777,strictatime,nosuid,nodev,size=50%%\n"
    )
    assert boot_hook.tmp_nodev_warnings(root) == []  # present but not enabled
    (lib / "local-fs.target.wants").mkdir()
    (lib / "local-fs.target.wants/tmp.mount").symlink_to("../tmp.mount")
    [warning] = boot_hook.tmp_nodev_warnings(root)
    assert "tmp.mount" in warning and "nodev" in warning
    etc = sandbox / "etc/systemd/system"
    (etc / "tmp.mount.d").mkdir(parents=True)
    (etc / "tmp.mount.d/override.conf").write_text("[Mount]\nOptions=mode=1777,nosuid\n")
    assert boot_hook.tmp_nodev_warnings(root) == []  # the override drops nodev
    (etc / "tmp.mount.d/override.conf").unlink()
    (etc / "tmp.mount").symlink_to("/dev/null")  # masked
    assert boot_hook.tmp_nodev_warnings(root) == []
    assert boot_hook.status(root, {})["tmp_nodev"] == []


# --- bad input ----------------------------------------------------------------------


def test_bad_input(sandbox, tmp_path):
    assert_clean_error(run_sunray("install-boot-hook", "--root", tmp_path / "nope"),
                       2, "does not exist")
    assert_clean_error(run_sunray("boot", "--root", tmp_path / "nope"), 2, "does not exist")
    before = tree_snapshot(sandbox)
    assert_clean_error(run_sunray("install-boot-hook", "--root", sandbox, "--init", "bogus"),
                       2, "--init 'bogus'")
    assert_clean_error(run_sunray("install-boot-hook", "--root", sandbox, "--init", "sysv",
                                  "--format", "xml"), 2, "--format")
    assert tree_snapshot(sandbox) == before


@pytest.mark.system
def test_read_only_target_is_refused_untouched(sandbox):
    need_root()
    need("unshare", "mount")
    make_systemd(sandbox)
    before = tree_snapshot(sandbox)
    # A private mount namespace with the sandbox bind-mounted read-only; the
    # paths are passed as arguments, never pasted into the shell text.
    script = ('mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && '
              'exec "$@"')
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", str(sandbox), PYTHON, "-m",
         "sunray", "install-boot-hook", "--root", str(sandbox)],
        capture_output=True, text=True, cwd=Path(__file__).parent.parent,
        env={k: v for k, v in os.environ.items() if k != "SUNRAY_DEBUG"},
    )
    if "mount:" in proc.stderr and proc.returncode != 1:
        pytest.skip(f"cannot make a read-only mount here: {proc.stderr.strip()}")
    assert_clean_error(proc, 1, "not writable", "nothing was changed")
    assert tree_snapshot(sandbox) == before


# --- when sunray cannot run: /tmp/.esd in plain sh ---------------------------------



def install_sysv_for(sandbox, program):
    make_sysv(sandbox)
    proc = run_sunray("install-boot-hook", "--root", sandbox,
                      env={"INVOKE_SUNRAY_PROGRAM": str(program)})
    assert proc.returncode == 0, proc.stderr
    return sandbox / SCRIPT_DEBIAN


def plant(esd, case, elsewhere):
    """Put what ``case`` names at /tmp/.esd; return what must be kept as it is."""
    if case == "symlink":
        esd.symlink_to(elsewhere)
    elif case == "file":
        esd.write_text("someone's file\n")
    elif case == "other-users-dir":
        esd.mkdir()
        (esd / "planted").write_text("x\n")
        os.chown(esd / "planted", 65534, 65534)
        os.chown(esd, 65534, 65534)
    elif case == "wrong-mode":
        esd.mkdir(mode=0o755)
        os.chmod(esd, 0o755)
    return tree_snapshot(esd.parent) if case != "missing" else {}


@pytest.mark.system
@pytest.mark.parametrize("shell", [["dash"], ["bash", "--posix"]])
@pytest.mark.parametrize("program", ["missing", "launcher-without-python"])
@pytest.mark.parametrize("case", ["missing", "symlink", "file", "other-users-dir", "wrong-mode"])
def test_init_script_makes_esd_dir_in_sh_when_sunray_cannot_run(sandbox, tmp_path, shell,
                                                                 program, case):
    need_root()
    need(shell[0], "shellcheck")
    launcher = tmp_path / "bin" / "sunray"
    if program != "missing":
        # What the packages' own launcher says and does with no Python on
        # PATH, replayed: the init script sets its own PATH, and this
        # machine's /usr/bin has a python3.
        real = packaged_launcher(tmp_path / "real" / "sunray")
        said = subprocess.run([str(real), "boot"], capture_output=True, text=True,
                              env={"PATH": path_without_python(tmp_path)})
        assert said.returncode == 1 and said.stderr.startswith(NO_PYTHON), said.stderr
        launcher.parent.mkdir()
        launcher.write_text("#!/bin/sh\nprintf '%s' " + shlex.quote(said.stderr) + " >&2\nexit 1\n")
        launcher.chmod(0o755)
    script = install_sysv_for(sandbox, launcher)
    lint = subprocess.run(["shellcheck", "--shell=sh", str(script)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o755)
    (elsewhere / "keep").write_text("keep\n")
    target_before = tree_snapshot(tmp_path / "elsewhere")
    esd = sandbox / "tmp/.esd"
    planted = plant(esd, case, elsewhere)
    env = dict(os.environ, INVOKE_SUNRAY_ROOT=str(sandbox))
    proc = subprocess.run([*shell, str(script), "start"], capture_output=True, text=True,
                          env=env, timeout=60)

    assert proc.returncode == (5 if program == "missing" else 1), proc.stderr
    if program != "missing":
        assert "sunray: no usable Python" in proc.stderr
        assert "did not run (exit 1, no output): making /tmp/.esd in sh" in proc.stderr
    assert "created /tmp/.esd (root:root 1777)" in proc.stdout, proc.stdout + proc.stderr
    st = os.lstat(esd)
    assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o1777
    assert (st.st_uid, st.st_gid) == (0, 0) and os.listdir(esd) == []
    assert tree_snapshot(tmp_path / "elsewhere") == target_before  # never followed
    aside = [p for p in (sandbox / "tmp").iterdir() if p.name.startswith(".esd.sunray-moved-")]
    if case == "missing":
        assert aside == []
        return
    [holder] = aside
    assert stat.S_IMODE(holder.stat().st_mode) == 0o700 and holder.stat().st_uid == 0
    assert f"moved /tmp/.esd aside to /tmp/{holder.name}/.esd" in proc.stdout
    # The old entry, untouched, under its old name in the holder directory.
    moved = {k.replace(f"{holder.name}/", "", 1): v for k, v in tree_snapshot(holder.parent).items()
             if k.startswith(f"{holder.name}/")}
    assert moved == planted

    again = subprocess.run([*shell, str(script), "start"], capture_output=True, text=True,
                           env=env, timeout=60)
    assert "/tmp/.esd is in place" in again.stdout
    assert len(list((sandbox / "tmp").glob(".esd.sunray-moved-*"))) == 1


@pytest.mark.system
def test_init_script_in_sh_refuses_a_symlinked_tmp(sandbox, tmp_path):
    need("dash")
    script = install_sysv_for(sandbox, tmp_path / "no-such-sunray")
    (sandbox / "tmp").rmdir()
    (sandbox / "tmp").symlink_to(tmp_path)
    env = dict(os.environ, INVOKE_SUNRAY_ROOT=str(sandbox))
    proc = subprocess.run(["dash", str(script), "start"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 5
    assert "/tmp is a symlink or not a directory: /tmp/.esd not made" in proc.stderr
    assert not (tmp_path / ".esd").exists()


# --- issue 11: a killed install, bad targets found first ---------------------


class _Killed(BaseException):
    """Stands in for SIGKILL at one instant (no handler may catch it)."""


def test_a_killed_systemd_install_rerun_then_revert_leaves_nothing(sandbox, monkeypatch):
    # issue 11, case 3: killed before its record, the install's revert left
    # the tmpfiles drop-in, its record and an empty .wants directory.
    from sunray.core.fileedit import FileEditor

    make_systemd(sandbox)
    before = tree_snapshot(sandbox)
    settings = defaults()
    settings["program"] = "/usr/bin/sunray"

    def killed(*args, **kwargs):
        raise _Killed()

    monkeypatch.setattr(FileEditor, "symlink", killed)
    with pytest.raises(_Killed):
        boot_hook.install(Root(sandbox), settings, init="systemd")
    monkeypatch.undo()
    assert (sandbox / DROPIN).is_file() and not (sandbox / WANTS).exists()
    reverted = run_sunray("install-boot-hook", "--root", sandbox, "--revert")
    assert reverted.returncode == 0, reverted.stderr
    assert tree_snapshot(sandbox) == before

    with pytest.raises(_Killed):
        monkeypatch.setattr(FileEditor, "symlink", killed)
        boot_hook.install(Root(sandbox), settings, init="systemd")
    monkeypatch.undo()
    assert hook("--root", sandbox, "--init", "systemd").returncode == 0
    assert os.path.islink(sandbox / WANTS)
    reverted = run_sunray("install-boot-hook", "--root", sandbox, "--revert")
    assert reverted.returncode == 0, reverted.stderr
    assert tree_snapshot(sandbox) == before


@pytest.mark.parametrize("init, bad, kind, needle", [
    ("systemd", WANTS, "dir", "multi-user.target.wants/sunray-boot.service exists and is not a symlink"),
    ("systemd", DROPIN, "dir", "/etc/tmpfiles.d/sunray.conf exists and is not a regular file"),
    ("sysv", "etc/rc5.d/S05sunray-boot", "file", "/etc/rc5.d/S05sunray-boot exists and is not a symlink"),
    ("sysv", "etc/rc6.d", "file", "/etc/rc6.d: not a directory"),
])
def test_a_bad_target_is_found_before_the_first_write(init, bad, kind, needle, sandbox):
    # issue 11, case 6: found only when its turn came, after other writes.
    make_systemd(sandbox) if init == "systemd" else make_sysv(sandbox)
    path = sandbox / bad
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "dir":
        path.mkdir()
    else:
        path.write_text("an admin's file\n")
    before = tree_snapshot(sandbox)
    proc = hook("--root", sandbox, "--init", init)
    assert_clean_error(proc, 2, needle, "nothing was changed" if "not a directory" not in needle
                       else "")
    assert tree_snapshot(sandbox) == before
