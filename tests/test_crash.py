"""Crash injection: every writing task killed (SIGKILL, injected by strace)
before each of its file-system calls, then run again, then reverted.

For each task a clean run is traced once; every call of it that changes a
file system (crash_support.MUTATING, and opens for writing) is a kill point.
Each point starts from a fresh copy of the same server tree and checks:

1. killed there, every path the clean run changes holds its old or its new
   state (bytes, mode, owner), nothing torn; sunray's records still parse;
2. the task's revert straight after the kill gives back the original tree;
3. from the killed tree again, the rerun (no strace) exits 0 and leaves the
   tree of a clean run;
4. the task's revert then gives back the original tree byte for byte, with
   nothing left over (no temp file in the tree or in $TMPDIR, no empty
   directory, no state directory).

The only thing not compared byte for byte is the content of files that two
clean runs write differently themselves (a log's time stamp, the lock's
holder line): measured per task by crash_support.volatile, not listed here.

Each task's revert is killed the same way (after a clean run, at points of
the revert's own trace): the revert after that gives back the original
tree, and so do a run and a revert after that.

Points are sampled (first, last, one of each syscall, the rest at random
with a fixed seed) to fit CI's budget; SUNRAY_CRASH_POINTS=all runs every
point, SUNRAY_CRASH_POINTS=N at most N per task (docs/development.md).
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List

import pytest
from conftest import FIXTURES, PROGRAM, PYTHON, REPO, need, need_root
from crash_support import (
    changed_targets,
    diff,
    env_for,
    fresh_copy,
    half_written_records,
    run_killed,
    run_plain,
    same_call,
    sample,
    snapshot,
    sunray_argv,
    torn_targets,
    trace_clean,
    volatile,
)
from modules_support import host_kernels, make_server
from support import process_running

from sunray import demo

pytestmark = pytest.mark.system  # strace (and kbuild, depmod for the modules)


def _base_tree(root: Path) -> None:
    for d in ("etc", "var/lib", "var/log", "usr/src", "lib/modules", "run"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "tmp").mkdir(exist_ok=True)
    os.chmod(root / "tmp", 0o1777)


def tmpwatch_tree(root: Path) -> None:
    """tmpwatch's cron job, tmpreaper's conf and a tmpfiles.d directory
    under /usr/lib only (so the run creates /etc/tmpfiles.d)."""
    _base_tree(root)
    cron = root / "etc/cron.daily/tmpwatch"
    cron.parent.mkdir(parents=True)
    shutil.copyfile(FIXTURES / "tmpwatch/rhel6-days", cron)
    os.chmod(cron, 0o755)
    shutil.copyfile(FIXTURES / "tmpwatch/tmpreaper-debian.conf", root / "etc/tmpreaper.conf")
    (root / "usr/lib/tmpfiles.d").mkdir(parents=True)
    (root / "usr/lib/tmpfiles.d/tmp.conf").write_text("q /tmp 1777 root root 10d\n")


def esd_tree(root: Path) -> None:
    """A stale file at /tmp/.esd: moved aside, the directory made."""
    _base_tree(root)
    (root / "tmp/.esd").write_text("stale\n")


def sysv_tree(root: Path) -> None:
    """Debian's SysV layout with only rc3.d: the run creates the others."""
    _base_tree(root)
    (root / "sbin").mkdir()
    (root / "sbin/init").write_bytes(b"\x7fELF sysvinit stand-in")
    (root / "etc/init.d").mkdir()
    (root / "etc/rc3.d").mkdir()


def systemd_tree(root: Path) -> None:
    """A merged-/usr systemd tree without /etc/tmpfiles.d."""
    _base_tree(root)
    (root / "usr/lib/systemd").mkdir(parents=True)
    (root / "usr/lib/systemd/systemd").write_bytes(b"\x7fELF systemd stand-in")
    (root / "usr/sbin").mkdir()
    (root / "sbin").symlink_to("usr/sbin")
    (root / "usr/sbin/init").symlink_to("../lib/systemd/systemd")
    (root / "etc/systemd/system").mkdir(parents=True)


def kernel() -> str:
    """The one kernel the module cases build for: the host's newest headers."""
    return host_kernels()[-1]


