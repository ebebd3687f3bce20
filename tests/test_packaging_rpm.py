"""The toolkit as an RPM: built with the real rpmbuild, read back with
rpmfile, checked with rpmlint, and its /usr/bin/sunray run from the payload."""

import subprocess
import sys
import tarfile

import pytest
from conftest import REPO, need

sys.path.insert(0, str(REPO / "packaging"))
import build_rpm  # noqa: E402

import sunray  # noqa: E402

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
        assert prefix + "sunray/doctor.py" in names
        assert not any("/.venv/" in n or "__pycache__" in n for n in names)
        ours = tar.extractfile(prefix + "sunray/fleet.py").read()
    assert ours == (REPO / "sunray/fleet.py").read_bytes()


def test_rpm_header_files_and_triggers(rpm):
    import rpmfile

    with rpmfile.open(rpm) as r:
        h = r.headers
        assert h["name"] == b"sunray-toolkit" and h["arch"] == b"noarch"
        assert h["version"].decode() == sunray.__version__
        names = {m.name.lstrip("./") for m in r.getmembers()}
        launcher = r.extractfile("./usr/bin/sunray").read().decode()
    lib = "usr/share/sunray-toolkit/sunray/"
    for name in ("usr/bin/sunray", lib + "cli/program.py", lib + "doctor.py", lib + "fleet.py",
                 lib + "cli/tasks.py", lib + "templates/tmpfiles-sunray.conf.j2"):
        assert name in names, name
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert launcher.startswith("#!/usr/bin/python3\n")
    assert 'sys.path.insert(0, "/usr/share/sunray-toolkit")' in launcher

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


def test_installed_payload_runs(rpm, tmp_path):
    """Unpack the payload as rpm would and run its /usr/bin/sunray (with our
    Python, whose site-packages has the dependencies)."""
    import rpmfile

    with rpmfile.open(rpm) as r:
        for member in r.getmembers():
            data = r.extractfile(member).read()
            target = tmp_path / member.name.lstrip("./")
            if member.isdir:
                target.mkdir(parents=True, exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
    lib = str(tmp_path / "usr/share/sunray-toolkit")
    proc = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {lib!r}); "
                           "import sunray.fleet; print(sunray.fleet.__file__)"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.stdout.startswith(lib), proc  # the payload's copy, not the checkout's
    launcher = tmp_path / "usr/bin/sunray"
    text = launcher.read_text().replace("/usr/share/sunray-toolkit",
                                        str(tmp_path / "usr/share/sunray-toolkit"))
    launcher.write_text(text)
    proc = subprocess.run([sys.executable, "-I", str(launcher), "--list"], capture_output=True,
                          text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "doctor" in proc.stdout and "fleet" in proc.stdout
    root = tmp_path / "srv"
    root.mkdir()
    proc = subprocess.run([sys.executable, "-I", str(launcher), "doctor", "--root", str(root)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 1 and "module-sources" in proc.stdout, proc.stderr


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
