"""The processes a run starts, and stopping those a killed run left behind.

While a run's journal is open, every process the toolkit starts inherits
``SUNRAY_RUN=<the run's id>`` (make and the compilers under it, depmod,
rpmbuild): the journal records the id. A run killed mid-build leaves them
running, and a build or a depmod of a dead run must not go on writing into
the tree while the next run works on it. The next run (holding the lock)
finds them by that exact variable in /proc/PID/environ, freezes them and
then kills them (SIGKILL, as their run was stopped), before it cleans up.

The id comes from a file on disk, so it is checked before use: only an id
of the form we write selects processes, never a variable another program
could carry. A process whose environment we cannot read is not ours to stop.
"""

import os
import re
import signal
import time
from typing import Dict, List, Optional, Tuple

ENV = "SUNRAY_RUN"
_RUN_ID = re.compile(r"[0-9a-f]{32}")
# How long the next run waits for the processes it stopped to be gone.
WAIT_SECONDS = 10.0


def new_run_id() -> str:
    """A fresh random id for a run."""
    return os.urandom(16).hex()


def valid_run_id(value: object) -> Optional[str]:
    """``value`` when it is an id of the form new_run_id makes, else None."""
    return value if isinstance(value, str) and _RUN_ID.fullmatch(value) else None


def processes_of(run_id: str) -> List[int]:
    """The pids of the live processes started by run ``run_id`` (not us)."""
    return [pid for pid, (_, marked) in _live(run_id).items() if marked]


def _live(run_id: str) -> Dict[int, Tuple[int, bool]]:
    """{pid: (parent pid, carries the run's id)} of every live process but
    us (a zombie, dead and waiting for its parent, is not live)."""
    needle = f"{ENV}={run_id}".encode("ascii")
    found = {}
    try:
        names = os.listdir("/proc")
    except OSError:  # no /proc: nothing can be found, nothing is stopped
        return {}
    for name in names:
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                # "pid (comm) S ppid ...": comm may hold spaces and parentheses.
                state, ppid = f.read().rpartition(")")[2].split()[:2]
            with open(f"/proc/{name}/environ", "rb") as f:
                environ = f.read()
        except (OSError, ValueError):  # gone meanwhile, or not ours to read
            continue
        if state not in ("Z", "X"):
            found[int(name)] = (int(ppid), needle in environ.split(b"\0"))
    return found


def _label(pid: int) -> str:
    """"NAME (PID)" of a process, for messages."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            name = f.read().strip() or "?"
    except OSError:
        name = "?"
    return f"{name} ({pid})"


def running(run_id: str) -> List[str]:
    """"NAME (PID)" of each live process of run ``run_id``."""
    return [_label(pid) for pid in processes_of(run_id)]


def stop_run(run_id: str) -> List[str]:
    """Stop every process of run ``run_id`` and wait until they are gone;
    "NAME (PID)" of each. TimeoutError when some are still there after
    WAIT_SECONDS.

    First each is frozen (SIGSTOP), with every child of a frozen one, until
    a look finds no more: a frozen make starts no compiler, and a child
    caught between fork and exec (its environment not readable yet) is
    found by its parent. Then all of them get SIGKILL."""
    frozen: Dict[int, str] = {}
    while True:
        live = _live(run_id)
        mine = _ancestors(live)  # never the shell (or hook) that started us
        new = [pid for pid, (ppid, marked) in live.items()
               if pid not in frozen and pid not in mine and (marked or ppid in frozen)]
        if not new:
            break
        for pid in new:
            frozen[pid] = _label(pid)
            _signal(pid, signal.SIGSTOP)
    for pid in frozen:
        _signal(pid, signal.SIGKILL)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        left = [pid for pid in _live(run_id) if pid in frozen]
        if not left:
            return list(frozen.values())
        if time.monotonic() > deadline:
            raise TimeoutError(", ".join(frozen[pid] for pid in left))
        time.sleep(0.02)


def _ancestors(live: Dict[int, Tuple[int, bool]]) -> List[int]:
    """Our parent, its parent, and so on up to init."""
    chain, pid = [], os.getppid()
    while pid > 1 and pid not in chain:
        chain.append(pid)
        pid = live.get(pid, (0, False))[0]
    return chain


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:  # gone meanwhile
        pass
