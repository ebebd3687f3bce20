"""The demo's sandbox tree ships as package data: its MANIFEST lists every
file of sunray/demo_fixtures (zip archives and wheels keep neither modes nor
symbolic links, and a zip cannot be listed on Python 3.6)."""

import os
import shlex
import stat
import subprocess

import pytest
from conftest import PROGRAM, REPO, need

from sunray import demo

FIXTURES = REPO / "sunray" / "demo_fixtures"


def test_manifest_lists_every_fixture_file_with_its_mode():
    on_disk = {}
    for path in FIXTURES.rglob("*"):
        if path.is_file() and path.parent != FIXTURES:  # README, MANIFEST: not in the tree
            on_disk[f"{demo.FIXTURES}/{path.relative_to(FIXTURES)}"] = stat.S_IMODE(path.stat().st_mode)
    listed = {e.source: e.mode for e in demo.manifest() if e.source}
    assert listed == on_disk


def test_manifest_links_point_inside_the_tree():
    entries = demo.manifest()
    files = {e.path for e in entries if e.source}
    links = [e for e in entries if e.target]
    assert len(links) == 4
    for link in links:
        assert os.path.normpath(os.path.join(os.path.dirname(link.path), link.target)) in files


def test_build_lays_out_modes_and_links(tmp_path):
    root, _ = demo.build(tmp_path / "server")
    top = root.top
    assert os.readlink(top / "etc/rc.d/rc5.d/S98utsvc") == "../init.d/utsvc"
    assert os.access(top / "etc/cron.daily/tmpwatch", os.X_OK)
    assert (top / "usr/src/SUNWut/utio/utio.c").is_file()
    assert (top / "tmp/.esd").is_file() and not (top / "README").exists()
    assert stat.S_IMODE((top / "tmp").stat().st_mode) == 0o1777


@pytest.mark.system
def test_the_next_steps_the_demo_prints_are_commands_that_work(tmp_path):
    """``./bootstrap demo`` runs .venv/bin/sunray demo, with .venv/bin not on
    PATH: the next steps said "sunray doctor --root ...", which the shell
    could not find. Run as bootstrap runs it (the program by its path, a PATH
    without it), then each printed command as the admin would paste it."""
    need("make", "gcc")
    plain = {**os.environ, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    plain.pop("SUNRAY_DEBUG", None)
    demo_dir = tmp_path / "demo"  # (kbuild cannot build in a directory with a blank in its path)
    proc = subprocess.run([str(PROGRAM), "demo", "--path", str(demo_dir)], capture_output=True, text=True,
                          env=plain, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    steps = dict(line.split(": ", 1) for line in proc.stdout.splitlines()
                 if line.startswith(("look around, then: ", "again (changes nothing): ")))
    assert set(steps) == {"look around, then", "again (changes nothing)"}, proc.stdout
    assert shlex.split(steps["look around, then"])[-3:] == ["doctor", "--root", str(demo_dir)]
    doctor = subprocess.run(["sh", "-c", steps["look around, then"]], capture_output=True, text=True,
                            env=plain, cwd=tmp_path, timeout=300)
    assert doctor.returncode == 0 and "0 fail" in doctor.stdout, doctor.stdout + doctor.stderr
    again = subprocess.run(["sh", "-c", steps["again (changes nothing)"]], capture_output=True, text=True,
                           env=plain, cwd=tmp_path, timeout=600)
    assert again.returncode == 0 and "0 changed something" in again.stdout, again.stdout + again.stderr

    # With the program on PATH, the short name is what PATH finds.
    on_path = {**plain, "PATH": f"{PROGRAM.parent}:/usr/bin:/bin"}
    proc = subprocess.run(["sunray", "demo", "--path", str(demo_dir)], capture_output=True, text=True,
                          env=on_path, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert f"look around, then: sunray doctor --root {demo_dir}\n" in proc.stdout
