"""patch-tmpwatch on tmpreaper's config (sunray/tmpclean/tmpreaper.py).

The real tmpreaper runs under faketime, so that files look 40 days old; sh
sources the patched config as Debian's cron script does (tests marked system).
"""

import subprocess

import pytest
from conftest import need, run_sunray
from tmpclean_support import REAPER, age_tree, install

from sunray.core.config import defaults
from sunray.tmpclean import core


def _conf_protect_extra(reaper_conf):
    """TMPREAPER_PROTECT_EXTRA as the cron script sees it: sourced by sh, with
    globbing off (the Debian cron script runs `set -f` first)."""
    out = subprocess.run(["sh", "-c", 'set -f; . "$1"; printf "%s" "$TMPREAPER_PROTECT_EXTRA"',
                          "sh", str(reaper_conf)], check=True, capture_output=True, text=True)
    return out.stdout.split()


def _tmpreaper(root, patterns):
    """Run the real tmpreaper like Debian's cron script, on the sandbox's /tmp.
    The server paths in the patterns are mapped into the sandbox (tmpreaper
    globs them as given)."""
    protect = [a for p in patterns for a in ("--protect", f"{root}{p}")]
    subprocess.run(["faketime", "-f", "+40d", "tmpreaper", "--mtime-dir", "--symlinks",
                    "7d", "--ctime", *protect, f"{root}/tmp/."], check=True,
                   capture_output=True)


@pytest.mark.system
def test_tmpreaper_conf_keeps_our_paths_with_the_real_tmpreaper(sandbox, tmp_path):
    need("tmpreaper", "faketime")
    reaper_conf = install(sandbox, "tmpreaper-debian.conf", REAPER)
    original = reaper_conf.read_bytes()
    proc = run_sunray("patch-tmpwatch", "--root", sandbox)
    assert proc.returncode == 0, proc.stderr
    assert "SHOWWARNING=true" in proc.stdout  # said plainly: the daily run is still off
    text = reaper_conf.read_text()
    assert text.startswith(original.decode())  # appended, nothing else touched
    assert "SHOWWARNING=true\n" in text and "#TMPREAPER_PROTECT_EXTRA=''\n" in text
    assert text.endswith("TMPREAPER_PROTECT_EXTRA='/tmp/SUNWut /tmp/SUNWut/* "
                         "/tmp/.esd /tmp/.esd/*'\n")
    patterns = _conf_protect_extra(reaper_conf)
    assert patterns == ["/tmp/SUNWut", "/tmp/SUNWut/*", "/tmp/.esd", "/tmp/.esd/*"]

    keep, junk = age_tree(sandbox / "tmp")
    socket = sandbox / "tmp/.esd/5/socket"
    socket.parent.mkdir(parents=True)
    socket.write_text("")
    _tmpreaper(sandbox, patterns)
    assert socket.exists() and all(f.exists() for f in keep)
    assert not any(f.exists() for f in junk)

    # Control: only the admin's (empty) list: Sun Ray state goes.
    keep, _ = age_tree(sandbox / "tmp")
    _tmpreaper(sandbox, [])
    assert not any(f.exists() for f in keep) and not socket.exists()

    assert run_sunray("patch-tmpwatch", "--root", sandbox).stdout.count("already protects") == 1
    run_sunray("patch-tmpwatch", "--root", sandbox, "--revert")
    assert reaper_conf.read_bytes() == original


@pytest.mark.system
def test_tmpreaper_keeps_admin_entries_quoting_and_comment(sandbox):
    reaper_conf = install(sandbox, "tmpreaper-admin.conf", REAPER)
    before = reaper_conf.read_text()
    proc = run_sunray("patch-tmpwatch", "--root", sandbox, "--cleaner", "tmpreaper")
    assert proc.returncode == 0, proc.stderr
    want = ('TMPREAPER_PROTECT_EXTRA="/tmp/keep-me /tmp/keep-me/* /tmp/SUNWut /tmp/SUNWut/* '
            '/tmp/.esd /tmp/.esd/*"   # local additions')
    old_line = [line for line in before.splitlines() if "PROTECT_EXTRA" in line][0]
    assert reaper_conf.read_text() == before.replace(old_line, want)
    assert _conf_protect_extra(reaper_conf)[:2] == ["/tmp/keep-me", "/tmp/keep-me/*"]


@pytest.mark.parametrize("line, want", [
    ("TMPREAPER_PROTECT_EXTRA=''", "TMPREAPER_PROTECT_EXTRA='/tmp/SUNWut /tmp/SUNWut/* "
     "/tmp/.esd /tmp/.esd/*'"),
    ("TMPREAPER_PROTECT_EXTRA=/tmp/a*", "TMPREAPER_PROTECT_EXTRA='/tmp/a* /tmp/SUNWut "
     "/tmp/SUNWut/* /tmp/.esd /tmp/.esd/*'"),
    ("TMPREAPER_PROTECT_EXTRA='/tmp/SUNWut /tmp/SUNWut/*'",
     "TMPREAPER_PROTECT_EXTRA='/tmp/SUNWut /tmp/SUNWut/* /tmp/.esd /tmp/.esd/*'"),
])
def test_tmpreaper_value_forms(line, want, sandbox):
    reaper_conf = sandbox / REAPER
    reaper_conf.write_text(f"SHOWWARNING=false\n{line}\nTMPREAPER_DIRS='/tmp/.'\n")
    core.patch(sandbox, defaults(), cleaner="tmpreaper")
    assert reaper_conf.read_text() == f"SHOWWARNING=false\n{want}\nTMPREAPER_DIRS='/tmp/.'\n"
