"""Safe writes: revert keeps an admin's later edits, nothing is written
outside --root (not even through symlinks in the state or log directories),
extended attributes survive an edit, and revert leaves no clutter.

Everything runs the real program on sandbox trees, except the SELinux
relabelling test, which cannot run here (SELinux is off on this machine):
it stubs restorecon and the SELinux switch, and says so.
"""

import errno
import json
import os
import shutil
import stat
import struct

import pytest
from conftest import FIXTURES, assert_clean_error, run_sunray, tree_snapshot
from modules_support import host_kernels, make_server

from sunray.core import safeio
from sunray.core.errors import JobFailed, UsageError
from sunray.core.fileedit import FileEditor
from sunray.core.rootfs import Root
from sunray.core.safeio import atomic_write

CRON = "etc/cron.daily/tmpwatch"
REAPER = "etc/tmpreaper.conf"
ORIGINAL = (FIXTURES / "tmpwatch" / "rhel6-days").read_bytes()
REAPER_ORIGINAL = (FIXTURES / "tmpwatch" / "tmpreaper-admin.conf").read_bytes()
BACKUP = "var/lib/sunray/backup"


def _cron(sandbox):
    target = sandbox / CRON
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(ORIGINAL)
    os.chmod(target, 0o755)
    return target


def _patch(sandbox, *args):
    return run_sunray("patch-tmpwatch", "--root", sandbox, *args)


@pytest.fixture
def outside(tmp_path):
    """A directory next to the sandbox, i.e. outside the root; must stay empty."""
    out = tmp_path / "outside"
    out.mkdir()
    return out


def _listing(directory):
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


# --- 1. revert keeps changes made after sunray's edit ----------------------


def test_revert_refuses_when_the_admin_changed_the_file_since(sandbox):
    cron = _cron(sandbox)
    assert _patch(sandbox, "--cleaner", "tmpwatch").returncode == 0
    patched = cron.read_bytes()
    assert patched != ORIGINAL
    with open(cron, "ab") as f:
        f.write(b"# the admin's own line\n")
    edited = cron.read_bytes()
    before = tree_snapshot(sandbox)

    for extra in (("--dry-run",), ()):
        proc = _patch(sandbox, "--cleaner", "tmpwatch", "--revert", *extra)
        assert_clean_error(proc, 1, "/etc/cron.daily/tmpwatch changed since sunray wrote it",
                           f"{sandbox}/{BACKUP}/files/{CRON}", "nothing was reverted")
        assert tree_snapshot(sandbox) == before  # the admin's line, the backup: all kept
    assert cron.read_bytes() == edited

    # Put back by hand: revert then only drops the backup.
    shutil.copyfile(sandbox / BACKUP / "files" / CRON, cron)
    proc = _patch(sandbox, "--cleaner", "tmpwatch", "--revert")
    assert proc.returncode == 0, proc.stderr
    assert cron.read_bytes() == ORIGINAL
    assert not (sandbox / BACKUP).exists()


def test_running_the_task_again_makes_the_file_revertible(sandbox):
    hook = sandbox / "etc/kernel/postinst.d/sunray-modules"
    assert run_sunray("install-kernel-hooks", "--root", sandbox).returncode == 0
    hook.write_text("#!/bin/sh\necho the admin's own hook\n")
    proc = run_sunray("install-kernel-hooks", "--root", sandbox, "--revert")
    assert_clean_error(proc, 1, "/etc/kernel/postinst.d/sunray-modules changed since sunray",
                       "there was no original (sunray created it)")
    assert "admin's own hook" in hook.read_text()
    # Installing again takes the admin's file as the new original ...
    assert run_sunray("install-kernel-hooks", "--root", sandbox).returncode == 0
    assert "admin's own hook" not in hook.read_text()
    # ... so a revert now gives it back instead of deleting it.
    assert run_sunray("install-kernel-hooks", "--root", sandbox, "--revert").returncode == 0
    assert hook.read_text() == "#!/bin/sh\necho the admin's own hook\n"
    assert not (sandbox / "etc/kernel/install.d").exists()


def test_revert_of_an_unchanged_file_still_works_and_a_deleted_one_is_restored(sandbox):
    cron = _cron(sandbox)
    assert _patch(sandbox, "--cleaner", "tmpwatch").returncode == 0
    meta = json.loads((sandbox / BACKUP / "meta" / (CRON + ".json")).read_text())
    assert meta["wrote"]["kind"] == "file" and len(meta["wrote"]["sha256"]) == 64
    cron.unlink()  # nothing there to lose: revert brings the original back
    proc = _patch(sandbox, "--cleaner", "tmpwatch", "--revert")
    assert proc.returncode == 0, proc.stderr
    assert cron.read_bytes() == ORIGINAL


