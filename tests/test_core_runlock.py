"""The one lock of every writing task (sunray/core/runlock.py)."""

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO, assert_clean_error, run_sunray, tree_snapshot

from sunray.core.rootfs import Root
from sunray.core.runlock import RunLock

HOLD = """
import sys, time
sys.path.insert(0, {repo!r})
from sunray.core.rootfs import Root
from sunray.core.runlock import RunLock
with RunLock(Root({root!r}), {{}}):
    print("held", flush=True)
    sys.stdin.read()
"""


def _holder(sandbox):
    """A process holding the lock of ``sandbox`` until its stdin closes."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD.format(repo=str(REPO), root=str(sandbox))],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "held\n"
    return proc


@pytest.mark.parametrize("task", [
    ["install-boot-hook", "--init", "sysv"], ["install-kernel-hooks"], ["esd-dir"],
    ["patch-tmpwatch", "--cleaner", "tmpfiles"],
])
def test_every_writing_task_waits_for_the_lock_and_names_its_holder(task, sandbox, tmp_path):
    # issue 11, case 8: install-boot-hook and install-kernel-hooks took no lock.
    (sandbox / "etc/init.d").mkdir()
    holder = _holder(sandbox)
    try:
        before = tree_snapshot(sandbox)
        settings_file = tmp_path / "s.yaml"
        settings_file.write_text("sunray:\n  modules:\n    lock_timeout: 0.5\n")
        proc = run_sunray("-f", settings_file, task[0], "--root", sandbox, *task[1:])
        assert_clean_error(proc, 1, "/var/lib/sunray/sunray.lock is held by pid "
                           f"{holder.pid}", "gave up after 0.5 s")
        assert tree_snapshot(sandbox) == before
    finally:
        holder.communicate("")


def test_the_lock_is_reentrant_in_a_process_and_holds_the_holder_line(sandbox):
    root = Root(sandbox)
    with RunLock(root, {}) as outer:
        with RunLock(root, {}) as inner:
            assert not inner.outermost
        assert outer.outermost
        line = outer.path.read_text()
        assert line.startswith(f"pid {os.getpid()}: ") and "(since " in line
    assert (sandbox / "var/lib/sunray/sunray.lock").read_text() == ""
    # The state directory records that sunray made it.
    record = json.loads((sandbox / "var/lib/sunray/created-dirs.json").read_text())
    assert record == {"dirs": ["/var/lib/sunray"]}


def test_a_lock_file_replaced_while_waiting_is_not_trusted(sandbox):
    # A revert removes the lock file while holding it; a run that was waiting
    # on the old file must see that its lock is no longer the one at the path.
    root = Root(sandbox)
    with RunLock(root, {}) as lock:
        fd = os.open(lock.path, os.O_RDONLY)
        try:
            assert lock._still_there(fd)
            os.unlink(lock.path)
            assert not lock._still_there(fd)
            lock.path.write_text("")
            assert not lock._still_there(fd)
        finally:
            os.close(fd)


def test_bad_input_takes_no_lock_and_leaves_nothing(sandbox):
    # The lock (and the state directory) come after the input is checked.
    before = tree_snapshot(sandbox)
    proc = run_sunray("install-boot-hook", "--root", sandbox, "--init", "bogus")
    assert_clean_error(proc, 2, "--init")
    proc = run_sunray("install-kernel-hooks", "--root", sandbox, "--dry-run")
    assert proc.returncode == 0
    assert tree_snapshot(sandbox) == before
