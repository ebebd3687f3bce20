"""The shared machinery: atomic edits, backups and revert, --root, the CLI."""

import os
import stat
import subprocess
import sys

import pytest
from conftest import REPO, assert_clean_error, run_sunray

from sunray.errors import UsageError
from sunray.fileedit import FileEditor, atomic_write
from sunray.rootfs import Root


def test_root_maps_server_paths_and_refuses_escapes(sandbox, tmp_path):
    root = Root(sandbox)
    assert root.path("/etc/cron.daily/tmpwatch") == sandbox / "etc/cron.daily/tmpwatch"
    with pytest.raises(UsageError, match="'..'"):
        root.path("/etc/../../outside")
    with pytest.raises(UsageError, match="absolute"):
        root.path("etc/x")
    outside = tmp_path / "outside"
    outside.mkdir()
    (sandbox / "etc/escape").symlink_to(outside)
    with pytest.raises(UsageError, match="outside the root"):
        root.ensure_inside(root.path("/etc/escape/file"))


def test_root_must_exist(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        Root(tmp_path / "nope")
    (tmp_path / "f").write_text("x")
    with pytest.raises(UsageError, match="not a directory"):
        Root(tmp_path / "f")


def test_write_keeps_mode_owner_backs_up_and_reverts_exactly(sandbox):
    target = sandbox / "etc/conf"
    target.write_bytes(b"one\ntwo\n")
    os.chmod(target, 0o640)
    if os.geteuid() == 0:
        os.chown(target, 1000, 1001)
    before = target.lstat()
    editor = FileEditor(Root(sandbox))

    change = editor.write("/etc/conf", "one\ntwo\nthree\n")
    assert change.action == "modified"
    assert "+three" in change.diff
    after = target.lstat()
    assert target.read_text() == "one\ntwo\nthree\n"
    assert stat.S_IMODE(after.st_mode) == 0o640
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
    assert after.st_ino != before.st_ino  # replaced by rename, not rewritten in place

    # idempotent: the same content again is "unchanged", the backup stays the first one
    assert editor.write("/etc/conf", "one\ntwo\nthree\n").action == "unchanged"
    editor.write("/etc/conf", "changed again\n")

    restored = editor.revert("/etc/conf")
    assert restored.action == "restored"
    assert target.read_bytes() == b"one\ntwo\n"
    assert stat.S_IMODE(target.lstat().st_mode) == 0o640
    assert (target.lstat().st_uid, target.lstat().st_gid) == (before.st_uid, before.st_gid)
    assert editor.revert("/etc/conf").action == "unchanged"  # backup consumed


def test_created_file_is_removed_by_revert(sandbox):
    editor = FileEditor(Root(sandbox))
    assert editor.write("/etc/new.d/x.conf", "x\n", mode=0o600).action == "created"
    assert stat.S_IMODE((sandbox / "etc/new.d/x.conf").stat().st_mode) == 0o600
    assert editor.revert("/etc/new.d/x.conf").action == "removed"
    assert not (sandbox / "etc/new.d/x.conf").exists()


def test_dry_run_changes_nothing_and_shows_diff(sandbox):
    (sandbox / "etc/conf").write_text("a\n")
    editor = FileEditor(Root(sandbox), dry_run=True)
    change = editor.write("/etc/conf", "b\n")
    assert change.action == "would be modified"
    assert "-a\n+b\n" in change.diff
    assert (sandbox / "etc/conf").read_text() == "a\n"
    assert not (sandbox / "var/lib/sunray").exists()


def test_refuses_to_write_through_a_symlink(sandbox, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (sandbox / "etc/conf").symlink_to(victim)
    with pytest.raises(UsageError, match="symlink"):
        FileEditor(Root(sandbox)).write("/etc/conf", "evil\n")
    assert victim.read_text() == "precious\n"
    assert (sandbox / "etc/conf").is_symlink()


def test_symlink_and_revert(sandbox):
    editor = FileEditor(Root(sandbox))
    assert editor.symlink("/etc/rc.d/rc3.d/S01x", "../init.d/x").action == "created"
    assert os.readlink(sandbox / "etc/rc.d/rc3.d/S01x") == "../init.d/x"
    assert editor.symlink("/etc/rc.d/rc3.d/S01x", "../init.d/x").action == "unchanged"
    assert editor.revert("/etc/rc.d/rc3.d/S01x").action == "removed"
    assert not os.path.lexists(sandbox / "etc/rc.d/rc3.d/S01x")


def test_failed_write_leaves_no_temp_file(sandbox, monkeypatch):
    target = sandbox / "etc/conf"
    target.write_text("old\n")

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError):
        atomic_write(target, b"new\n")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in (sandbox / "etc").iterdir()) == ["conf"]


def test_cli_usage_errors_exit_2_without_traceback(sandbox):
    assert_clean_error(run_sunray("no-such-task"), 2, "no-such-task")
    assert_clean_error(run_sunray("esd-dir", "--no-such-flag"), 2, "--no-such-flag")
    assert_clean_error(run_sunray("esd-dir", "--root", sandbox / "missing"), 2, "does not exist")
    assert_clean_error(
        run_sunray("patch-tmpwatch", "--root", sandbox, "--format", "xml"), 2, "--format"
    )


def test_cli_help_lists_every_task():
    proc = run_sunray("--list")
    assert proc.returncode == 0
    for name in ("patch-tmpwatch", "esd-dir", "install-boot-hook", "boot"):
        assert name in proc.stdout
    helptext = run_sunray("--help", "patch-tmpwatch").stdout
    assert "--dry-run" in helptext and "--root" in helptext


def test_invoke_in_checkout_sees_the_same_tasks():
    invoke = os.path.join(os.path.dirname(sys.executable), "invoke")
    proc = subprocess.run([invoke, "--list"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "patch-tmpwatch" in proc.stdout and "esd-dir" in proc.stdout


def test_config_from_environment_reaches_tasks(sandbox):
    """INVOKE_SUNRAY_ROOT works like --root (Invoke's env config)."""
    proc = run_sunray("esd-dir", "--dry-run", "--format", "json",
                      env={"INVOKE_SUNRAY_ROOT": str(sandbox / "missing")})
    assert_clean_error(proc, 2, str(sandbox / "missing"))


def test_root_contains_works_for_slash_too(sandbox, tmp_path):
    # A prefix test would turn "/" into "//" and find nothing inside it.
    assert Root("/").contains("/usr/lib/libesd.so.0")
    assert Root(sandbox).contains(sandbox / "usr/lib/x")
    assert not Root(sandbox).contains(tmp_path / "elsewhere")
