"""One journal per run (sunray/core/journal.py): a killed run's leftovers are
cleaned up by the next run or revert; the journal exists only during a run."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from conftest import FIXTURES, REPO, run_sunray, tree_snapshot
from support import process_running

from sunray.core import runprocs
from sunray.core.journal import JOURNAL, Journal
from sunray.core.rootfs import Root

CRON = "etc/cron.daily/tmpwatch"
STATE = "var/lib/sunray"


def _cron(sandbox):
    target = sandbox / CRON
    target.parent.mkdir(parents=True)
    shutil.copyfile(FIXTURES / "tmpwatch/rhel6-days", target)
    os.chmod(target, 0o755)


def _leave_a_killed_run(sandbox):
    """What a patch-tmpwatch killed mid-write leaves: its journal and temp files."""
    (sandbox / STATE).mkdir(exist_ok=True)
    (sandbox / STATE / JOURNAL).write_text(json.dumps(
        {"task": "patch-tmpwatch", "pid": 99999, "started": "2026-12-01T05:00:00",
         "targets": ["/" + CRON], "dirs": ["/etc/cron.daily"]}))
    leftovers = [sandbox / "etc/cron.daily/.tmpwatch.a1b2c3d4.sunray-tmp",
                 sandbox / STATE / "backup/meta/etc/cron.daily/.tmpwatch.json.x9y8z7w6.sunray-tmp"]
    for path in leftovers:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("half\n")
    return leftovers


def test_a_rerun_removes_the_temp_files_of_a_killed_run(sandbox):
    # issue 11, case 5: .NAME.XXXX.sunray-tmp files were never removed.
    _cron(sandbox)
    assert run_sunray("patch-tmpwatch", "--root", sandbox).returncode == 0
    clean = tree_snapshot(sandbox)
    leftovers = _leave_a_killed_run(sandbox)
    proc = run_sunray("patch-tmpwatch", "--root", sandbox)
    assert proc.returncode == 0, proc.stderr
    assert "an interrupted run was found (patch-tmpwatch, pid 99999" in proc.stdout
    assert not any(p.exists() for p in leftovers)
    assert tree_snapshot(sandbox) == clean


def test_a_revert_after_a_killed_run_gives_back_the_whole_tree(sandbox):
    _cron(sandbox)
    before = tree_snapshot(sandbox)
    assert run_sunray("patch-tmpwatch", "--root", sandbox).returncode == 0
    _leave_a_killed_run(sandbox)
    proc = run_sunray("patch-tmpwatch", "--root", sandbox, "--revert")
    assert proc.returncode == 0, proc.stderr
    assert tree_snapshot(sandbox) == before  # no state directory, no temp file


def test_only_sunray_temp_names_are_removed_and_nothing_is_followed(sandbox, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    tmp = sandbox / "tmp"
    (tmp / ".esd.a1b2c3d4.sunray-tmp").symlink_to(victim)  # a link of the pattern: the link goes
    (tmp / ".x.sunray-tmp").write_text("not the pattern\n")
    (tmp / ".y.q1w2e3r4.sunray-tmp").write_text("someone else's\n")
    os.chown(tmp / ".y.q1w2e3r4.sunray-tmp", 1000, 1000)
    root = Root(sandbox)
    with Journal(root, {}, "test", ["/tmp/.esd"]) as journal:
        assert json.loads((sandbox / STATE / JOURNAL).read_text())["dirs"] == ["/tmp"]
    assert journal.notes == ["removed /tmp/.esd.a1b2c3d4.sunray-tmp, left by an interrupted run"]
    assert not (sandbox / STATE / JOURNAL).exists()
    assert sorted(os.listdir(tmp)) == [".x.sunray-tmp", ".y.q1w2e3r4.sunray-tmp"]
    assert victim.read_text() == "keep\n"


def test_the_journal_is_written_before_the_first_write_and_removed_after_a_failure(sandbox):
    root = Root(sandbox)
    with pytest.raises(RuntimeError):
        with Journal(root, {}, "test", ["/etc/a/file"]):
            entry = json.loads((sandbox / STATE / JOURNAL).read_text())
            assert entry["task"] == "test" and entry["pid"] == os.getpid()
            assert entry["targets"] == ["/etc/a/file"] and entry["dirs"] == ["/etc/a"]
            raise RuntimeError("the step failed")
    assert not (sandbox / STATE / JOURNAL).exists()


def test_nested_journals_are_one(sandbox):
    root = Root(sandbox)
    with Journal(root, {}, "apply", hold=True):
        with Journal(root, {}, "esd-dir", ["/tmp/.esd"]):
            pass
        entry = json.loads((sandbox / STATE / JOURNAL).read_text())
        assert entry["task"] == "apply" and entry["targets"] == ["/tmp/.esd"]
    assert not (sandbox / STATE / JOURNAL).exists()


def test_a_dry_run_or_a_run_with_nothing_to_do_leaves_no_state(sandbox):
    before = tree_snapshot(sandbox)
    with Journal(Root(sandbox), {}, "test", ["/etc/x"], dry_run=True):
        pass
    with Journal(Root(sandbox), {}, "test", []):
        pass
    with Journal(Root(sandbox), {}, "test", [], revert=True):
        pass
    assert tree_snapshot(sandbox) == before


def test_a_run_with_nothing_to_write_on_a_read_only_state_dir_is_fine(sandbox):
    import subprocess

    _cron(sandbox)
    assert run_sunray("patch-tmpwatch", "--root", sandbox).returncode == 0
    state = sandbox / STATE
    if os.geteuid() != 0 or shutil.which("chattr") is None or subprocess.run(
            ["chattr", "+i", str(state)], capture_output=True).returncode != 0:
        pytest.skip("needs root and chattr")
    try:
        proc = run_sunray("patch-tmpwatch", "--root", sandbox)
        assert proc.returncode == 0, proc.stderr
    finally:
        subprocess.run(["chattr", "-i", str(state)], check=True)


def _doctor_journal_row(sandbox):
    proc = run_sunray("doctor", "--root", sandbox, "--format", "json")
    rows = [c for c in json.loads(proc.stdout)["checks"] if c["id"] == "journal"]
    assert len(rows) == 1, proc.stdout
    return rows[0]


def test_the_doctor_reports_a_killed_run_until_a_rerun_finishes_it(sandbox):
    # Before: a leftover journal went unreported; the doctor said nothing.
    _cron(sandbox)
    assert _doctor_journal_row(sandbox)["status"] == "ok"
    assert run_sunray("patch-tmpwatch", "--root", sandbox).returncode == 0
    _leave_a_killed_run(sandbox)
    row = _doctor_journal_row(sandbox)
    assert row["status"] == "warn"
    assert "/var/lib/sunray/journal.json: a run of `sunray patch-tmpwatch` started " \
        "2026-12-01T05:00:00 was interrupted" == row["detail"]
    assert f"sunray patch-tmpwatch --root {sandbox} (finishes it)" in row["fix"]
    assert f"sunray patch-tmpwatch --root {sandbox} --revert (undoes it)" in row["fix"]
    assert run_sunray("patch-tmpwatch", "--root", sandbox).returncode == 0
    assert _doctor_journal_row(sandbox)["status"] == "ok"


def test_the_doctor_calls_a_run_holding_the_lock_under_way(sandbox):
    import subprocess
    import sys

    _cron(sandbox)
    _leave_a_killed_run(sandbox)
    lock = sandbox / STATE / "sunray.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'a'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)", str(lock)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        row = _doctor_journal_row(sandbox)
        assert row["status"] == "ok" and "a run of patch-tmpwatch is under way" in row["detail"]
    finally:
        holder.kill()
        holder.wait()
    assert _doctor_journal_row(sandbox)["status"] == "warn"


def test_a_journal_naming_no_task_of_ours_never_becomes_a_fix_command(sandbox):
    (sandbox / STATE).mkdir(parents=True)
    (sandbox / STATE / JOURNAL).write_text(json.dumps(
        {"task": "patch-tmpwatch; rm -rf /", "started": "$(reboot)"}))
    row = _doctor_journal_row(sandbox)
    assert row["status"] == "warn" and "task unknown" in row["detail"]
    assert "rm -rf" not in row["fix"] and "reboot" not in json.dumps(row)


@pytest.mark.parametrize("task,targets,finish,undo", [
    ("rebuild-modules", ["/lib/modules/6.1.0-9-amd64/extra/sunray/utadem.ko"],
     "sunray rebuild-modules --root {r}",
     "sunray remove-modules --root {r} --kernel 6.1.0-9-amd64"),
    ("remove-modules --revert", ["/lib/modules/6.1.0-9-amd64/extra/sunray/utio.ko"],
     "sunray remove-modules --root {r} --kernel 6.1.0-9-amd64",
     "sunray rebuild-modules --root {r} --kernel 6.1.0-9-amd64"),
    ("patch-tmpwatch --revert", [], "sunray patch-tmpwatch --root {r} --revert", None),
    ("apply", [], "sunray apply --root {r}", "sunray apply --root {r} --revert"),
])
def test_the_doctor_fix_lines_are_commands_that_exist(sandbox, task, targets, finish, undo):
    # Before: `rebuild-modules --revert` (no such flag) and, for a killed
    # revert, the same command offered as both finish and undo.
    (sandbox / STATE).mkdir(parents=True)
    (sandbox / STATE / JOURNAL).write_text(json.dumps(
        {"task": task, "started": "2026-12-01T05:00:00", "targets": targets}))
    fix = _doctor_journal_row(sandbox)["fix"]
    assert fix.startswith(f"{finish.format(r=sandbox)} (finishes it)"), fix
    if undo is None:
        assert "undoes" not in fix
    else:
        assert f"{undo.format(r=sandbox)} (undoes it)" in fix


def test_a_journal_that_is_a_symlink_is_not_followed(sandbox, tmp_path):
    (sandbox / STATE).mkdir(parents=True)
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"task": "apply"}))
    (sandbox / STATE / JOURNAL).symlink_to(secret)
    row = _doctor_journal_row(sandbox)
    assert row["status"] == "warn" and "not a regular file" in row["detail"]


def _sleeper(run_id):
    """A process started by run ``run_id`` (as make would be), still running."""
    env = dict(os.environ, SUNRAY_RUN=run_id)
    return subprocess.Popen(["sleep", "300"], env=env)


def _until_seen(run_id, count):
    """Wait (5 s at most) until ``count`` processes show the run's id: just
    after an exec the kernel may not show the new environment yet."""
    deadline = time.monotonic() + 5
    while len(runprocs.processes_of(run_id)) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def _journal_of_a_killed_run(sandbox, **fields):
    """A killed patch-tmpwatch's journal and temp files (_leave_a_killed_run),
    the journal with ``fields`` added."""
    _cron(sandbox)
    _leave_a_killed_run(sandbox)
    entry = json.loads((sandbox / STATE / JOURNAL).read_text())
    (sandbox / STATE / JOURNAL).write_text(json.dumps(dict(entry, **fields)))


def test_a_rerun_stops_what_a_killed_run_left_running(sandbox):
    # A build or a depmod of a killed run must not go on writing while the next run works.
    run_id, other_id = runprocs.new_run_id(), runprocs.new_run_id()
    left = _sleeper(run_id)
    strangers = [_sleeper(other_id), _sleeper(run_id + "0"),
                 subprocess.Popen(["sleep", "300"])]
    try:
        _journal_of_a_killed_run(sandbox, run=run_id, boot=runprocs.boot_id())
        assert _doctor_journal_row(sandbox)["detail"].endswith(
            f"was interrupted; still running: sleep ({left.pid}) (the next run stops them)")
        proc = run_sunray("patch-tmpwatch", "--root", sandbox)
        assert proc.returncode == 0, proc.stderr
        assert f"stopped what the interrupted run had left running: sleep ({left.pid})" \
            in proc.stdout
        assert left.wait(timeout=5) == -signal.SIGKILL
        assert all(p.poll() is None for p in strangers)  # other runs', and no run's
    finally:
        for p in [left] + strangers:
            p.kill()
            p.wait()


def test_a_run_id_from_a_journal_selects_nothing_unless_it_is_ours(sandbox):
    for bad in ("", "PATH=/usr/bin", "a" * 31, "A" * 32, "0" * 32 + "\n", 12, None):
        assert runprocs.valid_run_id(bad) is None
    assert runprocs.valid_run_id("0123456789abcdef" * 2) == "0123456789abcdef" * 2
    sleeper = subprocess.Popen(["sleep", "300"], env=dict(os.environ, SUNRAY_RUN="PATH=/x"))
    try:
        _journal_of_a_killed_run(sandbox, run="PATH=/x", boot=runprocs.boot_id())
        proc = run_sunray("patch-tmpwatch", "--root", sandbox)
        assert proc.returncode == 0, proc.stderr
        assert "stopped" not in proc.stdout and sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()


def test_every_process_a_run_starts_carries_its_id(sandbox):
    root = Root(sandbox)
    assert "SUNRAY_RUN" not in os.environ
    with Journal(root, {}, "apply", hold=True):
        run_id = json.loads((sandbox / STATE / JOURNAL).read_text())["run"]
        assert runprocs.valid_run_id(run_id) == run_id
        with Journal(root, {}, "esd-dir", ["/tmp/.esd"]):  # a step: the same run
            shown = subprocess.run(["sh", "-c", "echo $SUNRAY_RUN"], capture_output=True,
                                   text=True, check=True).stdout.strip()
        assert shown == run_id
        sleeper = _sleeper(run_id)
        try:
            _until_seen(run_id, 1)
            assert runprocs.processes_of(run_id) == [sleeper.pid]
            assert runprocs.stop_run(run_id) == [f"sleep ({sleeper.pid})"]
            assert sleeper.wait(timeout=5) == -signal.SIGKILL
            assert runprocs.processes_of(run_id) == []  # a zombie is not running
        finally:
            sleeper.kill()
            sleeper.wait()
    assert "SUNRAY_RUN" not in os.environ


def test_a_stop_catches_what_the_run_starts_meanwhile_and_children_by_their_parent(tmp_path):
    # A shell of the run that keeps starting processes (as make starts
    # compilers), one of them with its environment cleared: frozen first, so
    # none escapes; the cleared one is found by its parent.
    run_id = runprocs.new_run_id()
    cleared = tmp_path / "cleared.pid"
    script = (f"env -i sleep 300 & echo $! > {cleared}; "
              "while :; do sleep 300 & sleep 0.01; done")
    shell = subprocess.Popen(["sh", "-c", script], env=dict(os.environ, SUNRAY_RUN=run_id))
    try:
        deadline = time.monotonic() + 5
        while (len(runprocs.processes_of(run_id)) < 3 or not cleared.exists()
               or not cleared.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.01)
        orphan = int(cleared.read_text())
        while orphan in runprocs.processes_of(run_id) and time.monotonic() < deadline:
            time.sleep(0.01)  # until its own exec of sleep has cleared its environment
        assert orphan not in runprocs.processes_of(run_id)
        stopped = runprocs.stop_run(run_id)
        assert f"sh ({shell.pid})" in stopped and len(stopped) >= 3
        assert any(label.endswith(f" ({orphan})") for label in stopped)
        assert shell.wait(timeout=5) == -signal.SIGKILL
        pids = [int(label.rsplit("(", 1)[1].rstrip(")")) for label in stopped]
        assert not [pid for pid in pids if process_running(pid)]
        assert runprocs.processes_of(run_id) == []
    finally:
        shell.kill()
        shell.wait()


def test_a_stop_never_touches_the_processes_that_started_us():
    # A shell carrying the id (as if started from inside the killed run) that
    # runs the stop: it is left alone; only its other child goes.
    run_id = runprocs.new_run_id()
    code = ("import subprocess, sys; from sunray.core import runprocs; "
            "other = subprocess.Popen(['sleep', '300']); "
            "print(runprocs.stop_run(sys.argv[1]) == [f'sleep ({other.pid})'])")
    shell = subprocess.run(["sh", "-c", '"$0" -c "$1" "$2"; echo done',
                            sys.executable, code, run_id],
                           env=dict(os.environ, SUNRAY_RUN=run_id), stdout=subprocess.PIPE,
                           universal_newlines=True, timeout=60, cwd=str(REPO))
    assert shell.stdout.split() == ["True", "done"]


def test_a_stop_leaves_alone_a_live_run_another_boot_and_another_user(sandbox):
    # The journal is a file: a copy of a live run's tree, a journal from
    # before a reboot, or a user's process carrying the id stop nothing.
    run_id = runprocs.new_run_id()
    mine = _sleeper(run_id)
    users = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                              "sleep", "300"], env=dict(os.environ, SUNRAY_RUN=run_id))
    try:
        _until_seen(run_id, 1)
        # The killed run's own process is alive (mine stands for it): a copied tree.
        _journal_of_a_killed_run(sandbox, run=run_id, boot=runprocs.boot_id(), pid=mine.pid,
                                 pid_start=runprocs.start_time(mine.pid))
        assert "still running" not in _doctor_journal_row(sandbox)["detail"]
        proc = run_sunray("patch-tmpwatch", "--root", sandbox)
        assert proc.returncode == 0, proc.stderr
        assert f"the interrupted run's process {mine.pid} is alive" in proc.stdout
        assert mine.poll() is None
        shutil.rmtree(sandbox / "etc")
        _journal_of_a_killed_run(sandbox, run=run_id, boot="another boot")
        proc = run_sunray("patch-tmpwatch", "--root", sandbox)
        assert proc.returncode == 0 and "stopped" not in proc.stdout and mine.poll() is None
        # The user's process has the id but is not ours; mine goes.
        assert runprocs.stop_run(run_id) == [f"sleep ({mine.pid})"]
        assert users.poll() is None and mine.wait(timeout=5) == -signal.SIGKILL
    finally:
        for p in (mine, users):
            p.kill()
            p.wait()


def test_a_stop_sees_processes_of_any_name(tmp_path):
    # Names are bytes: one that is not UTF-8, one with ") (" in it.
    run_id = runprocs.new_run_id()
    sleepers = []
    for name in (b"bad\xff", b"a) (b"):
        path = os.path.join(bytes(tmp_path), name)
        shutil.copy("/bin/sleep", path)
        sleepers.append(subprocess.Popen([path, b"300"], env=dict(os.environ, SUNRAY_RUN=run_id)))
    try:
        _until_seen(run_id, 2)
        assert sorted(runprocs.stop_run(run_id)) == sorted(
            [f"bad\ufffd ({sleepers[0].pid})", f"a) (b ({sleepers[1].pid})"])
        assert [p.wait(timeout=5) for p in sleepers] == [-signal.SIGKILL] * 2
    finally:
        for p in sleepers:
            p.kill()
            p.wait()


def test_nothing_is_left_frozen_when_a_stop_is_interrupted(monkeypatch):
    run_id = runprocs.new_run_id()
    sleepers = [_sleeper(run_id), _sleeper(run_id)]
    labels = []
    real_label = runprocs._label

    def interrupted(pid):
        labels.append(pid)
        if len(labels) == 2:  # after the first freeze: Ctrl-C
            raise KeyboardInterrupt
        return real_label(pid)

    try:
        _until_seen(run_id, 2)
        monkeypatch.setattr(runprocs, "_label", interrupted)
        with pytest.raises(KeyboardInterrupt):
            runprocs.stop_run(run_id)
        # Both were frozen; both got the kill, none stays stopped.
        assert [p.wait(timeout=5) for p in sleepers] == [-signal.SIGKILL] * 2
    finally:
        for p in sleepers:
            p.kill()
            p.wait()
