"""The processes a run starts, and stopping those a killed run left behind.

While a run's journal is open, every process the toolkit starts inherits
``SUNRAY_RUN=<the run's id>`` (make and the compilers under it, depmod,
rpmbuild): the journal records the id. A run killed mid-build leaves them
running, and a build or a depmod of a dead run must not go on writing into
the tree while the next run works on it. The next run (holding the lock)
finds them by that exact variable in /proc/PID/environ and stops them with
SIGKILL, as their run was stopped, before it cleans up.

The id comes from a file on disk, so it is checked before use: only an id
of the form we write selects processes, never a variable another program
could carry. A process whose environment we cannot read is not ours to stop.
"""

import os
import re
import signal
import time
from typing import List, Optional

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


def processes_of(run_id: str, proc: str = "/proc") -> List[int]:
    """The pids of the live processes started by run ``run_id`` (not us)."""
    needle = f"{ENV}={run_id}".encode("ascii")
    found = []
    try:
        names = os.listdir(proc)
    except OSError:  # no /proc: nothing can be found, nothing is stopped
        return []
    for name in names:
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(os.path.join(proc, name, "environ"), "rb") as f:
                environ = f.read()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if needle in environ.split(b"\0") and _running(os.path.join(proc, name)):
            found.append(int(name))
    return found


def _running(proc_dir: str) -> bool:
    """Not a zombie (dead, waiting for its parent to collect it)."""
    try:
        with open(os.path.join(proc_dir, "stat")) as f:
            # "pid (comm) S ...": comm may hold spaces and parentheses.
            state = f.read().rpartition(")")[2].split()[:1]
    except OSError:
        return False
    return bool(state) and state[0] not in ("Z", "X")


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
    """Stop (SIGKILL) every process of run ``run_id``, those it starts
    meanwhile too, and wait until they are gone; "NAME (PID)" of each.
    Raises TimeoutError when some are still there after WAIT_SECONDS."""
    stopped: List[str] = []
    seen = set()
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        pids = processes_of(run_id)
        if not pids:
            return stopped
        if time.monotonic() > deadline:
            raise TimeoutError(", ".join(map(_label, pids)))
        for pid in pids:
            if pid not in seen:
                seen.add(pid)
                stopped.append(_label(pid))
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)
