"""The toolkit as a .deb: built with dpkg-deb, checked with lintian,
installed, upgraded and purged for real with ``dpkg --root`` (maintainer
scripts run outside a chroot with DPKG_ROOT set), and its kernel hook run
from the installed package against a sandbox with the SRSS fixtures."""

import os
import subprocess
import sys

import pytest
from conftest import REPO, need, run_sunray
from modules_support import ALL_KO, host_kernels, installed, make_server

sys.path.insert(0, str(REPO / "packaging"))
import build_deb  # noqa: E402
import build_pyz  # noqa: E402

import sunray  # noqa: E402

pytestmark = pytest.mark.system

HOOKS = ["etc/kernel/postinst.d/sunray-modules", "etc/kernel/header_postinst.d/sunray-modules",
         "etc/kernel/postrm.d/sunray-modules"]
# lintian's warnings that are expected, each explained in docs/deb.md.
EXPECTED_WARNINGS = {"initial-upload-closes-no-bugs"}


@pytest.fixture(scope="module")
def debs(tmp_path_factory):
    """Revision 1 and revision 2 (the upgrade) of the package, from one pyz."""
    need("dpkg-deb", "git")
    out = tmp_path_factory.mktemp("deb")
    pyz = build_pyz.build(out / "pyz", REPO / "build" / "pyz-downloads")
    return build_deb.build(out, 1, pyz), build_deb.build(out, 2, pyz)


def dpkg(root, *args):
    """dpkg on the tree ``root`` as on a server, scripts run outside a chroot."""
    return subprocess.run(["dpkg", "--root", str(root), "--force-script-chrootless", "--force-depends",
                           "--log=/dev/null", *args], capture_output=True, text=True, timeout=300)


def admin_dir(root):
    """The minimal dpkg database an empty root needs."""
    for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates"):
        (root / d).mkdir(parents=True, exist_ok=True)
    for f in ("var/lib/dpkg/status", "var/lib/dpkg/available"):
        (root / f).touch()


def files_outside_dpkg(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if not str(p.relative_to(root)).startswith("var/lib/dpkg"))


def test_deb_fields_and_files(debs):
    deb = debs[0]
    assert deb.name == f"sunray-toolkit_{sunray.__version__}-1_all.deb"
    info = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True).stdout
    assert f"Version: {sunray.__version__}-1\n" in info and "Architecture: all\n" in info
    assert "Depends: python3 (>= 3.6), make, gcc\n" in info
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True).stdout
    for path in ["./usr/bin/sunray", f"./usr/share/sunray-toolkit/sunray-{sunray.__version__}.pyz",
                 "./usr/share/man/man1/sunray.1.gz", "./usr/share/doc/sunray-toolkit/copyright",
                 "./usr/share/doc/sunray-toolkit/changelog.Debian.gz", *("./" + h for h in HOOKS)]:
        assert f" {path}\n" in listing, path
    assert "root/root" in listing and "./var/" not in listing  # sunray makes its own state
    conffiles = subprocess.run(["dpkg-deb", "-I", str(deb), "conffiles"], capture_output=True,
                               text=True).stdout
    assert sorted(conffiles.split()) == sorted("/" + h for h in HOOKS)


def test_lintian_has_no_errors_and_only_the_documented_warnings(debs):
    need("lintian")
    proc = subprocess.run(["lintian", "--allow-root", str(debs[0])], capture_output=True, text=True,
                          timeout=300)
    tags = [line.split()[2] for line in proc.stdout.splitlines() if line[:2] in ("E:", "W:")]
    assert not [line for line in proc.stdout.splitlines() if line.startswith("E:")], proc.stdout
    assert set(tags) <= EXPECTED_WARNINGS, proc.stdout
    for tag in EXPECTED_WARNINGS:
        assert tag in (REPO / "docs" / "deb.md").read_text()


