"""The crash-injection harness of tests/test_crash.py: tree snapshots, a
task's kill points read from a strace of a clean run, runs killed by strace
at one of them, and diffs of two snapshots that a person can read.

A *work* directory holds everything a run may touch: ``root/`` (the server
tree, ``--root``), ``tmp/`` (the run's ``$TMPDIR``) and ``home/`` (an empty
``$HOME``, so no ``~/.invoke.yaml`` leaks in; not snapshotted). Every run of
a case happens at the same work path, so files that name the tree's path
compare equal between runs.
"""

import hashlib
import json
import os
import random
import re
import shutil
import signal
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from conftest import PYTHON, REPO

# The calls that change a file system (or take the lock). Killing before a
# read-only call leaves the same tree as killing before the next call of
# this set, so killing before each of these is exhaustive in effect.
# openat/open/creat are traced too, but only those opening for writing or
# creating are kill points: strace cannot filter on flags, so the clean run's
# trace says which invocation numbers those are (_mutating). Python's own
# start-up makes none of these calls (byte-code writes are off, env_for), so
# counting from the start of the run counts the task's calls only; numbers
# (when=N) still count from the start, as strace does.
MUTATING = (
    "mkdir", "mkdirat", "rename", "renameat", "renameat2", "unlink", "unlinkat", "rmdir",
    "symlink", "symlinkat", "link", "linkat", "write", "pwrite64", "writev", "ftruncate",
    "truncate", "fsync", "fdatasync", "fchmod", "fchmodat", "chmod", "fchown", "fchownat",
    "chown", "lchown", "setxattr", "lsetxattr", "fsetxattr", "removexattr", "fremovexattr",
    "utimensat", "flock", "copy_file_range", "sendfile",
)
OPENS = ("openat", "open", "creat")
TRACED = ",".join(MUTATING + OPENS)
_WRITE_FLAGS = re.compile(r"O_CREAT|O_WRONLY|O_RDWR|O_TRUNC")
# "PID name(" or "PID <... name resumed>": strace -f -o FILE lines.
_CALL = re.compile(r"^(\d+) +([a-z0-9_]+)\((.*)$")
# A write to a pipe, socket or terminal (the program's output) changes no file.
_NOT_A_FILE = re.compile(r"^\d+<(?:pipe|socket|anon_inode):|^\d+</dev/")
# Names a clean run varies itself: esd-dir's aside name carries the time.
_VOLATILE_NAMES = (re.compile(r"\.sunray-moved-\d{8}T\d{6}(?:\.\d+)?"), ".sunray-moved-TIME")

Entry = Tuple  # (kind, mode, uid, gid, digest or link target)
Snapshot = Dict[str, Entry]


def snapshot(work: Path, parts: Sequence[str] = ("root", "tmp")) -> Snapshot:
    """{relative path: (kind, mode, uid, gid, sha256 or link target)} of
    every path under work/root and work/tmp, not following links."""
    snap: Snapshot = {}
    for part in parts:
        top = work / part
        for dirpath, dirnames, filenames in os.walk(top):
            for name in sorted(dirnames + filenames):
                path = Path(dirpath) / name
                st = path.lstat()
                key = _VOLATILE_NAMES[0].sub(_VOLATILE_NAMES[1], str(path.relative_to(work)))
                if stat.S_ISLNK(st.st_mode):
                    what = os.readlink(path)
                    kind = "link"
                elif stat.S_ISREG(st.st_mode):
                    what = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
                    kind = "file"
                elif stat.S_ISDIR(st.st_mode):
                    what, kind = "", "dir"
                else:
                    what, kind = "", "special"
                snap[key] = (kind, oct(stat.S_IMODE(st.st_mode)), st.st_uid, st.st_gid, what)
    return snap


