"""export-dkms: the exported tree goes through Debian's real dkms add, build
and install, with every dkms directory pointed into the sandbox; the host's
/var/lib/dkms and /lib/modules are checked unchanged afterwards."""

import os
import subprocess
from pathlib import Path

import pytest
from conftest import assert_clean_error, need, run_sunray, tree_snapshot
from modules_support import ALL_KO, host_kernels, make_server, modinfo


def dkms_env(top):
    """dkms signs with a key it creates when none is configured (under
    /var/lib/dkms): point that into the sandbox too."""
    env = dict(os.environ)
    env["mok_signing_key"] = str(top / "var/lib/dkms/mok.key")
    env["mok_certificate"] = str(top / "var/lib/dkms/mok.pub")
    return env


def dkms(top, *args, kernel=None):
    cmd = ["dkms", *args, "--dkmstree", str(top / "var/lib/dkms"),
           "--sourcetree", str(top / "usr/src"), "--installtree", str(top / "lib/modules")]
    if kernel:
        cmd += ["-k", kernel, "--kernelsourcedir", f"/usr/src/linux-headers-{kernel}"]
    return subprocess.run(cmd, capture_output=True, text=True, env=dkms_env(top), timeout=600)


def host_state():
    snap = {}
    for d in ("/var/lib/dkms", "/lib/modules"):
        snap[d] = tree_snapshot(d) if os.path.isdir(d) else None
    return snap


def test_export_writes_sources_kbuild_and_dkms_conf(sandbox):
    top = sandbox
    make_server(top, [])
    proc = run_sunray("export-dkms", "--root", top, "--dry-run")
    assert proc.returncode == 0 and "would be created" in proc.stdout
    assert not (top / "usr/src/sunray-ut-1.0").exists()
    proc = run_sunray("export-dkms", "--root", top)
    assert proc.returncode == 0, proc.stderr
    base = top / "usr/src/sunray-ut-1.0"
    conf = (base / "dkms.conf").read_text()
    assert "PACKAGE_NAME='sunray-ut'" in conf and "AUTOINSTALL='yes'" in conf
    for i, (name, where) in enumerate([("utadem", "utadem"), ("utdisk", "utdisk"),
                                       ("utdiskctl", "utdisk"), ("utio", "utio")]):
        assert f"BUILT_MODULE_NAME[{i}]='{name}'" in conf
        assert f"BUILT_MODULE_LOCATION[{i}]='{where}/'" in conf
        assert f"DEST_MODULE_LOCATION[{i}]='/extra/sunray'" in conf
    assert "BUILT_MODULE_NAME[4]" not in conf
    assert "M=${dkms_tree}/${PACKAGE_NAME}/${PACKAGE_VERSION}/build modules" in conf
    assert (base / "utdisk/utdiskctl.c").read_bytes() == \
        (top / "usr/src/SUNWut/utdisk/utdiskctl.c").read_bytes()
    assert "obj-m += utadem/ utdisk/ utio/" in (base / "Kbuild").read_text()
    again = run_sunray("export-dkms", "--root", top)
    assert "nothing to change" in again.stdout


@pytest.mark.system
def test_real_dkms_adds_builds_and_installs_the_export(tmp_path):
    need("dkms", "make", "gcc")
    kernel = host_kernels()[-1]
    top = make_server(tmp_path / "root", [kernel])
    (top / "var/lib/dkms").mkdir(parents=True)
    host_before = host_state()
    assert run_sunray("export-dkms", "--root", top).returncode == 0

    proc = dkms(top, "add", "-m", "sunray-ut", "-v", "1.0")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = dkms(top, "build", "-m", "sunray-ut", "-v", "1.0", kernel=kernel)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # --no-depmod: dkms runs `depmod -a K` on the HOST's /lib/modules otherwise
    proc = dkms(top, "install", "--no-depmod", "-m", "sunray-ut", "-v", "1.0", kernel=kernel)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    # Debian's dkms puts every module in /updates/dkms whatever
    # DEST_MODULE_LOCATION says; other distributions honour /extra/sunray.
    kos = sorted((top / "lib/modules" / kernel).rglob("*.ko"))
    assert sorted(p.name for p in kos) == ALL_KO
    assert {p.parent.relative_to(top / "lib/modules" / kernel) for p in kos} <= \
        {Path("updates/dkms"), Path("extra/sunray")}
    for ko in kos:
        assert modinfo("vermagic", ko).startswith(kernel + " ")
    status = dkms(top, "status", "-m", "sunray-ut")
    assert f"sunray-ut/1.0, {kernel}, x86_64: installed" in status.stdout
    assert host_state() == host_before


