"""The toolkit as an RPM: built with the real rpmbuild, read back with
rpmfile, checked with rpmlint, and its /usr/bin/sunray (a sh launcher for
the bundled sunray-VERSION.pyz) run from the payload."""

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from conftest import IN_CI, REPO, need
from esound_support import make_tarball

sys.path.insert(0, str(REPO / "packaging"))
import build_rpm  # noqa: E402

import sunray  # noqa: E402
from sunray.core.hookprogram import NO_PYTHON  # noqa: E402

# Every test here drives real system tools.
pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def rpm(tmp_path_factory):
    need("rpmbuild", "git")
    return build_rpm.build(tmp_path_factory.mktemp("rpmbuild"), nodeps=True)


def header_list(headers, key):
    value = headers.get(key, [])
    return [v.decode() if isinstance(v, bytes) else v for v in
            (value if isinstance(value, list) else [value])]


def test_spec_version_matches_package():
    assert build_rpm.spec_field("Version") == sunray.__version__


def test_source_tarball_is_the_working_tree(tmp_path):
    tarball = build_rpm.source_tarball(tmp_path)
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
        prefix = f"sunray-toolkit-{sunray.__version__}/"
        assert all(n.startswith(prefix) for n in names)
        assert prefix + "packaging/sunray-toolkit.spec" in names
        assert prefix + "sunray/doctor/__init__.py" in names
        assert not any("/.venv/" in n or "__pycache__" in n for n in names)
        ours = tar.extractfile(prefix + "sunray/apply.py").read()
    assert ours == (REPO / "sunray/apply.py").read_bytes()


def test_rpm_header_files_and_triggers(rpm):
    import rpmfile

    with rpmfile.open(rpm) as r:
        h = r.headers
        assert h["name"] == b"sunray-toolkit" and h["arch"] == b"noarch"
        assert h["version"].decode() == sunray.__version__
        names = {m.name.lstrip("./") for m in r.getmembers()}
        launcher = r.extractfile("./usr/bin/sunray").read().decode()
        requires = header_list(h, "requirename")
    pyz = f"usr/share/sunray-toolkit/sunray-{sunray.__version__}.pyz"
    assert {"usr/bin/sunray", pyz} <= names
    assert not any(n.endswith(".py") or "__pycache__" in n for n in names)  # all in the bundle
    assert launcher.startswith("#!/bin/sh\n")
    assert f"pyz='/{pyz}'" in launcher
    # No Python packages from EPEL or elsewhere: the bundle has them.
    assert not [r for r in requires if "python" in r], requires

    triggers = header_list(h, "triggername")
    assert sorted(set(triggers)) == ["kernel", "kernel-core", "kernel-devel"]
    scripts = header_list(h, "triggerscripts")
    assert len(scripts) == 2
    installed = next(s for s in scripts if "rebuild-modules" in s)
    removed = next(s for s in scripts if "remove-modules" in s)
    assert "/usr/bin/sunray rebuild-modules" in installed and installed.rstrip().endswith("exit 0")
    assert '/usr/bin/sunray remove-modules --kernel "${dir##*/}"' in removed
    assert removed.rstrip().endswith("exit 0")