def diff(expected: Snapshot, actual: Snapshot, ignore_content: Iterable[str] = ()) -> List[str]:
    """The differences, one readable line each: '+ path' is only in actual,
    '- path' only in expected, '~ path: field expected -> actual'. Paths in
    ignore_content are compared without their digest (see volatile())."""
    loose = set(ignore_content)
    lines = []
    for key in sorted(set(expected) | set(actual)):
        want, got = expected.get(key), actual.get(key)
        if want == got:
            continue
        if want is None:
            lines.append(f"+ {key} ({_describe(got)})")
        elif got is None:
            lines.append(f"- {key} ({_describe(want)})")
        elif key in loose and want[:4] == got[:4]:
            continue
        else:
            fields = ("kind", "mode", "uid", "gid", "content")
            changed = [f"{f} {a} -> {b}" for f, a, b in zip(fields, want, got) if a != b]
            lines.append(f"~ {key}: {', '.join(changed)}")
    return lines


def _describe(entry: Entry) -> str:
    kind, mode, uid, gid, what = entry
    return f"{kind} {mode} {uid}:{gid}" + (f" {what}" if what else "")


def volatile(first: Snapshot, second: Snapshot) -> Set[str]:
    """Paths whose content two clean runs of the same task on the same tree
    made differently (log lines with a time, the lock's holder line): the
    only thing the crash test does not compare byte for byte. A path that
    one clean run made and the other did not is a bug, not noise."""
    assert set(first) == set(second), diff(first, second)
    return {k for k in first if first[k] != second[k] and first[k][:4] == second[k][:4]}


@dataclass(frozen=True)
class Point:
    """A kill point: the ``nth`` call of ``syscall`` by the traced program
    (strace counts per syscall and per process: ``man strace``, "Accounting
    of syscalls that are subject to injection is done per syscall and per
    tracee"). ``call`` is the clean run's call, for messages and to check
    that the killed run stopped where it was meant to."""

    syscall: str
    nth: int
    call: str

    def __str__(self) -> str:
        return f"{self.syscall}#{self.nth} {self.call[:160]}"


@dataclass
class Traced:
    """A clean run's trace: the kill points of the program's own process,
    and those of every other process and thread (make, depmod, a worker
    thread) that only a kill run with -f reaches (see run_killed), where
    strace numbers each process's calls on its own: a point there is the
    ``nth`` call of a syscall by any of them, listed once."""

    points: List[Point]
    others: List[Point]
    other_calls: int  # mutating calls of the other processes, points or not