def modules_tree(root: Path) -> None:
    """A Debian server with SRSS's module sources and one kernel's headers."""
    make_server(root, [kernel()])


def demo_tree(root: Path) -> None:
    """apply's tree: the demo server (CentOS 6 shaped), one kernel only."""
    need("make", "gcc", "depmod", "modinfo")
    root.rmdir()  # demo.build makes it
    demo.build(root)
    for other in os.listdir(root / "lib/modules"):
        if other != kernel():
            shutil.rmtree(root / "lib/modules" / other)


@dataclass
class Case:
    """One writing task on one tree: its run, its revert(s), how many
    points CI runs, and whether kill runs follow threads and children."""

    name: str
    tree: Callable[[Path], None]
    forward: List[str]
    reverts: List[List[str]]
    limit: int = 20
    follow: bool = False
    shards: int = 1
    env: Dict[str, str] = field(default_factory=dict)
    revert_limit: int = 8  # points of the revert killed in CI


HOOK_ENV = {"INVOKE_SUNRAY_PROGRAM": str(PROGRAM)}
# The smallest build: one module (utadem: one C file) for one kernel.
SMALL_BUILD = {"INVOKE_SUNRAY_MODULES_MODULES": "utadem"}
REMOVE_MODULES = ["remove-modules", "--kernel", "{kernel}"]
CASES = [
    Case("patch-tmpwatch", tmpwatch_tree, ["patch-tmpwatch"], [["patch-tmpwatch", "--revert"]]),
    Case("esd-dir", esd_tree, ["esd-dir"], [["esd-dir", "--revert"]]),
    Case("install-boot-hook-sysv", sysv_tree, ["install-boot-hook", "--init", "sysv"],
         [["install-boot-hook", "--init", "sysv", "--revert"]], env=HOOK_ENV),
    Case("install-boot-hook-systemd", systemd_tree, ["install-boot-hook", "--init", "systemd"],
         [["install-boot-hook", "--init", "systemd", "--revert"]], env=HOOK_ENV),
    Case("install-kernel-hooks", _base_tree, ["install-kernel-hooks"],
         [["install-kernel-hooks", "--revert"]], env=HOOK_ENV),
    Case("install-doctor-timer", systemd_tree, ["install-doctor-timer", "--init", "systemd"],
         [["install-doctor-timer", "--revert"]], limit=10, env=HOOK_ENV),
    Case("rebuild-modules", modules_tree, ["rebuild-modules"], [REMOVE_MODULES],
         follow=True, limit=40, shards=3, env=SMALL_BUILD, revert_limit=6),
    # apply's revert is apply --revert: every step's, last first.
    Case("apply", demo_tree, ["apply"], [["apply", "--revert"]],
         follow=True, shards=2, limit=6, env={**HOOK_ENV, **SMALL_BUILD}, revert_limit=6),
]


def _with_root(args: List[str], root: Path) -> List[str]:
    """The task's arguments with --root, and the module cases' kernel."""
    if "{kernel}" in args:
        args = [kernel() if a == "{kernel}" else a for a in args]
    return [args[0], "--root", str(root), *args[1:]]


# (case, shard): a case with many expensive points is split over several
# test items, so that xdist can run them side by side.
ITEMS = [pytest.param(c, k, id=c.name + (f"-{k + 1}of{c.shards}" if c.shards > 1 else ""))
         for c in CASES for k in range(c.shards)]


@pytest.fixture(scope="module", autouse=True)
def _byte_code():
    """Every module of the program compiled before the first trace. A kill
    point is the Nth call of its kind: a missing .pyc costs an extra failed
    openat, so one written meanwhile by a test on another xdist worker
    shifted the calls of the runs after it (CI, "killed elsewhere")."""
    subprocess.run([PYTHON, "-m", "compileall", "-q", "sunray"], cwd=REPO, check=True)


@pytest.mark.parametrize(("case", "shard"), ITEMS)
def test_killed_anywhere_the_rerun_converges_and_the_revert_restores(case, shard, tmp_path):
    need_root()
    need("strace")
    check_crash_points(case, shard, tmp_path)