def test_one_changed_file_stops_the_whole_revert(sandbox):
    cron = _cron(sandbox)
    (sandbox / REAPER).write_bytes(REAPER_ORIGINAL)
    assert _patch(sandbox).returncode == 0  # every cleaner found: tmpwatch and tmpreaper
    patched_cron = cron.read_bytes()
    assert patched_cron != ORIGINAL and (sandbox / REAPER).read_bytes() != REAPER_ORIGINAL
    with open(sandbox / REAPER, "ab") as f:
        f.write(b"# admin\n")
    proc = _patch(sandbox, "--revert")
    assert_clean_error(proc, 1, "/etc/tmpreaper.conf changed since sunray wrote it")
    assert cron.read_bytes() == patched_cron  # tmpwatch was not reverted either


def test_a_backup_record_without_a_digest_reverts_as_before(sandbox):
    cron = _cron(sandbox)
    assert _patch(sandbox, "--cleaner", "tmpwatch").returncode == 0
    meta_path = sandbox / BACKUP / "meta" / (CRON + ".json")
    meta = json.loads(meta_path.read_text())
    del meta["wrote"], meta["dirs"]  # the format older sunray wrote
    meta_path.write_text(json.dumps(meta))
    with open(cron, "ab") as f:
        f.write(b"# lost, as it always was with old records\n")
    proc = _patch(sandbox, "--cleaner", "tmpwatch", "--revert")
    assert proc.returncode == 0, proc.stderr
    assert cron.read_bytes() == ORIGINAL


def test_revert_of_a_link_sunray_made_refuses_when_it_was_repointed(sandbox):
    editor = FileEditor(Root(sandbox))
    editor.symlink("/etc/rc3.d/S99x", "../init.d/x")
    os.unlink(sandbox / "etc/rc3.d/S99x")
    os.symlink("../init.d/other", sandbox / "etc/rc3.d/S99x")
    with pytest.raises(JobFailed, match="no original .sunray created it"):
        editor.revert("/etc/rc3.d/S99x")
    assert os.readlink(sandbox / "etc/rc3.d/S99x") == "../init.d/other"


# --- 2. nothing is written outside the root ---------------------------------


def test_kernel_hooks_through_a_symlink_out_of_the_root(sandbox, outside):
    (sandbox / "etc/kernel").symlink_to(outside)
    before = tree_snapshot(sandbox)
    for extra in (("--dry-run",), ()):
        proc = run_sunray("install-kernel-hooks", "--root", sandbox, *extra)
        assert_clean_error(proc, 2, "/etc/kernel is an absolute symlink", "refusing to write")
        assert _listing(outside) == []
        assert tree_snapshot(sandbox) == before


def test_a_relative_link_climbing_past_the_top_is_refused(sandbox, outside):
    # issue 11, case 15: ../../outside from /etc climbs out of the tree. It
    # used to be clamped at the top (written to <root>/outside); the README
    # promises a refusal: exit 2, nothing written anywhere.
    (sandbox / "etc/kernel").symlink_to("../../outside")
    before = tree_snapshot(sandbox)
    proc = run_sunray("install-kernel-hooks", "--root", sandbox)
    assert_clean_error(proc, 2, "/etc/kernel (-> ../../outside)", "climbs out of the root")
    assert tree_snapshot(sandbox) == before
    assert _listing(outside) == []

    (sandbox / "etc/kernel").unlink()
    (sandbox / "usr/lib/kernel").mkdir(parents=True)
    (sandbox / "etc/kernel").symlink_to("../usr/lib/kernel")
    proc = run_sunray("install-kernel-hooks", "--root", sandbox)
    assert proc.returncode == 0, proc.stderr
    assert (sandbox / "usr/lib/kernel/postinst.d/sunray-modules").is_file()
    assert (sandbox / "etc/kernel").is_symlink()


def test_state_directory_linked_out_of_the_root(sandbox, outside):
    cron = _cron(sandbox)
    (sandbox / "var/lib/sunray").symlink_to(outside)
    proc = _patch(sandbox, "--cleaner", "tmpwatch")
    assert_clean_error(proc, 2, "/var/lib/sunray is an absolute symlink")
    assert _listing(outside) == []
    assert cron.read_bytes() == ORIGINAL