def test_install_upgrade_purge_into_an_empty_root_leaves_nothing(debs, tmp_path):
    need("dpkg")
    root = tmp_path / "root"
    admin_dir(root)
    assert files_outside_dpkg(root) == ["var", "var/lib"]

    proc = dpkg(root, "-i", str(debs[0]))
    assert proc.returncode == 0, proc.stderr
    said = [line for line in proc.stdout.splitlines() if line.startswith("sunray-toolkit:")]
    assert said == ["sunray-toolkit: installed; run 'sunray apply' to fix this Sun Ray server "
                    "('sunray doctor' shows what is wrong)"]
    assert (root / "usr/bin/sunray").read_text().count(
        f"pyz='/usr/share/sunray-toolkit/sunray-{sunray.__version__}.pyz'") == 1
    for hook in HOOKS:
        assert os.access(root / hook, os.X_OK)
        assert "# sunray-package-hook: sunray-toolkit\n" in (root / hook).read_text()
    assert not (root / "var/lib/sunray").exists()  # nothing changed by the package itself
    assert dpkg(root, "--verify").stdout == ""

    proc = dpkg(root, "-i", str(debs[1]))
    assert proc.returncode == 0, proc.stderr
    assert "sunray-toolkit (0.1.0-2) over (0.1.0-1)" in proc.stdout
    assert "sunray-toolkit: installed" not in proc.stdout  # said once, at the first install
    status = dpkg(root, "-s", "sunray-toolkit").stdout
    assert "Version: 0.1.0-2\n" in status and "Status: install ok installed\n" in status
    verify = dpkg(root, "--verify")
    assert verify.returncode == 0 and verify.stdout == "", verify.stdout

    proc = dpkg(root, "--purge", "sunray-toolkit")
    assert proc.returncode == 0, proc.stderr
    assert files_outside_dpkg(root) == ["var", "var/lib"]
    assert not list((root / "var/lib/dpkg/info").glob("sunray-toolkit.*"))


def test_a_hook_written_by_the_task_stops_the_install_with_what_to_run(debs, tmp_path, sandbox):
    need("dpkg")
    proc = run_sunray("install-kernel-hooks", "--root", sandbox, env={"INVOKE_SUNRAY_PROGRAM": "/usr/bin/sunray"})
    assert proc.returncode == 0, proc.stderr
    admin_dir(sandbox)
    proc = dpkg(sandbox, "-i", str(debs[0]))
    assert proc.returncode == 1
    assert ("/etc/kernel/postinst.d/sunray-modules was written by 'sunray install-kernel-hooks': "
            "run 'sunray install-kernel-hooks --revert' first") in proc.stderr
    assert not (sandbox / "usr/bin/sunray").exists()


def test_installed_hook_runs_from_the_package_and_apply_leaves_it_verified(debs, tmp_path):
    """The kernel hook and /usr/bin/sunray as dpkg installed them. A hook
    cannot take --root: its SUNRAY= line and the launcher's pyz path are
    pointed into the tree (the one change), INVOKE_SUNRAY_ROOT does the rest."""
    need("dpkg", "make", "gcc", "depmod")
    old, new = host_kernels()
    top = make_server(tmp_path / "root", [old, new])
    admin_dir(top)
    assert dpkg(top, "-i", str(debs[0])).returncode == 0

    launcher = tmp_path / "sunray"
    launcher.write_text((top / "usr/bin/sunray").read_text().replace(
        "pyz='/usr/share", f"pyz='{top}/usr/share"))
    launcher.chmod(0o755)
    hook = tmp_path / "postinst-hook"
    hook.write_text((top / HOOKS[0]).read_text().replace("SUNRAY='/usr/bin/sunray'", f"SUNRAY='{launcher}'"))
    env = dict(os.environ, INVOKE_SUNRAY_ROOT=str(top))
    env.pop("SUNRAY_DEBUG", None)
    proc = subprocess.run(["sh", str(hook), new, f"/boot/vmlinuz-{new}"], capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert sorted(installed(top, new)) == ALL_KO and installed(top, old) == {}

    proc = run_sunray("install-kernel-hooks", "--root", top)
    assert proc.returncode == 0, proc.stderr
    assert "the kernel hooks are the sunray-toolkit package's own" in proc.stdout
    proc = run_sunray("apply", "--root", top)
    assert "Traceback" not in proc.stderr
    verify = dpkg(top, "--verify")
    assert verify.returncode == 0 and verify.stdout == "", verify.stdout
    proc = run_sunray("doctor", "--root", top, "--format", "json")
    import json

    row = next(c for c in json.loads(proc.stdout)["checks"] if c["id"] == "kernel-hooks")
    assert row["status"] == "ok" and "sunray-toolkit package" in row["detail"], row

    assert dpkg(top, "--purge", "sunray-toolkit").returncode == 0
    assert not any((top / h).exists() for h in HOOKS) and not (top / "usr/bin/sunray").exists()
    assert sorted(installed(top, new)) == ALL_KO  # sunray's own work stays until its revert