def check_crash_points(case: Case, shard: int, base: Path) -> None:
    pristine, work, kept = base / "pristine", base / "work", base / "killed"
    for part in ("root", "tmp", "home"):
        (pristine / part).mkdir(parents=True)
    case.tree(pristine / "root")
    root = work / "root"
    forward = _with_root(case.forward, root)
    reverts = [_with_root(r, root) for r in case.reverts]
    env = env_for(work, case.env)

    fresh_copy(pristine, work)
    before = snapshot(work)
    proc, traced = trace_clean(forward, env, base / "clean.trace")
    assert proc.returncode == 0, proc.stderr
    clean = snapshot(work)
    if not case.follow:
        # Kill runs trace the program's own process only: a child that wrote
        # would have kill points this test never reaches.
        assert not traced.other_calls, f"child processes write: {traced.others}"
    # What a clean run varies itself, and a clean run's revert.
    fresh_copy(pristine, work)
    proc = run_plain(forward, env)
    assert proc.returncode == 0, proc.stderr
    loose = volatile(clean, snapshot(work))
    targets = changed_targets(before, clean)
    failures = []
    problems = _run_reverts(reverts, env)
    problems += [f"revert vs original: {d}" for d in diff(before, snapshot(work))]
    if problems:
        failures.append("no kill (a clean run, then the revert)\n    " + "\n    ".join(problems))

    if case.follow:
        # Mostly the program's own points; a quarter in its children
        # (depmod's renames, make's writes) and its worker thread.
        mine = case.limit * 3 // 4
        points = sample(traced.points, mine) + sample(traced.others, case.limit - mine)
    else:
        points = sample(traced.points, case.limit)
    points = points[shard::case.shards]
    for point in points:
        fresh_copy(pristine, work)
        problems = []
        killed = run_killed(forward, env, point, base / "killed.trace", follow=case.follow)
        if case.follow and killed.returncode not in (-9, 0):
            # A child killed first: the program must fail in one clean line.
            last = _last_line(killed.stderr)
            if "Traceback" in killed.stderr or not last.startswith("sunray: "):
                problems.append(f"a killed tool, exit {killed.returncode}: {killed.stderr[-300:]}")
        elif killed.returncode != -9 and not case.follow:
            problems.append(f"not killed: exit {killed.returncode} {killed.stderr.strip()[-200:]}")
        elif not case.follow and not (killed.last_call and same_call(point.call, killed.last_call)):
            problems.append(f"killed elsewhere: {killed.last_call}")
        problems += [f"torn: {t}" for t in torn_targets(targets, snapshot(work), loose)]
        problems += [f"half-written record: {r}" for r in half_written_records(work)]
        # A revert straight after the kill gives the original back too; then
        # the killed tree is put back (at the same path) for the rerun.
        fresh_copy(work, kept)
        problems += [f"revert after the kill: {p}" for p in _run_reverts(reverts, env)]
        problems += [f"revert after the kill vs original: {d}"
                     for d in diff(before, snapshot(work))]
        fresh_copy(kept, work)
        rerun = run_plain(forward, env)
        if rerun.returncode != 0:
            problems.append(f"rerun exit {rerun.returncode}: {_last_line(rerun.stderr)}")
        problems += [f"rerun vs clean run: {d}" for d in diff(clean, snapshot(work), loose)]
        problems += _run_reverts(reverts, env)
        problems += [f"revert vs original: {d}" for d in diff(before, snapshot(work))]
        if problems:
            more = [f"(and {len(problems) - 8} more)"] if len(problems) > 8 else []
            failures.append(f"{point}\n    " + "\n    ".join(problems[:8] + more))
    assert not failures, (f"{len(failures)} of {len(points)} kill points of {case.name} "
                          f"(of {len(traced.points)} in all) failed:\n" + "\n".join(failures))


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in CASES])
def test_a_killed_revert_converges_on_the_next_revert(case, tmp_path):
    """Every task's revert killed at sampled points of its own (after a
    clean run): the revert after that gives back the original tree, nothing
    left over; and a run and a revert after that still do (an empty state
    directory kept without its record would stay for ever)."""
    need_root()
    need("strace")
    check_revert_points(case, tmp_path)