def test_backup_written_before_the_state_dir_was_linked_out_is_not_followed(sandbox, outside):
    _cron(sandbox)
    assert _patch(sandbox, "--cleaner", "tmpwatch").returncode == 0
    shutil.move(str(sandbox / "var/lib/sunray/backup"), str(outside / "backup"))
    shutil.rmtree(sandbox / "var/lib/sunray")  # the lock and the state directory's record
    (sandbox / "var/lib/sunray").symlink_to(outside)
    before = _listing(outside)
    proc = _patch(sandbox, "--cleaner", "tmpwatch", "--revert")
    assert_clean_error(proc, 2, "/var/lib/sunray is an absolute symlink")
    assert _listing(outside) == before


def test_makedirs_creates_each_missing_directory_with_its_mode(sandbox):
    root = Root(sandbox)
    made = root.makedirs("/etc/a/b/c", mode=0o750)
    assert made.host == sandbox / "etc/a/b/c" and made.created == ["/etc/a", "/etc/a/b", "/etc/a/b/c"]
    assert all(stat.S_IMODE((sandbox / d).stat().st_mode) == 0o750
               for d in ("etc/a", "etc/a/b", "etc/a/b/c"))
    assert root.makedirs("/etc/a/b/c").created == []
    assert root.makedirs("/etc/x/y", create=False).created == ["/etc/x", "/etc/x/y"]
    assert not (sandbox / "etc/x").exists()
    (sandbox / "etc/file").write_text("")
    with pytest.raises(UsageError, match="/etc/file: not a directory"):
        root.makedirs("/etc/file/sub")
    (sandbox / "etc/loop").symlink_to("loop")
    with pytest.raises(UsageError, match="too many levels"):
        root.makedirs("/etc/loop/sub")


@pytest.fixture(scope="module")
def kernel():
    return host_kernels()[-1]


@pytest.mark.system
def test_module_logs_linked_out_of_the_root(tmp_path, kernel, outside):
    top = make_server(tmp_path / "server", [kernel])
    (top / "var/log/sunray").symlink_to(outside)
    proc = run_sunray("rebuild-modules", "--root", top)
    assert_clean_error(proc, 2, "/var/log/sunray is an absolute symlink")
    assert _listing(outside) == []
    assert not (top / f"lib/modules/{kernel}/extra").exists()

    # remove-modules: the logs' rmtree never starts outside the root.
    (outside / "modules" / kernel).mkdir(parents=True)
    (outside / "modules" / kernel / "utio.log").write_text("not ours to delete\n")
    proc = run_sunray("remove-modules", "--root", top, "--kernel", kernel)
    assert_clean_error(proc, 2, "/var/log/sunray is an absolute symlink")
    assert (outside / "modules" / kernel / "utio.log").read_text() == "not ours to delete\n"


@pytest.mark.system
def test_module_state_linked_out_of_the_root(tmp_path, kernel, outside):
    top = make_server(tmp_path / "server", [kernel])
    (top / "var/lib/sunray").symlink_to(outside)
    for args in (("rebuild-modules", "--root", top), ("remove-modules", "--root", top, "--kernel", kernel)):
        proc = run_sunray(*args)
        assert_clean_error(proc, 2, "/var/lib/sunray is an absolute symlink")
        assert _listing(outside) == []


def test_scratch_space_never_goes_through_a_link_out_of_the_root(sandbox, outside):
    from sunray.modules.build import scratch_base

    (sandbox / "var/tmp").symlink_to(outside)
    assert scratch_base(Root(sandbox)) is None  # the system's temp dir instead
    (sandbox / "var/tmp").unlink()
    (sandbox / "var/tmp").mkdir()
    assert scratch_base(Root(sandbox)) == str(sandbox / "var/tmp")


# --- 3. extended attributes and SELinux labels -----------------------------


def _acl(*entries):
    """A system.posix_acl_access value: version 2, then (tag, perm, id) each."""
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)


