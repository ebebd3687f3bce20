"""Every flag, setting and target checked before the first write, the state
directory included: a refused run exits 2 (bad input: a way out of the root,
the wrong kind of thing) or 1 (a target that cannot be written) with one
line, and leaves the tree byte for byte as it was (no state directory, no
lock, no log, no created-dirs.json).

Each case is a real `sunray` run on a sandbox tree; the read-only cases use
the immutable attribute (chattr +i), the way a hardened server has it.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES, assert_clean_error, need, need_root, run_sunray, tree_snapshot


def _tree(top: Path) -> Path:
    """A server with tmpwatch's cron job and an empty /tmp."""
    for d in ("etc/cron.daily", "var/lib", "var/log", "lib/modules", "usr/src"):
        (top / d).mkdir(parents=True)
    (top / "tmp").mkdir()
    os.chmod(top / "tmp", 0o1777)
    cron = top / "etc/cron.daily/tmpwatch"
    shutil.copyfile(FIXTURES / "tmpwatch/rhel6-days", cron)
    os.chmod(cron, 0o755)
    return top


def _immutable(path: Path, on: bool = True) -> None:
    need("chattr")
    subprocess.run(["chattr", "+i" if on else "-i", str(path)], check=True)


def _refused(top: Path, code: int, needles, *args, env=None):
    before = tree_snapshot(top)
    proc = run_sunray(*args[:1], "--root", top, *args[1:], env=env)
    assert_clean_error(proc, code, *needles)
    assert tree_snapshot(top) == before, "a refused run changed the tree"
    return proc


def _state(top: Path) -> Path:
    path = top / "var/lib/sunray"
    path.mkdir()
    return path


# (id, setup(top, outside), task args, exit code, words of the line)
CASES = [
    ("format-xml", lambda t, o: None, ["patch-tmpwatch", "--format", "xml"], 2, ["xml"]),
    ("state-dir-a-file", lambda t, o: (t / "var/lib/sunray").write_text(""),
     ["patch-tmpwatch"], 2, ["/var/lib/sunray: not a directory"]),
    ("state-dir-out", lambda t, o: (t / "var/lib/sunray").symlink_to(o),
     ["patch-tmpwatch"], 2, ["/var/lib/sunray is an absolute symlink"]),
    ("backup-out", lambda t, o: (_state(t) / "backup").symlink_to(o),
     ["patch-tmpwatch"], 2, ["/var/lib/sunray/backup is an absolute symlink"]),
    ("backup-out-modules", lambda t, o: (_state(t) / "backup").symlink_to(o),
     ["esd-dir"], 2, ["/var/lib/sunray/backup is an absolute symlink"]),
    ("lock-out", lambda t, o: (_state(t) / "sunray.lock").symlink_to(o / "lock"),
     ["patch-tmpwatch"], 2, ["/var/lib/sunray/sunray.lock is a symlink"]),
    ("journal-a-directory", lambda t, o: (_state(t) / "journal.json").mkdir(),
     ["esd-dir"], 2, ["/var/lib/sunray/journal.json is not a regular file"]),
    ("tmp-out-absolute", lambda t, o: ((t / "tmp").rmdir(), (t / "tmp").symlink_to(o)),
     ["esd-dir"], 2, ["/tmp is a symlink"]),
    ("tmp-out-relative", lambda t, o: ((t / "tmp").rmdir(), (t / "tmp").symlink_to("../..")),
     ["esd-dir"], 2, ["/tmp is a symlink"]),
    ("tmp-a-file", lambda t, o: ((t / "tmp").rmdir(), (t / "tmp").write_text("")),
     ["esd-dir"], 2, ["/tmp is not a directory"]),
    ("esd-dir-name-too-long", lambda t, o: None, ["esd-dir"], 2, ["sunray.esd.dir"]),
]