def check_revert_points(case: Case, base: Path) -> None:
    pristine, work, applied = base / "pristine", base / "work", base / "applied"
    for part in ("root", "tmp", "home"):
        (pristine / part).mkdir(parents=True)
    case.tree(pristine / "root")
    root = work / "root"
    forward = _with_root(case.forward, root)
    reverts = [_with_root(r, root) for r in case.reverts]
    env = env_for(work, case.env)

    fresh_copy(pristine, work)
    before = snapshot(work)
    proc = run_plain(forward, env)
    assert proc.returncode == 0, proc.stderr
    fresh_copy(work, applied)
    # What the revert puts back holds its applied or its original state at
    # every instant (/tmp/.esd never missing on the way back, say); what it
    # only removes may pass through an in-between state the next revert ends.
    targets = {k: v for k, v in changed_targets(snapshot(work), before).items()
               if v[1] is not None}
    proc, traced = trace_clean(reverts[0], env, base / "revert.trace")
    assert proc.returncode == 0, proc.stderr
    assert _run_reverts(reverts[1:], env) == [] and diff(before, snapshot(work)) == []
    if case.follow:
        mine = case.revert_limit * 3 // 4
        points = sample(traced.points, mine) + sample(traced.others, case.revert_limit - mine)
    else:
        points = sample(traced.points, case.revert_limit)
    failures = []
    for point in points:
        fresh_copy(applied, work)
        killed = run_killed(reverts[0], env, point, base / "killed.trace", follow=case.follow)
        problems = []
        if killed.returncode not in (-9, 0) and "Traceback" in killed.stderr:
            problems.append(f"a killed tool, exit {killed.returncode}: {killed.stderr[-300:]}")
        elif not case.follow and killed.returncode != -9:
            problems.append(f"not killed: exit {killed.returncode} {killed.stderr.strip()[-200:]}")
        problems += [f"torn: {t}" for t in torn_targets(targets, snapshot(work), set())]
        problems += [f"half-written record: {r}" for r in half_written_records(work)]
        problems += [f"second revert: {p}" for p in _run_reverts(reverts, env)]
        problems += [f"second revert vs original: {d}" for d in diff(before, snapshot(work))]
        if not case.follow:  # the builds make this too slow for the module cases
            rerun = run_plain(forward, env)
            if rerun.returncode != 0:
                problems.append(f"run after it: exit {rerun.returncode}: "
                                f"{_last_line(rerun.stderr)}")
            problems += [f"revert of that run: {p}" for p in _run_reverts(reverts, env)]
            problems += [f"revert of that run vs original: {d}"
                         for d in diff(before, snapshot(work))]
        if problems:
            more = [f"(and {len(problems) - 8} more)"] if len(problems) > 8 else []
            failures.append(f"{point}\n    " + "\n    ".join(problems[:8] + more))
    assert not failures, (f"{len(failures)} of {len(points)} kill points of {case.name}'s "
                          f"revert (of {len(traced.points)} in all) failed:\n"
                          + "\n".join(failures))


def _run_reverts(reverts: List[List[str]], env: Dict[str, str]) -> List[str]:
    problems = []
    for args in reverts:
        proc = run_plain(args, env)
        if proc.returncode != 0:
            problems.append(f"{' '.join(args[:1] + args[3:])} exit {proc.returncode}: "
                            f"{_last_line(proc.stderr)}")
    return problems


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


