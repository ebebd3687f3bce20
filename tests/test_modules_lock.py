"""The one lock of every writing task, as rebuild-modules and remove-modules
take it: <state_dir>/sunray.lock, the holder's line, reentrant, and a lock
file removed while a run waits on it."""

import fcntl
import os
import subprocess
import time

from conftest import PYTHON, REPO

from sunray.config import defaults
from sunray.modules.lock import BuildLock
from sunray.modules.settings import Job
from sunray.rootfs import Root


def test_the_lock_is_the_state_directorys_sunray_lock_and_names_its_holder(sandbox):
    settings = defaults()
    settings["state_dir"] = "/var/lib/other"
    job = Job.start(Root(sandbox), settings)
    with BuildLock(job):
        text = (sandbox / "var/lib/other/sunray.lock").read_text()
        assert text.startswith(f"pid {os.getpid()}: ") and "(since " in text
        with BuildLock(job) as inner:  # apply holds it around its steps: no deadlock
            assert not inner.outermost
        assert (sandbox / "var/lib/other/sunray.lock").read_text() == text
    assert (sandbox / "var/lib/other/sunray.lock").read_text() == ""
    assert not (sandbox / "var/lib/sunray").exists()


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
