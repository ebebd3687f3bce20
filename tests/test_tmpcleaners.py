"""patch-tmpwatch: tmpwatch, systemd-tmpfiles and tmpreaper keep /tmp/SUNWut and /tmp/.esd.

The cleaners run for real where they exist here (systemd-tmpfiles, tmpreaper,
both under faketime so that files look 40 days old). tmpwatch itself is not
packaged for Debian: the patched cron scripts run for real under sh and bash,
with a recording stand-in for tmpwatch that writes down its arguments.
"""

import glob
import json
import os
import re
import shutil
import stat
import subprocess

import pytest
from conftest import FIXTURES, assert_clean_error, need, need_root, run_sunray, tree_snapshot

from sunray.config import defaults
from sunray.tmpclean import core as tmpcleaners
from sunray.tmpclean.base import NotUnderstood

FIX = FIXTURES / "tmpwatch"
CRON = "etc/cron.daily/tmpwatch"
REAPER = "etc/tmpreaper.conf"
DROPIN = "etc/tmpfiles.d/sunray.conf"
OURS = ["-x", "/tmp/SUNWut", "-x", "/tmp/.esd"]
X11 = ["-x", "/tmp/.X11-unix", "-x", "/tmp/.XIM-unix", "-x", "/tmp/.font-unix",
       "-x", "/tmp/.ICE-unix", "-x", "/tmp/.Test-unix"]
MAN_DIRS = [f"/var/{a}/{b}" for a in ("cache/man", "catman")
            for b in ("cat?", "X11R6/cat?", "local/cat?")]


def _install(sandbox, fixture, where=CRON):
    target = sandbox / where
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(FIX / fixture, target)
    os.chmod(target, 0o755)
    return target


def _man_calls(shell, *args):
    """The man-cache loop's calls as this host's shell makes them: bash expands
    the braces and globs (as RHEL's /bin/sh does); dash leaves the word as it is."""
    if shell == "bash":
        dirs = [d for pattern in MAN_DIRS for d in (sorted(glob.glob(pattern)) or [pattern])]
    else:
        dirs = ["/var/{cache/man,catman}/{cat?,X11R6/cat?,local/cat?}"]
    return [[*args, d] for d in dirs if os.path.isdir(d)]