def env_for(work: Path, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The environment of every run of a case: HOME and TMPDIR in the work
    directory, a fixed hash seed and no byte-code writes, so that a run's
    calls come in the same order every time (the kill points rely on it)."""
    env = dict(os.environ)
    env.pop("SUNRAY_DEBUG", None)
    env.update({"HOME": str(work / "home"), "TMPDIR": str(work / "tmp"),
                "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "LC_ALL": "C.UTF-8"})
    env.update(extra or {})
    return env


def sunray_argv(args: Sequence[str]) -> List[str]:
    return [PYTHON, "-m", "sunray", *args]


def run_plain(args: Sequence[str], env: Dict[str, str], timeout: float = 600
              ) -> subprocess.CompletedProcess:
    """The program, no strace (a clean run, a rerun, a revert)."""
    return subprocess.run(sunray_argv(args), capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=timeout)


def trace_clean(args: Sequence[str], env: Dict[str, str], trace_file: Path
                ) -> Tuple[subprocess.CompletedProcess, Traced]:
    """Run the task once under ``strace -f`` and read its kill points."""
    cmd = ["strace", "-f", "--seccomp-bpf", "-qq", "-y", "-e", "signal=none",
           "-e", f"trace={TRACED}",
           "-s", "96", "-o", str(trace_file), *sunray_argv(args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    return proc, read_trace(trace_file.read_text(errors="replace"))


def read_trace(text: str) -> Traced:
    """Kill points of the first process in a ``strace -f -y`` trace, and
    those of the other processes (by syscall and number, not already a point
    of the first)."""
    counts: Dict[Tuple[str, str], int] = {}
    points: List[Point] = []
    others: Dict[Tuple[str, int], Point] = {}
    main = None
    other_calls = 0
    for line in text.splitlines():
        m = _CALL.match(line)
        if not m:
            continue  # "<... resumed>" halves, signals, exits
        pid, name, rest = m.groups()
        main = main or pid
        n = counts[(pid, name)] = counts.get((pid, name), 0) + 1
        if not _mutating(name, rest):
            continue
        if pid == main:
            points.append(Point(name, n, f"{name}({rest}"))
        else:
            other_calls += 1
            others.setdefault((name, n), Point(name, n, f"{name}({rest}"))
    mine = {(p.syscall, p.nth) for p in points}
    return Traced(points, [p for key, p in sorted(others.items()) if key not in mine],
                  other_calls)


def _mutating(name: str, rest: str) -> bool:
    if re.search(r"\) += -1 E[A-Z]+", rest):
        return False  # a call that failed changed nothing: EEXIST, ENOENT
    if name in OPENS:
        flags = rest.split(", ")[2 if name == "openat" else 1] if ", " in rest else ""
        return bool(_WRITE_FLAGS.search(flags))
    if name in ("write", "pwrite64", "writev"):
        return not _NOT_A_FILE.match(rest)
    return True


def sample(points: List[Point], limit: int, seed: int = 11) -> List[Point]:
    """At most ``limit`` points: the first and the last, one of every
    syscall kind, the rest drawn evenly at random with a fixed seed.
    SUNRAY_CRASH_POINTS=all (or a number) overrides the limit."""
    wanted = os.environ.get("SUNRAY_CRASH_POINTS", "")
    if wanted == "all":
        return list(points)
    if wanted.isdigit():
        limit = int(wanted)
    if len(points) <= limit:
        return list(points)
    chosen = {0, len(points) - 1}
    first_of_kind: Dict[str, int] = {}
    for i, p in enumerate(points):
        first_of_kind.setdefault(p.syscall, i)
    chosen |= set(first_of_kind.values())
    rest = [i for i in range(len(points)) if i not in chosen]
    rng = random.Random(seed)
    chosen |= set(rng.sample(rest, max(0, limit - len(chosen))))
    return [points[i] for i in sorted(chosen)]


@dataclass
class Killed:
    """A run killed at a point: its exit status and the last call strace
    saw before the kill (None when the run ended before reaching it)."""

    returncode: int
    last_call: Optional[str]
    stderr: str


def run_killed(args: Sequence[str], env: Dict[str, str], point: Point, trace_file: Path,
               follow: bool = False, timeout: float = 600) -> Killed:
    """Run the task with SIGKILL injected before ``point``, then kill what is
    left of its session, as a power cut would.

    Without ``follow`` only the program's own process is traced: it is
    killed at exactly its ``nth`` call. With ``follow`` (-f: tasks whose
    threads or child processes write, rebuild-modules and apply) strace
    counts per process, so a child (make, depmod) that reaches its own
    ``nth`` call first is killed first and the program sees a failed tool;
    the program still dies at its own ``nth`` call if it gets there.
    """
    cmd = ["strace", "-q", "-y", "-s", "96", "-e", "signal=none", "-e", f"trace={point.syscall}",
           "-e", f"inject={point.syscall}:signal=KILL:when={point.nth}",
           "-o", str(trace_file), *(["-f", "--seccomp-bpf"] if follow else []), *sunray_argv(args)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=REPO, start_new_session=True)
    try:
        _, err = proc.communicate(timeout=timeout)
    finally:
        _kill_session(proc.pid)
    return Killed(proc.returncode, _last_call(trace_file, point.syscall), err)


def _kill_session(pgid: int) -> None:
    """SIGKILL whatever of the run's session is still alive (children of a
    killed program); the session is the strace we started, by its id."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _last_call(trace_file: Path, syscall: str) -> Optional[str]:
    """The call the kill stopped at: the last ``syscall`` line of the trace
    when that call never returned (strace ends it with "= ?")."""
    text = trace_file.read_text(errors="replace") if trace_file.exists() else ""
    calls = [line for line in text.splitlines() if _ANY_CALL.match(line)
             and _ANY_CALL.match(line).group(1) == syscall]  # type: ignore[union-attr]
    if calls and calls[-1].rstrip().endswith(("= ?", "<unfinished ...>")):
        return calls[-1]
    return None


