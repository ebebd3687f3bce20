"""The processes a run starts, and stopping those a killed run left behind.

While a run's journal is open, every process the toolkit starts inherits
``SUNRAY_RUN=<the run's id>`` (make and the compilers under it, depmod):
the journal records the id, with the boot and the run's own process. A run
killed mid-build leaves them running, and a build or a depmod of a dead run
must not go on writing into the tree while the next run works on it. The
next run (holding the lock) finds them by that exact variable in
/proc/PID/environ, freezes them and then kills them (SIGKILL, as their run
was stopped), before it cleans up.

The journal is a file on disk, so what it says is checked before anything
is stopped: only an id of the form we write selects processes; only our
own user's processes are candidates; nothing is stopped when the journal is
from another boot, or when its run's own process is still alive (the tree
is a copy of one a live run works on), or when /proc is not our PID
namespace's. Each process is known by its pid and its start time, so a pid
the system has given to another process meanwhile is never signalled.
"""

import os
import re
import signal
import time
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

ENV = "SUNRAY_RUN"
_RUN_ID = re.compile(r"[0-9a-f]{32}")
# How long a stop may take: finding and freezing, then waiting for the end.
WAIT_SECONDS = 10.0


class _Proc(NamedTuple):
    ppid: int
    start: int  # clock ticks after boot (/proc/PID/stat field 22)
    marked: bool  # carries the run's id


def new_run_id() -> str:
    """A fresh random id for a run."""
    return os.urandom(16).hex()


def valid_run_id(value: object) -> Optional[str]:
    """``value`` when it is an id of the form new_run_id makes, else None."""
    return value if isinstance(value, str) and _RUN_ID.fullmatch(value) else None


def boot_id() -> str:
    """This boot's id (the kernel's), or "" when it cannot be read."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return ""


def start_time(pid: Any) -> Optional[int]:
    """When the live process ``pid`` started (None: no such live process)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return None
    found = _stat(pid)
    return found[2] if found is not None else None


def alive(pid: Any, start: Any) -> bool:
    """Whether process ``pid`` started at ``start`` is still running."""
    return start is not None and start_time(pid) == start


def proc_is_ours() -> bool:
    """Whether /proc shows our PID namespace (in a container given the
    host's /proc its pids are not ours to signal)."""
    try:
        return os.readlink("/proc/self") == str(os.getpid())
    except OSError:
        return False


def _stat(pid: int) -> Optional[Tuple[bytes, int, int]]:
    """(state, parent pid, start time) of a live process, from
    /proc/PID/stat; None when it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            # "pid (comm) S ppid ...": comm is any bytes, ")" included.
            fields = f.read().rpartition(b")")[2].split()
        state, ppid, start = fields[0], int(fields[1]), int(fields[19])
    except (OSError, ValueError, IndexError):
        return None
    return None if state in (b"Z", b"X") else (state, ppid, start)


def _live(run_id: str) -> Dict[int, _Proc]:
    """Every live process of our own user but us: pid -> _Proc."""
    needle = f"{ENV}={run_id}".encode("ascii")
    me, uid = os.getpid(), os.geteuid()
    found = {}
    try:
        names = os.listdir("/proc")
    except OSError:  # no /proc: nothing can be found, nothing is stopped
        return {}
    for name in names:
        if not name.isdigit() or int(name) == me:
            continue
        pid = int(name)
        try:
            if os.stat(f"/proc/{pid}").st_uid != uid:
                continue
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = f.read()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        stat = _stat(pid)
        if stat is not None:
            found[pid] = _Proc(stat[1], stat[2], needle in environ.split(b"\0"))
    return found


def processes_of(run_id: str) -> List[int]:
    """The pids of the live processes started by run ``run_id`` (not us)."""
    return [pid for pid, p in _live(run_id).items() if p.marked]


def _label(pid: int) -> str:
    """"NAME (PID)" of a process, for messages."""
    try:
        with open(f"/proc/{pid}/comm", "rb") as f:
            name = f.read().strip().decode("utf-8", "replace") or "?"
    except OSError:
        name = "?"
    return f"{name} ({pid})"


def running(run_id: str) -> List[str]:
    """"NAME (PID)" of each live process of run ``run_id``."""
    return [_label(pid) for pid in processes_of(run_id)]


def _ancestors() -> List[int]:
    """Our parent, its parent, and so on up to init."""
    chain, pid = [], os.getppid()
    while pid > 1 and pid not in chain:
        chain.append(pid)
        stat = _stat(pid)
        pid = stat[1] if stat is not None else 0
    return chain


def _signal(pid: int, start: int, sig: int) -> bool:
    """Send ``sig`` to process ``pid`` if it is still the one that started
    at ``start``; whether it was sent."""
    if not alive(pid, start):
        return False
    try:
        os.kill(pid, sig)
    except OSError:  # gone meanwhile, or refused
        return False
    return True


def stop_run(run_id: str) -> List[str]:
    """Stop every process of run ``run_id`` and wait until they are gone;
    "NAME (PID)" of each. TimeoutError when that takes over WAIT_SECONDS.

    First each is frozen (SIGSTOP), with every child of a frozen one, until
    a look finds no more: a frozen make starts no compiler, and a child
    whose environment does not show yet (just after its exec) is found by
    its parent. Then all of them get SIGKILL, whatever happened meanwhile:
    nothing is ever left frozen. Our own parent chain is never touched."""
    frozen: Dict[int, int] = {}  # pid -> start time
    names: List[str] = []
    deadline = time.monotonic() + WAIT_SECONDS
    spared = _ancestors()
    try:
        while True:
            new = [(pid, p) for pid, p in _live(run_id).items()
                   if pid not in frozen and pid not in spared
                   and (p.marked or p.ppid in frozen)]
            if not new:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(", ".join(_label(pid) for pid, _ in new))
            for pid, p in new:
                if _signal(pid, p.start, signal.SIGSTOP):
                    frozen[pid] = p.start
                    names.append(_label(pid))
    finally:
        for pid, start in frozen.items():
            _signal(pid, start, signal.SIGKILL)
    while True:
        left = [pid for pid, start in frozen.items() if alive(pid, start)]
        if not left:
            return names
        if time.monotonic() > deadline:
            raise TimeoutError(", ".join(map(_label, left)))
        time.sleep(0.02)