def test_trigger_scripts_pass_shellcheck(rpm, tmp_path):
    need("shellcheck")
    import rpmfile

    with rpmfile.open(rpm) as r:
        scripts = header_list(r.headers, "triggerscripts")
    for i, script in enumerate(scripts):
        path = tmp_path / f"trigger{i}.sh"
        path.write_text("#!/bin/sh\n" + script)
        proc = subprocess.run(["shellcheck", "-s", "sh", str(path)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout


def test_rpmlint_no_errors(rpm):
    need("rpmlint")
    proc = subprocess.run(["rpmlint", "-c", str(REPO / "packaging/rpmlint.toml"), str(rpm)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " 0 errors" in proc.stdout, proc.stdout


def _unpack(rpm, top):
    """The payload as rpm would install it under ``top``, the launcher
    pointed at the bundle there; returns the launcher."""
    import rpmfile

    with rpmfile.open(rpm) as r:
        for member in r.getmembers():
            data = r.extractfile(member).read()
            target = top / member.name.lstrip("./")
            if member.isdir:
                target.mkdir(parents=True, exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
    launcher = top / "usr/bin/sunray"
    launcher.write_text(launcher.read_text().replace("/usr/share/sunray-toolkit",
                                                     str(top / "usr/share/sunray-toolkit")))
    launcher.chmod(0o755)
    return launcher


def _path_with(tmp_path, python):
    """A PATH whose python3 is ``python`` (besides /usr/bin and /bin)."""
    bindir = tmp_path / "pybin"
    bindir.mkdir(exist_ok=True)
    (bindir / "python3").symlink_to(python)
    return f"{bindir}:/usr/bin:/bin"


def test_installed_payload_runs(rpm, tmp_path):
    """Unpack the payload as rpm would and run its /usr/bin/sunray: the
    launcher finds a Python 3.6+ (here the tests' own) and runs the bundle,
    nothing from the checkout or site-packages."""
    launcher = _unpack(rpm, tmp_path)
    env = dict(os.environ, PATH=_path_with(tmp_path, sys.executable))
    proc = subprocess.run([str(launcher), "--list"], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "doctor" in proc.stdout and "fleet" in proc.stdout
    root = tmp_path / "srv"
    root.mkdir()
    proc = subprocess.run([str(launcher), "doctor", "--root", str(root)],
                          capture_output=True, text=True, cwd=tmp_path, env=env)
    assert proc.returncode == 1 and "module-sources" in proc.stdout, proc.stderr

    tarball = make_tarball(tmp_path, version="0.2.41", compression="gz")
    proc = subprocess.run([str(launcher), "build-esound", "--tarball", str(tarball), "--dry-run"],
                          capture_output=True, text=True, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "spec from templates/esound.spec.j2 for esound 0.2.41" in proc.stdout

    demo = tmp_path / "demo"
    proc = subprocess.run([str(launcher), "demo", "--path", str(demo)],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The sandbox's own sunray runs the same bundle with the same Python.
    sandbox_launcher = (demo / "usr/bin/sunray").read_text()
    assert str(tmp_path / "usr/share/sunray-toolkit") in sandbox_launcher


def test_launcher_passes_shellcheck():
    need("shellcheck")
    proc = subprocess.run(["shellcheck", "-s", "sh", str(REPO / "packaging/sunray.launcher")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


def test_launcher_says_which_python_it_needs(rpm, tmp_path):
    """Only a Python 2 python3 on PATH (no 3.6+ anywhere the launcher looks
    on this Debian machine): exit 1 and say what to install."""
    python2 = Path("/root/.pyenv/versions/2.7.18/bin/python")
    if not python2.exists():
        if IN_CI:
            pytest.fail(f"needs {python2} (pyenv)")
        pytest.skip(f"needs {python2} (pyenv)")
    launcher = _unpack(rpm, tmp_path)
    bindir = tmp_path / "pybin"
    bindir.mkdir()
    (bindir / "python3").symlink_to(python2)
    proc = subprocess.run(["/bin/sh", str(launcher), "--help"], capture_output=True, text=True,
                          env={"PATH": str(bindir)})
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith(NO_PYTHON + ": sunray needs 3.6 or later and found none")
    assert "rh-python36" in proc.stderr


def test_trigger_scripts_pick_the_right_kernels(rpm, tmp_path):
    """Run both trigger scripts with sh. /usr/bin/sunray and /lib/modules are
    redirected into tmp_path (a scriptlet cannot take --root); the stand-in
    sunray only records its arguments: the scripts' own logic is what is tested."""
    import rpmfile

    with rpmfile.open(rpm) as r:
        scripts = header_list(r.headers, "triggerscripts")
    calls = tmp_path / "calls"
    stub = tmp_path / "sunray"
    stub.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n[ "$2" != "--kernel" ] || [ "$3" != "6.1.0-9-amd64" ]\n')
    stub.chmod(0o755)
    modules = tmp_path / "modules"
    for kernel, has_kernel_dir in [("6.1.0-9-amd64", False), ("6.1.0-10-amd64", True),
                                   ("5.14.0-1.el9.x86_64", False)]:
        (modules / kernel / "extra").mkdir(parents=True)
        if has_kernel_dir:
            (modules / kernel / "kernel").mkdir()
    (modules / "not-a-dir").write_text("")
    log = tmp_path / "log"

    def run(script):
        script = (script.replace("/usr/bin/sunray", str(stub))
                  .replace("/lib/modules", str(modules))
                  .replace("/var/log/sunray/rpm-trigger.log", str(log)))
        return subprocess.run(["sh", "-c", script], capture_output=True, text=True)

    installed = next(s for s in scripts if "rebuild-modules" in s)
    removed = next(s for s in scripts if "remove-modules" in s)
    assert run(installed).returncode == 0
    assert calls.read_text() == "rebuild-modules\n"
    calls.unlink()
    proc = run(removed)
    assert proc.returncode == 0  # a failed removal never fails the yum transaction
    assert sorted(calls.read_text().splitlines()) == [
        "remove-modules --kernel 5.14.0-1.el9.x86_64", "remove-modules --kernel 6.1.0-9-amd64"]
    assert "could not remove SRSS modules of 6.1.0-9-amd64" in proc.stderr


# What RHEL 5's rpm 4.4 can read: these rpmlib() features and no newer one
# (rpmlib(FileDigests) marks SHA-256 digests, rpmlib(PayloadIsXz/Zstd) the
# payloads it cannot unpack).
RPM_44_FEATURES = {"rpmlib(CompressedFileNames)", "rpmlib(PayloadFilesHavePrefix)",
                   "rpmlib(VersionedDependencies)", "rpmlib(PartialHardlinkSets)",
                   "rpmlib(ScriptletInterpreterArgs)", "rpmlib(PayloadIsBzip2)"}


def rpm_query(rpm, *args):
    proc = subprocess.run(["rpm", "-qp", *args, str(rpm)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_rpm_is_readable_by_rhel5_rpm(rpm):
    need("rpm")
    # 1 = MD5 ("(none)": the tag is left out, and MD5 is what it means).
    algo, compressor = rpm_query(rpm, "--qf", "%{FILEDIGESTALGO} %{PAYLOADCOMPRESSOR}").split()
    assert algo in ("(none)", "1") and compressor == "gzip"
    digests = [d for d in rpm_query(rpm, "--qf", "[%{FILEDIGESTS}\n]").split() if d]
    assert digests and all(len(d) == 32 for d in digests)  # MD5, not SHA-256's 64
    requires = rpm_query(rpm, "--requires").splitlines()
    features = {r.split()[0] for r in requires if r.startswith("rpmlib(")}
    assert features <= RPM_44_FEATURES, features
    assert rpm_query(rpm, "--recommends") == "" and rpm_query(rpm, "--suggests") == ""


def test_rpm_names_no_invented_address_and_ships_licence_and_man_page(rpm):
    need("rpm")
    url, packager, licence = rpm_query(rpm, "--qf", "%{URL}\n%{PACKAGER}\n%{LICENSE}").splitlines()
    assert url == "(none)" and packager == "sunray-toolkit project"
    assert licence == "GPL-2.0-or-later"
    assert "example.org" not in (REPO / "packaging/sunray-toolkit.spec").read_text()
    assert "localhost" not in rpm_query(rpm, "--changelog")
    files = rpm_query(rpm, "-l").splitlines()
    assert any(f.startswith("/usr/share/man/man1/sunray.1") for f in files)
    [licence_file] = [f for f in files if f.endswith("/LICENSE")]
    import gzip

    import rpmfile

    with rpmfile.open(rpm) as r:
        page = next(m for m in r.getmembers() if "/man1/sunray.1" in m.name)
        text = r.extractfile(page).read()
        if page.name.endswith(".gz"):
            text = gzip.decompress(text)
        assert text == (REPO / "docs/sunray.1").read_bytes()
        assert r.extractfile("." + licence_file).read() == (REPO / "LICENSE").read_bytes()


def test_kernel_hook_with_the_rpms_launcher_and_no_python_is_recorded_for_doctor(rpm, tmp_path):
    """The hook calls the /usr/bin/sunray the RPM ships, on a server where it
    finds no Python: the hook recognises the launcher's line, records the run,
    and doctor's kernel-hook-run row names the kernel."""
    import json

    from conftest import run_sunray
    from support import path_without_python

    launcher = _unpack(rpm, tmp_path / "pkg")
    top = tmp_path / "root"
    (top / "var/lib").mkdir(parents=True)
    proc = run_sunray("install-kernel-hooks", "--root", top, env={"INVOKE_SUNRAY_PROGRAM": str(launcher)})
    assert proc.returncode == 0, proc.stderr
    kernel = "2.6.18-419.el5"
    env = {"PATH": path_without_python(tmp_path), "INVOKE_SUNRAY_ROOT": str(top)}
    proc = subprocess.run(["sh", str(top / "etc/kernel/postinst.d/sunray-modules"), kernel],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith(NO_PYTHON + ": sunray needs 3.6 or later and found none")
    assert f"sunray-modules: SRSS modules not rebuilt for {kernel}" in proc.stderr
    assert "failed (exit 1)" not in proc.stderr
    record = (top / "var/lib/sunray/kernel-hook.last").read_text()
    assert f"kernel={kernel}\n" in record and "cause=no-python\n" in record
    proc = run_sunray("doctor", "--root", top, "--format", "json")
    row = next(c for c in json.loads(proc.stdout)["checks"] if c["id"] == "kernel-hook-run")
    assert row["status"] == "fail" and kernel in row["detail"], row
    assert row["fix"].endswith(f"sunray rebuild-modules --root {top} --kernel {kernel}")


RPM_HOOKS = ["etc/kernel/postinst.d/sunray-modules", "etc/kernel/postrm.d/sunray-modules",
             "etc/kernel/install.d/85-sunray.install"]


def rpm_in(root, *args):
    """rpm on the tree ``root``, its database at root's /var/lib/rpm (not
    the host's macros). No scriptlets or triggers: the empty root has no
    /bin/sh to run them in (their text is tested above and below)."""
    return subprocess.run(["rpm", "--root", str(root), "--dbpath", "/var/lib/rpm", *args],
                          capture_output=True, text=True, timeout=300)


def test_rpm_owns_the_kernel_hooks_stays_verified_after_apply_and_erases_clean(rpm, tmp_path):
    need("rpm")
    from conftest import run_sunray

    root = tmp_path / "root"
    root.mkdir()
    assert rpm_in(root, "--initdb").returncode == 0
    proc = rpm_in(root, "-i", "--nodeps", "--noscripts", "--notriggers", str(rpm))
    assert proc.returncode == 0, proc.stderr
    for hook in RPM_HOOKS:
        text = (root / hook).read_text()
        assert "# sunray-package-hook: sunray-toolkit\n" in text and "SUNRAY='/usr/bin/sunray'" in text
        assert os.access(root / hook, os.X_OK)
    assert rpm_in(root, "-V", "--nodeps", "sunray-toolkit").stdout == ""

    proc = run_sunray("install-kernel-hooks", "--root", root)
    assert proc.returncode == 0 and "the sunray-toolkit package's own" in proc.stdout, proc.stderr
    proc = run_sunray("apply", "--root", root)
    assert "Traceback" not in proc.stderr
    verify = rpm_in(root, "-V", "--nodeps", "sunray-toolkit")
    assert verify.returncode == 0 and verify.stdout == "", verify.stdout

    proc = rpm_in(root, "-e", "--nodeps", "--noscripts", "--notriggers", "sunray-toolkit")
    assert proc.returncode == 0, proc.stderr
    assert not any((root / h).exists() for h in RPM_HOOKS)
    assert not (root / "etc/kernel").exists() and not (root / "usr/bin/sunray").exists()


def test_rpm_post_says_one_line_at_the_first_install_only(rpm):
    import rpmfile

    with rpmfile.open(rpm) as r:
        post = header_list(r.headers, "postin")[0]
    runs = [subprocess.run(["sh", "-c", post, "sh", n], capture_output=True, text=True) for n in ("1", "2")]
    assert runs[0].stdout == ("sunray-toolkit: installed; run 'sunray apply' to fix this Sun Ray server "
                              "('sunray doctor' shows what is wrong)\n")
    assert runs[1].stdout == "" and all(r.returncode == 0 for r in runs)