def test_xattrs_and_acl_survive_the_edit(sandbox):
    cron = _cron(sandbox)
    acl = _acl((0x01, 7, 0xFFFFFFFF), (0x02, 5, 65534), (0x04, 5, 0xFFFFFFFF),
               (0x10, 5, 0xFFFFFFFF), (0x20, 5, 0xFFFFFFFF))
    try:
        os.setxattr(cron, "user.sunray-test", b"keep me")
        os.setxattr(cron, "system.posix_acl_access", acl)
    except OSError as e:
        if e.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            pytest.skip(f"this file system refuses xattrs/ACLs: {e.strerror}")
        raise
    inode = cron.stat().st_ino
    assert _patch(sandbox, "--cleaner", "tmpwatch").returncode == 0
    assert cron.stat().st_ino != inode  # a new file was renamed over the old one
    assert cron.read_bytes() != ORIGINAL
    assert os.getxattr(cron, "user.sunray-test") == b"keep me"
    assert os.getxattr(cron, "system.posix_acl_access") == acl
    assert stat.S_IMODE(cron.stat().st_mode) == 0o755

    assert _patch(sandbox, "--cleaner", "tmpwatch", "--revert").returncode == 0
    assert cron.read_bytes() == ORIGINAL
    assert os.getxattr(cron, "user.sunray-test") == b"keep me"


