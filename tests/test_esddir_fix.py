"""esd-dir: /tmp/.esd made root:root 1777 without ever following anything.

These run the real program as root against sandbox trees and plant what an
attacker could have put at /tmp/.esd; the victims live outside the sandbox.
"""

import json
import os
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import PYTHON, assert_clean_error, need, need_root, run_sunray, tree_snapshot

from sunray.core.errors import UsageError
from sunray.core.rootfs import Root
from sunray.esddir import fix as esd_fix

CONFIG = {"esd": {"dir": "/tmp/.esd"}}


def fingerprint(path):
    """Mode, owner, inode and (for a file) content of a path, not following it."""
    st = os.lstat(path)
    content = Path(path).read_bytes() if stat.S_ISREG(st.st_mode) else None
    return (st.st_mode, st.st_uid, st.st_gid, st.st_ino, st.st_mtime_ns, content)


def assert_esd_ok(sandbox):
    esd = sandbox / "tmp/.esd"
    st = os.lstat(esd)
    assert stat.S_ISDIR(st.st_mode), "not a real directory"
    assert stat.S_IMODE(st.st_mode) == 0o1777
    assert (st.st_uid, st.st_gid) == (0, 0)
    return st


@pytest.fixture
def victims(tmp_path):
    """A directory and a file outside the sandbox, owned by uid 1000."""
    need_root()
    victim_dir = tmp_path / "victim-dir"
    victim_dir.mkdir(mode=0o750)
    (victim_dir / "secret").write_text("keep me\n")
    victim_file = tmp_path / "victim-file"
    victim_file.write_text("precious\n")
    for p in (victim_dir, victim_dir / "secret", victim_file):
        os.chown(p, 1000, 1000)
    os.chmod(victim_file, 0o600)
    return victim_dir, victim_file


def test_missing_directory_is_created(sandbox):
    need_root()
    proc = run_sunray("esd-dir", "--root", sandbox)
    assert proc.returncode == 0, proc.stderr
    assert "created" in proc.stdout
    assert_esd_ok(sandbox)


