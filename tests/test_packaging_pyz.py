"""The toolkit as one file for servers (packaging/build_pyz.py) and as a
pip-installed copy: both run from outside the checkout, with nothing beside
the checkout to lean on. Built for real (pip downloads the pinned
dependencies once, into build/pyz-downloads); the smokes run on every server
Python we test."""

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from conftest import IN_CI, REPO, need
from esound_support import make_tarball

sys.path.insert(0, str(REPO / "packaging"))
import build_pyz  # noqa: E402

import sunray  # noqa: E402

# Every test here runs pip, a built bundle or other Pythons.
pytestmark = pytest.mark.system

PYTHONS = {v: Path(f"/root/.pyenv/versions/{v}/bin/python") for v in ("3.6.15", "3.8.18", "3.9.18", "3.11.7")}
TMPWATCH = REPO / "tests/fixtures/tmpwatch/rhel6-days"


def _need_python(path):
    if not path.exists():
        message = f"needs {path} (pyenv)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def pyz(tmp_path_factory):
    """The bundle, built from this checkout and moved out of it."""
    out = tmp_path_factory.mktemp("dist")
    built = build_pyz.build(out, REPO / "build" / "pyz-downloads")
    elsewhere = tmp_path_factory.mktemp("elsewhere") / built.name
    shutil.move(str(built), str(elsewhere))
    return elsewhere


@pytest.fixture
def server(tmp_path):
    """A sandbox server tree: the demo's CentOS 6 shape (tmpwatch job, rc.d,
    SRSS module sources), without kernel header links."""
    from sunray.demo import manifest

    top = tmp_path / "server"
    for entry in manifest():
        dest = top / entry.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        if entry.target:
            dest.symlink_to(entry.target)
        else:
            dest.write_bytes((REPO / "sunray" / entry.source).read_bytes())
    for d in ("var/lib", "var/log", "lib/modules", "run"):
        (top / d).mkdir(parents=True, exist_ok=True)
    os.chmod(top / "tmp", 0o1777)
    return top