# A call line with or without the pid (strace prints none when it traces one process).
_ANY_CALL = re.compile(r"^(?:\d+ +)?([a-z0-9_]+)\(")


# Random parts of names (mkstemp's 8 characters) and numbers (fds, pids).
_RANDOM_PART = re.compile(r"[A-Za-z0-9_]{8}(?=\.sunray-[a-z]+|\.sh\b|[\"/>])|\d+")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def same_call(expected: str, actual: str) -> bool:
    """Whether a killed run stopped at the clean run's call: the same call
    with random name parts and numbers blanked and data cut short."""
    tail = actual.split(" ", 1)[1].lstrip() if re.match(r"^\d+ ", actual) else actual
    return _normal(expected) == _normal(tail.replace(" <unfinished ...>", ""))


def _normal(call: str) -> str:
    call = call.rsplit(" = ", 1)[0]
    return _QUOTED.sub(lambda m: '"' + m.group(1)[:32] + '"', _RANDOM_PART.sub("#", call))


def fresh_copy(source: Path, work: Path) -> None:
    """work becomes an exact copy of source (modes, owners, links kept)."""
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(source, work, symlinks=True, copy_function=shutil.copy2)
    for dirpath, dirnames, filenames in os.walk(source):
        for name in dirnames + filenames:
            src = Path(dirpath) / name
            st = src.lstat()
            os.chown(work / src.relative_to(source), st.st_uid, st.st_gid, follow_symlinks=False)


# sunray's own records and logs: rewritten in steps by design (an intent,
# then its completion), so a kill may leave a complete in-between version.
# They are not targets; half_written_records checks that each one is whole.
STATE = ("root/var/lib/sunray", "root/var/log/sunray")


def changed_targets(before: Snapshot, after: Snapshot) -> Dict[str, Tuple[Optional[Entry],
                                                                       Optional[Entry]]]:
    """{path: (old entry, new entry)} of every path a clean run changed,
    sunray's own state and logs aside (STATE)."""
    return {k: (before.get(k), after.get(k)) for k in set(before) | set(after)
            if before.get(k) != after.get(k) and not _is_state(k)}


def _is_state(key: str) -> bool:
    return any(key == p or key.startswith(p + "/") for p in STATE)


def half_written_records(work: Path) -> List[str]:
    """sunray's JSON records (outside temp names) that do not parse."""
    bad = []
    for top in STATE:
        for path in sorted((work / top).rglob("*.json")):
            if path.is_file() and not path.is_symlink():
                try:
                    json.loads(path.read_text())
                except ValueError as exc:
                    bad.append(f"{path.relative_to(work)}: {exc}")
    return bad


def torn_targets(targets: Dict[str, Tuple[Optional[Entry], Optional[Entry]]],
                 killed: Snapshot, loose: Set[str]) -> List[str]:
    """Targets that hold neither their old nor their new state after a kill.
    Files and links must be exactly one or the other (bytes, mode, owner);
    a directory only has to exist or not, as either state has it (its mode
    is the rerun's to finish); content of ``loose`` paths is not compared."""
    torn = []
    for key, (old, new) in sorted(targets.items()):
        got = killed.get(key)
        allowed = [old, new]
        if got is not None and got[0] == "dir":
            if any(e is not None and e[0] == "dir" for e in allowed):
                continue
        if key in loose and got is not None:
            if any(e is not None and e[:4] == got[:4] for e in allowed):
                continue
        if got not in allowed:
            torn.append(f"{key}: {_describe(got) if got else 'missing'}; "
                        f"old {_describe(old) if old else 'missing'}, "
                        f"new {_describe(new) if new else 'missing'}")
    return torn