def test_new_files_on_the_live_system_are_relabelled(sandbox, tmp_path, monkeypatch):
    """MOCKED: SELinux is off here and sandboxes are not "/". The test stands
    in for the three: Root.is_host says True, the SELinux switch file is a
    temp file, and restorecon is a stub on PATH that writes down its argv."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    calls = tmp_path / "calls"
    stub = bindir / "restorecon"
    stub.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{calls}"\n')
    stub.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    enforce = tmp_path / "enforce"
    monkeypatch.setattr(safeio, "SELINUX_ENFORCE_FILES", (str(enforce),))
    monkeypatch.setattr(Root, "is_host", property(lambda self: True))
    editor = FileEditor(Root(sandbox))

    editor.write("/etc/off.conf", "x\n")  # SELinux off: no call
    assert not calls.exists()
    enforce.write_text("1\n")
    editor.write("/etc/new.d/on.conf", "x\n")
    editor.write("/etc/new.d/on.conf", "y\n")  # modified: keeps its label, no call
    editor.symlink("/etc/new.d/link", "on.conf")
    assert calls.read_text().splitlines() == [
        f"-F {sandbox}/etc/new.d {sandbox}/etc/new.d/on.conf",
        f"-F {sandbox}/etc/new.d/link"]


# --- 4. revert leaves no clutter ---------------------------------------------


def test_revert_removes_directories_sunray_created_and_empty_backup_dirs(sandbox):
    before = tree_snapshot(sandbox)
    assert run_sunray("install-kernel-hooks", "--root", sandbox).returncode == 0
    assert (sandbox / "etc/kernel/postinst.d/sunray-modules").is_file()
    proc = run_sunray("install-kernel-hooks", "--root", sandbox, "--revert")
    assert proc.returncode == 0, proc.stderr
    after = tree_snapshot(sandbox)
    assert not (sandbox / "etc/kernel").exists()
    assert not (sandbox / "var/lib/sunray/backup").exists()
    assert {k: v for k, v in after.items() if not k.startswith("var/lib/sunray")} == before


def test_a_created_directory_the_admin_uses_stays(sandbox):
    assert run_sunray("install-kernel-hooks", "--root", sandbox).returncode == 0
    (sandbox / "etc/kernel/postinst.d/zz-admin").write_text("#!/bin/sh\n")
    assert run_sunray("install-kernel-hooks", "--root", sandbox, "--revert").returncode == 0
    assert sorted(os.listdir(sandbox / "etc/kernel")) == ["postinst.d"]
    assert os.listdir(sandbox / "etc/kernel/postinst.d") == ["zz-admin"]
    assert not (sandbox / "var/lib/sunray/backup").exists()


def test_a_file_replaced_after_sunray_wrote_it_becomes_the_new_original(sandbox):
    """A package update replaces the patched file; the task patches the update;
    --revert then gives back the update, not the file from before it."""
    from sunray.core.fileedit import FileEditor
    from sunray.core.rootfs import Root

    target = sandbox / "etc/conf"
    target.write_text("stock 1\n")
    editor = FileEditor(Root(sandbox))
    editor.write("/etc/conf", "stock 1\npatched\n")
    target.write_text("stock 2\n")  # the update
    editor.write("/etc/conf", "stock 2\npatched\n")
    assert editor.revert("/etc/conf").action == "restored"
    assert target.read_text() == "stock 2\n"


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


# --- issue 11: a run killed at any instant leaves records revert understands --


class _Killed(BaseException):
    """Stands in for SIGKILL at one instant of a write (not an Exception: no
    handler of the toolkit's may catch it)."""


def test_killed_between_the_rename_and_the_record_still_reverts(sandbox, monkeypatch):
    # issue 11, case 2: the new bytes were in place but the record still said
    # "original": revert refused for ever, even after the rerun it advised.
    cron = _cron(sandbox)
    root = Root(sandbox)

    def killed(*args):
        raise _Killed()

    monkeypatch.setattr(FileEditor, "_note_wrote", killed)
    with pytest.raises(_Killed):
        FileEditor(root).write("/" + CRON, b"#!/bin/sh\nnew\n")
    monkeypatch.undo()
    assert cron.read_bytes() == b"#!/bin/sh\nnew\n"
    FileEditor(root).check_revert(["/" + CRON])
    assert FileEditor(root).revert("/" + CRON).action == "restored"
    assert cron.read_bytes() == ORIGINAL


def test_directories_are_recorded_before_they_are_made(sandbox, monkeypatch):
    # issue 11, case 4: a run killed (or failing) after making directories
    # and before its record never let revert remove them.
    import sunray.core.fileedit as fileedit

    real = fileedit.atomic_write

    def killed_at_the_target(host, *args, **kwargs):
        if "backup" not in str(host):
            raise _Killed()
        return real(host, *args, **kwargs)

    before = tree_snapshot(sandbox)
    monkeypatch.setattr(fileedit, "atomic_write", killed_at_the_target)
    with pytest.raises(_Killed):
        FileEditor(Root(sandbox)).write("/etc/a/b/file", b"x\n")
    monkeypatch.undo()
    assert (sandbox / "etc/a/b").is_dir()
    FileEditor(Root(sandbox)).revert("/etc/a/b/file")
    assert not (sandbox / "etc/a").exists()
    from sunray.core import statedir
    assert statedir.remove_if_unused(Root(sandbox))
    assert tree_snapshot(sandbox) == before


def test_a_record_whose_change_never_happened_converges(sandbox, monkeypatch):
    import sunray.core.fileedit as fileedit

    cron = _cron(sandbox)
    real = fileedit.atomic_write

    def killed_at_the_target(host, *args, **kwargs):
        if "backup" not in str(host):
            raise _Killed()
        return real(host, *args, **kwargs)

    monkeypatch.setattr(fileedit, "atomic_write", killed_at_the_target)
    with pytest.raises(_Killed):
        FileEditor(Root(sandbox)).write("/" + CRON, b"new\n")
    monkeypatch.undo()
    assert cron.read_bytes() == ORIGINAL
    # The rerun finishes the change; the record then says what it wrote.
    assert FileEditor(Root(sandbox)).write("/" + CRON, b"new\n").action == "modified"
    meta = json.loads((sandbox / BACKUP / "meta" / (CRON + ".json")).read_text())
    assert "writing" not in meta and meta["wrote"]["kind"] == "file"
    assert FileEditor(Root(sandbox)).revert("/" + CRON).action == "restored"
    assert cron.read_bytes() == ORIGINAL


def test_check_finds_every_wrong_target_before_the_first_write(sandbox):
    # issue 11, case 6: wrong kinds used to be found only when their turn came.
    editor = FileEditor(Root(sandbox))
    (sandbox / "etc/dir").mkdir()
    (sandbox / "etc/file").write_text("x")
    with pytest.raises(UsageError, match="/etc/dir exists and is not a regular file"):
        editor.check(files=["/etc/new", "/etc/dir"])
    with pytest.raises(UsageError, match="/etc/file exists and is not a symlink"):
        editor.check(links=["/etc/file"])
    with pytest.raises(UsageError, match="/etc/file: not a directory"):
        editor.check(files=["/etc/file/sub"])
    editor.check(files=["/etc/file", "/etc/new/deep/x"], links=["/etc/link"])
    assert not (sandbox / "etc/new").exists() and not (sandbox / "var/lib/sunray").exists()


def test_link_temp_names_follow_the_one_pattern(sandbox, monkeypatch):
    seen = []
    real_rename = os.rename

    def spy(src, dst, *args, **kwargs):
        seen.append(os.path.basename(str(src)))
        return real_rename(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "rename", spy)
    FileEditor(Root(sandbox)).symlink("/etc/link", "target")
    monkeypatch.undo()
    links = [n for n in seen if n.startswith(".link.") and not n.startswith(".link.json.")]
    assert links and all(safeio.is_temp_name(n) for n in links), seen
