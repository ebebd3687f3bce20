"""Runs at once on one tree: real `sunray` processes started together.

The state directory is made once, under a lock, with its record; writers
wait for the one lock and look again before acting, so every run succeeds
and a revert afterwards gives back the tree as it was.
"""

import fcntl
import os
import shutil
import subprocess
import time

import pytest
from conftest import FIXTURES, PROGRAM, PYTHON, REPO, need_root, tree_snapshot

ROUNDS = 3  # a race lost once in a few tries is still a bug


def _start(args, env=None):
    full = dict(os.environ)
    full.pop("SUNRAY_DEBUG", None)
    full.update(env or {})
    return subprocess.Popen([PYTHON, "-m", "sunray", *map(str, args)], cwd=REPO, env=full,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _all_at_once(runs, env=None):
    procs = [_start(args, env) for args in runs]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    return results


def _tree(top):
    """No /var/lib at all: every run finds the state directory missing."""
    for d in ("etc/cron.daily", "etc/init.d", "etc/rc3.d", "sbin", "var"):
        (top / d).mkdir(parents=True)
    (top / "tmp").mkdir()
    os.chmod(top / "tmp", 0o1777)
    (top / "tmp/.esd").write_text("stale\n")
    (top / "sbin/init").write_bytes(b"\x7fELF sysvinit stand-in")
    cron = top / "etc/cron.daily/tmpwatch"
    shutil.copyfile(FIXTURES / "tmpwatch/rhel6-days", cron)
    os.chmod(cron, 0o755)
    return top


HOOK_ENV = {"INVOKE_SUNRAY_PROGRAM": str(PROGRAM)}


@pytest.mark.parametrize(("task", "count", "revert"), [
    (["esd-dir"], 4, ["esd-dir", "--revert"]),
    (["patch-tmpwatch"], 4, ["patch-tmpwatch", "--revert"]),
    (["install-boot-hook", "--init", "sysv"], 2,
     ["install-boot-hook", "--init", "sysv", "--revert"]),
    (["install-kernel-hooks"], 2, ["install-kernel-hooks", "--revert"]),
], ids=["4x-esd-dir", "4x-patch-tmpwatch", "2x-install-boot-hook", "2x-install-kernel-hooks"])
def test_runs_at_once_all_succeed_and_one_revert_undoes_them(tmp_path, task, count, revert):
    need_root()
    for n in range(ROUNDS):
        top = _tree(tmp_path / f"root{n}")
        before = tree_snapshot(top)
        results = _all_at_once([[task[0], "--root", top, *task[1:]]] * count, HOOK_ENV)
        assert [code for code, _ in results] == [0] * count, results
        state = top / "var/lib/sunray"
        assert (state / "created-dirs.json").is_file(), sorted(os.listdir(state))
        assert not [p for p in top.rglob("*") if p.name.endswith(".sunray-tmp")]
        if task == ["esd-dir"]:
            st = (top / "tmp/.esd").lstat()
            assert (st.st_uid, oct(st.st_mode & 0o7777)) == (0, "0o1777")
        proc = _start([revert[0], "--root", top, *revert[1:]], HOOK_ENV)
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        assert tree_snapshot(top) == before  # state directory, /var/lib and all gone


def test_esd_dir_beside_patch_tmpwatch_both_succeed(tmp_path):
    need_root()
    for n in range(ROUNDS):
        top = _tree(tmp_path / f"root{n}")
        results = _all_at_once([["esd-dir", "--root", top],
                                ["patch-tmpwatch", "--root", top],
                                ["esd-dir", "--root", top]])
        assert [code for code, _ in results] == [0, 0, 0], results
        assert (top / "var/lib/sunray/created-dirs.json").is_file()


def test_a_run_waits_for_one_making_the_state_directory_and_never_sweeps_its_tree(tmp_path):
    """The lock on the directory the state directory is made in, held here
    while a stand-in tree of another run is "in progress": the real run
    waits (it would sweep the tree otherwise), then makes its own."""
    need_root()
    top = _tree(tmp_path / "root")
    (top / "var/lib").mkdir()
    busy = top / "var/lib/.sunray.abcd1234.sunray-tmp"
    busy.mkdir()
    fd = os.open(str(top / "var/lib"), os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        proc = _start(["patch-tmpwatch", "--root", top])
        time.sleep(2)
        assert proc.poll() is None, proc.communicate()
        assert busy.is_dir() and not (top / "var/lib/sunray").exists()
        busy.rmdir()  # the other run is done (it failed, say): nothing left
    finally:
        os.close(fd)  # drops the lock
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert (top / "var/lib/sunray/created-dirs.json").is_file()
    assert sorted(os.listdir(top / "var/lib")) == ["sunray"]