@pytest.mark.parametrize(("setup", "args", "code", "needles"),
                         [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_refused_before_the_first_write(tmp_path, setup, args, code, needles):
    top = _tree(tmp_path / "root")
    outside = tmp_path / "outside"
    outside.mkdir()
    setup(top, outside)
    # An esd.dir of 5,000 characters: a name no file system takes.
    env = {"INVOKE_SUNRAY_ESD_DIR": "/tmp/" + "a" * 5000} if needles == ["sunray.esd.dir"] else None
    _refused(top, code, needles, *args, env=env)
    assert list(outside.iterdir()) == []


@pytest.mark.system
def test_esd_dir_in_an_immutable_tmp_makes_no_state_directory(tmp_path):
    need_root()
    top = _tree(tmp_path / "root")
    _immutable(top / "tmp")
    try:
        _refused(top, 1, ["cannot fix /tmp/.esd: /tmp is not writable", "nothing was changed"],
                 "esd-dir")
    finally:
        _immutable(top / "tmp", on=False)


@pytest.mark.system
def test_an_immutable_state_directory_is_refused_before_any_change(tmp_path):
    need_root()
    top = _tree(tmp_path / "root")
    state = _state(top)
    _immutable(state)
    try:
        _refused(top, 1, ["/var/lib/sunray is not writable", "nothing was changed"],
                 "patch-tmpwatch")
    finally:
        _immutable(state, on=False)


def _damaged(top: Path, name: str) -> Path:
    """A state directory whose record holds bytes that are not UTF-8."""
    path = top / "var/lib/sunray" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'{"path": "/tmp/.esd", "state": "\xff\xfe"}\n')
    return path


@pytest.mark.parametrize(("record", "args"), [
    ("esddir.json", ["esd-dir", "--revert"]),
    ("backup/meta/etc/cron.daily/tmpwatch.json", ["patch-tmpwatch", "--revert"]),
])
def test_a_record_that_is_not_utf8_is_named_on_revert(tmp_path, record, args):
    top = _tree(tmp_path / "root")
    _damaged(top, record)
    proc = _refused(top, 2, [f"/var/lib/sunray/{record}", "not UTF-8"], *args)
    assert "codec" not in proc.stderr and "0xff" not in proc.stderr


def _kernel_out(top: Path, outside: Path, kernel: str) -> None:
    (top / "lib/modules" / kernel).rename(outside / kernel)
    (top / "lib/modules" / kernel).symlink_to(outside / kernel)


MODULE_CASES = [
    ("kernel-not-installed", lambda t, o, k: None, ["--kernel", "nonexistent-1.0"], 2,
     ["--kernel nonexistent-1.0: not installed"]),
    ("kernel-dir-out", _kernel_out, [], 2, ["is an absolute symlink"]),
    ("extra-out", lambda t, o, k: (t / "lib/modules" / k / "extra").symlink_to(o), [], 2,
     ["/extra is a symlink; refusing to install through it"]),
    ("log-dir-out", lambda t, o, k: (t / "var/log/sunray").symlink_to(o), [], 2,
     ["/var/log/sunray is an absolute symlink"]),
    ("backup-out", lambda t, o, k: (_state(t) / "backup").symlink_to(o), [], 2,
     ["/var/lib/sunray/backup is an absolute symlink"]),
    ("kernel-dir-immutable", lambda t, o, k: _immutable(t / "lib/modules" / k), [], 1,
     ["cannot build the modules", "is not writable", "nothing was changed"]),
]


@pytest.mark.system
@pytest.mark.parametrize(("setup", "args", "code", "needles"),
                         [pytest.param(*c[1:], id=c[0]) for c in MODULE_CASES])
def test_rebuild_modules_is_refused_before_the_first_write(tmp_path, setup, args, code, needles):
    need_root()
    from modules_support import host_kernels, make_server

    kernel = host_kernels()[-1]
    top = make_server(tmp_path / "root", [kernel])
    outside = tmp_path / "outside"
    outside.mkdir()
    setup(top, outside, kernel)
    moved = tree_snapshot(outside)
    try:
        _refused(top, code, needles, "rebuild-modules", *args,
                 env={"INVOKE_SUNRAY_MODULES_MODULES": "utadem"})
    finally:
        if code == 1:
            _immutable(top / "lib/modules" / kernel, on=False)
    assert tree_snapshot(outside) == moved
