"""patch-tmpwatch on systemd-tmpfiles (sunray/tmpclean/tmpfiles.py).

The real systemd-tmpfiles runs under faketime, so that files look 40 days old.
"""

import shutil
import stat
import subprocess

import pytest
from conftest import need, need_root, run_sunray
from tmpclean_support import DROPIN, age_tree


def _tmpfiles_clean(root):
    subprocess.run(["faketime", "-f", "+40d", "systemd-tmpfiles", "--create", "--clean",
                    f"--root={root}"], check=True, capture_output=True)


@pytest.mark.system
def test_tmpfiles_dropin_keeps_our_paths_with_the_real_systemd_tmpfiles(sandbox, tmp_path):
    need("systemd-tmpfiles", "faketime")
    need_root()
    (sandbox / "etc/tmpfiles.d").mkdir()
    # Debian's own tmp.conf does not age /tmp; a server that cleans it has a rule like this.
    (sandbox / "etc/tmpfiles.d/tmp.conf").write_text("q /tmp 1777 root root 10d\n")
    control = tmp_path / "control"
    shutil.copytree(sandbox, control, symlinks=True)

    proc = run_sunray("patch-tmpwatch", "--root", sandbox)
    assert proc.returncode == 0, proc.stderr
    dropin = (sandbox / DROPIN).read_text()
    assert {"x /tmp/SUNWut", "x /tmp/.esd", "d /tmp/.esd 1777 root root -"} <= set(
        dropin.splitlines())

    keep, junk = age_tree(sandbox / "tmp")
    _tmpfiles_clean(sandbox)
    esd = (sandbox / "tmp/.esd").lstat()
    assert stat.S_ISDIR(esd.st_mode) and stat.S_IMODE(esd.st_mode) == 0o1777
    assert esd.st_uid == 0 and esd.st_gid == 0
    assert all(f.exists() for f in keep)
    assert not any(f.exists() for f in junk) and not (sandbox / "tmp/olddir").exists()

    # Old content of /tmp/.esd stays too, while junk of the same age goes.
    socket = sandbox / "tmp/.esd/5/socket"
    socket.parent.mkdir()
    socket.write_text("")
    keep, junk = age_tree(sandbox / "tmp")
    _tmpfiles_clean(sandbox)
    assert socket.exists() and all(f.exists() for f in keep)
    assert not any(f.exists() for f in junk)

    # Control: the same tree without the drop-in loses Sun Ray state.
    keep, _ = age_tree(control / "tmp")
    _tmpfiles_clean(control)
    assert not any(f.exists() for f in keep)


def test_tmpfiles_explicit_creates_dropin_and_revert_removes_it(sandbox):
    proc = run_sunray("patch-tmpwatch", "--root", sandbox, "--cleaner", "tmpfiles")
    assert proc.returncode == 0, proc.stderr
    assert "created" in proc.stdout
    assert (sandbox / DROPIN).is_file()
    again = run_sunray("patch-tmpwatch", "--root", sandbox, "--cleaner", "tmpfiles")
    assert "nothing to change" in again.stdout
    back = run_sunray("patch-tmpwatch", "--root", sandbox, "--cleaner", "tmpfiles", "--revert")
    assert back.returncode == 0, back.stderr
    assert not (sandbox / DROPIN).exists()