def run_pyz(python, pyz, *args, cwd):
    """``python -I -S pyz ARGS``: no site-packages, so only the bundle is used."""
    return subprocess.run([str(python), "-I", "-S", str(pyz), *map(str, args)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          cwd=str(cwd), timeout=600)


def test_pyz_is_one_small_file_with_its_parts(pyz):
    assert pyz.name == f"sunray-{sunray.__version__}.pyz"
    assert pyz.stat().st_size < 3 * 1024 * 1024
    assert pyz.read_bytes().startswith(b"#!/usr/bin/env python3\n")
    with zipfile.ZipFile(pyz) as zf:
        names = set(zf.namelist())
    for name in ("__main__.py", "sunray/cli/program.py", "sunray/templates/sunray-boot.init.j2",
                 "sunray/templates/esound.spec.j2", "sunray/savings/data/carbon-intensity.csv",
                 "sunray/demo_fixtures/MANIFEST", "sunray/demo_fixtures/server/tmp/.esd",
                 "sunray/demo_fixtures/srss/usr/src/SUNWut/utio/utio.c",
                 "invoke/__init__.py", "jinja2/__init__.py", "markupsafe/_native.py",
                 "rpmfile/__init__.py", "_py36/dataclasses.py",
                 "licenses/invoke/LICENSE", "licenses/Jinja2/LICENSE.rst",
                 "licenses/MarkupSafe/LICENSE.rst", "licenses/rpmfile/LICENSE",
                 "licenses/dataclasses/LICENSE.txt"):
        assert name in names, name
    # Pure Python only; the backport never shadows 3.7+'s dataclasses.
    assert not any(n.endswith((".so", ".pyc", "_speedups.c")) and not n.startswith("_py36/bytecode/")
                   for n in names)
    assert "dataclasses.py" not in names
    if PYTHONS["3.6.15"].exists():  # the builder found it: byte code for 3.6
        assert "_py36/bytecode/sunray/cli/program.pyc" in names
        assert "_py36/bytecode/sunray/templates/sunray-boot.init.j2" in names


def test_pyz_build_is_reproducible(pyz, tmp_path):
    again = build_pyz.build(tmp_path, REPO / "build" / "pyz-downloads")
    assert again.read_bytes() == pyz.read_bytes()


def test_a_dependency_with_another_digest_is_refused(tmp_path):
    dependency = build_pyz.DEPENDENCIES[0]
    shutil.copy(REPO / "build" / "pyz-downloads" / dependency.file, tmp_path)
    with open(tmp_path / dependency.file, "ab") as f:
        f.write(b"tampered")
    with pytest.raises(RuntimeError, match="SHA-256"):
        build_pyz.download(dependency, tmp_path)


@pytest.mark.parametrize("version", sorted(PYTHONS))
def test_pyz_smokes(version, pyz, server, tmp_path):
    """doctor, patch-tmpwatch, install-boot-hook, rebuild-modules (for the
    host's newest kernel headers, for real) and build-esound --tarball --dry-run."""
    from sunray.demo import host_header_kernels, sandbox_kernels

    python = _need_python(PYTHONS[version])
    need("make", "gcc", "depmod", "modinfo")
    kernels = host_header_kernels()[-1:]
    if not kernels and IN_CI:
        pytest.fail("needs a linux-headers-* package (./bootstrap installs them)")
    sandbox_kernels(str(server), kernels)
    cwd = tmp_path / "cwd"
    cwd.mkdir()

    proc = run_pyz(python, pyz, "--help", cwd=cwd)
    assert proc.returncode == 0 and "doctor" in proc.stdout, proc.stderr

    proc = run_pyz(python, pyz, "doctor", "--root", server, cwd=cwd)
    assert proc.returncode == 1 and "module-sources" in proc.stdout, proc.stderr
    assert "Traceback" not in proc.stderr

    proc = run_pyz(python, pyz, "patch-tmpwatch", "--root", server, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    assert "-x /tmp/SUNWut" in (server / "etc/cron.daily/tmpwatch").read_text()

    proc = run_pyz(python, pyz, "install-boot-hook", "--root", server, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    assert (server / "etc/rc.d/init.d/sunray-boot").is_file()

    proc = run_pyz(python, pyz, "rebuild-modules", "--root", server, cwd=cwd)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for kernel in kernels:
        assert (server / f"lib/modules/{kernel}/extra/sunray/utio.ko").is_file()

    tarball = make_tarball(tmp_path, version="0.2.41", compression="gz")
    proc = run_pyz(python, pyz, "build-esound", "--tarball", tarball, "--dry-run", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    assert "spec from templates/esound.spec.j2 for esound 0.2.41" in proc.stdout


def test_pyz_says_which_python_it_needs(pyz, tmp_path):
    python = _need_python(Path("/root/.pyenv/versions/2.7.18/bin/python"))
    proc = subprocess.run([str(python), str(pyz), "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, cwd=str(tmp_path))  # 2.7 knows no -I
    assert proc.returncode == 1
    assert proc.stderr.startswith("sunray: needs Python 3.6 or later; this is 2.7.18")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A wheel of this checkout, pip-installed into a fresh venv outside it."""
    top = tmp_path_factory.mktemp("installed")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(top / "wheel"),
                           str(REPO)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = (top / "wheel").glob("sunray_toolkit-*.whl")
    venv.create(top / "venv", with_pip=True)
    python = top / "venv/bin/python"
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], capture_output=True,
                          text=True, cwd=str(top))
    assert proc.returncode == 0, proc.stderr
    return top / "venv/bin/sunray"


def test_installed_copy_builds_the_esound_spec(installed, tmp_path):
    tarball = make_tarball(tmp_path, version="0.2.41", compression="gz")
    proc = subprocess.run([str(installed), "build-esound", "--tarball", str(tarball), "--dry-run"],
                          capture_output=True, text=True, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "spec from templates/esound.spec.j2 for esound 0.2.41" in proc.stdout


def test_installed_copy_runs_the_demo(installed, tmp_path):
    need("make", "gcc")
    proc = subprocess.run([str(installed), "demo", "--path", str(tmp_path / "demo")],
                          capture_output=True, text=True, cwd=str(tmp_path), timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert os.readlink(tmp_path / "demo/etc/rc.d/rc5.d/S98utsvc") == "../init.d/utsvc"
    launcher = (tmp_path / "demo/usr/bin/sunray").read_text()
    assert str(installed) in launcher  # the sandbox runs the copy that built it
    proc = subprocess.run([str(installed), "doctor", "--root", str(tmp_path / "demo")],
                          capture_output=True, text=True, cwd=str(tmp_path))
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr
