"""What a killed run leaves (build scratch, staged and kept-aside .ko
files, half-written logs and records, a killed depmod's files) is removed by
the next rebuild-modules, even one with nothing to build, and by
remove-modules; only sunray's own names, never through a symlink, never
someone else's files."""

import os

import pytest
from conftest import run_sunray
from modules_support import host_kernels, make_server, rebuild

pytestmark = pytest.mark.system  # kbuild, depmod


def dead_pid():
    """A process id nobody has now."""
    pid = 4_000_000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid += 1


def plant_ours(top, kernel):
    """A killed run's leftovers, one of each kind."""
    kdir = top / "lib/modules" / kernel
    ours = [
        top / "var/tmp/sunray-kbuild-a1b2_c3d",
        kdir / "extra/sunray/.utio.ko.0badc0de.sunray-tmp",
        top / "var/log/sunray/modules" / kernel / ".utio.log.5a5a5a5a.sunray-tmp",
        top / "var/lib/sunray/modules" / f".{kernel}.json.x1y2z3w4.sunray-tmp",
        kdir / f"modules.dep.{dead_pid()}.667793.1796103761",
    ]
    (ours[0] / kernel / "utio").mkdir(parents=True)
    (ours[0] / kernel / "utio/utio.o").write_bytes(b"\x7fELF")
    for path in ours[1:]:
        path.write_bytes(b"half")
    return ours


def plant_not_ours(top, kernel, outside):
    """Look-alikes that are not a killed run's."""
    kdir = top / "lib/modules" / kernel
    not_ours = [
        top / "var/tmp/sunray-kbuild-keep",  # not the pattern
        top / "var/tmp/sunray-kbuild-zzzzzzzz",  # a symlink to a directory elsewhere
        top / "var/tmp/sunray-kbuild-u1000abc",  # someone else's
        kdir / "extra/sunray/.notes.sunray-tmp",
        kdir / f"modules.dep.{os.getpid()}.1.2",  # a depmod still running
    ]
    not_ours[0].mkdir()
    not_ours[1].symlink_to(outside)
    not_ours[2].mkdir()
    os.chown(not_ours[2], 1000, 1000)
    for path in not_ours[3:]:
        path.write_bytes(b"keep")
    return not_ours


def test_a_rerun_and_a_removal_remove_what_a_killed_run_left(tmp_path):
    kernel = host_kernels()[-1]
    top = make_server(tmp_path / "root", [kernel])
    assert rebuild(top).returncode == 0
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_text("keep")
    ours = plant_ours(top, kernel)
    not_ours = plant_not_ours(top, kernel, outside)

    proc = rebuild(top)
    assert proc.returncode == 0, proc.stderr
    assert "up to date" in proc.stdout and "removed what a killed run left" in proc.stdout
    assert [p for p in ours if os.path.lexists(p)] == []
    assert all(os.path.lexists(p) for p in not_ours)
    assert (outside / "victim").read_text() == "keep"
    assert "removed what" not in rebuild(top).stdout  # gone for good: a no-op again

    # killed after its last write: the run journal and the holder line are left
    state = top / "var/lib/sunray"
    clean_lock = (state / "sunray.lock").read_bytes()
    (state / "journal.json").write_text(
        '{"task": "rebuild-modules", "pid": 1, "targets": [], "dirs": []}\n')
    (state / "sunray.lock").write_text("pid 1: sunray rebuild-modules (since 01:02:03)\n")
    proc = rebuild(top)
    assert proc.returncode == 0 and "an interrupted run was found" in proc.stdout, proc.stdout
    assert not (state / "journal.json").exists()
    assert (state / "sunray.lock").read_bytes() == clean_lock == b""

    ours = plant_ours(top, kernel)
    proc = run_sunray("remove-modules", "--root", top, "--kernel", kernel)
    assert proc.returncode == 0, proc.stderr
    assert [p for p in ours if os.path.lexists(p)] == []
    assert all(os.path.lexists(p) for p in not_ours)
    assert (outside / "victim").read_text() == "keep"


def test_remove_modules_sweeps_a_state_directory_a_killed_rebuild_was_making(tmp_path):
    from conftest import tree_snapshot

    kernel = host_kernels()[-1]
    top = make_server(tmp_path / "root", [kernel])
    before = tree_snapshot(top)
    # A rebuild killed while making the state directory: its temporary chain.
    half = top / "var/lib/.sunray.k3j9x0qa.sunray-tmp"
    half.mkdir()
    (half / "created-dirs.json").write_text('{"dirs": ["/var/lib/sunray"]}\n')
    proc = run_sunray("remove-modules", "--root", top, "--kernel", kernel)
    assert proc.returncode == 0, proc.stderr
    assert tree_snapshot(top) == before


def test_the_compilers_temporary_files_go_to_the_build_scratch(tmp_path):
    """make stands in here (it records $TMPDIR and fails): the compilers it
    would start write their cc*.s where the sweep of a killed run looks."""
    kernel = host_kernels()[-1]
    top = make_server(tmp_path / "root", [kernel])
    shim, seen = tmp_path / "shim", tmp_path / "tmpdir"
    shim.mkdir()
    (shim / "make").write_text(f'#!/bin/sh\necho "$TMPDIR" > {seen}\nexit 2\n')
    os.chmod(shim / "make", 0o755)
    proc = run_sunray("rebuild-modules", "--root", top, "--kernel", kernel,
                      env={"PATH": f"{shim}:{os.environ['PATH']}"})
    assert proc.returncode == 1
    tmpdir = seen.read_text().strip()
    assert tmpdir.startswith(f"{top}/var/tmp/sunray-kbuild-") and tmpdir.endswith("/tmp")
    assert os.listdir(top / "var/tmp") == []  # the scratch, its tmp/ included, is gone