def test_an_io_error_on_one_module_keeps_the_old_set_whole(tmp_path):
    """Case 9 with a real I/O error: strace makes the rename that puts the
    third of four new .ko files in place fail with EIO (in the program's own
    process; the builds run untouched). The kernel keeps its old set whole,
    nothing staged is left, the run names the file and the cause in one line
    (exit 1), and a rerun installs the new set."""
    need_root()
    need("strace")
    work = tmp_path / "work"
    for part in ("root", "tmp", "home"):
        (work / part).mkdir(parents=True)
    root = work / "root"
    modules_tree(root)
    env = env_for(work)
    forward = _with_root(["rebuild-modules"], root)
    first = run_plain(forward, env)
    assert first.returncode == 0, first.stderr
    dest = root / "lib/modules" / kernel() / "extra/sunray"
    old = _module_files(dest)
    record_path = root / "var/lib/sunray/modules" / f"{kernel()}.json"
    old_record = json.loads(record_path.read_text())
    assert len(old) == 4
    # New sources: every module is built again, into different bytes.
    for source in (root / "usr/src/SUNWut").glob("*/*.c"):
        with open(source, "a") as f:
            f.write('MODULE_INFO(sunray_test_revision, "2");\n')
    pristine = tmp_path / "pristine"
    fresh_copy(work, pristine)
    proc, traced = trace_clean(forward, env, tmp_path / "clean.trace")
    assert proc.returncode == 0, proc.stderr
    new = _module_files(dest)
    assert set(new) == set(old) and all(new[n] != old[n] for n in new)
    installs = [(p, m.group(1)) for p in traced.points
                for m in [re.search(r'"[^"]*/extra/sunray/(\w+\.ko)"\) = 0$', p.call)]
                if p.syscall.startswith("rename") and m]
    assert sorted(name for _, name in installs) == sorted(new), installs
    point, failing = installs[2]

    fresh_copy(pristine, work)
    injected = subprocess.run(
        ["strace", "-q", "-o", "/dev/null", "-e", f"trace={point.syscall}",
         "-e", f"inject={point.syscall}:error=EIO:when={point.nth}", *sunray_argv(forward)],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    assert injected.returncode == 1, injected.stderr
    assert "Traceback" not in injected.stderr
    assert injected.stderr.strip().splitlines()[-1] == (
        f"sunray: install failed: /lib/modules/{kernel()}/extra/sunray/{failing}: "
        "Input/output error")
    assert _module_files(dest) == old
    assert sorted(os.listdir(dest)) == sorted(old)  # nothing staged or kept aside is left
    assert json.loads(record_path.read_text())["modules"] == old_record["modules"]

    rerun = run_plain(forward, env)
    assert rerun.returncode == 0, rerun.stderr
    assert _module_files(dest) == new
    assert not [p for p in root.rglob("*") if p.name.endswith(".sunray-tmp")]


def _module_files(dest: Path) -> Dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(dest.glob("*.ko"))}


def test_a_rerun_stops_the_build_a_killed_run_left_running(tmp_path):
    """A rebuild killed mid-build leaves its make running (an orphan that
    would go on writing into the tree); the next run stops it before it
    starts its own work, then converges. The make here is a stand-in that
    only sleeps, so that it is surely still running at the rerun."""
    need_root()
    work = tmp_path / "work"
    for part in ("root", "tmp", "home"):
        (work / part).mkdir(parents=True)
    root = work / "root"
    modules_tree(root)
    env = env_for(work, SMALL_BUILD)
    forward = _with_root(["rebuild-modules"], root)
    shim, started = tmp_path / "shim", tmp_path / "make.pid"
    shim.mkdir()
    (shim / "make").write_text(f"#!/bin/sh\necho $$ > {started}\nexec sleep 300\n")
    os.chmod(shim / "make", 0o755)
    killed = subprocess.Popen(sunray_argv(forward), env=dict(env, PATH=f"{shim}:{env['PATH']}"),
                              cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    orphan = None
    try:
        deadline = time.monotonic() + 120
        while not started.exists() or not started.read_text().strip():
            assert killed.poll() is None and time.monotonic() < deadline, "make never started"
            time.sleep(0.05)
        orphan = int(started.read_text())
        killed.kill()
        killed.wait()
        assert process_running(orphan)  # the run is gone, its build goes on
        rerun = run_plain(forward, env)
        assert rerun.returncode == 0, rerun.stderr
        assert "stopped what the interrupted run had left running: " in rerun.stdout
        assert f"({orphan})" in rerun.stdout
        assert not process_running(orphan)
        assert _module_files(root / "lib/modules" / kernel() / "extra/sunray")
    finally:
        if killed.poll() is None:
            killed.kill()
        if orphan is not None and process_running(orphan):
            os.kill(orphan, signal.SIGKILL)