@pytest.mark.parametrize("which", ["dir", "file"])
def test_symlink_is_replaced_and_its_target_untouched(sandbox, victims, which):
    victim = victims[0] if which == "dir" else victims[1]
    before = fingerprint(victim)
    inner = fingerprint(victim / "secret") if which == "dir" else None
    (sandbox / "tmp/.esd").symlink_to(victim)

    proc = run_sunray("esd-dir", "--root", sandbox, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["esd_dir"]["found"]["state"] == "symlink"
    assert report["esd_dir"]["found"]["target"] == str(victim)
    assert any("removed the symlink" in d for d in report["esd_dir"]["done"])
    assert_esd_ok(sandbox)
    assert fingerprint(victim) == before
    if inner:
        assert fingerprint(victim / "secret") == inner


def test_regular_file_is_moved_aside_and_kept(sandbox):
    need_root()
    planted = sandbox / "tmp/.esd"
    planted.write_text("not a directory\n")
    os.chown(planted, 1000, 1000)

    proc = run_sunray("esd-dir", "--root", sandbox)
    assert proc.returncode == 0, proc.stderr
    assert "found a regular file" in proc.stdout
    assert_esd_ok(sandbox)
    aside = [p for p in (sandbox / "tmp").iterdir() if p.name.startswith(".esd.sunray-moved-")]
    assert len(aside) == 1, list((sandbox / "tmp").iterdir())
    assert aside[0].read_text() == "not a directory\n"
    assert aside[0].stat().st_uid == 1000
    assert aside[0].name in proc.stdout


def test_foreign_directory_is_moved_aside_and_replaced(sandbox, victims):
    """Someone else's /tmp/.esd, with entries planted in it (links to their
    victims, a directory): kept aside as it is, root gets a fresh, empty one."""
    esd = sandbox / "tmp/.esd"
    esd.mkdir(mode=0o700)
    (esd / "5").mkdir()
    (esd / "socket").symlink_to(victims[1])
    (esd / "dir").symlink_to(victims[0])
    for p in (esd / "5", esd):
        os.chown(p, 1000, 1000)
    inode = esd.stat().st_ino
    before = [fingerprint(victims[0]), fingerprint(victims[0] / "secret"), fingerprint(victims[1])]

    proc = run_sunray("esd-dir", "--root", sandbox)
    assert proc.returncode == 0, proc.stderr
    assert "owned by 1000:1000 0700" in proc.stdout
    assert "moved it aside to .esd.sunray-moved-" in proc.stdout
    assert "was a directory of uid 1000" in proc.stderr
    st = assert_esd_ok(sandbox)
    assert st.st_ino != inode  # replaced, not adopted
    assert os.listdir(esd) == []
    (aside,) = [p for p in (sandbox / "tmp").iterdir() if p.name.startswith(".esd.sunray-moved-")]
    ast = os.lstat(aside)
    assert (ast.st_ino, ast.st_uid, stat.S_IMODE(ast.st_mode)) == (inode, 1000, 0o700)
    assert sorted(os.listdir(aside)) == ["5", "dir", "socket"]
    assert os.readlink(aside / "socket") == str(victims[1])
    assert [fingerprint(victims[0]), fingerprint(victims[0] / "secret"),
            fingerprint(victims[1])] == before
    again = run_sunray("esd-dir", "--root", sandbox)
    assert again.returncode == 0 and "unchanged" in again.stdout


def test_root_directory_with_wrong_group_is_repaired_in_place(sandbox):
    need_root()
    esd = sandbox / "tmp/.esd"
    esd.mkdir()
    (esd / "5").mkdir()
    os.chown(esd, 0, 1000)
    os.chmod(esd, 0o1777)
    inode = esd.stat().st_ino
    proc = run_sunray("esd-dir", "--root", sandbox, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["esd_dir"]["found"]["state"] == "wrong-mode"
    assert assert_esd_ok(sandbox).st_ino == inode
    assert (esd / "5").is_dir()


def test_wrong_mode_directory_is_repaired(sandbox):
    need_root()
    esd = sandbox / "tmp/.esd"
    esd.mkdir()
    os.chmod(esd, 0o777)  # no sticky bit: users could delete each other's sockets
    inode = esd.stat().st_ino
    proc = run_sunray("esd-dir", "--root", sandbox, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["esd_dir"]["found"]["state"] == "wrong-mode"
    assert assert_esd_ok(sandbox).st_ino == inode  # root's own: repaired in place


def test_correct_directory_is_left_alone(sandbox):
    need_root()
    esd = sandbox / "tmp/.esd"
    esd.mkdir()
    os.chmod(esd, 0o1777)
    before = tree_snapshot(sandbox)
    ctime = esd.stat().st_ctime_ns

    proc = run_sunray("esd-dir", "--root", sandbox, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["changed"] is False
    assert report["changes"][0]["action"] == "unchanged"
    assert tree_snapshot(sandbox) == before
    assert esd.stat().st_ctime_ns == ctime  # not even a chmod

    text = run_sunray("esd-dir", "--root", sandbox)
    assert "unchanged" in text.stdout


def test_symlink_in_the_path_is_refused(sandbox, tmp_path):
    need_root()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.chmod(elsewhere, 0o1777)
    (sandbox / "tmp").rmdir()
    (sandbox / "tmp").symlink_to(elsewhere)
    before_sandbox, before_elsewhere = tree_snapshot(sandbox), tree_snapshot(elsewhere)

    proc = run_sunray("esd-dir", "--root", sandbox)
    assert_clean_error(proc, 2, "/tmp is a symlink", "nothing was changed")
    assert tree_snapshot(elsewhere) == before_elsewhere
    assert tree_snapshot(sandbox) == before_sandbox
    assert esd_fix.inspect(Root(sandbox), CONFIG)["state"] == "unsafe-parent"


def test_dry_run_says_what_it_would_do_and_does_nothing(sandbox, victims):
    (sandbox / "tmp/.esd").symlink_to(victims[0])
    before = tree_snapshot(sandbox)
    proc = run_sunray("esd-dir", "--root", sandbox, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "found a symlink to" in proc.stdout
    assert "would be created" in proc.stdout
    assert tree_snapshot(sandbox) == before


def test_inspect_names_every_state(sandbox, victims):
    root = Root(sandbox)
    esd = sandbox / "tmp/.esd"
    assert esd_fix.inspect(root, CONFIG)["state"] == "missing"
    esd.symlink_to(victims[0])
    found = esd_fix.inspect(root, CONFIG)
    assert (found["state"], found["target"]) == ("symlink", str(victims[0]))
    esd.unlink()
    esd.write_text("x")
    assert esd_fix.inspect(root, CONFIG)["state"] == "not-a-directory"
    esd.unlink()
    esd.mkdir()
    os.chown(esd, 1000, 0)
    assert esd_fix.inspect(root, CONFIG)["state"] == "wrong-owner"
    os.chown(esd, 0, 0)
    os.chmod(esd, 0o755)
    assert esd_fix.inspect(root, CONFIG)["state"] == "wrong-mode"
    os.chmod(esd, 0o1777)
    assert esd_fix.inspect(root, CONFIG) == {
        "path": "/tmp/.esd", "state": "ok", "details": "root:root 1777",
        "uid": 0, "gid": 0, "mode": "1777",
    }


@pytest.mark.system
def test_non_root_caller_gets_a_clear_error_and_nothing_changes():
    need_root()
    need("setpriv")
    # A sandbox uid 1000 can reach (pytest's tmp_path is private to root).
    top = Path(tempfile.mkdtemp(prefix="sunray-esd-"))
    try:
        os.chmod(top, 0o755)
        (top / "tmp").mkdir()
        os.chmod(top / "tmp", 0o1777)
        env = {k: v for k, v in os.environ.items() if k != "SUNRAY_DEBUG"}
        env["HOME"] = "/nonexistent"
        proc = subprocess.run(
            ["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups",
             PYTHON, "-m", "sunray", "esd-dir", "--root", str(top)],
            capture_output=True, text=True, env=env, cwd=Path(__file__).parent.parent,
        )
        assert_clean_error(proc, 1, "only root")
        assert not os.path.lexists(top / "tmp/.esd")
    finally:
        import shutil

        shutil.rmtree(top)


def test_bad_input(sandbox, tmp_path):
    assert_clean_error(run_sunray("esd-dir", "--root", tmp_path / "nope"), 2, "does not exist")
    proc = run_sunray("esd-dir", "--root", sandbox, env={"INVOKE_SUNRAY_ESD_DIR": "/tmp/../etc"})
    assert_clean_error(proc, 2, "sunray.esd.dir")
    (sandbox / "tmp").rmdir()
    assert_clean_error(run_sunray("esd-dir", "--root", sandbox), 2, "/tmp does not exist")


@pytest.mark.parametrize("bad", ["/etc", "/", "/tmp", "/var/tmp", "/tmp/", "/tmp/a/b",
                                 "/tmp/..", "/tmp/.", "/home/x/.esd", "/var/tmp/../etc",
                                 "tmp/.esd", "/tmp/.esd\n", "/tmp/a b", ["/tmp/.esd"]])
def test_esd_dir_must_be_a_plain_name_in_tmp(bad):
    with pytest.raises(UsageError, match="sunray.esd.dir"):
        esd_fix.esd_path({"esd": {"dir": bad}})


@pytest.mark.parametrize("good", ["/tmp/.esd", "/var/tmp/.esd", "/tmp/esd-0.2"])
def test_esd_dir_plain_names_in_tmp_are_accepted(good):
    assert esd_fix.esd_path({"esd": {"dir": good}}) == good


def test_esd_dir_etc_is_refused_and_etc_untouched(sandbox):
    need_root()
    (sandbox / "etc").mkdir(exist_ok=True)
    os.chmod(sandbox / "etc", 0o755)
    before = tree_snapshot(sandbox)
    proc = run_sunray("esd-dir", "--root", sandbox, env={"INVOKE_SUNRAY_ESD_DIR": "/etc"})
    assert_clean_error(proc, 2, "sunray.esd.dir", "'/etc'", "/tmp or /var/tmp")
    assert tree_snapshot(sandbox) == before
    assert stat.S_IMODE(os.stat(sandbox / "etc").st_mode) == 0o755


# --- issue 11: a full disk, a kill, and --revert ------------------------------


def _stale_file(sandbox):
    esd = sandbox / "tmp/.esd"
    esd.write_text("stale\n")
    os.chown(esd, 1000, 1000)
    return esd


def test_a_full_disk_changes_nothing(sandbox, monkeypatch):
    # issue 11, case 14: the old /tmp/.esd was moved aside, then the new one
    # could not be made, and the message did not say where the old one went.
    need_root()
    esd = _stale_file(sandbox)
    before = tree_snapshot(sandbox)
    real_mkdir = os.mkdir

    def full(path, *args, **kwargs):
        if ".esd" in str(path):
            raise OSError(28, "No space left on device")
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", full)
    with pytest.raises(esd_fix.JobFailed, match="cannot create /tmp/.esd: No space left on "
                       "device; nothing was changed"):
        esd_fix.ensure(Root(sandbox), CONFIG)
    monkeypatch.undo()
    assert esd.read_text() == "stale\n"
    outside_state = {k: v for k, v in tree_snapshot(sandbox).items()
                     if not k.startswith("var/lib/sunray")}
    assert outside_state == before


def test_a_failed_swap_changes_nothing_and_says_so(sandbox, monkeypatch):
    need_root()
    esd = _stale_file(sandbox)
    before = tree_snapshot(sandbox)

    def failing(*args):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(esd_fix, "exchange", failing)
    with pytest.raises(esd_fix.JobFailed, match="cannot put the new /tmp/.esd in place: "
                       "Input/output error; nothing was changed"):
        esd_fix.ensure(Root(sandbox), CONFIG)
    monkeypatch.undo()
    assert esd.read_text() == "stale\n"
    assert {k: v for k, v in tree_snapshot(sandbox).items()
            if not k.startswith("var/lib/sunray")} == before


@pytest.mark.parametrize("what", ["file", "symlink"])
def test_without_an_atomic_swap_the_old_thing_still_goes_aside(what, sandbox, monkeypatch,
                                                               tmp_path):
    need_root()
    if what == "file":
        _stale_file(sandbox)
    else:
        (sandbox / "tmp/.esd").symlink_to(tmp_path)
    monkeypatch.setattr(esd_fix, "exchange", lambda *args: False)  # an old kernel or libc
    esd_fix.ensure(Root(sandbox), CONFIG)
    monkeypatch.undo()
    assert_esd_ok(sandbox)
    aside = [p for p in (sandbox / "tmp").iterdir() if p.name != ".esd"]
    if what == "file":
        assert len(aside) == 1 and aside[0].name.startswith(".esd.sunray-moved-")
        assert aside[0].read_text() == "stale\n"
    else:
        assert aside == []


@pytest.mark.parametrize("what", ["missing", "file", "symlink", "foreign-dir", "wrong-mode"])
def test_revert_gives_back_what_the_first_run_found(what, sandbox, tmp_path):
    need_root()
    esd = sandbox / "tmp/.esd"
    if what == "file":
        _stale_file(sandbox)
    elif what == "symlink":
        esd.symlink_to(tmp_path / "victim")
    elif what == "foreign-dir":
        esd.mkdir()
        (esd / "socket").write_text("")
        os.chown(esd, 1000, 1000)
    elif what == "wrong-mode":
        esd.mkdir(mode=0o755)
        os.chmod(esd, 0o755)
    before = tree_snapshot(sandbox)
    assert run_sunray("esd-dir", "--root", sandbox).returncode == 0
    assert_esd_ok(sandbox)
    again = run_sunray("esd-dir", "--root", sandbox)  # the first run's record stays
    assert again.returncode == 0
    planned = run_sunray("esd-dir", "--root", sandbox, "--revert", "--dry-run")
    assert planned.returncode == 0 and "would be restored" in planned.stdout
    proc = run_sunray("esd-dir", "--root", sandbox, "--revert")
    assert proc.returncode == 0, proc.stderr
    assert tree_snapshot(sandbox) == before  # and no state directory left
    proc = run_sunray("esd-dir", "--root", sandbox, "--revert")
    assert proc.returncode == 0 and "nothing to revert" in proc.stdout


def test_revert_refuses_a_directory_in_use(sandbox):
    need_root()
    assert run_sunray("esd-dir", "--root", sandbox).returncode == 0
    (sandbox / "tmp/.esd/socket").write_text("")
    before = tree_snapshot(sandbox)
    proc = run_sunray("esd-dir", "--root", sandbox, "--revert")
    assert_clean_error(proc, 1, "/tmp/.esd is not empty", "nothing was reverted")
    assert tree_snapshot(sandbox) == before


@pytest.mark.parametrize("what", ["file", "symlink"])
@pytest.mark.parametrize("where", ["exchange", "put_old_aside"])
def test_a_killed_run_is_finished_by_a_rerun_and_reverted(what, where, sandbox, monkeypatch,
                                                          tmp_path):
    # Killed after making the new directory, before the swap (exchange), or
    # after the swap, before the old thing went aside (put_old_aside).
    need_root()
    if what == "file":
        _stale_file(sandbox)
    else:
        (sandbox / "tmp/.esd").symlink_to(tmp_path)
    before = tree_snapshot(sandbox)

    class Killed(BaseException):
        pass

    def killed(*args, **kwargs):
        raise Killed()

    for then in ("rerun", "revert"):
        monkeypatch.setattr(esd_fix, where, killed)
        with pytest.raises(Killed):
            esd_fix.ensure(Root(sandbox), CONFIG)
        monkeypatch.undo()
        if then == "rerun":
            assert run_sunray("esd-dir", "--root", sandbox).returncode == 0
            assert_esd_ok(sandbox)
            names = sorted(p.name for p in (sandbox / "tmp").iterdir())
            assert len(names) == (2 if what == "file" else 1), names
        proc = run_sunray("esd-dir", "--root", sandbox, "--revert")
        assert proc.returncode == 0, proc.stderr
        assert tree_snapshot(sandbox) == before


def test_a_later_run_meeting_a_new_file_keeps_the_first_record_and_reverts(sandbox):
    need_root()
    assert run_sunray("esd-dir", "--root", sandbox).returncode == 0  # it was missing
    os.rmdir(sandbox / "tmp/.esd")
    _stale_file(sandbox)  # something new at the name since
    after_the_first = tree_snapshot(sandbox)
    proc = run_sunray("esd-dir", "--root", sandbox)
    assert proc.returncode == 0, proc.stderr
    assert_esd_ok(sandbox)
    proc = run_sunray("esd-dir", "--root", sandbox, "--revert")
    assert proc.returncode == 0, proc.stderr
    assert {k: v for k, v in tree_snapshot(sandbox).items()
            if not k.startswith("var/lib/sunray")} == {
        k: v for k, v in after_the_first.items() if not k.startswith("var/lib/sunray")}
    assert not (sandbox / "var/lib/sunray").exists()
