"""remove-modules: the kernel is required and checked; a kernel sunray never
built for is nothing to change; after rebuild-modules it gives the tree back
byte for byte (modules, directories, the module index as it was, record,
logs, lock, state and log directories). (The removal hooks: the kernel hook
tests.)"""

import fcntl
import os
import subprocess
import time

import pytest
from conftest import PYTHON, REPO, assert_clean_error, run_sunray, tree_snapshot
from modules_support import host_kernels, make_server, rebuild


def test_remove_modules_needs_a_valid_kernel(sandbox):
    assert_clean_error(run_sunray("remove-modules", "--root", sandbox), 2, "--kernel K is required")
    assert_clean_error(run_sunray("remove-modules", "--root", sandbox, "--kernel", "x;y"),
                       2, "refused")
    before = tree_snapshot(sandbox)
    proc = run_sunray("remove-modules", "--root", sandbox, "--kernel", "6.1.0-1-amd64")
    assert proc.returncode == 0 and "nothing to change" in proc.stdout
    assert tree_snapshot(sandbox) == before  # not even the lock


def remove_all(top, kernels):
    for kernel in kernels:
        proc = run_sunray("remove-modules", "--root", top, "--kernel", kernel)
        assert proc.returncode == 0, proc.stderr


@pytest.mark.system
def test_rebuild_then_remove_gives_the_tree_back_byte_for_byte(tmp_path):
    kernels = host_kernels()
    top = make_server(tmp_path / "root", kernels)
    before = tree_snapshot(top)
    assert rebuild(top).returncode == 0
    remove_all(top, kernels)
    assert tree_snapshot(top) == before


@pytest.mark.system
def test_what_was_there_before_stays_and_the_index_is_made_again(tmp_path):
    import subprocess

    kernel = host_kernels()[-1]
    top = make_server(tmp_path / "root", [kernel])
    kdir = top / "lib/modules" / kernel
    # the server had an index and another vendor's module in extra/, and
    # sunray state of another concern
    (kdir / "extra").mkdir()
    (kdir / "extra/vendor.ko").write_bytes(b"not a real module")
    subprocess.run(["depmod", "-b", str(top), kernel], check=True, capture_output=True)
    (top / "var/lib/sunray").mkdir()
    (top / "var/lib/sunray/kernel-hook.last").write_text("kernel=x\n")
    before = tree_snapshot(top)
    assert rebuild(top).returncode == 0
    assert "extra/sunray/utio.ko:" in (kdir / "modules.dep").read_text()
    remove_all(top, [kernel])
    after = tree_snapshot(top)
    # the lock is bookkeeping of the state directory: it goes with it, and
    # that is still in use (kernel-hook.last)
    assert after.pop("var/lib/sunray/sunray.lock")[0][0] == "file"
    assert after == before


def test_a_run_waiting_on_a_removed_lock_file_locks_the_new_one(sandbox):
    state = sandbox / "var/lib/sunray"
    (state / "modules").mkdir(parents=True)
    leftover = state / "modules" / ".6.1.0-9-amd64.json.a1b2c3d4.sunray-tmp"
    leftover.write_text("{}")  # something for remove-modules to do under the lock
    lock = state / "sunray.lock"
    first = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(first, fcntl.LOCK_EX)
    os.write(first, b"pid 1: first holder\n")
    proc = subprocess.Popen([PYTHON, "-m", "sunray", "remove-modules", "--root", str(sandbox),
                             "--kernel", "6.1.0-9-amd64"], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    second = None
    try:
        line = proc.stderr.readline()
        assert "waiting for /var/lib/sunray/sunray.lock (held by pid 1: first holder)" in line
        # A revert removes the file while the run waits; another run makes a
        # new one and holds it: the waiting run must wait for that one.
        os.unlink(lock)
        second = os.open(lock, os.O_RDWR | os.O_CREAT)
        fcntl.flock(second, fcntl.LOCK_EX)
        os.close(first)
        time.sleep(1)
        assert proc.poll() is None, proc.communicate()
        assert leftover.exists()
    finally:
        if second is not None:
            os.close(second)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert not leftover.exists()


def test_an_immutable_module_stops_the_removal_before_anything_goes(sandbox):
    import json
    import shutil

    kernel = "6.1.0-9-amd64"
    dest = sandbox / "lib/modules" / kernel / "extra/sunray"
    dest.mkdir(parents=True)
    for name in ("utadem.ko", "utio.ko"):
        (dest / name).write_bytes(b"module " + name.encode())
    (sandbox / "var/lib/sunray/modules").mkdir(parents=True)
    (sandbox / "var/lib/sunray/modules" / f"{kernel}.json").write_text(json.dumps({
        "kernel": kernel, "dest": "extra/sunray", "index_ours": True,
        "dirs": [f"/lib/modules/{kernel}/extra", f"/lib/modules/{kernel}/extra/sunray"],
        "modules": {"utadem": {"input": "x", "files": {"utadem.ko": "x"}},
                    "utio": {"input": "y", "files": {"utio.ko": "y"}}}}))
    before = tree_snapshot(sandbox)
    if shutil.which("chattr") is None or subprocess.run(
            ["chattr", "+i", str(dest / "utio.ko")], capture_output=True).returncode != 0:
        pytest.skip("needs chattr and a file system with the immutable flag")
    try:
        proc = run_sunray("remove-modules", "--root", sandbox, "--kernel", kernel)
        assert_clean_error(proc, 1, f"cannot remove the modules: /lib/modules/{kernel}/extra/"
                           "sunray/utio.ko is not writable", "nothing was changed")
        assert tree_snapshot(sandbox) == before
    finally:
        subprocess.run(["chattr", "-i", str(dest / "utio.ko")], check=True)
    proc = run_sunray("remove-modules", "--root", sandbox, "--kernel", kernel)
    assert proc.returncode == 0, proc.stderr
    assert not (sandbox / "lib/modules" / kernel / "extra").exists()
    assert not (sandbox / "var/lib/sunray/modules").exists()