def _record_calls(script, tmp_path, shell):
    """Run a COPY of the cron script with tmpwatch replaced by a recorder; the
    argv of every call, in order. Only the copy is rewritten: the absolute
    /usr/sbin/tmpwatch becomes the recorder, and the recorder's directory goes
    first in any PATH the script sets."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    log = tmp_path / "calls.log"
    log.write_bytes(b"")
    recorder = bindir / "tmpwatch"
    recorder.write_text('#!/bin/sh\nprintf "%s\\037" "$@" >>"$TMPWATCH_LOG"\n'
                        'printf "\\036" >>"$TMPWATCH_LOG"\n')
    recorder.chmod(0o755)
    text = script.read_text().replace("/usr/sbin/tmpwatch", str(recorder))
    text = text.replace("PATH=", f"PATH={bindir}:")
    copy = tmp_path / "run-copy.sh"
    copy.write_text(text)
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "TMPWATCH_LOG": str(log)}
    subprocess.run([shell, str(copy)], check=True, env=env, cwd=tmp_path)
    records = log.read_text().split("\036")[:-1]
    return [r.split("\037")[:-1] for r in records]


EXPECTED = {
    # fixture: [calls (without the man loop)], man-loop args before the directory
    "rhel5-hours-flags": ([["-umc", *X11, *OURS, "240", "/tmp"], ["-umc", "720", "/var/tmp"]],
                          ["-umc", "-f", "720"]),
    "rhel5-hours-noflags": ([[*X11, *OURS, "240", "/tmp"], ["720", "/var/tmp"]],
                            ["-f", "720"]),
    "rhel6-days": ([["-umc", *X11, "-X", "/tmp/hsperfdata_*", *OURS, "10d", "/tmp"],
                    ["-umc", "30d", "/var/tmp"]], ["-umc", "-f", "30d"]),
    # already has -x /tmp/SUNWut (options after the directory): only .esd is added
    "handedit-order": ([["-x", "/tmp/.esd", "120", "/tmp/", "-u", "-x", "/tmp/SUNWut",
                         "--exclude=/tmp/.X11-unix", "-a"],
                        ["-m", "--verbose", "720", "/var/tmp"]], None),
    # one call over eight continuation lines, -x /tmp/.esd/ already there
    "handedit-continued": ([["-umc", "-fx", "/tmp/.X11-unix", "-x", "/tmp/.esd/", "-U",
                             "nobody", "-x", "/tmp/SUNWut", "240", "/tmp", "/var/tmp/junk"],
                            ["-umc", "720", "/var/tmp"]], None),
}


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_tmpwatch_scripts_are_patched_and_run_with_the_exclusions(fixture, sandbox, tmp_path):
    target = _install(sandbox, fixture)
    original = target.read_bytes()

    proc = run_sunray("patch-tmpwatch", "--root", sandbox)
    assert proc.returncode == 0, proc.stderr
    assert "modified" in proc.stdout and "/etc/cron.daily/tmpwatch" in proc.stdout
    patched = target.read_bytes()
    assert stat.S_IMODE(target.stat().st_mode) == 0o755
    # Only insertions: removing the added options gives back the original bytes.
    assert patched.replace(b" -x /tmp/SUNWut", b"").replace(b" -x /tmp/.esd", b"") \
        == original.replace(b" -x /tmp/SUNWut", b"").replace(b" -x /tmp/.esd", b"")
    subprocess.run(["sh", "-n", str(target)], check=True)

    calls, man_args = EXPECTED[fixture]
    for shell in ("sh", "bash"):
        expected = calls[:1] + calls[1:] + (_man_calls(shell, *man_args) if man_args else [])
        assert _record_calls(target, tmp_path, shell) == expected, shell

    again = run_sunray("patch-tmpwatch", "--root", sandbox, "--format", "json")
    assert again.returncode == 0, again.stderr
    doc = json.loads(again.stdout)
    assert doc["changed"] is False and doc["changes"] == []
    assert target.read_bytes() == patched

    back = run_sunray("patch-tmpwatch", "--root", sandbox, "--revert")
    assert back.returncode == 0, back.stderr
    assert "restored" in back.stdout
    assert target.read_bytes() == original


def test_unpatched_rhel6_script_would_clean_our_paths(sandbox, tmp_path):
    """The recorder sees what the script really passes: without the patch the
    /tmp call carries no exclusion of ours (the test above can fail)."""
    target = _install(sandbox, "rhel6-days")
    first = _record_calls(target, tmp_path, "sh")[0]
    assert "/tmp/SUNWut" not in first and first[-2:] == ["10d", "/tmp"]


def test_dry_run_shows_the_diff_and_changes_nothing(sandbox):
    _install(sandbox, "rhel5-hours-noflags")
    before = tree_snapshot(sandbox)
    proc = run_sunray("patch-tmpwatch", "--root", sandbox, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "would be modified" in proc.stdout
    assert "-x /tmp/.Test-unix 240 /tmp\n+/usr/sbin/tmpwatch -x" in proc.stdout
    assert "-x /tmp/.Test-unix -x /tmp/SUNWut -x /tmp/.esd 240 /tmp\n" in proc.stdout
    assert tree_snapshot(sandbox) == before


@pytest.mark.parametrize("fixture, needle", [
    ("refuse-variable-command", "command run through a variable ($TMPWATCH)"),
    ("refuse-eval", "tmpwatch run through eval"),
    ("refuse-tmp-variable", "/tmp is given through a variable"),
    ("refuse-unknown-flags", "$TMPWATCH_FLAGS has a value sunray cannot see"),
])
def test_scripts_sunray_does_not_understand_are_refused_untouched(fixture, needle, sandbox):
    _install(sandbox, fixture)
    before = tree_snapshot(sandbox)
    proc = run_sunray("patch-tmpwatch", "--root", sandbox)
    assert_clean_error(proc, 2, needle, "changed nothing")
    assert tree_snapshot(sandbox) == before


@pytest.mark.parametrize("text, needle", [
    ("#!/bin/sh\ncat <<EOF\n/usr/sbin/tmpwatch 240 /tmp\nEOF\n", "here-document"),
    ("#!/bin/sh\nnice -n 10 /usr/sbin/tmpwatch 240 /tmp\n", "(/usr/sbin/tmpwatch)"),
    ("#!/bin/sh\n/usr/sbin/tmpwatch 240 /tm*\n", "may mean /tmp"),
    ("#!/bin/sh\n# /usr/sbin/tmpwatch 240 /tmp (disabled)\n", "no tmpwatch call found"),
    ("#!/bin/sh\n/usr/sbin/tmpwatch 'unterminated 240 /tmp\n", "it fails 'sh -n'"),
])
def test_odd_shapes_are_refused(text, needle, sandbox):
    (sandbox / "etc/cron.daily").mkdir()
    (sandbox / CRON).write_text(text)
    with pytest.raises(NotUnderstood, match=re.escape(needle)):
        tmpcleaners.patch(sandbox, defaults(), cleaner="tmpwatch")
    assert (sandbox / CRON).read_text() == text


def test_comments_mentioning_tmpwatch_and_var_tmp_only_scripts(sandbox):
    (sandbox / "etc/cron.daily").mkdir()
    text = "#!/bin/sh\n# tmpwatch eval $X /tmp\n/usr/sbin/tmpwatch 720 /var/tmp\n"
    (sandbox / CRON).write_text(text)
    report = tmpcleaners.patch(sandbox, defaults())
    assert not report.changed
    assert "none of its 1 tmpwatch call(s) cleans /tmp" in report.to_text()
    assert (sandbox / CRON).read_text() == text


def test_rpmnew_beside_the_script_is_warned_about(sandbox):
    _install(sandbox, "rhel6-days")
    _install(sandbox, "rhel6-days", CRON + ".rpmnew")
    proc = run_sunray("patch-tmpwatch", "--root", sandbox)
    assert proc.returncode == 0, proc.stderr
    assert "tmpwatch.rpmnew exists" in proc.stderr
    assert "does NOT protect /tmp/SUNWut, /tmp/.esd" in proc.stderr
    assert (sandbox / (CRON + ".rpmnew")).read_bytes() == (FIX / "rhel6-days").read_bytes()
    rows = tmpcleaners.status(sandbox, defaults())
    assert rows == [{"cleaner": "tmpwatch", "file": "/etc/cron.daily/tmpwatch",
                     "protected": True, "missing": [],
                     "rpmnew": "/etc/cron.daily/tmpwatch.rpmnew", "error": None}]


# --- systemd-tmpfiles -----------------------------------------------------------


def _age_tree(tmp):
    """Files a cleaner should keep (ours) and files it should remove (junk)."""
    keep = [tmp / "SUNWut/units/CID1/dev/fifo0", tmp / "SUNWut/sessions/3/unit",
            tmp / "SUNWut/dev/utaudio/3"]
    junk = [tmp / "junk.txt", tmp / "olddir/deep/file"]
    for f in keep + junk:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("x\n")
    return keep, junk


def _tmpfiles_clean(root):
    subprocess.run(["faketime", "-f", "+40d", "systemd-tmpfiles", "--create", "--clean",
                    f"--root={root}"], check=True, capture_output=True)


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

    keep, junk = _age_tree(sandbox / "tmp")
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
    keep, junk = _age_tree(sandbox / "tmp")
    _tmpfiles_clean(sandbox)
    assert socket.exists() and all(f.exists() for f in keep)
    assert not any(f.exists() for f in junk)

    # Control: the same tree without the drop-in loses Sun Ray state.
    keep, _ = _age_tree(control / "tmp")
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


# --- tmpreaper --------------------------------------------------------------------


def _conf_protect_extra(conf):
    """TMPREAPER_PROTECT_EXTRA as the cron script sees it: sourced by sh, with
    globbing off (the Debian cron script runs `set -f` first)."""
    out = subprocess.run(["sh", "-c", 'set -f; . "$1"; printf "%s" "$TMPREAPER_PROTECT_EXTRA"',
                          "sh", str(conf)], check=True, capture_output=True, text=True)
    return out.stdout.split()


def _tmpreaper(root, patterns):
    """Run the real tmpreaper like Debian's cron script, on the sandbox's /tmp.
    The server paths in the patterns are mapped into the sandbox (tmpreaper
    globs them as given)."""
    protect = [a for p in patterns for a in ("--protect", f"{root}{p}")]
    subprocess.run(["faketime", "-f", "+40d", "tmpreaper", "--mtime-dir", "--symlinks",
                    "7d", "--ctime", *protect, f"{root}/tmp/."], check=True,
                   capture_output=True)


def test_tmpreaper_conf_keeps_our_paths_with_the_real_tmpreaper(sandbox, tmp_path):
    need("tmpreaper", "faketime")
    conf = _install(sandbox, "tmpreaper-debian.conf", REAPER)
    original = conf.read_bytes()
    proc = run_sunray("patch-tmpwatch", "--root", sandbox)
    assert proc.returncode == 0, proc.stderr
    assert "SHOWWARNING=true" in proc.stdout  # said plainly: the daily run is still off
    text = conf.read_text()
    assert text.startswith(original.decode())  # appended, nothing else touched
    assert "SHOWWARNING=true\n" in text and "#TMPREAPER_PROTECT_EXTRA=''\n" in text
    assert text.endswith("TMPREAPER_PROTECT_EXTRA='/tmp/SUNWut /tmp/SUNWut/* "
                         "/tmp/.esd /tmp/.esd/*'\n")
    patterns = _conf_protect_extra(conf)
    assert patterns == ["/tmp/SUNWut", "/tmp/SUNWut/*", "/tmp/.esd", "/tmp/.esd/*"]

    keep, junk = _age_tree(sandbox / "tmp")
    socket = sandbox / "tmp/.esd/5/socket"
    socket.parent.mkdir(parents=True)
    socket.write_text("")
    _tmpreaper(sandbox, patterns)
    assert socket.exists() and all(f.exists() for f in keep)
    assert not any(f.exists() for f in junk)

    # Control: only the admin's (empty) list: Sun Ray state goes.
    keep, _ = _age_tree(sandbox / "tmp")
    _tmpreaper(sandbox, [])
    assert not any(f.exists() for f in keep) and not socket.exists()

    assert run_sunray("patch-tmpwatch", "--root", sandbox).stdout.count("already protects") == 1
    run_sunray("patch-tmpwatch", "--root", sandbox, "--revert")
    assert conf.read_bytes() == original


def test_tmpreaper_keeps_admin_entries_quoting_and_comment(sandbox):
    conf = _install(sandbox, "tmpreaper-admin.conf", REAPER)
    before = conf.read_text()
    proc = run_sunray("patch-tmpwatch", "--root", sandbox, "--cleaner", "tmpreaper")
    assert proc.returncode == 0, proc.stderr
    want = ('TMPREAPER_PROTECT_EXTRA="/tmp/keep-me /tmp/keep-me/* /tmp/SUNWut /tmp/SUNWut/* '
            '/tmp/.esd /tmp/.esd/*"   # local additions')
    old_line = [line for line in before.splitlines() if "PROTECT_EXTRA" in line][0]
    assert conf.read_text() == before.replace(old_line, want)
    assert _conf_protect_extra(conf)[:2] == ["/tmp/keep-me", "/tmp/keep-me/*"]


@pytest.mark.parametrize("line, want", [
    ("TMPREAPER_PROTECT_EXTRA=''", "TMPREAPER_PROTECT_EXTRA='/tmp/SUNWut /tmp/SUNWut/* "
     "/tmp/.esd /tmp/.esd/*'"),
    ("TMPREAPER_PROTECT_EXTRA=/tmp/a*", "TMPREAPER_PROTECT_EXTRA='/tmp/a* /tmp/SUNWut "
     "/tmp/SUNWut/* /tmp/.esd /tmp/.esd/*'"),
    ("TMPREAPER_PROTECT_EXTRA='/tmp/SUNWut /tmp/SUNWut/*'",
     "TMPREAPER_PROTECT_EXTRA='/tmp/SUNWut /tmp/SUNWut/* /tmp/.esd /tmp/.esd/*'"),
])
def test_tmpreaper_value_forms(line, want, sandbox):
    conf = sandbox / REAPER
    conf.write_text(f"SHOWWARNING=false\n{line}\nTMPREAPER_DIRS='/tmp/.'\n")
    tmpcleaners.patch(sandbox, defaults(), cleaner="tmpreaper")
    assert conf.read_text() == f"SHOWWARNING=false\n{want}\nTMPREAPER_DIRS='/tmp/.'\n"


# --- all cleaners at once, revert, status ---------------------------------------------


def test_auto_treats_every_cleaner_and_revert_restores_all(sandbox):
    cron = _install(sandbox, "rhel6-days")
    conf = _install(sandbox, "tmpreaper-admin.conf", REAPER)
    (sandbox / "usr/lib/tmpfiles.d").mkdir(parents=True)
    before = tree_snapshot(sandbox)
    rows = tmpcleaners.status(sandbox, defaults())
    assert [(r["cleaner"], r["protected"], r["missing"]) for r in rows] == [
        ("tmpwatch", False, ["/tmp/SUNWut", "/tmp/.esd"]),
        ("tmpfiles", False, ["/tmp/SUNWut", "/tmp/.esd"]),
        ("tmpreaper", False, ["/tmp/SUNWut", "/tmp/.esd"])]
    assert tree_snapshot(sandbox) == before  # status writes nothing

    proc = run_sunray("patch-tmpwatch", "--root", sandbox, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [(c["cleaner"], c["changed"]) for c in doc["cleaners"]] == [
        ("tmpwatch", True), ("tmpfiles", True), ("tmpreaper", True)]
    assert all(r["protected"] for r in tmpcleaners.status(sandbox, defaults()))

    back = run_sunray("patch-tmpwatch", "--root", sandbox, "--revert")
    assert back.returncode == 0, back.stderr
    assert cron.read_bytes() == (FIX / "rhel6-days").read_bytes()
    assert conf.read_bytes() == (FIX / "tmpreaper-admin.conf").read_bytes()
    assert not (sandbox / DROPIN).exists()
    again = run_sunray("patch-tmpwatch", "--root", sandbox, "--revert")
    assert "nothing to revert" in again.stdout


def test_one_bad_cleaner_file_leaves_the_others_untouched(sandbox):
    _install(sandbox, "rhel6-days")
    (sandbox / REAPER).write_text('TMPREAPER_PROTECT_EXTRA="$OTHER /tmp/x"\n')
    before = tree_snapshot(sandbox)
    proc = run_sunray("patch-tmpwatch", "--root", sandbox)
    assert_clean_error(proc, 2, "TMPREAPER_PROTECT_EXTRA is set in a way")
    assert tree_snapshot(sandbox) == before


# --- bad input ----------------------------------------------------------------------


def test_missing_root(tmp_path):
    assert_clean_error(run_sunray("patch-tmpwatch", "--root", tmp_path / "nope"), 2,
                       "does not exist")


def test_unknown_and_absent_cleaners(sandbox):
    assert_clean_error(run_sunray("patch-tmpwatch", "--root", sandbox, "--cleaner", "cron"),
                       2, "expected auto, tmpwatch, tmpfiles or tmpreaper")
    assert_clean_error(run_sunray("patch-tmpwatch", "--root", sandbox, "--cleaner", "tmpwatch"),
                       2, "/etc/cron.daily/tmpwatch does not exist")
    assert_clean_error(run_sunray("patch-tmpwatch", "--root", sandbox, "--cleaner",
                                  "tmpreaper"), 2, "/etc/tmpreaper.conf does not exist")
    before = tree_snapshot(sandbox)
    proc = run_sunray("patch-tmpwatch", "--root", sandbox)
    assert proc.returncode == 0 and "no /tmp cleaner found" in proc.stdout
    assert tree_snapshot(sandbox) == before


def _directory_instead(sandbox):
    (sandbox / CRON).mkdir(parents=True)


def _binary(sandbox):
    (sandbox / "etc/cron.daily").mkdir()
    (sandbox / CRON).write_bytes(b"\x7fELF\x02\x01\x01\0\0\0")


def _fifo(sandbox):
    os.mkfifo(sandbox / REAPER)


def _symlinked(sandbox):
    outside = sandbox.parent / "outside-tmpwatch"
    shutil.copyfile(FIX / "rhel6-days", outside)
    (sandbox / "etc/cron.daily").mkdir()
    (sandbox / CRON).symlink_to(outside)


@pytest.mark.parametrize("make, needle", [
    (_directory_instead, "not a regular file"),
    (_symlinked, "is a symlink; refusing to edit it"),
    (_binary, "binary data"),
    (_fifo, "not a regular file"),
])
def test_unreadable_or_binary_cleaner_files(make, needle, sandbox):
    make(sandbox)
    before = tree_snapshot(sandbox)
    proc = run_sunray("patch-tmpwatch", "--root", sandbox, timeout=30)
    assert_clean_error(proc, 2, needle)
    assert tree_snapshot(sandbox) == before


def test_bad_protected_paths_are_refused(sandbox, tmp_path):
    _install(sandbox, "rhel6-days")
    before = tree_snapshot(sandbox)
    for bad in ("/tmp/a b", "tmp/rel", "/tmp/../etc", "/tmp/$(reboot)", "/tmp/x;y"):
        cfg = tmp_path / "bad.yaml"
        cfg.write_text(json.dumps({"sunray": {"tmp": {"protect": [bad]}}}))
        proc = run_sunray("-f", cfg, "patch-tmpwatch", "--root", sandbox)
        assert_clean_error(proc, 2, "protected path")
    cfg.write_text(json.dumps({"sunray": {"tmp": {"protect": ["/tmp/SUNWut*"]}}}))
    assert_clean_error(run_sunray("-f", cfg, "patch-tmpwatch", "--root", sandbox), 2,
                       "tmpwatch -x takes a plain path")
    assert tree_snapshot(sandbox) == before


def _immutable(path):
    """Make a path read-only even for root (chattr +i); None where the
    filesystem or our privileges do not allow it."""
    if os.geteuid() != 0 or shutil.which("chattr") is None:
        return None
    ok = subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0
    return path if ok else None


@pytest.mark.parametrize("cleaner", ["tmpwatch", "tmpfiles"])
def test_read_only_target_fails_cleanly_and_changes_nothing(cleaner, sandbox):
    if cleaner == "tmpwatch":
        locked = _install(sandbox, "rhel5-hours-flags")
    else:
        locked = sandbox / "etc/tmpfiles.d"
        locked.mkdir()
    before = tree_snapshot(sandbox)
    frozen = _immutable(locked)
    if frozen is None:
        # Not root (or no chattr here): a directory without write permission
        # stops an unprivileged run just the same.
        target = locked if locked.is_dir() else locked.parent
        target.chmod(0o555)
        before = tree_snapshot(sandbox)
    try:
        proc = run_sunray("patch-tmpwatch", "--root", sandbox, "--cleaner", cleaner)
        assert_clean_error(proc, 1, "not writable", "nothing was changed")
        assert tree_snapshot(sandbox) == before
    finally:
        if frozen is not None:
            subprocess.run(["chattr", "-i", str(frozen)], check=True)


def test_already_patched_read_only_target_is_fine(sandbox):
    """Nothing to change means nothing to write: a locked tree is no error."""
    (sandbox / "etc/tmpfiles.d").mkdir()
    assert run_sunray("patch-tmpwatch", "--root", sandbox).returncode == 0
    frozen = _immutable(sandbox / "etc/tmpfiles.d")
    if frozen is None:
        pytest.skip("needs root and chattr")
    try:
        proc = run_sunray("patch-tmpwatch", "--root", sandbox)
        assert proc.returncode == 0, proc.stderr
        assert "drop-in already in place" in proc.stdout
    finally:
        subprocess.run(["chattr", "-i", str(frozen)], check=True)


def test_latin1_script_keeps_every_other_byte(sandbox):
    (sandbox / "etc/cron.daily").mkdir()
    original = (b"#!/bin/sh\n# Ge\xe4ndert von Hand (latin-1)\n"
                b"/usr/sbin/tmpwatch -umc 240 /tmp\n")
    (sandbox / CRON).write_bytes(original)
    proc = run_sunray("patch-tmpwatch", "--root", sandbox)
    assert proc.returncode == 0, proc.stderr
    assert (sandbox / CRON).read_bytes() == original.replace(
        b"-umc 240", b"-umc -x /tmp/SUNWut -x /tmp/.esd 240")


def test_age_from_a_case_statement_is_followed(sandbox, tmp_path):
    (sandbox / "etc/cron.daily").mkdir()
    (sandbox / CRON).write_text(
        '#!/bin/sh\ncase "$(uname -r)" in\n  2.6.18*) age=240 ;;\n  *) age=10d ;;\nesac\n'
        'test -d /tmp && /usr/sbin/tmpwatch -umc "$age" /tmp\n')
    proc = run_sunray("patch-tmpwatch", "--root", sandbox)
    assert proc.returncode == 0, proc.stderr
    calls = _record_calls(sandbox / CRON, tmp_path, "sh")
    assert calls == [["-umc", *OURS, "10d", "/tmp"]]


def test_new_options_go_before_a_double_dash(sandbox, tmp_path):
    (sandbox / "etc/cron.daily").mkdir()
    (sandbox / CRON).write_text("#!/bin/sh\n/usr/sbin/tmpwatch -umc -- 240 /tmp\n")
    assert run_sunray("patch-tmpwatch", "--root", sandbox).returncode == 0
    assert _record_calls(sandbox / CRON, tmp_path, "sh") == [
        ["-umc", *OURS, "--", "240", "/tmp"]]
