"""A full disk and I/O errors: the error line names the file and says what
was left as it was; when the error line itself cannot be written (stderr on
a full disk) the program still ends with its exit status, never a traceback.

The faults are real: /dev/full as stdout or stderr, and ENOSPC or EIO
injected by strace into the program's own system calls.
"""

import os
import re
import shutil
import subprocess

import pytest
from conftest import FIXTURES, PYTHON, REPO, need


def _tree(top):
    (top / "etc/cron.daily").mkdir(parents=True)
    (top / "var/lib").mkdir(parents=True)
    (top / "tmp").mkdir()
    cron = top / "etc/cron.daily/tmpwatch"
    shutil.copyfile(FIXTURES / "tmpwatch/rhel6-days", cron)
    os.chmod(cron, 0o755)
    return top


def _run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, strace=()):
    env = dict(os.environ)
    env.pop("SUNRAY_DEBUG", None)
    cmd = [*strace, PYTHON, "-m", "sunray", *map(str, args)]
    return subprocess.run(cmd, stdout=stdout, stderr=stderr, text=True, env=env, cwd=REPO,
                          timeout=300)


@pytest.mark.parametrize("args", [["patch-tmpwatch", "--format", "xml"], ["no-such-task"]])
def test_an_error_line_that_cannot_be_written_still_ends_with_its_status(tmp_path, args):
    top = _tree(tmp_path / "root")
    with open("/dev/full", "w") as full:
        proc = _run([*args[:1], "--root", top, *args[1:]] if args[0] != "no-such-task"
                    else args, stderr=full)
    assert proc.returncode == 2  # a traceback from the failed print would be 1


@pytest.mark.system
def test_the_first_write_of_the_error_line_failing_raises_nothing(tmp_path):
    """strace fails the program's first write (the error line) with ENOSPC
    and lets the rest through: a traceback would be seen."""
    need("strace")
    top = _tree(tmp_path / "root")
    proc = _run(["patch-tmpwatch", "--root", top, "--format", "xml"],
                strace=["strace", "-o", "/dev/null", "-e", "trace=write",
                        "-e", "inject=write:error=ENOSPC:when=1"])
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr == ""


def test_a_report_that_cannot_be_written_is_one_line(tmp_path):
    top = _tree(tmp_path / "root")
    with open("/dev/full", "w") as full:
        proc = _run(["patch-tmpwatch", "--root", top], stdout=full)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "sunray: cannot write the report to standard output: No space left on device; "
        "the job itself is done"]


def _writes_to(trace_text, path):
    """Which write calls (1-based) of a `strace -y -e trace=write` trace
    went to a temporary file of ``path`` (in its own directory)."""
    directory, name = path.rsplit("/", 1)
    calls = [line for line in trace_text.splitlines() if line.startswith("write(")]
    temp = re.compile(rf"/{re.escape(directory)}/\.{re.escape(name)}\.\w{{8}}\.sunray-tmp>")
    return [i + 1 for i, line in enumerate(calls)
            if temp.search(line.split(",")[0]) and "/var/lib/sunray/" not in line]


@pytest.mark.system
@pytest.mark.parametrize("fault", ["ENOSPC", "EIO"])
def test_a_full_disk_names_the_file_and_leaves_it_as_it_was(tmp_path, fault):
    need("strace")
    top = _tree(tmp_path / "root")
    original = (top / "etc/cron.daily/tmpwatch").read_bytes()
    pristine = tmp_path / "pristine"
    shutil.copytree(top, pristine, symlinks=True)
    trace = tmp_path / "write.trace"
    clean = _run(["patch-tmpwatch", "--root", top],
                 strace=["strace", "-y", "-o", str(trace), "-e", "trace=write"])
    assert clean.returncode == 0, clean.stderr
    nth = _writes_to(trace.read_text(), "etc/cron.daily/tmpwatch")
    assert nth, trace.read_text()  # the new file's temporary copy
    shutil.rmtree(top)
    shutil.copytree(pristine, top, symlinks=True)
    proc = _run(["patch-tmpwatch", "--root", top],
                strace=["strace", "-o", "/dev/null", "-e", "trace=write",
                        "-e", f"inject=write:error={fault}:when={nth[-1]}"])
    assert proc.returncode == 1
    cause = os.strerror(getattr(__import__("errno"), fault))
    assert proc.stderr.strip().splitlines()[-1] == (
        f"sunray: cannot write /etc/cron.daily/tmpwatch: {cause}; "
        "/etc/cron.daily/tmpwatch was left as it was")
    assert (top / "etc/cron.daily/tmpwatch").read_bytes() == original
    assert not [p for p in top.rglob("*") if p.name.endswith(".sunray-tmp")]
