"""patch-tmpwatch on tmpwatch's cron script (sunray/tmpclean/tmpwatch.py).

tmpwatch itself is not packaged for Debian: the patched cron scripts run for
real under sh and bash (those tests are marked system), with a recording
stand-in for tmpwatch that writes down its arguments.
"""

import glob
import json
import os
import re
import stat
import subprocess

import pytest
from conftest import assert_clean_error, run_sunray, tree_snapshot
from tmpclean_support import CRON, FIX, install

from sunray.core.config import defaults
from sunray.tmpclean import core
from sunray.tmpclean.base import NotUnderstood

OURS = ["-x", "/tmp/SUNWut", "-x", "/tmp/.esd"]
X11 = ["-x", "/tmp/.X11-unix", "-x", "/tmp/.XIM-unix", "-x", "/tmp/.font-unix",
       "-x", "/tmp/.ICE-unix", "-x", "/tmp/.Test-unix"]
MAN_DIRS = [f"/var/{a}/{b}" for a in ("cache/man", "catman")
            for b in ("cat?", "X11R6/cat?", "local/cat?")]


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


@pytest.mark.system
@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_tmpwatch_scripts_are_patched_and_run_with_the_exclusions(fixture, sandbox, tmp_path):
    target = install(sandbox, fixture)
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


@pytest.mark.system
def test_unpatched_rhel6_script_would_clean_our_paths(sandbox, tmp_path):
    """The recorder sees what the script really passes: without the patch the
    /tmp call carries no exclusion of ours (the test above can fail)."""
    target = install(sandbox, "rhel6-days")
    first = _record_calls(target, tmp_path, "sh")[0]
    assert "/tmp/SUNWut" not in first and first[-2:] == ["10d", "/tmp"]


def test_dry_run_shows_the_diff_and_changes_nothing(sandbox):
    install(sandbox, "rhel5-hours-noflags")
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
    install(sandbox, fixture)
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
        core.patch(sandbox, defaults(), cleaner="tmpwatch")
    assert (sandbox / CRON).read_text() == text


def test_comments_mentioning_tmpwatch_and_var_tmp_only_scripts(sandbox):
    (sandbox / "etc/cron.daily").mkdir()
    text = "#!/bin/sh\n# tmpwatch eval $X /tmp\n/usr/sbin/tmpwatch 720 /var/tmp\n"
    (sandbox / CRON).write_text(text)
    report = core.patch(sandbox, defaults())
    assert not report.changed
    assert "none of its 1 tmpwatch call(s) cleans /tmp" in report.to_text()
    assert (sandbox / CRON).read_text() == text


def test_rpmnew_beside_the_script_is_warned_about(sandbox):
    install(sandbox, "rhel6-days")
    install(sandbox, "rhel6-days", CRON + ".rpmnew")
    proc = run_sunray("patch-tmpwatch", "--root", sandbox)
    assert proc.returncode == 0, proc.stderr
    assert "tmpwatch.rpmnew exists" in proc.stderr
    assert "does NOT protect /tmp/SUNWut, /tmp/.esd" in proc.stderr
    assert (sandbox / (CRON + ".rpmnew")).read_bytes() == (FIX / "rhel6-days").read_bytes()
    rows = core.status(sandbox, defaults())
    assert rows == [{"cleaner": "tmpwatch", "file": "/etc/cron.daily/tmpwatch",
                     "protected": True, "missing": [],
                     "rpmnew": "/etc/cron.daily/tmpwatch.rpmnew", "error": None}]


def test_latin1_script_keeps_every_other_byte(sandbox):
    (sandbox / "etc/cron.daily").mkdir()
    original = (b"#!/bin/sh\n# Ge\xe4ndert von Hand (latin-1)\n"
                b"/usr/sbin/tmpwatch -umc 240 /tmp\n")
    (sandbox / CRON).write_bytes(original)
    proc = run_sunray("patch-tmpwatch", "--root", sandbox)
    assert proc.returncode == 0, proc.stderr
    assert (sandbox / CRON).read_bytes() == original.replace(
        b"-umc 240", b"-umc -x /tmp/SUNWut -x /tmp/.esd 240")


@pytest.mark.system
def test_age_from_a_case_statement_is_followed(sandbox, tmp_path):
    (sandbox / "etc/cron.daily").mkdir()
    (sandbox / CRON).write_text(
        '#!/bin/sh\ncase "$(uname -r)" in\n  2.6.18*) age=240 ;;\n  *) age=10d ;;\nesac\n'
        'test -d /tmp && /usr/sbin/tmpwatch -umc "$age" /tmp\n')
    proc = run_sunray("patch-tmpwatch", "--root", sandbox)
    assert proc.returncode == 0, proc.stderr
    calls = _record_calls(sandbox / CRON, tmp_path, "sh")
    assert calls == [["-umc", *OURS, "10d", "/tmp"]]


@pytest.mark.system
def test_new_options_go_before_a_double_dash(sandbox, tmp_path):
    (sandbox / "etc/cron.daily").mkdir()
    (sandbox / CRON).write_text("#!/bin/sh\n/usr/sbin/tmpwatch -umc -- 240 /tmp\n")
    assert run_sunray("patch-tmpwatch", "--root", sandbox).returncode == 0
    assert _record_calls(sandbox / CRON, tmp_path, "sh") == [
        ["-umc", *OURS, "--", "240", "/tmp"]]