# --- hostile SRSS sources: dkms sources dkms.conf as root -----------------


def source_dkms_conf(conf, cwd):
    """What dkms does with dkms.conf: bash sources it (with its variables
    set). Returns the arrays it defined, for the checks below."""
    script = ('kernel_source_dir=/nonexistent dkms_tree=/nonexistent; source "$1"; '
              'printf "%s\\n" "${BUILT_MODULE_NAME[@]}"')
    proc = subprocess.run(["bash", "-c", script, "bash", str(conf)], cwd=cwd,
                          capture_output=True, text=True, timeout=60)
    return proc.stdout.split()


def hostile_makefile(top, line):
    makefile = top / "usr/src/SUNWut/utio/Makefile"
    makefile.write_text(makefile.read_text().replace("C_FILES = utio.c", line))
    return makefile


def test_sourcing_the_exported_dkms_conf_gives_exactly_the_module_names(sandbox):
    top = make_server(sandbox, [])
    assert run_sunray("export-dkms", "--root", top).returncode == 0
    conf = top / "usr/src/sunray-ut-1.0/dkms.conf"
    assert source_dkms_conf(conf, sandbox) == ["utadem", "utdisk", "utdiskctl", "utio"]


@pytest.mark.parametrize("how", ["C_FILES", "obj-m", "file name"])
def test_hostile_module_name_is_refused_and_runs_nothing(sandbox, tmp_path, how):
    """A module name with a command substitution in it: the export refuses
    (exit 2, naming the Makefile and the word), and whatever dkms.conf there
    is runs nothing when sourced."""
    top = make_server(sandbox, [])
    marker = tmp_path / "PWNED"  # dkms.conf is sourced with tmp_path as cwd
    word = "x`id>PWNED`"
    if how == "C_FILES":
        makefile = hostile_makefile(top, f"C_FILES = utio.c {word}.c")
        needles = [str(makefile), f"{word}.c"]
    elif how == "obj-m":
        makefile = hostile_makefile(top, "")
        makefile.write_text(makefile.read_text().replace("obj-m := $(COBJ)",
                                                         f"obj-m := utio.o {word}.o"))
        needles = [str(makefile), f"{word}.o"]
    else:
        makefile = hostile_makefile(top, "")
        makefile.write_text(makefile.read_text().replace("obj-m := $(COBJ)", ""))
        evil = top / "usr/src/SUNWut/utio" / f"{word}.c"
        evil.write_text("/* planted */\n")
        needles = [str(evil)]
    proc = run_sunray("export-dkms", "--root", top)
    conf = top / "usr/src/sunray-ut-1.0/dkms.conf"
    if conf.exists():
        source_dkms_conf(conf, tmp_path)
    assert not marker.exists(), "sourcing dkms.conf ran the planted command"
    assert_clean_error(proc, 2, "module name", *needles)
    assert not (top / "usr/src/sunray-ut-1.0").exists()  # nothing half-written
    # rebuild-modules reads the same Makefile: refused the same way, no build
    proc = run_sunray("rebuild-modules", "--root", top, "--dry-run")
    assert_clean_error(proc, 2, "module name", *needles)


def test_rebuild_modules_refuses_a_hostile_makefile_before_building(tmp_path):
    kernel = host_kernels()[-1]
    top = make_server(tmp_path / "root", [kernel])
    makefile = hostile_makefile(top, "C_FILES = utio.c x;reboot.c")
    proc = run_sunray("rebuild-modules", "--root", top, "--kernel", kernel)
    assert_clean_error(proc, 2, str(makefile), "'x;reboot.c'")
    assert not list((top / "lib/modules" / kernel).rglob("*.ko"))


def test_source_path_with_a_newline_is_refused(sandbox, tmp_path):
    """modules.src goes into a comment of dkms.conf: a newline would end it."""
    top = make_server(sandbox, [])
    marker = tmp_path / "PWNED"  # dkms.conf is sourced with tmp_path as cwd
    src = "/usr/src/SUNWut\ntouch PWNED\n#"
    os.rename(top / "usr/src/SUNWut", top / src.lstrip("/"))
    proc = run_sunray("export-dkms", "--root", top, env={"INVOKE_SUNRAY_MODULES_SRC": src})
    conf = top / "usr/src/sunray-ut-1.0/dkms.conf"
    if conf.exists():
        source_dkms_conf(conf, tmp_path)
    assert not marker.exists(), "sourcing dkms.conf ran the planted command"
    assert_clean_error(proc, 2, "modules.src", "control characters")
    assert not conf.exists()
