"""The module index (modules.dep): never taken on trust. A run killed in
depmod, or a failed depmod, is finished by the next run (depmod again, no
rebuild); the doctor fails while modules.dep does not name the modules."""

import json
import os
import subprocess

import pytest
from conftest import run_sunray, tree_snapshot
from modules_support import ALL_KO, host_kernels, make_server, record

pytestmark = pytest.mark.system  # kbuild, depmod


def stub_depmod(tmp_path, body):
    """A directory holding a `depmod` that runs ``body`` (sh), for PATH."""
    bindir = tmp_path / "stub-bin"
    bindir.mkdir(exist_ok=True)
    (bindir / "depmod").write_text(f"#!/bin/sh\n{body}\n")
    (bindir / "depmod").chmod(0o755)
    return {"PATH": f"{bindir}:{os.environ['PATH']}"}


def run(top, *args, env=None):
    return run_sunray("rebuild-modules", "--root", top, "--format", "json", *args, env=env)


def doctor_row(top, kernel):
    proc = run_sunray("doctor", "--root", top, "--format", "json")
    [row] = [c for c in json.loads(proc.stdout)["checks"] if c["id"] == f"modules-{kernel}"]
    return row


def index_names_all(top, kernel):
    dep = top / "lib/modules" / kernel / "modules.dep"
    return dep.exists() and all(f"extra/sunray/{n}:" in dep.read_text() for n in ALL_KO)


def without_log_contents(snapshot):
    # logs hold times and the scratch directory's name: compared by name only
    return {k: (v if not k.startswith("var/log/sunray/") or v[0][0] != "file" else "log")
            for k, v in snapshot.items()}


def test_a_failed_depmod_is_run_again_by_the_next_run_and_the_doctor_fails_meanwhile(tmp_path):
    kernel = host_kernels()[-1]
    top = make_server(tmp_path / "root", [kernel])
    symbols = top / "lib/modules" / kernel / "modules.symbols"
    # depmod killed after it wrote modules.dep, before its other files: a
    # modules.dep that names our modules proves nothing then
    real = subprocess.run(["sh", "-c", "command -v depmod || echo /sbin/depmod"],
                          capture_output=True, text=True).stdout.strip()
    env = stub_depmod(tmp_path, f'{real} "$@"; rm -f {symbols}; kill -KILL $$')
    proc = run(top, env=env)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["failure"].startswith(f"depmod for {kernel} exited -9"), doc["failure"]
    assert index_names_all(top, kernel) and not symbols.exists()
    row = doctor_row(top, kernel)
    assert row["status"] == "fail" and "modules.dep" in row["detail"], row

    proc = run(top)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert {p["status"] for p in doc["pairs"]} == {"up to date"}  # no rebuild, only depmod
    assert doc["settled"] == [kernel] and doc["changed"] is True
    assert index_names_all(top, kernel) and symbols.exists()
    assert doctor_row(top, kernel)["status"] == "ok"
    # and now it is a no-op again
    assert json.loads(run(top).stdout)["changed"] is False


def test_a_run_killed_in_depmod_is_finished_by_the_next_and_removed_whole(tmp_path):
    kernel = host_kernels()[-1]
    pristine = make_server(tmp_path / "pristine", [kernel])
    clean = make_server(tmp_path / "clean", [kernel])
    assert run(clean).returncode == 0
    top = make_server(tmp_path / "root", [kernel])
    before = tree_snapshot(top)
    # depmod kills sunray (its parent): the crash between install and index
    proc = run(top, env=stub_depmod(tmp_path, "kill -KILL $PPID; sleep 5"))
    assert proc.returncode == -9, proc.stderr
    assert record(top, kernel)["pending"]["files"] == ALL_KO
    assert doctor_row(top, kernel)["status"] == "fail"

    proc = run(top)
    assert proc.returncode == 0, proc.stderr
    assert index_names_all(top, kernel)
    assert "pending" not in record(top, kernel)
    assert doctor_row(top, kernel)["status"] == "ok"

    def relative(snapshot):
        return without_log_contents(snapshot)

    assert relative(tree_snapshot(top)) == relative(tree_snapshot(clean))
    assert run_sunray("remove-modules", "--root", top, "--kernel", kernel).returncode == 0
    assert tree_snapshot(top) == before == tree_snapshot(pristine)
